// The JSON texts of an image's parts as Kafka's metadata shell shows them
// (`flotilla metadata-shell`, `metadata-diff` and the console's snapshot diff
// use these). Pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "metadata/image.h"

namespace flotilla::metadata {

std::string broker_json(const BrokerRegistration& b);
std::string partition_json(const PartitionRegistration& p);
// The fields of partition_json, named as Kafka's shell names them.
nlohmann::ordered_json partition_registration_json(const PartitionRegistration& p);
// "topic", "broker", "broker_logger", "client_metrics", "group", else the number.
std::string config_type_name(int8_t type);

}  // namespace flotilla::metadata
