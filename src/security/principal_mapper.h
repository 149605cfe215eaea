// The principal of a TLS peer, as Kafka's DefaultKafkaPrincipalBuilder makes it:
// the subject of the peer's (verified) certificate as an RFC 2253 string the way
// Java's X500Principal.getName() prints it ("CN=alice,OU=eng,O=Example,C=US":
// most specific RDN first, no spaces, Java's escaping), then rewritten by
// ssl.principal.mapping.rules. No certificate -> "ANONYMOUS".
//
// Mapping rules (Kafka's SslPrincipalMapper): comma-separated, each `DEFAULT`
// (the DN unchanged) or `RULE:pattern/replacement/` with an optional L or U
// after the last slash (lower/upper-case the result); '/' and '\' inside pattern
// or replacement are escaped with '\'. The first rule whose pattern matches the
// whole DN wins; its replacement uses Java's syntax ($n group references, \x a
// literal x; a reference to a group the pattern lacks is kept literally, as
// Kafka does). Whitespace around rules and empty rules are ignored; a newline is
// not a separator (Kafka splits on commas only). When no rule matches, Kafka
// fails the authentication: map() returns nullopt and principal_from_peer
// throws. Patterns are RE2's, which agree with Java's for the usual constructs
// (groups, classes, lazy quantifiers, anchors, (?i)) but refuse backreferences
// and lookaround: a rule is matched against the subject of a client's
// certificate during its handshake, so it must take time linear in the subject
// whatever the rule (a backtracking engine takes exponential time on a rule
// such as (a|aa)*b, found by the fuzzer). Case conversion (L/U) is ASCII-only.
//
// Threading: an SslPrincipalMapper is immutable after construction; map() is
// const and safe from any thread (RE2 matching is).
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "security/principal.h"

typedef struct x509_st X509;
typedef struct X509_name_st X509_NAME;
typedef struct ssl_st SSL;

namespace re2 {
class RE2;
}

namespace flotilla::security {

class SslPrincipalMapper {
 public:
  // Throws std::invalid_argument ("Invalid rule: ...") like Kafka's parser.
  static SslPrincipalMapper from_rules(std::string_view rules);

  // The short name for a DN, or nullopt when no rule matches. Throws
  // std::runtime_error when a replacement refers to a missing group (Kafka:
  // IndexOutOfBoundsException -> failed authentication), and when a RULE would
  // have to match a DN longer than kMaxRuleInput, which bounds the work of a
  // handshake (each match is linear, but replaceAll may match many times).
  // Real DNs are far shorter.
  static constexpr size_t kMaxRuleInput = 4096;
  std::optional<std::string> map(std::string_view distinguished_name) const;

  std::string to_string() const;  // "SslPrincipalMapper(rules = [RULE:.../$1/L, DEFAULT])", as Kafka prints it

  // The rule texts Kafka's splitter finds in a rules string (exposed for tests).
  static std::vector<std::string> split_rules(std::string_view rules);

 private:
  struct Rule {
    bool is_default = true;
    std::string pattern_text;
    std::shared_ptr<const re2::RE2> pattern;
    std::string replacement;
    bool to_lower = false;
    bool to_upper = false;
    std::optional<std::string> apply(const std::string& dn) const;
    std::string to_string() const;
  };
  std::vector<Rule> rules_;
};

// The RFC 2253 form of a name as Java's X500Principal.getName() gives it.
std::string rfc2253_name(const X509_NAME* name);
std::string rfc2253_subject(const X509* cert);

// The principal of a completed server-side TLS handshake: User:ANONYMOUS when
// the client sent no certificate, else User:<mapped subject DN>. Throws
// std::runtime_error("Failed to map name for '<DN>' based on SSL principal
// mapping rules.") when no rule matches (the connection must then be closed).
KafkaPrincipal principal_from_peer(const SSL* ssl, const SslPrincipalMapper& mapper);

}  // namespace flotilla::security
