#include "net/client_sasl.h"

#include "common/bytes.h"
#include "common/error.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "security/sasl.h"

namespace flotilla::net {

namespace {

// One non-flexible request (header v1) and its response (header v0).
template <class Req, class Resp>
asio::awaitable<Resp> round_trip(Transport& socket, const Req& req, int16_t version, int32_t correlation,
                                 const std::string& client_id) {
  ByteWriter w;
  w.put_i32(0);
  w.put_i16(Req::kApiKey);
  w.put_i16(version);
  w.put_i32(correlation);
  w.put_i16(static_cast<int16_t>(client_id.size()));
  w.put_str(client_id);
  req.encode(w, version);
  w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
  std::vector<uint8_t> out = std::move(w).take();
  co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
  uint8_t size_buf[4];
  co_await asio::async_read(socket, asio::buffer(size_buf, 4), asio::use_awaitable);
  int32_t size = static_cast<int32_t>(load_be32(size_buf));
  if (size < 4 || size > (1 << 20)) throw std::system_error(std::make_error_code(std::errc::protocol_error));
  std::vector<uint8_t> frame(static_cast<size_t>(size));
  co_await asio::async_read(socket, asio::buffer(frame), asio::use_awaitable);
  ByteReader r(frame.data(), frame.size());
  if (r.get_i32() != correlation) throw std::system_error(std::make_error_code(std::errc::protocol_error));
  Resp resp;
  resp.decode(r, version);
  co_return resp;
}

SaslClientResult fail(std::errc e, std::string message) {
  SaslClientResult r;
  r.error = std::make_error_code(e);
  r.message = std::move(message);
  return r;
}

}  // namespace

asio::awaitable<SaslClientResult> sasl_client_authenticate(std::shared_ptr<Transport> socket,
                                                           std::shared_ptr<const ClientSecurity> security,
                                                           std::string client_id) {
  SaslClientResult result;
  auto client = security::make_sasl_client(security->sasl_mechanism, security->username, security->password, security->token_auth);
  if (!client) co_return fail(std::errc::invalid_argument, "SASL mechanism " + security->sasl_mechanism + " is not supported");
  try {
    int32_t correlation = 1;
    msg::SaslHandshakeRequest hs;
    hs.mechanism = security->sasl_mechanism;
    auto hs_resp = co_await round_trip<msg::SaslHandshakeRequest, msg::SaslHandshakeResponse>(*socket, hs, 1, correlation++, client_id);
    if (hs_resp.error_code != 0) {
      std::string enabled;
      for (const auto& m : hs_resp.mechanisms) enabled += (enabled.empty() ? "" : ",") + m;
      co_return fail(std::errc::permission_denied, "SaslHandshake: " + std::string(error_name(static_cast<ErrorCode>(hs_resp.error_code))) +
                                                       " (the server enables " + enabled + ")");
    }
    security::Bytes token = client->initial();
    for (int round = 0; round < 8; ++round) {
      msg::SaslAuthenticateRequest auth;
      auth.auth_bytes = std::move(token);
      auto resp = co_await round_trip<msg::SaslAuthenticateRequest, msg::SaslAuthenticateResponse>(*socket, auth, 1, correlation++, client_id);
      if (resp.error_code != 0)
        co_return fail(std::errc::permission_denied,
                       std::string(error_name(static_cast<ErrorCode>(resp.error_code))) + ": " + resp.error_message.value_or(""));
      result.session_lifetime_ms = resp.session_lifetime_ms;
      if (client->done()) co_return result;
      auto next = client->evaluate(resp.auth_bytes);
      if (!next) co_return fail(std::errc::permission_denied, "the server's SASL message did not verify");
      if (client->done()) co_return result;
      token = std::move(*next);
    }
    co_return fail(std::errc::protocol_error, "SASL exchange did not finish");
  } catch (const std::system_error& e) {
    result.error = e.code();
    result.message = e.what();
  } catch (const DecodeError&) {
    result.error = std::make_error_code(std::errc::protocol_error);
    result.message = "malformed SASL response";
  }
  co_return result;
}

}  // namespace flotilla::net
