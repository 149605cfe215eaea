// `flotilla configs --entity-type users` (Kafka's ConfigCommand with
// --bootstrap-server): SCRAM credential configs. --describe prints each user's
// mechanisms and iteration counts; --alter turns
// `SCRAM-SHA-256=[iterations=8192,password=...]` into an upsertion (salted on
// this side, default 4096 iterations) and --delete-config SCRAM-SHA-512 into a
// deletion, sent together in one AlterUserScramCredentials. Quota configs go
// through configs_quotas.h (configs_tool.cc decides which keys go where, as
// Kafka's alterConfig does). A password never reaches the output.
#pragma once

#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "client/kafka_client.h"

namespace flotilla::tools::configs {

// Errors Kafka's ConfigCommand prints as their message alone (IllegalArgumentException,
// InvalidConfigurationException).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A request that failed on the server: printed as Kafka prints an ExecutionException.
class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `names` empty: every user with credentials.
void describe_user_scram_configs(client::KafkaClient& client, const std::vector<std::string>& names, std::ostream& out);
void alter_user_scram_configs(client::KafkaClient& client, const std::string& user, const std::map<std::string, std::string>& to_add,
                              const std::vector<std::string>& to_delete);

}  // namespace flotilla::tools::configs
