#include "security/principal_mapper.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <re2/re2.h>

#include <cctype>
#include <memory>
#include <regex>
#include <vector>

namespace flotilla::security {

namespace {

// Kafka's RULE_PATTERN, group for group (1 DEFAULT, 2 pattern, 4 replacement,
// 6 L/U, 7 the empty remainder), and its splitter around it.
constexpr const char* kRulePattern = R"((DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?))";

const std::regex& rule_parser() {
  static const std::regex re(kRulePattern, std::regex::ECMAScript);
  return re;
}

const std::regex& rule_splitter() {
  static const std::regex re(std::string(R"(\s*()") + kRulePattern + R"()\s*(,\s*|$))", std::regex::ECMAScript);
  return re;
}

std::string java_trim(std::string_view s) {  // String.trim(): drops chars <= ' ' at both ends
  size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
  return std::string(s.substr(b, e - b));
}

// Calls f(match) for each match of re in s the way Java's Matcher.find() loop
// visits them (after an empty match the next search starts one further on).
template <typename F>
void for_each_find(const std::string& s, const std::regex& re, F&& f) {
  size_t pos = 0;
  while (pos <= s.size()) {
    std::smatch m;
    auto flags = pos > 0 ? std::regex_constants::match_prev_avail : std::regex_constants::match_default;
    if (!std::regex_search(s.begin() + static_cast<std::ptrdiff_t>(pos), s.end(), m, re, flags)) break;
    size_t start = pos + static_cast<size_t>(m.position(0));
    size_t end = start + static_cast<size_t>(m.length(0));
    f(m, start);
    pos = end == start ? end + 1 : end;
  }
}

// Kafka's escapeLiteralBackReferences (from NiFi): "$n" naming a group the
// pattern lacks becomes "\$n" (a literal). Offsets are those of the original
// string, as in Kafka, so a second escape lands one character early.
std::string escape_literal_back_references(const std::string& unescaped, size_t groups) {
  if (groups == 0) return unescaped;
  static const std::regex back_ref(R"(\$(\d+))");
  std::string value = unescaped;
  for (auto it = std::sregex_iterator(unescaped.begin(), unescaped.end(), back_ref); it != std::sregex_iterator();
       ++it) {
    std::string num = (*it)[1].str();
    if (num[0] == '0') continue;
    unsigned long long index = 0;
    try {
      index = std::stoull(num);
    } catch (const std::out_of_range&) {
      throw std::runtime_error("back reference out of range: $" + num);  // Java: NumberFormatException
    }
    while (index > groups && index >= 10) index /= 10;
    if (index > groups) {
      size_t group_start = static_cast<size_t>(it->position(1));
      if (group_start - 1 <= value.size()) value.insert(group_start - 1, "\\");
    }
  }
  return value;
}

// Java's Matcher.appendReplacement for one match (m[0] the match, m[i] group
// i; a group that did not take part has a null data()).
void append_replacement(std::string& out, const std::string& replacement, const std::vector<re2::StringPiece>& m) {
  size_t groups = m.size() - 1;
  for (size_t i = 0; i < replacement.size();) {
    char c = replacement[i];
    if (c == '\\') {
      if (++i == replacement.size()) throw std::runtime_error("character to be escaped is missing");
      out += replacement[i++];
    } else if (c == '$') {
      if (++i == replacement.size()) throw std::runtime_error("Illegal group reference: group index is missing");
      if (replacement[i] == '{') throw std::runtime_error("named-capturing groups are not supported");
      if (!std::isdigit(static_cast<unsigned char>(replacement[i])))
        throw std::runtime_error("Illegal group reference");
      size_t ref = static_cast<size_t>(replacement[i++] - '0');
      while (i < replacement.size() && std::isdigit(static_cast<unsigned char>(replacement[i]))) {
        size_t next = ref * 10 + static_cast<size_t>(replacement[i] - '0');
        if (next > groups) break;
        ref = next;
        ++i;
      }
      if (ref > groups) throw std::runtime_error("No group " + std::to_string(ref));
      if (m[ref].data() != nullptr) out.append(m[ref].data(), m[ref].size());
    } else {
      out += c;
      ++i;
    }
  }
}

std::string ascii_case(std::string s, bool to_upper) {
  for (auto& ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x80) ch = static_cast<char>(to_upper ? std::toupper(u) : std::tolower(u));
  }
  return s;
}

}  // namespace

