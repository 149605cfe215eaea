// The tools' client security settings: the properties of --command-config,
// --producer.config, --consumer.config, --admin.config (and -property
// overrides) that say how to authenticate (security.protocol, sasl.mechanism,
// sasl.jaas.config, sasl.username / sasl.password) become the process-wide
// client security of client::Connection, before the tool connects.
#pragma once

#include <map>
#include <string>

namespace flotilla::tools {

// Throws std::invalid_argument naming the property (never its value).
void apply_client_security(const std::map<std::string, std::string>& props);

}  // namespace flotilla::tools
