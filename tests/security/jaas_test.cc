// Kafka's sasl.jaas.config syntax: quoting, escapes, comments, flags, errors
// that never repeat a value.
#include <gtest/gtest.h>

#include "security/jaas.h"

using namespace flotilla::security;

namespace {

JaasConfig parse_ok(std::string_view text) {
  std::string error;
  auto c = parse_jaas_config(text, error);
  EXPECT_TRUE(c.has_value()) << error;
  return c.value_or(JaasConfig{});
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto c = parse_jaas_config(text, error);
  EXPECT_FALSE(c.has_value()) << text;
  EXPECT_FALSE(error.empty());
  return error;
}

}  // namespace

TEST(Jaas, PlainServerConfigWithUsers) {
  JaasConfig c = parse_ok(
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" "
      "user_admin=\"admin-secret\" user_alice=\"alice-secret\";");
  EXPECT_EQ(c.login_module, kPlainLoginModule);
  EXPECT_EQ(c.flag, JaasControlFlag::REQUIRED);
  EXPECT_EQ(c.options.size(), 4u);
  EXPECT_EQ(c.username(), "admin");
  EXPECT_EQ(c.password(), "admin-secret");
  auto users = plain_users(c);
  EXPECT_EQ(users, (std::map<std::string, std::string>{{"admin", "admin-secret"}, {"alice", "alice-secret"}}));
}

TEST(Jaas, UnquotedValuesSingleQuotesAndWhitespace) {
  JaasConfig c = parse_ok(
      "  org.apache.kafka.common.security.scram.ScramLoginModule\n\tREQUISITE  username=bob password='p w\"x' "
      "tokenauth = true ;  ");
  EXPECT_EQ(c.login_module, kScramLoginModule);
  EXPECT_EQ(c.flag, JaasControlFlag::REQUISITE);
  EXPECT_EQ(c.username(), "bob");
  EXPECT_EQ(c.password(), "p w\"x");
  EXPECT_EQ(c.option("tokenauth"), "true");
  EXPECT_FALSE(c.option("missing").has_value());
  EXPECT_TRUE(plain_users(c).empty());
}

TEST(Jaas, EscapesInQuotedValues) {
  JaasConfig c = parse_ok(R"(M optional a="x\"y" b="back\\slash" c="tab\there" d="\101\60z" e="\q" f="" g='it\'s';)");
  EXPECT_EQ(c.flag, JaasControlFlag::OPTIONAL);
  EXPECT_EQ(c.option("a"), "x\"y");
  EXPECT_EQ(c.option("b"), "back\\slash");
  EXPECT_EQ(c.option("c"), "tab\there");
  EXPECT_EQ(c.option("d"), "A0z");
  EXPECT_EQ(c.option("e"), "q");
  EXPECT_EQ(c.option("f"), "");
  EXPECT_EQ(c.option("g"), "it's");
}

TEST(Jaas, SpecialCharactersNeedQuotes) {
  // In a quoted value ';', '=', '/' and spaces are plain characters.
  JaasConfig c = parse_ok("M Sufficient password=\"a;b=c/d //e\" user_x=\"y\";");
  EXPECT_EQ(c.flag, JaasControlFlag::SUFFICIENT);
  EXPECT_EQ(c.password(), "a;b=c/d //e");
  EXPECT_EQ(plain_users(c).at("x"), "y");
}

TEST(Jaas, CommentsAreSkipped) {
  JaasConfig c = parse_ok("M required /* a comment */ username=\"u\" // to the end of the line\n password=\"p\";");
  EXPECT_EQ(c.username(), "u");
  EXPECT_EQ(c.password(), "p");
  EXPECT_EQ(c.options.size(), 2u);
}

TEST(Jaas, RepeatedKeyKeepsTheLastValue) {
  EXPECT_EQ(parse_ok("M required username=a username=b;").username(), "b");
}

TEST(Jaas, NoOptionsIsValid) {
  JaasConfig c = parse_ok("M required;");
  EXPECT_TRUE(c.options.empty());
}

TEST(Jaas, MissingSemicolon) {
  EXPECT_EQ(parse_error("M required username=\"u\" password=\"secret1\""),
            "JAAS config entry not terminated by semi-colon");
  EXPECT_EQ(parse_error("M required"), "JAAS config entry not terminated by semi-colon");
}

TEST(Jaas, UnknownFlag) {
  std::string e = parse_error("M mandatory username=\"u\";");
  EXPECT_EQ(e, "Invalid login module control flag in JAAS config");
  EXPECT_EQ(parse_error("M = username;"), "Invalid login module control flag in JAAS config");
}

TEST(Jaas, MissingModuleOrFlag) {
  EXPECT_EQ(parse_error(""), "Login module not specified in JAAS config");
  EXPECT_EQ(parse_error("   /* only a comment */ "), "Login module not specified in JAAS config");
  EXPECT_EQ(parse_error(";"), "Login module not specified in JAAS config");
  EXPECT_EQ(parse_error("M"), "Login module control flag not specified in JAAS config");
}

TEST(Jaas, OneModuleOnly) {
  EXPECT_EQ(parse_error("A required; B required;"), "JAAS config property contains 2 login modules, should be 1 module");
}

TEST(Jaas, ErrorsNeverEchoAValue) {
  const std::vector<std::string> bad = {
      "M required password=s3cr3t-value trailing-s3cr3t-value;",  // an unquoted value with a space
      "M required password=\"s3cr3t-value\" user_s3cr3t-value;",
      "M required password=\"s3cr3t-value",                       // unterminated quote
      "M required password=\"s3cr3t-value\nnext=1\";",            // quote broken by a line end
      "M required password=;s3cr3t-value",
      "M required =s3cr3t-value;",
      "M s3cr3t-value;",
      "M required password=\"s3cr3t-value\";N required user_s3cr3t-value=s3cr3t-value;",
  };
  for (const std::string& text : bad) {
    std::string e = parse_error(text);
    EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << e;
  }
  EXPECT_EQ(parse_error("M required a=1 b c=2;"), "Value not specified for a key in JAAS config (option 2 of the login module)");
  EXPECT_EQ(parse_error("M required a=\"x"), "Unterminated quoted value in JAAS config");
}
