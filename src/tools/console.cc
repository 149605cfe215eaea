#include "tools/console.h"

#include <algorithm>
#include <cctype>

namespace flotilla::tools {

namespace {
std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}
bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
// Java's String.replace of the escapes a shell user types ("\t", "\n").
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[i + 1];
      if (c == 't') { out += '\t'; ++i; continue; }
      if (c == 'n') { out += '\n'; ++i; continue; }
      if (c == 'r') { out += '\r'; ++i; continue; }
    }
    out += s[i];
  }
  return out;
}
}  // namespace

std::optional<records::Compression> parse_compression(const std::string& name_in) {
  std::string name;
  for (char c : trim(name_in)) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "none" || name == "uncompressed") return records::Compression::NONE;
  if (name == "gzip") return records::Compression::GZIP;
  if (name == "snappy") return records::Compression::SNAPPY;
  if (name == "lz4") return records::Compression::LZ4;
  if (name == "zstd") return records::Compression::ZSTD;
  return std::nullopt;
}

int16_t parse_acks(const std::string& acks_in) {
  std::string a = trim(acks_in);
  if (iequals(a, "all") || a == "-1") return -1;
  if (a == "0") return 0;
  if (a == "1") return 1;
  throw std::invalid_argument("Invalid value " + acks_in + " for configuration acks: String must be one of: all, -1, 0, 1");
}

std::map<std::string, std::string> parse_key_values(const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument("Invalid command line properties: " + a);
    out[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return out;
}

bool property_true(const std::map<std::string, std::string>& props, const std::string& key, bool dflt) {
  auto it = props.find(key);
  if (it == props.end()) return dflt;
  return iequals(trim(it->second), "true");
}

int64_t parse_long_property(const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    long long x = std::stoll(value, &used);
    if (used != value.size()) throw std::invalid_argument(value);
    return static_cast<int64_t>(x);
  } catch (const std::logic_error&) {
    throw std::invalid_argument("Invalid value " + value + " for configuration " + key + ": Not a number of type LONG");
  }
}

FormatterOptions formatter_options(const std::map<std::string, std::string>& props) {
  FormatterOptions o;
  o.print_timestamp = property_true(props, "print.timestamp", false);
  o.print_partition = property_true(props, "print.partition", false);
  o.print_offset = property_true(props, "print.offset", false);
  o.print_headers = property_true(props, "print.headers", false);
  o.print_key = property_true(props, "print.key", false);
  o.print_value = property_true(props, "print.value", true);
  if (auto it = props.find("key.separator"); it != props.end()) o.key_separator = unescape(it->second);
  if (auto it = props.find("line.separator"); it != props.end()) o.line_separator = unescape(it->second);
  if (auto it = props.find("headers.separator"); it != props.end()) o.headers_separator = unescape(it->second);
  if (auto it = props.find("null.literal"); it != props.end()) o.null_literal = it->second;
  return o;
}

void format_record(std::string& out, const FormatterOptions& o, int32_t partition, const records::Record& r, bool log_append_time) {
  auto sep = [&](bool column) { out += column ? o.key_separator : o.line_separator; };
  auto bytes = [&](const std::optional<std::vector<uint8_t>>& b) {
    if (!b) out += o.null_literal;
    else out.append(reinterpret_cast<const char*>(b->data()), b->size());
  };
  if (o.print_timestamp) {
    out += log_append_time ? "LogAppendTime:" : "CreateTime:";
    out += std::to_string(r.timestamp);
    sep(o.print_partition || o.print_offset || o.print_headers || o.print_key || o.print_value);
  }
  if (o.print_partition) {
    out += "Partition:";
    out += std::to_string(partition);
    sep(o.print_offset || o.print_headers || o.print_key || o.print_value);
  }
  if (o.print_offset) {
    out += "Offset:";
    out += std::to_string(r.offset);
    sep(o.print_headers || o.print_key || o.print_value);
  }
  if (o.print_headers) {
    if (r.headers.empty()) {
      out += "NO_HEADERS";
    } else {
      for (size_t i = 0; i < r.headers.size(); ++i) {
        if (i) out += o.headers_separator;
        out += r.headers[i].key;
        out += ':';
        bytes(r.headers[i].value);
      }
    }
    sep(o.print_key || o.print_value);
  }
  if (o.print_key) {
    bytes(r.key);
    sep(o.print_value);
  }
  if (o.print_value) {
    bytes(r.value);
    out += o.line_separator;
  }
}

