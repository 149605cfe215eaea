// The pieces `flotilla dump-log`'s two files share: dump_log.cc (log
// segments and snapshots: batches, records, control records, decoders) and
// dump_log_index.cc (`.index` and `.timeindex` files checked against their
// segment). See tools/dump_log.h for what the tool prints and why.
//
// Invariants: a DumpError is where Kafka's tool would die with an exception
// (printed to stderr, exit code 1, after what was printed so far); the
// Context's mismatch lists are printed on stderr after the last file.
// Threading: one thread.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/record_batch.h"
#include "tools/commands.h"

namespace flotilla::tools::dump {

// Where Kafka's tool would die with an exception: the message is printed to
// stderr and the run ends with exit code 1.
struct DumpError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// java.io.File's toString of a path as given: repeated separators collapsed,
// a trailing one dropped.
std::string java_file_string(const std::string& arg);

// Long.parseLong / Integer.parseInt: optional sign, decimal digits, in range.
template <class T>
T java_parse(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  T v{};
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
      (s[0] == '+' && digits[0] == '-'))
    throw DumpError("java.lang.NumberFormatException: For input string: \"" + std::string(s) + "\"");
  return v;
}

// One record of a v2 batch as Kafka's DefaultRecord.readFrom reads it.
struct RecordView {
  int64_t offset = 0;
  int64_t timestamp = 0;
  int32_t offset_delta = 0;
  std::optional<std::span<const uint8_t>> key, value;
  std::vector<std::string> header_keys;
};

// --key-decoder-class / --value-decoder-class: the decoders Kafka ships
// that print text (StringDecoder, IntegerDecoder, LongDecoder).
enum class Decoder { STRING, INTEGER, LONG };

struct Context {
  Context(const DumpLogOptions& opts, std::ostream& os) : o(opts), out(os) {}
  const DumpLogOptions& o;
  std::ostream& out;
  bool print_contents = false;
  bool deep = false;
  Decoder key_decoder = Decoder::STRING, value_decoder = Decoder::STRING;
  // Reported on stderr after every file, as Kafka does: absolute path ->
  // (previous offset, next offset) pairs, printed latest first.
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>> non_consecutive;
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>> index_mismatches;  // latest first
  // TimeIndexDumpErrors: (index timestamp, log timestamp), (index timestamp,
  // previous index timestamp), (indexed offset, log offset found), in order.
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>> time_mismatches, out_of_order,
      shallow_offset_not_found;
};

// The (first, second) pairs reported for `key` (a file), made on first use.
std::vector<std::pair<int64_t, int64_t>>& pairs_for(
    std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>>& list, const std::string& key);

// Kafka's FileLogInputStream over [0, end): the next whole batch at pos, or
// nothing at the end (or before a trailing partial batch).
std::optional<std::span<const uint8_t>> next_batch(std::span<const uint8_t> data, size_t pos, size_t end, const std::string& file);

// Calls f(record) for every record of a v2 batch, as Kafka's
// DefaultRecordBatch iterator yields them (decompressing first).
void for_each_record(const records::BatchHeader& h, std::span<const uint8_t> batch, const std::function<void(const RecordView&)>& f);

// `.index` (DumpLogSegments.dumpIndex) and `.timeindex` (dumpTimeIndex) files.
void dump_index_file(Context& ctx, const std::string& file, const std::string& name);
void dump_time_index_file(Context& ctx, const std::string& file, const std::string& name);

}  // namespace flotilla::tools::dump
