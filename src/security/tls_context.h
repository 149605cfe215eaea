// TLS contexts built from a listener's (or a client's) SslConfig: an
// asio::ssl::context (OpenSSL 3 underneath) with the key store, trust store,
// client-auth mode, protocol range and cipher lists Kafka's ssl.* keys ask for.
//
// What every context gets, whatever the config: renegotiation refused
// (SSL_OP_NO_RENEGOTIATION), SSL_MODE_RELEASE_BUFFERS (an idle connection holds
// no record buffers), no compression. Servers additionally: their own cipher
// order, no server-side session cache (resumption uses stateless tickets, one
// per handshake, so an idle server keeps no per-session state), a session-id
// context (required for resumption once client certificates are verified), the
// trust store's subjects as the CA list sent with a certificate request. Clients
// always verify the server's certificate (against the trust store, or the
// system's CAs when none is configured); prepare_client() adds SNI and, when
// ssl.endpoint.identification.algorithm=https, the host-name/IP check for one
// connection.
//
// Invariants: a TlsContext is immutable once create() returns (OpenSSL's
// SSL_CTX is then only read, and is safe to share between threads and
// connections). Connections keep their context alive through the shared_ptr;
// reloading makes a new TlsContext and never touches the old one, so existing
// connections continue on the context they were accepted with. Errors are
// SslConfigError naming the config key at fault; no message carries a password
// or key material.
#pragma once

#include <asio/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "security/principal_mapper.h"
#include "security/ssl_config.h"

namespace flotilla::security {

enum class TlsMode { SERVER, CLIENT };

class TlsContext {
 public:
  // Loads the stores and builds the context; throws SslConfigError.
  static std::shared_ptr<const TlsContext> create(const SslConfig& config, TlsMode mode);

  asio::ssl::context& context() const { return *context_; }
  SSL_CTX* native_handle() const { return context_->native_handle(); }
  const SslConfig& config() const { return config_; }
  TlsMode mode() const { return mode_; }
  const SslPrincipalMapper& principal_mapper() const { return mapper_; }

  // Client side, before the handshake: SNI for a host name and, when the
  // config verifies host names, the check of the server certificate's SANs
  // (DNS names, or IP addresses when host is an address literal; a certificate
  // without DNS SANs is checked by its CN, as Java does). Throws
  // std::invalid_argument for an empty host while host names are verified.
  void prepare_client(SSL* ssl, std::string_view host) const;
  template <typename Stream>
  void prepare_client(asio::ssl::stream<Stream>& stream, std::string_view host) const {
    prepare_client(stream.native_handle(), host);
  }

  // True when a key/trust store file changed (size or modification time)
  // since this context was built.
  bool files_changed() const;

  // The subject DN of this context's own certificate ("" without a key store).
  std::string certificate_subject() const;

  struct FileStamp {
    std::filesystem::path path;
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
  };

 private:
  TlsContext() = default;
  SslConfig config_;
  TlsMode mode_ = TlsMode::SERVER;
  SslPrincipalMapper mapper_;
  std::unique_ptr<asio::ssl::context> context_;
  std::vector<FileStamp> stamps_;
};

// The context a listener hands to new connections, replaceable at run time
// (dynamic ssl.* updates, or rotated key store files). Thread-safe: current()
// may be called from any thread while another reloads.
class ReloadableTlsContext {
 public:
  ReloadableTlsContext(const SslConfig& config, TlsMode mode) : current_(TlsContext::create(config, mode)) {}

  std::shared_ptr<const TlsContext> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  // Builds a context from new_config and swaps it in; on error (SslConfigError)
  // the old context stays. A server's new certificate must keep the subject DN
  // of the old one (Kafka refuses such an update the same way).
  void reconfigure(const SslConfig& new_config);
  // What reconfigure(new_config) would check, without the swap: throws
  // SslConfigError when the context cannot be built or the DN changed.
  void validate(const SslConfig& new_config) const;
  // Rebuilds from the same config when its files changed; returns whether it did.
  bool reload_if_files_changed();

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TlsContext> current_;
};

}  // namespace flotilla::security
