// Strict base64 (RFC 4648 section 10 vectors) and SASL-name escaping.
#include <gtest/gtest.h>

#include "security/base64.h"
#include "security/scram_messages.h"

using namespace flotilla::security;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = uint8_t(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64, RejectsWhatIsNotCanonical) {
  for (std::string bad : {"Zg", "Zg=", "Zg===", "Z===", "Zm9v\n", "Zm 9v", "Zh==", "Zm9=", "=Zm9", "Zm=v", "Zm9v*A==",
                          "Zm9-", "Zm9_"})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(SaslName, EscapesCommaAndEquals) {
  EXPECT_EQ(scram::encode_saslname("a,b=c"), "a=2Cb=3Dc");
  EXPECT_EQ(scram::decode_saslname("a=2Cb=3Dc"), "a,b=c");
  EXPECT_EQ(scram::decode_saslname("=3D2C"), "=2C");  // decoded once, left to right
  EXPECT_FALSE(scram::decode_saslname("a=2c").has_value());
  EXPECT_FALSE(scram::decode_saslname("a=").has_value());
  EXPECT_FALSE(scram::decode_saslname("a=3").has_value());
  EXPECT_FALSE(scram::decode_saslname("a,b").has_value());
  EXPECT_FALSE(scram::decode_saslname("").has_value());
}