std::vector<std::string> SslPrincipalMapper::split_rules(std::string_view rules) {
  std::vector<std::string> out;
  std::string trimmed = java_trim(rules);
  for_each_find(trimmed, rule_splitter(), [&](const std::smatch& m, size_t) { out.push_back(m[1].str()); });
  return out;
}

SslPrincipalMapper SslPrincipalMapper::from_rules(std::string_view rules) {
  SslPrincipalMapper mapper;
  for (const auto& text : split_rules(rules)) {
    std::smatch m;
    if (!std::regex_search(text, m, rule_parser(), std::regex_constants::match_continuous))
      throw std::invalid_argument("Invalid rule: " + text);
    if (static_cast<size_t>(m.length(0)) != text.size())
      throw std::invalid_argument("Invalid rule: `" + text + "`, unmatched substring: `" + text.substr(m.length(0)) +
                                  "`");
    if (m[1].matched) {
      mapper.rules_.push_back(Rule{});
    } else if (m[2].matched) {
      Rule r;
      r.is_default = false;
      r.pattern_text = m[2].str();
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(2 << 20);
      auto re = std::make_shared<const RE2>(r.pattern_text, options);
      if (!re->ok()) throw std::invalid_argument("Invalid rule: `" + text + "`: bad pattern: " + re->error());
      r.pattern = std::move(re);
      r.replacement = m[4].str();
      r.to_lower = m[6].str() == "L";
      r.to_upper = m[6].str() == "U";
      mapper.rules_.push_back(std::move(r));
    }
    // else: an empty rule, ignored
  }
  return mapper;
}

std::optional<std::string> SslPrincipalMapper::Rule::apply(const std::string& dn) const {
  if (is_default) return dn;
  if (dn.size() > kMaxRuleInput)
    throw std::runtime_error("the distinguished name is longer than " + std::to_string(kMaxRuleInput) +
                             " bytes, too long for mapping rules");
  if (!RE2::FullMatch(dn, *pattern)) return std::nullopt;
  const int groups = pattern->NumberOfCapturingGroups();
  std::string replacement_text = escape_literal_back_references(replacement, static_cast<size_t>(groups));
  // String.replaceAll(pattern, replacement): every match, left to right, the
  // next search one further on after an empty match (Java's find() loop).
  std::string result;
  std::vector<re2::StringPiece> m(static_cast<size_t>(groups) + 1);
  size_t copied = 0, pos = 0;
  while (pos <= dn.size() && pattern->Match(dn, pos, dn.size(), RE2::UNANCHORED, m.data(), groups + 1)) {
    const size_t start = static_cast<size_t>(m[0].data() - dn.data());
    result.append(dn, copied, start - copied);
    append_replacement(result, replacement_text, m);
    copied = start + m[0].size();
    pos = m[0].empty() ? copied + 1 : copied;
  }
  result.append(dn, copied, std::string::npos);
  if (to_lower) return ascii_case(std::move(result), false);
  if (to_upper) return ascii_case(std::move(result), true);
  return result;
}

std::string SslPrincipalMapper::Rule::to_string() const {
  if (is_default) return "DEFAULT";
  std::string out = "RULE:" + pattern_text + "/" + replacement;
  if (to_lower)
    out += "/L";
  else if (to_upper)
    out += "/U";
  return out;
}

std::optional<std::string> SslPrincipalMapper::map(std::string_view distinguished_name) const {
  std::string dn(distinguished_name);
  for (const auto& r : rules_) {
    if (auto name = r.apply(dn)) return name;
  }
  return std::nullopt;
}

std::string SslPrincipalMapper::to_string() const {
  std::string out = "SslPrincipalMapper(rules = [";
  for (size_t i = 0; i < rules_.size(); ++i) out += (i ? ", " : "") + rules_[i].to_string();
  return out + "])";
}

// ---- RFC 2253 names, Java style ----

namespace {

// Java's RFC 2253 keywords (AVAKeyword with the RFC2253 standard); any other
// attribute prints as its dotted OID with the DER value in hex.
const char* rfc2253_keyword(int nid) {
  switch (nid) {
    case NID_commonName: return "CN";
    case NID_countryName: return "C";
    case NID_localityName: return "L";
    case NID_stateOrProvinceName: return "ST";
    case NID_organizationName: return "O";
    case NID_organizationalUnitName: return "OU";
    case NID_streetAddress: return "STREET";
    case NID_domainComponent: return "DC";
    case NID_userId: return "UID";
    default: return nullptr;
  }
}

bool is_der_string(int type) {  // Java's AVA.isDerString(value, false)
  switch (type) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_GENERALSTRING:
    case V_ASN1_BMPSTRING:
    case V_ASN1_UTF8STRING: return true;
    default: return false;
  }
}

