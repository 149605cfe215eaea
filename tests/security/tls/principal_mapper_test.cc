// ssl.principal.mapping.rules (Kafka's SslPrincipalMapper behaviour) and the
// RFC 2253 subject names they are applied to.
#include "security/principal_mapper.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "test_pki.h"

namespace flotilla::security {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out + "]";
}

TEST(SslPrincipalMapperTest, KafkaDocumentedExamples) {
  auto mapper = SslPrincipalMapper::from_rules(
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, "
      "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, "
      "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, "
      "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, "
      "DEFAULT");
  EXPECT_EQ(mapper.map("CN=Duke,OU=ServiceUsers,O=Org,C=US"), "duke");
  EXPECT_EQ(mapper.map("CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US"), "duke@sme");
  EXPECT_EQ(mapper.map("cn=duke,ou=sme,dc=mycp,dc=com"), "DUKE@SME");
  EXPECT_EQ(mapper.map("cN=duke,OU=JavaSoft,O=Sun Microsystems"), "DUKE");
  EXPECT_EQ(mapper.map("OU=JavaSoft,O=Sun Microsystems,C=US"), "OU=JavaSoft,O=Sun Microsystems,C=US");
}

TEST(SslPrincipalMapperTest, FlagsAndOrder) {
  auto plain = SslPrincipalMapper::from_rules("RULE:^CN=([^,]*),.*$/$1/");
  EXPECT_EQ(plain.map("CN=Alice,OU=eng"), "Alice");
  EXPECT_EQ(SslPrincipalMapper::from_rules("RULE:^CN=([^,]*),.*$/$1/L").map("CN=Alice,OU=eng"), "alice");
  EXPECT_EQ(SslPrincipalMapper::from_rules("RULE:^CN=([^,]*),.*$/$1/U").map("CN=Alice,OU=eng"), "ALICE");
  // The first matching rule wins; later ones are not consulted.
  auto two = SslPrincipalMapper::from_rules("RULE:^CN=(.*?),.*$/first-$1/,RULE:^CN=(.*?),.*$/second-$1/");
  EXPECT_EQ(two.map("CN=x,O=y"), "first-x");
}

TEST(SslPrincipalMapperTest, NoMatchingRuleIsNoName) {
  // Kafka throws NoMatchingRule and the authentication fails; DEFAULT only as written.
  auto mapper = SslPrincipalMapper::from_rules("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/");
  EXPECT_EQ(mapper.map("CN=bob,OU=Other"), std::nullopt);
  EXPECT_EQ(SslPrincipalMapper::from_rules("DEFAULT").map("CN=bob,OU=Other"), "CN=bob,OU=Other");
  EXPECT_EQ(SslPrincipalMapper::from_rules("").map("CN=bob"), std::nullopt);
}

TEST(SslPrincipalMapperTest, ValidRules) {
  for (const char* rules :
       {"DEFAULT", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
        "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/", "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
        "RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U", "RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
        "RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/"}) {
    EXPECT_NO_THROW(SslPrincipalMapper::from_rules(rules)) << rules;
  }
}

TEST(SslPrincipalMapperTest, InvalidRules) {
  for (const char* rules : {"default", "DEFAUL", "DEFAULT/L", "DEFAULT/U", "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
                            "rule:^CN=(.*?),OU=ServiceUsers.*$/$1/", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
                            "RULE:^CN=(.*?),OU=ServiceUsers.*$/L", "RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
                            "RULE:^CN=(.*?),OU=ServiceUsers.*$/LU", "RULE:^CN=((/$1/"}) {
    EXPECT_THROW(SslPrincipalMapper::from_rules(rules), std::invalid_argument) << rules;
  }
  try {
    SslPrincipalMapper::from_rules("DEFAULT/L");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "Invalid rule: `DEFAULT/L`, unmatched substring: `/L`");
  }
}

