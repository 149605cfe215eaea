// `flotilla configs --entity-type users|clients` quota configs (Kafka's
// ConfigCommand with --bootstrap-server): --describe prints each matching
// quota entity as "Quota configs for user-principal 'alice', client-id 'app'
// are producer_byte_rate=1048576.0" (entities and keys in the order Kafka's
// admin client's HashMaps give them, values as Java prints a Double);
// --alter sends one AlterClientQuotas entry for the entity the command names
// (a default entity for --entity-default / --user-defaults /
// --client-defaults), refusing to delete keys the entity does not have.
//
// The entity of a command: one (type, name) per --entity-type, in command
// order, a name "" meaning the default; the describe filter is Kafka's
// ClientQuotaFilter.containsOnly of those (a type without a name matches any
// entity of that type).
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "client/kafka_client.h"

namespace flotilla::tools::configs {

// `types` are the command's entity types ("users", "clients"), `names` its
// entity names in order ("" for a default); fewer names than types leave the
// last types unnamed (any entity of the type).
void describe_quota_configs(client::KafkaClient& client, const std::vector<std::string>& types, const std::vector<std::string>& names,
                            std::ostream& out);
void alter_quota_configs(client::KafkaClient& client, const std::vector<std::string>& types, const std::vector<std::string>& names,
                         const std::map<std::string, std::string>& to_add, const std::vector<std::string>& to_delete);

// Java's Double.parseDouble (Scala's String.toDouble): leading and trailing
// whitespace, a sign, decimal digits with an optional exponent, an f/F/d/D
// suffix, NaN, Infinity, hexadecimal floating-point. nullopt if it would throw.
std::optional<double> java_parse_double(const std::string& s);

}  // namespace flotilla::tools::configs
