#include "tools/configs_users.h"

#include <regex>

#include "client/admin.h"
#include "security/scram.h"
#include "tools/kafka_output.h"

namespace flotilla::tools::configs {

namespace {

// "org.apache.kafka.common.errors.ResourceNotFoundException: text" -> "ResourceNotFoundException: text"
// (Kafka prints getClass.getSimpleName there).
std::string simple_exception(int16_t code, const std::optional<std::string>& message) {
  std::string full = kafka_exception(code, message);
  size_t colon = full.find(':');
  size_t dot = full.rfind('.', colon);
  return dot == std::string::npos ? full : full.substr(dot + 1);
}

// Kafka's iterationsAndPasswordBytes: "(iterations=N,)?password=P"; -1 or none: 4096.
std::pair<int32_t, std::string> iterations_and_password(const std::string& mechanism, const std::string& value) {
  static const std::regex pattern("(?:iterations=(-?[0-9]*),)?password=(.*)");
  std::smatch m;
  // The value holds a password: the message names the mechanism only.
  if (!std::regex_match(value, m, pattern)) throw UsageError("Invalid credential property " + mechanism + "=<hidden>");
  int32_t iterations = security::kScramMinIterations;
  if (m[1].matched && !m[1].str().empty() && m[1].str() != "-1") {
    try {
      iterations = std::stoi(m[1].str());
    } catch (const std::exception&) {
      throw UsageError("For input string: \"" + m[1].str() + "\"");
    }
  }
  if (iterations < security::kScramMinIterations)
    throw UsageError("Iterations " + std::to_string(iterations) + " is less than the minimum " +
                     std::to_string(security::kScramMinIterations) + " required for " + mechanism);
  return {iterations, m[2].str()};
}

}  // namespace

void describe_user_scram_configs(client::KafkaClient& client, const std::vector<std::string>& names, std::ostream& out) {
  std::optional<std::vector<std::string>> users;
  if (!names.empty()) users = names;
  auto resp = client::describe_user_scram_credentials(client.any(), users);
  if (resp.error_code != 0) throw ServerError(kafka_exception(resp.error_code, resp.error_message));
  for (const auto& r : resp.results) {
    if (r.error_code != 0) {
      out << "Error retrieving SCRAM credential configs for user-principal '" << r.user
          << "': " << simple_exception(r.error_code, r.error_message) << "\n";
      continue;
    }
    std::string text;
    for (const auto& info : r.credential_infos) {
      auto name = security::scram_mechanism_name(static_cast<security::ScramMechanism>(info.mechanism));
      text += (text.empty() ? "" : ", ") + std::string(name) + "=iterations=" + std::to_string(info.iterations);
    }
    out << "SCRAM credential configs for user-principal '" << r.user << "' are " << text << "\n";
  }
}

void alter_user_scram_configs(client::KafkaClient& client, const std::string& user, const std::map<std::string, std::string>& to_add,
                              const std::vector<std::string>& to_delete) {
  // Kafka's alterConfig for users: SCRAM configs only here (the caller sends quota keys to configs_quotas.h).
  std::string unknown_add, unknown_delete;
  for (const auto& [k, v] : to_add)
    if (!security::parse_scram_mechanism(k)) unknown_add += (unknown_add.empty() ? "" : ", ") + k;
  for (const auto& k : to_delete)
    if (!security::parse_scram_mechanism(k)) unknown_delete += (unknown_delete.empty() ? "" : ", ") + k;
  if (!unknown_add.empty())
    throw UsageError("Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: Set(" +
                     unknown_add + ")");
  if (!unknown_delete.empty())
    throw UsageError(
        "Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: List(" +
        unknown_delete + ")");
  if (user.empty())
    throw UsageError("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.");
  std::vector<client::ScramDeletion> deletions;
  for (const auto& k : to_delete) deletions.push_back({user, *security::parse_scram_mechanism(k)});
  std::vector<client::ScramUpsertion> upsertions;
  for (const auto& [k, v] : to_add) {
    auto [iterations, password] = iterations_and_password(k, v);
    upsertions.push_back({user, *security::parse_scram_mechanism(k), iterations, std::move(password)});
  }
  msg::AlterUserScramCredentialsResponse resp;
  try {
    resp = client::alter_user_scram_credentials(client.any(), deletions, upsertions);
  } catch (const client::KafkaError&) {
    throw UsageError(
        "The ALTER_USER_SCRAM_CREDENTIALS API is not supported by the cluster. The API is supported starting from version 2.7.0.");
  }
  for (const auto& r : resp.results)
    if (r.error_code != 0) throw ServerError(kafka_exception(r.error_code, r.error_message));
}

}  // namespace flotilla::tools::configs