TEST(SslPrincipalMapperTest, RulesSplitting) {
  auto split = [](const char* s) { return joined(SslPrincipalMapper::split_rules(s)); };
  auto parsed = [](const char* s) { return SslPrincipalMapper::from_rules(s).to_string(); };
  EXPECT_EQ(parsed(""), "SslPrincipalMapper(rules = [])");
  EXPECT_EQ(parsed("DEFAULT"), "SslPrincipalMapper(rules = [DEFAULT])");
  EXPECT_EQ(parsed("RULE://"), "SslPrincipalMapper(rules = [RULE:/])");
  EXPECT_EQ(parsed("RULE:/.*/"), "SslPrincipalMapper(rules = [RULE:/.*])");
  EXPECT_EQ(parsed("RULE:/.*/L"), "SslPrincipalMapper(rules = [RULE:/.*/L])");
  EXPECT_EQ(parsed("RULE://,DEFAULT"), "SslPrincipalMapper(rules = [RULE:/, DEFAULT])");
  EXPECT_EQ(parsed("  RULE:// ,  DEFAULT  "), "SslPrincipalMapper(rules = [RULE:/, DEFAULT])");
  EXPECT_EQ(parsed("  RULE:   /     / ,  DEFAULT  "), "SslPrincipalMapper(rules = [RULE:   /     , DEFAULT])");
  EXPECT_EQ(parsed("  RULE:  /     /U   ,DEFAULT  "), "SslPrincipalMapper(rules = [RULE:  /     /U, DEFAULT])");
  EXPECT_EQ(parsed("  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  "),
            "SslPrincipalMapper(rules = [RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT])");
  // Empty rules are ignored.
  EXPECT_EQ(parsed(",   , , ,      , , ,   "), "SslPrincipalMapper(rules = [])");
  EXPECT_EQ(parsed(",,RULE://,,,DEFAULT,,"), "SslPrincipalMapper(rules = [RULE:/, DEFAULT])");
  EXPECT_EQ(parsed(",  , RULE: /   /    ,,,   DEFAULT, ,   "), "SslPrincipalMapper(rules = [RULE: /   , DEFAULT])");
  EXPECT_EQ(parsed("     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,"),
            "SslPrincipalMapper(rules = [RULE:   /  /U, DEFAULT])");
  // Escape sequences.
  EXPECT_EQ(parsed(R"(RULE:\/\\\(\)\n\t/\/\//)"), R"(SslPrincipalMapper(rules = [RULE:\/\\\(\)\n\t/\/\/]))");
  EXPECT_EQ(parsed(R"(RULE:\**\/+/*/L,RULE:\/*\**/**/)"),
            R"(SslPrincipalMapper(rules = [RULE:\**\/+/*/L, RULE:\/*\**/**]))");
  // Rules rule.
  EXPECT_EQ(
      parsed(R"(RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT)"),
      R"(SslPrincipalMapper(rules = [RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]))");
  // Quotes are part of a rule (and make it invalid).
  // (Java's find() loop ends on an empty match at the end, an empty rule parsing ignores.)
  EXPECT_EQ(split("\"RULE://\",\"DEFAULT\""), "[\"RULE://\", \"DEFAULT\", ]");
  EXPECT_THROW(SslPrincipalMapper::from_rules("\"RULE://\",\"DEFAULT\""), std::invalid_argument);
  // Escaped slashes and commas stay inside the rule.
  EXPECT_EQ(split("RULE:^CN=(.*)\\/x$/$1\\/y/,DEFAULT"), "[RULE:^CN=(.*)\\/x$/$1\\/y/, DEFAULT, ]");
}

TEST(SslPrincipalMapperTest, EscapedSlashesAndCommas) {
  // '\/' is a literal slash in both halves.
  auto slash = SslPrincipalMapper::from_rules("RULE:^CN=([^,]*)\\/([^,]*),.*$/$2\\/$1/");
  EXPECT_EQ(slash.map("CN=a/b,O=x"), "b/a");
  // Kafka's test for a CN holding an escaped comma followed by a space.
  auto comma = SslPrincipalMapper::from_rules("RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/,DEFAULT");
  EXPECT_EQ(comma.map("CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz"), "Tkac\\, Adam");
}

TEST(SslPrincipalMapperTest, BackReferencesBeyondTheGroupsAreLiteral) {
  // Three groups: "$4" is the literal text "$4"; "$12" is group 1 then "2".
  auto mapper = SslPrincipalMapper::from_rules("RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$4/,RULE:^X=(.*)$/$12/");
  EXPECT_EQ(mapper.map("CN=a,OU=b,O=c"), "a@$4");
  EXPECT_EQ(mapper.map("X=q"), "q2");
  // Without any group a "$1" cannot be resolved: the mapping fails (Kafka: an exception).
  auto none = SslPrincipalMapper::from_rules("RULE:^CN=a$/$1/");
  EXPECT_THROW(none.map("CN=a"), std::runtime_error);
}

TEST(SslPrincipalMapperTest, OverlongNamesAreRefusedNotRecursedInto) {
  auto mapper = SslPrincipalMapper::from_rules("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,DEFAULT");
  std::string dn = "CN=" + std::string(200000, 'a') + ",OU=ServiceUsers,O=x";
  EXPECT_THROW(mapper.map(dn), std::runtime_error);
  EXPECT_EQ(SslPrincipalMapper::from_rules("DEFAULT").map(dn), dn);  // no regex involved
  std::string fits = "CN=" + std::string(SslPrincipalMapper::kMaxRuleInput - 40, 'a') + ",OU=ServiceUsers,O=x";
  EXPECT_EQ(mapper.map(fits), std::string(SslPrincipalMapper::kMaxRuleInput - 40, 'a'));
}

