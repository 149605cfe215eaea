// The console tools' text formats: Kafka's LineMessageReader (console
// producer: parse.key, key.separator, parse.headers, null.marker, ignore.error)
// and DefaultMessageFormatter (console consumer: print.timestamp,
// print.partition, print.offset, print.headers, print.key, print.value,
// key.separator, line.separator, headers.separator, null.literal).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "client/producer.h"
#include "protocol/record_batch.h"

namespace flotilla::tools {

using client::ProducerRecord;

// "none" | "gzip" | "snappy" | "lz4" | "zstd" (also "uncompressed"); nullopt if unknown.
std::optional<records::Compression> parse_compression(const std::string& name);
// "all" | "-1" | "0" | "1"; throws std::invalid_argument.
int16_t parse_acks(const std::string& acks);

// `k=v` arguments (--property, --producer-property, --producer-props ...) into
// a map; the value is everything after the first '='. Throws std::invalid_argument.
std::map<std::string, std::string> parse_key_values(const std::vector<std::string>& args);

// Kafka's boolean property values: "true" (any case, trimmed) is true.
bool property_true(const std::map<std::string, std::string>& props, const std::string& key, bool dflt);
// A LONG property value (the whole text a decimal number); throws
// std::invalid_argument "Invalid value V for configuration K: Not a number of type LONG".
int64_t parse_long_property(const std::string& key, const std::string& value);

struct FormatterOptions {
  bool print_timestamp = false;
  bool print_partition = false;
  bool print_offset = false;
  bool print_headers = false;
  bool print_key = false;
  bool print_value = true;
  std::string key_separator = "\t";
  std::string line_separator = "\n";
  std::string headers_separator = ",";
  std::string null_literal = "null";
};
FormatterOptions formatter_options(const std::map<std::string, std::string>& props);

// Appends one record as DefaultMessageFormatter writes it.
void format_record(std::string& out, const FormatterOptions& o, int32_t partition, const records::Record& r, bool log_append_time);

struct LineReaderOptions {
  bool parse_key = false;
  std::string key_separator = "\t";
  bool parse_headers = false;
  std::string headers_delimiter = "\t";
  std::string headers_separator = ",";
  std::string headers_key_separator = ":";
  bool ignore_error = false;
  std::optional<std::string> null_marker;
};
LineReaderOptions line_reader_options(const std::map<std::string, std::string>& props);

// Thrown for a line the reader cannot parse (Kafka's KafkaException text).
class LineFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one input line (without its line terminator); line_number counts from 1.
ProducerRecord parse_line(const std::string& line, const LineReaderOptions& o, int64_t line_number);

}  // namespace flotilla::tools
