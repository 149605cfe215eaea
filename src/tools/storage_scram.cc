#include "tools/storage_scram.h"

#include <map>
#include <stdexcept>

#include "metadata/bootstrap.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "security/scram.h"

namespace flotilla::tools {

namespace {

constexpr int16_t kMvScram = 11;  // 3.5-IV2

std::vector<uint8_t> base64_decode(const std::string& s, const std::string& what) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) throw std::invalid_argument("The value of '" + what + "' is not valid base64.");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string unquote(std::string v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

// "[k1=v1,k2=\"v,2\"]" -> {k1: v1, k2: v,2}; commas inside quotes belong to the value.
std::map<std::string, std::string> parse_pairs(const std::string& body, const std::string& mechanism) {
  std::map<std::string, std::string> out;
  std::vector<std::string> items;
  std::string cur;
  bool quoted = false;
  for (char c : body) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      items.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  items.push_back(cur);
  for (const auto& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("Invalid --add-scram argument for " + mechanism + ": every item must be key=value.");
    std::string key = item.substr(0, eq);
    if (key != "name" && key != "password" && key != "salt" && key != "saltedpassword" && key != "iterations")
      throw std::invalid_argument("Unknown SCRAM configuration key '" + key + "' for " + mechanism + ".");
    if (!out.emplace(key, unquote(item.substr(eq + 1))).second)
      throw std::invalid_argument("Duplicate SCRAM configuration key '" + key + "' for " + mechanism + ".");
  }
  return out;
}

}  // namespace

std::vector<std::vector<uint8_t>> add_scram_records(const std::vector<std::string>& args, int16_t metadata_version) {
  std::vector<std::vector<uint8_t>> out;
  if (args.empty()) return out;
  if (metadata_version < kMvScram)
    throw std::invalid_argument("SCRAM is only supported in metadata.version 3.5-IV2 or later.");
  for (const auto& arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("Invalid --add-scram argument: it must be of the form SCRAM-SHA-256=[name=alice,password=alice-secret].");
    std::string mechanism_name = arg.substr(0, eq);
    auto mechanism = security::parse_scram_mechanism(mechanism_name);
    if (!mechanism) throw std::invalid_argument("The add-scram mechanism " + mechanism_name + " is not supported.");
    std::string rest = arg.substr(eq + 1);
    if (rest.size() < 2 || rest.front() != '[' || rest.back() != ']')
      throw std::invalid_argument("Expected configuration string for " + mechanism_name + " in brackets: " + mechanism_name +
                                  "=[name=...,...].");
    auto kv = parse_pairs(rest.substr(1, rest.size() - 2), mechanism_name);
    if (!kv.count("name") || kv["name"].empty()) throw std::invalid_argument("You must supply 'name' to add-scram");
    bool has_password = kv.count("password") > 0, has_salted = kv.count("saltedpassword") > 0;
    if (!has_password && !has_salted) throw std::invalid_argument("You must supply one of 'password' or 'saltedpassword' to add-scram");
    if (has_password && has_salted) throw std::invalid_argument("You must only supply one of 'password' or 'saltedpassword' to add-scram");
    if (has_salted && !kv.count("salt")) throw std::invalid_argument("You must supply 'salt' with 'saltedpassword' to add-scram");
    int32_t iterations = security::kScramMinIterations;
    if (kv.count("iterations")) {
      try {
        size_t pos = 0;
        iterations = std::stoi(kv["iterations"], &pos);
        if (pos != kv["iterations"].size()) throw std::invalid_argument("");
      } catch (const std::exception&) {
        throw std::invalid_argument("The 'iterations' value of " + mechanism_name + " must be an integer.");
      }
    }
    if (iterations < security::kScramMinIterations)
      throw std::invalid_argument("The 'iterations' value must be >= " + std::to_string(security::kScramMinIterations) + " for add-scram");
    if (iterations > security::kScramMaxIterations)
      throw std::invalid_argument("The 'iterations' value must be <= " + std::to_string(security::kScramMaxIterations) + " for add-scram");
    security::Bytes salt = kv.count("salt") ? base64_decode(kv["salt"], "salt") : security::scram_random_salt();
    if (salt.empty()) throw std::invalid_argument("The 'salt' value of " + mechanism_name + " must not be empty.");
    security::ScramCredential c;
    if (has_password) {
      c = security::scram_credential(*mechanism, kv["password"], salt, iterations);
    } else {
      auto salted = base64_decode(kv["saltedpassword"], "saltedpassword");
      if (salted.size() != security::scram_hash_size(*mechanism))
        throw std::invalid_argument("The 'saltedpassword' value of " + mechanism_name + " has the wrong length.");
      c = security::scram_credential_from_salted(*mechanism, salted, salt, iterations);
    }
    msg::UserScramCredentialRecord r;
    r.name = kv["name"];
    r.mechanism = static_cast<int8_t>(*mechanism);
    r.salt = c.salt;
    r.stored_key = c.stored_key;
    r.server_key = c.server_key;
    r.iterations = iterations;
    out.push_back(protocol::frame_metadata_record(r, 0));
  }
  return out;
}

}  // namespace flotilla::tools