std::string ava_string(const X509_NAME_ENTRY* e) {
  const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(e);
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(e);
  std::string out;
  const char* keyword = rfc2253_keyword(OBJ_obj2nid(obj));
  if (keyword) {
    out = keyword;
  } else {
    char buf[128];
    int n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);
    out.assign(buf, n > 0 ? static_cast<size_t>(std::min(n, static_cast<int>(sizeof(buf) - 1))) : 0);
  }
  out += '=';
  int type = ASN1_STRING_type(value);
  if (!keyword || !is_der_string(type)) {
    // '#' and the hex of the value's DER encoding (tag, length, contents).
    std::unique_ptr<ASN1_TYPE, decltype(&ASN1_TYPE_free)> t(ASN1_TYPE_new(), &ASN1_TYPE_free);
    unsigned char* der = nullptr;
    int len = -1;
    if (t && ASN1_TYPE_set1(t.get(), type, value) == 1) len = i2d_ASN1_TYPE(t.get(), &der);
    out += '#';
    static const char* hex = "0123456789abcdef";
    for (int i = 0; i < len; ++i) {
      out += hex[der[i] >> 4];
      out += hex[der[i] & 0xf];
    }
    OPENSSL_free(der);
    return out;
  }
  std::string text;
  if (type == V_ASN1_BMPSTRING) {
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, value);
    if (n > 0) text.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  } else {
    text.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                static_cast<size_t>(ASN1_STRING_length(value)));
  }
  std::string escaped;
  for (char c : text) {
    if (c == '\0') {
      escaped += "\\00";
      continue;
    }
    if (std::string_view(",=+<>#;\"\\").find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  // Leading and trailing spaces (and CRs) are escaped too.
  size_t lead = 0;
  while (lead < escaped.size() && (escaped[lead] == ' ' || escaped[lead] == '\r')) ++lead;
  size_t trail = escaped.size();
  while (trail > lead && (escaped[trail - 1] == ' ' || escaped[trail - 1] == '\r')) --trail;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (i < lead || i >= trail) out += '\\';
    out += escaped[i];
  }
  return out;
}

}  // namespace

std::string rfc2253_name(const X509_NAME* name) {
  if (!name) return "";
  // Group the entries into RDNs (a multi-valued RDN shares one set index),
  // then print the RDNs last to first, the AVAs of one RDN in order, '+'-joined.
  std::vector<std::vector<std::string>> rdns;
  int last_set = -1;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int set = X509_NAME_ENTRY_set(e);
    if (rdns.empty() || set != last_set) rdns.emplace_back();
    last_set = set;
    rdns.back().push_back(ava_string(e));
  }
  std::string out;
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (!out.empty()) out += ',';
    for (size_t j = 0; j < it->size(); ++j) out += (j ? "+" : "") + (*it)[j];
  }
  return out;
}

std::string rfc2253_subject(const X509* cert) { return cert ? rfc2253_name(X509_get_subject_name(cert)) : ""; }

KafkaPrincipal principal_from_peer(const SSL* ssl, const SslPrincipalMapper& mapper) {
  const X509* peer = ssl ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (!peer) return KafkaPrincipal{};  // User:ANONYMOUS
  std::string dn = rfc2253_subject(peer);
  // Only a verified certificate names anyone (the verify modes TlsContext sets
  // end a handshake whose certificate fails; this guards other contexts).
  if (SSL_get_verify_result(ssl) != X509_V_OK)
    throw std::runtime_error("The peer certificate of '" + dn + "' was not verified");
  std::optional<std::string> name;
  try {
    name = mapper.map(dn);
  } catch (const std::exception& e) {
    throw std::runtime_error("Failed to map name for '" + dn + "' based on SSL principal mapping rules: " + e.what());
  }
  if (!name) throw std::runtime_error("Failed to map name for '" + dn + "' based on SSL principal mapping rules.");
  return KafkaPrincipal{"User", *name};
}

}  // namespace flotilla::security
