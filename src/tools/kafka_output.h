// The shapes Kafka's Java tools print in, shared by the admin front ends:
// an error code as the Java exception a tool prints for it
// (kafka-configs, kafka-leader-election, kafka-transactions), "%-Ns" columns
// (kafka-consumer-groups) and ToolsUtils.prettyPrintTable
// (kafka-metadata-quorum, kafka-transactions). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flotilla::tools {

// "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: <message>",
// as a Java tool prints the exception of an error code (the server's message,
// else Kafka's default one).
std::string kafka_exception(int16_t code, const std::optional<std::string>& message);

// Formatting as Kafka's tools print with "%-Ns": each value left-aligned and
// padded to its width (width 0: no padding), separated by one space.
std::string kafka_columns(const std::vector<std::pair<std::string, size_t>>& cols);

// Kafka's ToolsUtils.prettyPrintTable: every cell left-aligned and padded to
// its column's widest cell, followed by a tab (the last one too), one line per row.
std::string pretty_print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);

}  // namespace flotilla::tools