LineReaderOptions line_reader_options(const std::map<std::string, std::string>& props) {
  LineReaderOptions o;
  o.parse_key = property_true(props, "parse.key", false);
  o.parse_headers = property_true(props, "parse.headers", false);
  o.ignore_error = property_true(props, "ignore.error", false);
  if (auto it = props.find("key.separator"); it != props.end()) o.key_separator = unescape(it->second);
  if (auto it = props.find("headers.delimiter"); it != props.end()) o.headers_delimiter = unescape(it->second);
  if (auto it = props.find("headers.separator"); it != props.end()) o.headers_separator = unescape(it->second);
  if (auto it = props.find("headers.key.separator"); it != props.end()) o.headers_key_separator = unescape(it->second);
  if (auto it = props.find("null.marker"); it != props.end()) o.null_marker = it->second;
  if (o.key_separator.empty()) throw std::invalid_argument("key.separator must not be empty");
  if (o.parse_headers) {
    if (o.headers_delimiter.empty() || o.headers_separator.empty() || o.headers_key_separator.empty())
      throw std::invalid_argument("headers.delimiter, headers.separator and headers.key.separator must not be empty");
    if (o.headers_delimiter == o.headers_separator) throw std::invalid_argument("headers.delimiter and headers.separator may not be equal");
    if (o.headers_delimiter == o.headers_key_separator)
      throw std::invalid_argument("headers.delimiter and headers.key.separator may not be equal");
    if (o.headers_separator == o.headers_key_separator)
      throw std::invalid_argument("headers.separator and headers.key.separator may not be equal");
  }
  if (o.null_marker && (*o.null_marker == o.key_separator || *o.null_marker == o.headers_delimiter ||
                        (o.parse_headers && (*o.null_marker == o.headers_separator || *o.null_marker == o.headers_key_separator))))
    throw std::invalid_argument("null.marker may not be equal to a separator or delimiter");
  return o;
}

namespace {
std::optional<std::string> parse_part(bool enabled, const std::string& line, size_t start, const std::string& demarcation,
                                      const char* name, const LineReaderOptions& o, int64_t line_number) {
  if (!enabled) return std::nullopt;
  size_t idx = line.find(demarcation, start);
  if (idx == std::string::npos) {
    if (o.ignore_error) return std::nullopt;
    throw LineFormatError("No " + std::string(name) + " found on line number " + std::to_string(line_number) + ": '" + line + "'");
  }
  return line.substr(start, idx - start);
}
}  // namespace

ProducerRecord parse_line(const std::string& line, const LineReaderOptions& o, int64_t line_number) {
  ProducerRecord rec;
  auto headers = parse_part(o.parse_headers, line, 0, o.headers_delimiter, "headers delimiter", o, line_number);
  size_t header_offset = headers ? headers->size() + o.headers_delimiter.size() : 0;
  auto key = parse_part(o.parse_key, line, header_offset, o.key_separator, "key separator", o, line_number);
  size_t key_offset = key ? key->size() + o.key_separator.size() : 0;
  std::string value = line.substr(std::min(line.size(), header_offset + key_offset));
  if (key && !(o.null_marker && *key == *o.null_marker)) rec.key = *key;
  if (!(o.null_marker && value == *o.null_marker)) rec.value = value;
  if (headers && !(o.null_marker && *headers == *o.null_marker)) {
    size_t pos = 0;
    for (;;) {
      size_t next = headers->find(o.headers_separator, pos);
      std::string pair = headers->substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      size_t i = pair.find(o.headers_key_separator);
      records::Header h;
      if (i == std::string::npos) {
        if (!o.ignore_error)
          throw LineFormatError("No header key separator found in pair '" + pair + "' on line number " + std::to_string(line_number));
        h.key = pair;
      } else {
        h.key = pair.substr(0, i);
        if (o.null_marker && h.key == *o.null_marker)
          throw LineFormatError("Header keys should not be equal to the null marker '" + *o.null_marker + "' as they can't be null");
        std::string v = pair.substr(i + o.headers_key_separator.size());
        if (!(o.null_marker && v == *o.null_marker)) h.value = std::vector<uint8_t>(v.begin(), v.end());
      }
      rec.headers.push_back(std::move(h));
      if (next == std::string::npos) break;
      pos = next + o.headers_separator.size();
    }
  }
  return rec;
}

}  // namespace flotilla::tools
