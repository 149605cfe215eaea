// See rest_records_input.h.
#include "http/rest_records_input.h"

#include "common/json_depth.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "security/base64.h"

namespace flotilla::http::rest {

namespace {

// Jackson's text of a JSON value, as kafka-rest quotes it in messages.
std::string shown(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::optional<RecordPart> parse_part(const json& record, const char* field) {
  auto it = record.find(field);
  if (it == record.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) bad_request(std::string("Cannot deserialize the ") + field + ": a JSON object is required");
  const json& part = *it;
  auto type = opt_string(part, "type");
  if (!type) {
    // No type: a schema-registry format (subject, schema_id, schema_version, schema).
    bad_request(std::string("Bad Request: ") + field +
                " has no type; schema-based formats need a Schema Registry, which this server does not use");
  }
  if (*type == "AVRO" || *type == "JSONSCHEMA" || *type == "PROTOBUF")
    bad_request("Bad Request: " + *type + " needs a Schema Registry, which this server does not use");
  if (*type != "BINARY" && *type != "JSON" && *type != "STRING")
    bad_request(
        "Cannot deserialize value of type `EmbeddedFormat` from String \"" + *type +
        "\": not one of the values accepted for Enum class: [BINARY, JSON, STRING, AVRO, JSONSCHEMA, PROTOBUF]");
  RecordPart out;
  out.type = *type;
  auto d = part.find("data");
  if (d == part.end() || d->is_null()) return out;  // null data: a null key/value
  if (out.type == "BINARY") {
    if (!d->is_string()) bad_request("Bad Request: data=" + shown(*d) + " is not a base64 string.");
    auto bytes = security::base64_decode(d->get_ref<const std::string&>());
    if (!bytes) bad_request("Bad Request: data=" + shown(*d) + " is not a valid base64 string.");
    out.bytes = std::move(*bytes);
  } else if (out.type == "STRING") {
    if (!d->is_string()) bad_request("Bad Request: data=" + shown(*d) + " is not a string.");
    const auto& s = d->get_ref<const std::string&>();
    out.bytes = std::vector<uint8_t>(s.begin(), s.end());
  } else {
    std::string text = shown(*d);
    out.bytes = std::vector<uint8_t>(text.begin(), text.end());
  }
  return out;
}

std::vector<records::Header> parse_headers(const json& record) {
  std::vector<records::Header> out;
  auto it = record.find("headers");
  if (it == record.end() || it->is_null()) return out;
  if (!it->is_array()) bad_request("Cannot deserialize the headers: a JSON array is required");
  for (const auto& h : *it) {
    if (!h.is_object()) bad_request("Cannot deserialize a header: a JSON object is required");
    records::Header header;
    header.key = req_string(h, "name");
    if (auto v = opt_string(h, "value")) {
      auto bytes = security::base64_decode(*v);
      if (!bytes)
        bad_request("Cannot deserialize value of type `byte[]` from String \"" + v->substr(0, 64) +
                    "\": not a valid base64 string");
      header.value = std::move(*bytes);
    }
    out.push_back(std::move(header));
  }
  return out;
}

int parse_digits(std::string_view s, size_t pos, size_t n, bool& ok) {
  int v = 0;
  if (pos + n > s.size()) {
    ok = false;
    return 0;
  }
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) ok = false;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::vector<BodyValue> split_records(std::string_view body) {
  std::vector<BodyValue> out;
  if (!json_depth_within(body)) {  // checked whole: a value's end is not known before it parses
    out.push_back(BodyValue{std::nullopt, "Error processing JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"});
    return out;
  }
  std::istringstream in{std::string(body)};
  while (true) {
    while (in && std::isspace(in.peek())) in.get();
    if (in.peek() == std::char_traits<char>::eof()) break;
    BodyValue v;
    try {
      json j;
      in >> j;
      v.value = std::move(j);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a number too large (1e999)
      v.error = std::string("Error processing JSON: ") + e.what();
      out.push_back(std::move(v));
      break;  // no way to find where the next value starts
    }
    out.push_back(std::move(v));
  }
  return out;
}

ProduceInput parse_record(const json& record) {
  if (!record.is_object()) bad_request("Cannot deserialize the record: a JSON object is required");
  ProduceInput in;
  if (auto p = opt_int(record, "partition_id")) {
    if (*p < 0) fail(404, kUnknownTopicOrPartitionCode, "Partition not found.");
    if (*p > INT32_MAX) bad_request("Cannot deserialize value of type `java.lang.Integer` for partition_id");
    in.partition_id = static_cast<int32_t>(*p);
  }
  in.headers = parse_headers(record);
  in.key = parse_part(record, "key");
  in.value = parse_part(record, "value");
  auto ts = record.find("timestamp");
  if (ts != record.end() && !ts->is_null()) {
    if (ts->is_number_integer()) {
      in.timestamp_ms = ts->get<int64_t>();
    } else if (ts->is_string()) {
      in.timestamp_ms = iso8601_ms(ts->get_ref<const std::string&>());
      if (!in.timestamp_ms)
        bad_request("Cannot deserialize value of type `java.time.Instant` from String \"" +
                    ts->get_ref<const std::string&>().substr(0, 64) + "\"");
    } else {
      bad_request("Cannot deserialize value of type `java.time.Instant` for timestamp");
    }
    // As Kafka's ProducerRecord (a batch's timestamp deltas are then within int64).
    if (*in.timestamp_ms < 0)
      bad_request("Invalid timestamp: " + std::to_string(*in.timestamp_ms) +
                  ". Timestamp should always be non-negative or null.");
  }
  return in;
}

std::optional<int64_t> iso8601_ms(std::string_view s) {
  using namespace std::chrono;
  bool ok = true;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  int y = parse_digits(s, 0, 4, ok), mo = parse_digits(s, 5, 2, ok), d = parse_digits(s, 8, 2, ok);
  int h = parse_digits(s, 11, 2, ok), mi = parse_digits(s, 14, 2, ok), sec = parse_digits(s, 17, 2, ok);
  if (!ok || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    if (pos + 6 != s.size() || s[pos + 3] != ':') return std::nullopt;
    int oh = parse_digits(s, pos + 1, 2, ok), om = parse_digits(s, pos + 4, 2, ok);
    if (!ok || oh > 18 || om > 59) return std::nullopt;
    offset_min = sign * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t days = sys_days{ymd}.time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi - offset_min) * 60000 + sec * 1000 + millis;
}

std::string format_iso8601(int64_t ms) {
  // Any int64 (a record's CreateTime is whatever its producer sent): days and
  // the civil date are computed in int64 — std::chrono's floor<days> overflows
  // converting back to ms near the ends, and its year is a short.
  int64_t days = ms / 86400000, in_day = ms % 86400000;
  if (in_day < 0) in_day += 86400000, --days;
  // The proleptic Gregorian date of a day number (eras of 400 years).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[64];
  // Java's Instant.toString: four digits, a sign beyond them ("+10000", "-0001").
  int n = year > 9999 ? std::snprintf(buf, sizeof buf, "+%lld", static_cast<long long>(year))
          : year < 0  ? std::snprintf(buf, sizeof buf, "-%04lld", -static_cast<long long>(year))
                      : std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(year));
  std::string out(buf, static_cast<size_t>(n));
  const int64_t secs = in_day / 1000, frac = in_day % 1000;
  n = std::snprintf(buf, sizeof buf, "-%02lld-%02lldT%02lld:%02lld:%02lld", static_cast<long long>(month), static_cast<long long>(day),
                    static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  out.append(buf, static_cast<size_t>(n));
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac));
    out += buf;
  }
  return out + "Z";
}

}  // namespace flotilla::http::rest