TEST(SslPrincipalMapperTest, NewlineIsNotASeparator) {
  // Kafka splits on commas only; a rule followed by a bare newline is lost.
  EXPECT_EQ(SslPrincipalMapper::from_rules("RULE:^CN=(.*)$/$1/\nDEFAULT").to_string(),
            "SslPrincipalMapper(rules = [DEFAULT])");
  EXPECT_EQ(SslPrincipalMapper::from_rules("RULE:^CN=(.*)$/$1/,\nDEFAULT").to_string(),
            "SslPrincipalMapper(rules = [RULE:^CN=(.*)$/$1, DEFAULT])");
}

// ---- subject names ----

std::string dn_of(const std::vector<std::pair<std::string, std::string>>& subject) {
  auto issued = test::issue({subject, ""}, nullptr);
  return rfc2253_subject(issued.cert.get());
}

TEST(Rfc2253NameTest, MostSpecificFirstWithoutSpaces) {
  EXPECT_EQ(dn_of({{"C", "US"}, {"O", "Example"}, {"OU", "eng"}, {"CN", "alice"}}), "CN=alice,OU=eng,O=Example,C=US");
  EXPECT_EQ(
      dn_of({{"DC", "com"}, {"DC", "example"}, {"UID", "jsmith"}, {"ST", "CA"}, {"L", "SF"}, {"street", "Main 1"}}),
      "STREET=Main 1,L=SF,ST=CA,UID=jsmith,DC=example,DC=com");
}

TEST(Rfc2253NameTest, JavaEscaping) {
  EXPECT_EQ(dn_of({{"O", "A, B; C"}, {"CN", "x+y=z"}}), "CN=x\\+y\\=z,O=A\\, B\\; C");
  EXPECT_EQ(dn_of({{"CN", "#hash <tag> \"q\" back\\slash"}}), "CN=\\#hash \\<tag\\> \\\"q\\\" back\\\\slash");
  EXPECT_EQ(dn_of({{"CN", " padded "}}), "CN=\\ padded\\ ");
  EXPECT_EQ(dn_of({{"CN", "m\xC3\xBCller"}}), "CN=m\xC3\xBCller");  // UTF-8 as is
}

TEST(Rfc2253NameTest, UnknownAttributesAsOidAndHex) {
  // emailAddress is no RFC 2253 keyword: Java prints the OID and the DER value.
  EXPECT_EQ(dn_of({{"CN", "a"}, {"emailAddress", "a@b"}}), "1.2.840.113549.1.9.1=#1603614062,CN=a");
  // Outputs of Java 17's X500Principal.getName() for the same subjects.
  EXPECT_EQ(dn_of({{"DC", "com"}, {"serialNumber", "1234"}, {"title", "Dr"}, {"GN", "Al"}, {"SN", "Bo"}}),
            "2.5.4.4=#0c02426f,2.5.4.42=#0c02416c,2.5.4.12=#0c024472,2.5.4.5=#130431323334,DC=com");
  EXPECT_EQ(dn_of({{"CN", "#hash"}, {"OU", "a=b"}}), "OU=a\\=b,CN=\\#hash");
  EXPECT_EQ(dn_of({{"CN", "trail  "}, {"O", "  lead"}}), "O=\\ \\ lead,CN=trail\\ \\ ");
}

TEST(Rfc2253NameTest, MultiValuedRdn) {
  auto issued = test::issue({{{"O", "Example"}, {"CN", "alice"}}, ""}, nullptr);
  X509_NAME* name = X509_get_subject_name(issued.cert.get());
  // UID joins the CN's RDN (set = -1 with loc = -1 appends to the last RDN).
  X509_NAME_add_entry_by_txt(name, "UID", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("a1"), -1, -1, -1);
  EXPECT_EQ(rfc2253_name(name), "CN=alice+UID=a1,O=Example");
}

// The sasl fuzzer held a handshake for minutes on a rule of this shape:
// std::regex backtracked exponentially. RE2 matches in linear time and
// refuses what only a backtracking engine can do.
TEST(SslPrincipalMapperTest, ABacktrackingRuleTakesLinearTimeOnALongSubject) {
  auto mapper = SslPrincipalMapper::from_rules("RULE:^CN=(a|aa)*b$/$1/,DEFAULT");
  const std::string dn = "CN=" + std::string(4000, 'a');
  EXPECT_EQ(mapper.map(dn), dn);  // the rule fails to match (fast), DEFAULT answers
  EXPECT_EQ(SslPrincipalMapper::from_rules("RULE:^CN=(?i)ALICE$/x/").map("CN=alice"), "x");
  EXPECT_THROW(SslPrincipalMapper::from_rules("RULE:^CN=(a)\\1$/x/"), std::invalid_argument);  // a backreference
}

TEST(PeerPrincipalTest, NoSslOrNoCertificateIsAnonymous) {
  auto mapper = SslPrincipalMapper::from_rules("DEFAULT");
  EXPECT_EQ(principal_from_peer(nullptr, mapper).to_string(), "User:ANONYMOUS");
}

}  // namespace
}  // namespace flotilla::security
