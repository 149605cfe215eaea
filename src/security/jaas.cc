#include "security/jaas.h"

#include <vector>

namespace flotilla::security {

namespace {

enum class JaasTokenKind { kEnd, kWord, kQuoted, kSemicolon, kEquals };

struct JaasToken {
  JaasTokenKind kind = JaasTokenKind::kEnd;
  std::string text;
  bool is_string() const { return kind == JaasTokenKind::kWord || kind == JaasTokenKind::kQuoted; }
};

bool is_jaas_word_byte(unsigned char c) {
  return c > ' ' && c != ';' && c != '=' && c != '"' && c != '\'' && c != '/';
}

// StreamTokenizer's syntax as Kafka's JaasConfig sets it up.
class JaasTokenizer {
 public:
  explicit JaasTokenizer(std::string_view s) : s_(s) {}

  // False (with `error`) only for a quoted value left open.
  bool next(JaasToken& tok, std::string& error) {
    tok = {};
    skip_space_and_comments();
    if (pos_ >= s_.size()) return true;
    char c = s_[pos_];
    if (c == ';' || c == '=') {
      tok.kind = c == ';' ? JaasTokenKind::kSemicolon : JaasTokenKind::kEquals;
      ++pos_;
      return true;
    }
    if (c == '"' || c == '\'') return quoted(c, tok, error);
    size_t start = pos_;
    while (pos_ < s_.size() && is_jaas_word_byte(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    tok.kind = JaasTokenKind::kWord;
    tok.text = std::string(s_.substr(start, pos_ - start));
    return true;
  }

 private:
  void skip_space_and_comments() {
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c <= ' ') {
        ++pos_;
      } else if (c == '/') {
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '*') {
          size_t end = s_.find("*/", pos_ + 2);
          pos_ = end == std::string_view::npos ? s_.size() : end + 2;
        } else {  // "//" and a lone '/' (a comment character) both run to the end of the line
          while (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
        }
      } else {
        return;
      }
    }
  }

  bool quoted(char quote, JaasToken& tok, std::string& error) {
    ++pos_;
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == quote) {
        tok.kind = JaasTokenKind::kQuoted;
        tok.text = std::move(out);
        return true;
      }
      if (c == '\n' || c == '\r') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        default:
          if (e >= '0' && e <= '7') {  // up to three octal digits, at most \377
            int value = e - '0';
            int max_digits = e <= '3' ? 3 : 2;
            for (int d = 1; d < max_digits && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; ++d)
              value = value * 8 + (s_[pos_++] - '0');
            out += static_cast<char>(value);
          } else {
            out += e;
          }
      }
    }
    error = "Unterminated quoted value in JAAS config";
    return false;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

std::optional<JaasControlFlag> parse_flag(std::string_view s) {
  std::string upper;
  for (char c : s) upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  if (upper == "REQUIRED") return JaasControlFlag::REQUIRED;
  if (upper == "REQUISITE") return JaasControlFlag::REQUISITE;
  if (upper == "SUFFICIENT") return JaasControlFlag::SUFFICIENT;
  if (upper == "OPTIONAL") return JaasControlFlag::OPTIONAL;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> JaasConfig::option(std::string_view key) const {
  auto it = options.find(std::string(key));
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::optional<JaasConfig> parse_jaas_config(std::string_view text, std::string& error) {
  JaasTokenizer tokens(text);
  JaasToken tok;
  std::vector<JaasConfig> entries;
  auto fail = [&](std::string message) -> std::optional<JaasConfig> {
    error = std::move(message);
    return std::nullopt;
  };
  while (true) {
    if (!tokens.next(tok, error)) return std::nullopt;
    if (tok.kind == JaasTokenKind::kEnd) break;
    JaasConfig entry;
    if (!tok.is_string() || tok.text.empty()) return fail("Login module not specified in JAAS config");
    entry.login_module = std::move(tok.text);
    if (!tokens.next(tok, error)) return std::nullopt;
    if (tok.kind == JaasTokenKind::kEnd) return fail("Login module control flag not specified in JAAS config");
    auto flag = tok.is_string() ? parse_flag(tok.text) : std::nullopt;
    if (!flag) return fail("Invalid login module control flag in JAAS config");
    entry.flag = *flag;
    for (int ordinal = 1;; ++ordinal) {
      if (!tokens.next(tok, error)) return std::nullopt;
      if (tok.kind == JaasTokenKind::kEnd || tok.kind == JaasTokenKind::kSemicolon) break;
      std::string where = " (option " + std::to_string(ordinal) + " of the login module)";
      if (!tok.is_string() || tok.text.empty()) return fail("Option name expected in JAAS config" + where);
      std::string key = std::move(tok.text);
      if (!tokens.next(tok, error)) return std::nullopt;
      if (tok.kind != JaasTokenKind::kEquals) return fail("Value not specified for a key in JAAS config" + where);
      if (!tokens.next(tok, error)) return std::nullopt;
      if (!tok.is_string()) return fail("Value not specified for a key in JAAS config" + where);
      entry.options[std::move(key)] = std::move(tok.text);
    }
    if (tok.kind != JaasTokenKind::kSemicolon) return fail("JAAS config entry not terminated by semi-colon");
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) return fail("Login module not specified in JAAS config");
  if (entries.size() > 1)
    return fail("JAAS config property contains " + std::to_string(entries.size()) +
                " login modules, should be 1 module");
  return std::move(entries.front());
}

std::map<std::string, std::string> plain_users(const JaasConfig& config) {
  std::map<std::string, std::string> users;
  constexpr std::string_view kPrefix = "user_";
  for (const auto& [key, value] : config.options)
    if (key.size() > kPrefix.size() && key.starts_with(kPrefix)) users[key.substr(kPrefix.size())] = value;
  return users;
}

}  // namespace flotilla::security
