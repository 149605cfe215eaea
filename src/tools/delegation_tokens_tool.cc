// `flotilla delegation-tokens`: kafka-delegation-tokens.sh's flags, checks and
// output — --create (--max-life-time-period, --renewer-principal...,
// --owner-principal), --renew (--hmac, --renew-time-period), --expire (--hmac,
// --expiry-time-period), --describe (--owner-principal...), with
// --bootstrap-server and --command-config required. Tokens print as Kafka's
// DelegationTokenCommand.printToken (dates yyyy-MM-dd'T'HH:mm, local time);
// the HMAC is printed to standard output only, as Kafka's tool does (it is the
// token's password: the operator hands it to the client that logs in with it).
#include <ctime>
#include <iostream>
#include <sstream>

#include "client/delegation_tokens.h"
#include "client/kafka_client.h"
#include "security/acl.h"
#include "security/base64.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string date(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M", &tm);
  return buf;
}

std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s : s + std::string(n - s.size(), ' '); }

std::string row(const std::vector<std::string>& f) {
  static const size_t widths[] = {15, 30, 15, 15, 25, 15, 15, 15};
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) out += (i ? " " : "") + pad(f[i], widths[i]);
  return out;
}

std::string principals_text(const std::vector<security::KafkaPrincipal>& ps) {
  std::string s = "[";
  for (size_t i = 0; i < ps.size(); ++i) s += (i ? ", " : "") + ps[i].to_string();
  return s + "]";
}

struct Token {
  std::string id, hmac, owner, requester;
  std::vector<security::KafkaPrincipal> renewers;
  int64_t issue = 0, expiry = 0, max = 0;
};

void print_tokens(std::ostream& out, const std::vector<Token>& tokens) {
  out << "\n" << row({"TOKENID", "HMAC", "OWNER", "REQUESTER", "RENEWERS", "ISSUEDATE", "EXPIRYDATE", "MAXDATE"}) << "\n";
  for (const auto& t : tokens)
    out << "\n"
        << row({t.id, t.hmac, t.owner, t.requester, principals_text(t.renewers), date(t.issue), date(t.expiry), date(t.max)}) << "\n";
}

std::vector<security::KafkaPrincipal> principals(const std::vector<std::string>& texts) {
  std::vector<security::KafkaPrincipal> out;
  for (const auto& t : texts) {
    auto p = security::parse_kafka_principal(t);
    if (!p) throw UsageError("expected a string in format principalType:principalName but got " + t);
    out.push_back(*p);
  }
  return out;
}

std::vector<uint8_t> hmac_bytes(const std::string& text) {
  auto b = security::base64_decode(text);
  if (!b) throw UsageError("Illegal base64 character in --hmac");
  return *b;
}

void check(ErrorCode ec) {
  if (ec != ErrorCode::NONE) throw client::KafkaError(ec, std::string(error_message(ec)));
}

void check_args(const DelegationTokensOptions& o) {
  int actions = o.create + o.renew + o.expire + o.describe;
  if (actions != 1) throw UsageError("Command must include exactly one action: --create, --renew, --expire or --describe");
  if (!o.bootstrap_server) throw UsageError("Missing required argument \"[bootstrap-server]\"");
  if (!o.command_config) throw UsageError("Missing required argument \"[command-config]\"");
  if (o.create && !o.max_life_time_period) throw UsageError("Missing required argument \"[max-life-time-period]\"");
  if ((o.renew || o.expire) && !o.hmac) throw UsageError("Missing required argument \"[hmac]\"");
  if (o.renew && !o.renew_time_period) throw UsageError("Missing required argument \"[renew-time-period]\"");
  if (o.expire && !o.expiry_time_period) throw UsageError("Missing required argument \"[expiry-time-period]\"");
  if (o.create && o.owner_principals.size() > 1) throw UsageError("Option \"[owner-principal]\" can be used only once with --create");
}

}  // namespace

int run_delegation_tokens(const DelegationTokensOptions& o, std::ostream& out, std::ostream& err) {
  try {
    check_args(o);
    client::ClientOptions copts;
    copts.client_id = "flotilla-delegation-tokens";
    auto props = server::load_properties_file(*o.command_config);
    apply_client_security(props);
    if (auto it = props.find("request.timeout.ms"); it != props.end()) copts.request_timeout_ms = std::stoi(it->second);
    if (auto it = props.find("client.id"); it != props.end()) copts.client_id = it->second;
    client::KafkaClient kc(*o.bootstrap_server, copts);
    client::Connection& c = kc.any();
    if (o.create) {
      auto renewers = principals(o.renewer_principals);
      std::optional<security::KafkaPrincipal> owner;
      if (!o.owner_principals.empty()) owner = principals(o.owner_principals).at(0);
      out << "Calling create token operation with renewers :" << principals_text(renewers) << " , max-life-time-period :"
          << *o.max_life_time_period << "\n";
      auto r = client::create_delegation_token(c, renewers, *o.max_life_time_period, owner);
      check(static_cast<ErrorCode>(r.error_code));
      out << "Created delegation token with tokenId : " << r.token_id << "\n";
      print_tokens(out, {Token{r.token_id, security::base64_encode(r.hmac), r.principal_type + ":" + r.principal_name,
                               r.token_requester_principal_type + ":" + r.token_requester_principal_name, renewers, r.issue_timestamp_ms,
                               r.expiry_timestamp_ms, r.max_timestamp_ms}});
    } else if (o.renew) {
      out << "Calling renew token operation with hmac :" << *o.hmac << " , renew-time-period :" << *o.renew_time_period << "\n";
      auto r = client::renew_delegation_token(c, hmac_bytes(*o.hmac), *o.renew_time_period);
      check(static_cast<ErrorCode>(r.error_code));
      out << "Completed renew operation. New expiry date : " << date(r.expiry_timestamp_ms);
    } else if (o.expire) {
      out << "Calling expire token operation with hmac :" << *o.hmac << " , expire-time-period :" << *o.expiry_time_period << "\n";
      auto r = client::expire_delegation_token(c, hmac_bytes(*o.hmac), *o.expiry_time_period);
      check(static_cast<ErrorCode>(r.error_code));
      out << "Completed expire operation. New expiry date : " << date(r.expiry_timestamp_ms);
    } else {
      std::optional<std::vector<security::KafkaPrincipal>> owners;
      if (o.owner_principals.empty()) {
        out << "Calling describe token operation for current user.\n";
      } else {
        owners = principals(o.owner_principals);
        out << "Calling describe token operation for owners :" << principals_text(*owners) << "\n";
      }
      auto r = client::describe_delegation_tokens(c, owners);
      check(static_cast<ErrorCode>(r.error_code));
      std::vector<Token> tokens;
      for (const auto& t : r.tokens) {
        Token x{t.token_id, security::base64_encode(t.hmac), t.principal_type + ":" + t.principal_name,
                t.token_requester_principal_type + ":" + t.token_requester_principal_name, {}, t.issue_timestamp, t.expiry_timestamp,
                t.max_timestamp};
        for (const auto& rn : t.renewers) x.renewers.push_back({rn.principal_type, rn.principal_name});
        tokens.push_back(std::move(x));
      }
      out << "Total number of tokens : " << tokens.size();
      print_tokens(out, tokens);
    }
    return 0;
  } catch (const UsageError& e) {
    err << e.what() << "\n";
    return 1;
  } catch (const client::KafkaError& e) {
    out << "Error while executing delegation token command : " << kafka_exception(code(e.code()), std::string(e.what())) << "\n";
  } catch (const std::exception& e) {
    out << "Error while executing delegation token command : " << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
