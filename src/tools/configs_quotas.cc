#include "tools/configs_quotas.h"

#include <cstdlib>
#include <limits>
#include <regex>

#include "client/admin.h"
#include "security/quota_entity.h"
#include "tools/configs_users.h"
#include "tools/java_text.h"
#include "tools/kafka_output.h"

namespace flotilla::tools::configs {

namespace {

// "users" -> "user", "clients" -> "client-id" (ClientQuotaEntity's types).
std::string quota_entity_type(const std::string& config_type) {
  if (config_type == "users") return security::kQuotaEntityUser;
  if (config_type == "clients") return security::kQuotaEntityClientId;
  if (config_type == "ips") return security::kQuotaEntityIp;
  throw UsageError("Unexpected entity type " + config_type);
}

// getAllClientQuotasConfigs: the filter components of the command's entity.
std::vector<client::QuotaFilterComponent> filter_of(const std::vector<std::string>& types, const std::vector<std::string>& names) {
  if (names.size() > types.size()) throw UsageError("More entity names specified than entity types");
  std::vector<client::QuotaFilterComponent> out;
  for (size_t i = 0; i < types.size(); ++i) {
    client::QuotaFilterComponent c;
    c.entity_type = quota_entity_type(types[i]);
    if (i >= names.size()) {
      c.match_type = 2;  // any entity of the type
      c.match = std::nullopt;
    } else if (names[i].empty()) {
      c.match_type = 1;  // the default entity
      c.match = std::nullopt;
    } else {
      c.match_type = 0;
      c.match = names[i];
    }
    out.push_back(std::move(c));
  }
  return out;
}

struct DescribedEntity {
  std::map<std::string, std::optional<std::string>> entity;
  std::vector<std::pair<std::string, double>> values;  // in the order the admin client's HashMap iterates them
};

// describeClientQuotas(ClientQuotaFilter.containsOnly(...)) as the admin
// client completes it: a HashMap of entities, each with a HashMap of values.
std::vector<DescribedEntity> describe(client::KafkaClient& client, const std::vector<std::string>& types, const std::vector<std::string>& names) {
  auto components = filter_of(types, names);
  auto resp = client::describe_client_quotas(client.any(), components, true);
  if (resp.error_code != 0) throw ServerError(kafka_exception(resp.error_code, resp.error_message));
  std::vector<DescribedEntity> entities;
  std::vector<int32_t> entity_hashes;
  if (resp.entries) {
    for (const auto& e : *resp.entries) {
      DescribedEntity d;
      security::ClientQuotaEntity key;
      for (const auto& x : e.entity) {
        d.entity[x.entity_type] = x.entity_name;
        key.entries[x.entity_type] = x.entity_name;
      }
      std::vector<std::pair<std::string, double>> values;
      std::vector<int32_t> hashes;
      for (const auto& v : e.values) {
        bool replaced = false;
        for (auto& [k, old] : values)
          if (k == v.key) {
            old = v.value;  // a HashMap keeps the first position of a key put twice
            replaced = true;
          }
        if (replaced) continue;
        values.push_back({v.key, v.value});
        hashes.push_back(security::java_string_hash(v.key));
      }
      for (size_t i : security::java_hash_map_order(hashes, static_cast<int64_t>(e.values.size()))) d.values.push_back(values[i]);
      entities.push_back(std::move(d));
      entity_hashes.push_back(security::java_entity_hash(key));
    }
  }
  std::vector<DescribedEntity> ordered;
  for (size_t i : security::java_hash_map_order(entity_hashes, static_cast<int64_t>(entities.size()))) ordered.push_back(entities[i]);
  return ordered;
}

}  // namespace

std::optional<double> java_parse_double(const std::string& input) {
  // String.trim(): every char <= ' ' at either end.
  size_t b = 0, e = input.size();
  while (b < e && static_cast<unsigned char>(input[b]) <= ' ') ++b;
  while (e > b && static_cast<unsigned char>(input[e - 1]) <= ' ') --e;
  std::string s = input.substr(b, e - b);
  static const std::regex special("([+-]?)(NaN|Infinity)");
  static const std::regex decimal("[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?");
  static const std::regex hex("[+-]?0[xX](?:[0-9a-fA-F]+\\.?[0-9a-fA-F]*|\\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?");
  std::smatch m;
  if (std::regex_match(s, m, special)) {
    if (m[2] == "NaN") return std::numeric_limits<double>::quiet_NaN();
    return m[1] == "-" ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (!std::regex_match(s, decimal) && !std::regex_match(s, hex)) return std::nullopt;
  if (!s.empty() && (s.back() == 'f' || s.back() == 'F' || s.back() == 'd' || s.back() == 'D')) s.pop_back();
  return std::strtod(s.c_str(), nullptr);
}

void describe_quota_configs(client::KafkaClient& client, const std::vector<std::string>& types, const std::vector<std::string>& names,
                            std::ostream& out) {
  for (const auto& d : describe(client, types, names)) {
    auto part = [&](const char* type, const char* label) -> std::optional<std::string> {
      auto it = d.entity.find(type);
      if (it == d.entity.end()) return std::nullopt;
      if (it->second) return std::string(label) + " '" + *it->second + "'";
      return std::string("the default ") + label;
    };
    std::string entity;
    for (auto p : {part(security::kQuotaEntityUser, "user-principal"), part(security::kQuotaEntityClientId, "client-id"),
                   part(security::kQuotaEntityIp, "ip")})
      if (p) entity += (entity.empty() ? "" : ", ") + *p;
    std::string values;
    for (const auto& [k, v] : d.values) values += (values.empty() ? "" : ", ") + k + "=" + java_double_to_string(v);
    out << "Quota configs for " << entity << " are " << values << "\n";
  }
}

void alter_quota_configs(client::KafkaClient& client, const std::vector<std::string>& types, const std::vector<std::string>& names,
                         const std::map<std::string, std::string>& to_add, const std::vector<std::string>& to_delete) {
  // getClientQuotasConfig: the entity's current values.
  if (types.size() != names.size()) throw UsageError("Exactly one entity name must be specified for every entity type");
  auto current = describe(client, types, names);
  std::map<std::string, double> old;
  if (!current.empty())
    for (const auto& [k, v] : current.front().values) old[k] = v;
  std::string invalid;
  for (const auto& k : to_delete)
    if (!old.count(k)) invalid += (invalid.empty() ? "" : ",") + k;
  if (!invalid.empty()) throw UsageError("Invalid config(s): " + invalid);

  client::QuotaAlteration a;
  for (size_t i = 0; i < types.size(); ++i)
    a.entity.push_back({quota_entity_type(types[i]), names[i].empty() ? std::nullopt : std::optional<std::string>(names[i])});
  for (const auto& [k, v] : to_add) {
    auto d = java_parse_double(v);
    if (!d) throw UsageError("Cannot parse quota configuration value for " + k + ": " + v);
    a.ops.push_back({k, *d});
  }
  for (const auto& k : to_delete) a.ops.push_back({k, std::nullopt});
  auto resp = client::alter_client_quotas(client.any(), {a}, false);
  for (const auto& e : resp.entries)
    if (e.error_code != 0) throw ServerError(kafka_exception(e.error_code, e.error_message));
}

}  // namespace flotilla::tools::configs
