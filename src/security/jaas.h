// Kafka's `sasl.jaas.config` value (and `listener.name.<l>.<mech>.sasl.jaas.config`):
//
//   <LoginModuleClass> <required|requisite|sufficient|optional> (key=value)* ;
//
// tokenized as Kafka's JaasConfig does (java.io.StreamTokenizer): bytes up to
// ' ' are whitespace; values are "double" or 'single' quoted (backslash
// escapes: \n \t \r \b \f \a \v, octal \ooo, any other character itself) or
// unquoted words; '/' starts a comment (`//` and `/*...*/` too); the flag is
// case-insensitive; a repeated key keeps its last value. Exactly one login
// module entry, as Kafka requires of the property.
//
// The options hold passwords: a parse error names the problem and where (the
// option's ordinal), never a token of the text. Stricter than Java: a quoted
// value left open at a line end or the end of the text is an error.
//
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flotilla::security {

enum class JaasControlFlag { REQUIRED, REQUISITE, SUFFICIENT, OPTIONAL };

struct JaasConfig {
  std::string login_module;  // e.g. org.apache.kafka.common.security.plain.PlainLoginModule
  JaasControlFlag flag = JaasControlFlag::REQUIRED;
  std::map<std::string, std::string> options;

  std::optional<std::string> option(std::string_view key) const;
  // The client side's credentials (PlainLoginModule, ScramLoginModule).
  std::optional<std::string> username() const { return option("username"); }
  std::optional<std::string> password() const { return option("password"); }
};

// nullopt with `error` set (e.g. "JAAS config entry not terminated by semi-colon").
std::optional<JaasConfig> parse_jaas_config(std::string_view text, std::string& error);

// PlainLoginModule's server-side users: option `user_<name>="<password>"` -> {name, password}.
std::map<std::string, std::string> plain_users(const JaasConfig& config);

// Kafka's login module class names.
inline constexpr std::string_view kPlainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule";
inline constexpr std::string_view kScramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule";

}  // namespace flotilla::security
