#include "metadata/image_diff.h"

#include <algorithm>
#include <initializer_list>
#include <set>

#include "metadata/image_json.h"
#include "metadata/java_text.h"
#include "security/quota_entity.h"
#include "security/scram.h"

namespace flotilla::metadata {

using nlohmann::ordered_json;

namespace {

ordered_json change(const ordered_json& o, const ordered_json& n) { return {{"old", o}, {"new", n}}; }

std::string list_text(const ordered_json& v) {
  if (v.is_null()) return "(none)";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// The fields a partition change reports, in the diff's order (what a reader
// looks at first), named as the metadata shell names them; the directories
// are reported after them, on their own.
ordered_json partition_fields(const ordered_json& registration) {
  ordered_json j;
  for (const char* k : {"leader", "leaderEpoch", "isr", "replicas", "addingReplicas", "removingReplicas", "leaderRecoveryState",
                        "eligibleLeaderReplicas", "lastKnownElr", "partitionEpoch"})
    j[k] = registration.at(k);
  return j;
}

// " f old -> new, g old -> new" for the {"old", "new"} members of a change
// record (the identifying members `skip` left out).
std::string changes_text(const ordered_json& change_record, std::initializer_list<const char*> skip) {
  std::string l;
  bool first = true;
  for (auto f = change_record.begin(); f != change_record.end(); ++f) {
    if (std::find(skip.begin(), skip.end(), f.key()) != skip.end()) continue;
    l += std::string(first ? " " : ", ") + f.key() + " " + list_text(f.value()["old"]) + " -> " + list_text(f.value()["new"]);
    first = false;
  }
  return l;
}

ordered_json provenance(const MetadataImage& i) { return {{"offset", i.offset()}, {"epoch", i.epoch()}}; }

}  // namespace

ordered_json diff_images(const MetadataImage& a, const MetadataImage& b) {
  ordered_json d;
  d["from"] = provenance(a);
  d["to"] = provenance(b);

  // ---- topics (by id: a topic deleted and created again under its name is both)
  ordered_json topics_added = ordered_json::array(), topics_removed = ordered_json::array();
  ordered_json parts_added = ordered_json::array(), parts_removed = ordered_json::array(),
               parts_changed = ordered_json::array();
  for (const auto& [name, t] : a.topics_by_name()) {
    if (!b.topic(t.id)) topics_removed.push_back({{"name", name}, {"id", t.id.to_string()}});
  }
  for (const auto& [name, t] : b.topics_by_name()) {
    const TopicImage* old = a.topic(t.id);
    if (!old) {
      topics_added.push_back({{"name", name}, {"id", t.id.to_string()}, {"partitions", t.partitions.size()}});
      continue;
    }
    for (const auto& [index, p] : t.partitions) {
      auto it = old->partitions.find(index);
      ordered_json now = partition_registration_json(p);
      if (it == old->partitions.end()) {
        ordered_json j = {{"topic", name}, {"partition", index}};
        j.update(partition_fields(now));
        parts_added.push_back(j);
        continue;
      }
      if (it->second == p) continue;
      ordered_json j = {{"topic", name}, {"partition", index}};
      ordered_json was = partition_registration_json(it->second);
      ordered_json before = partition_fields(was), after = partition_fields(now);
      for (auto f = after.begin(); f != after.end(); ++f)
        if (before[f.key()] != f.value()) j[f.key()] = change(before[f.key()], f.value());
      if (it->second.directories != p.directories) j["directories"] = change(was["directories"], now["directories"]);
      parts_changed.push_back(j);
    }
    for (const auto& [index, p] : old->partitions)
      if (!t.partitions.count(index)) parts_removed.push_back({{"topic", name}, {"partition", index}});
  }
  d["topics"] = {{"added", topics_added}, {"removed", topics_removed}};
  d["partitions"] = {{"added", parts_added}, {"removed", parts_removed}, {"changed", parts_changed}};

  // ---- brokers
  ordered_json registered = ordered_json::array(), unregistered = ordered_json::array(),
               reregistered = ordered_json::array(), fenced = ordered_json::array(), unfenced = ordered_json::array(),
               bchanged = ordered_json::array();
  for (const auto& [id, br] : a.brokers())
    if (!b.broker(id)) unregistered.push_back(id);
  for (const auto& [id, br] : b.brokers()) {
    const BrokerRegistration* old = a.broker(id);
    if (!old) {
      registered.push_back(id);
      continue;
    }
    if (old->epoch != br.epoch || old->incarnation_id != br.incarnation_id) reregistered.push_back(id);
    if (!old->fenced && br.fenced) fenced.push_back(id);
    if (old->fenced && !br.fenced) unfenced.push_back(id);
    ordered_json j = {{"id", id}};
    if (old->in_controlled_shutdown != br.in_controlled_shutdown)
      j["inControlledShutdown"] = change(old->in_controlled_shutdown, br.in_controlled_shutdown);
    if (old->rack != br.rack)
      j["rack"] = change(old->rack ? ordered_json(*old->rack) : ordered_json(nullptr),
                         br.rack ? ordered_json(*br.rack) : ordered_json(nullptr));
    if (old->listeners != br.listeners)
      j["listeners"] = change(ordered_json::parse(broker_json(*old))["listeners"],
                              ordered_json::parse(broker_json(br))["listeners"]);
    if (j.size() > 1) bchanged.push_back(j);
  }
  d["brokers"] = {{"registered", registered}, {"unregistered", unregistered}, {"reregistered", reregistered},
                  {"fenced", fenced}, {"unfenced", unfenced}, {"changed", bchanged}};

  // ---- configs
  ordered_json cset = ordered_json::array(), cremoved = ordered_json::array();
  std::set<ConfigResource> resources;
  for (const auto& [r, m] : a.configs()) resources.insert(r);
  for (const auto& [r, m] : b.configs()) resources.insert(r);
  static const ConfigMap kEmpty;
  for (const auto& r : resources) {
    auto ia = a.configs().find(r);
    auto ib = b.configs().find(r);
    const auto& ma = ia == a.configs().end() ? kEmpty : ia->second;
    const auto& mb = ib == b.configs().end() ? kEmpty : ib->second;
    for (const auto& [k, v] : mb) {
      auto old = ma.find(k);
      if (old != ma.end() && old->second == v) continue;
      cset.push_back({{"type", config_type_name(r.type)},
                      {"name", r.name},
                      {"key", k},
                      {"old", old == ma.end() ? ordered_json(nullptr) : ordered_json(old->second)},
                      {"new", v}});
    }
    for (const auto& [k, v] : ma)
      if (!mb.count(k)) cremoved.push_back({{"type", config_type_name(r.type)}, {"name", r.name}, {"key", k}, {"old", v}});
  }
  d["configs"] = {{"set", cset}, {"removed", cremoved}};

  // ---- features
  ordered_json fchanged = ordered_json::array();
  std::set<std::string> names;
  for (const auto& [n, l] : a.features()) names.insert(n);
  for (const auto& [n, l] : b.features()) names.insert(n);
  for (const auto& n : names) {
    auto ia = a.features().find(n);
    auto ib = b.features().find(n);
    ordered_json o = ia == a.features().end() ? ordered_json(nullptr) : ordered_json(ia->second);
    ordered_json v = ib == b.features().end() ? ordered_json(nullptr) : ordered_json(ib->second);
    if (o != v) fchanged.push_back({{"name", n}, {"old", o}, {"new", v}});
  }
  d["features"] = {{"changed", fchanged}};

  // ---- SCRAM credentials: who may log in with which mechanism (never a key)
  ordered_json sadded = ordered_json::array(), sremoved = ordered_json::array(), schanged = ordered_json::array();
  for (const auto& [key, c] : b.scram()) {
    std::string mech(security::scram_mechanism_name(key.second));
    auto it = a.scram().find(key);
    if (it == a.scram().end())
      sadded.push_back({{"user", key.first}, {"mechanism", mech}, {"iterations", c.iterations}});
    else if (!(it->second == c))
      schanged.push_back({{"user", key.first}, {"mechanism", mech}, {"iterations", change(it->second.iterations, c.iterations)}});
  }
  for (const auto& [key, c] : a.scram())
    if (!b.scram().count(key))
      sremoved.push_back({{"user", key.first}, {"mechanism", std::string(security::scram_mechanism_name(key.second))}});
  d["scram"] = {{"added", sadded}, {"removed", sremoved}, {"changed", schanged}};

  // ---- ACLs, by id (an ACL is never changed in place: a new one has a new id)
  auto acl_json = [](const security::StandardAcl& acl) {
    return ordered_json{{"id", acl.id.to_string()},
                        {"resourceType", std::string(security::resource_type_name(acl.resource_type))},
                        {"resourceName", acl.resource_name},
                        {"patternType", std::string(security::pattern_type_name(acl.pattern_type))},
                        {"principal", acl.principal},
                        {"host", acl.host},
                        {"operation", std::string(security::acl_operation_name(acl.operation))},
                        {"permissionType", std::string(security::permission_type_name(acl.permission_type))}};
  };
  ordered_json aadded = ordered_json::array(), aremoved = ordered_json::array();
  for (const auto& [id, acl] : b.acls()) {
    auto it = a.acls().find(id);
    if (it == a.acls().end()) {
      aadded.push_back(acl_json(acl));
    } else if (!(it->second == acl)) {  // records never do this; shown as a replacement
      aremoved.push_back(acl_json(it->second));
      aadded.push_back(acl_json(acl));
    }
  }
  for (const auto& [id, acl] : a.acls())
    if (!b.acls().count(id)) aremoved.push_back(acl_json(acl));
  d["acls"] = {{"added", aadded}, {"removed", aremoved}};
  // ---- client quotas: values set (new or changed) and removed, per entity
  ordered_json qset = ordered_json::array(), qremoved = ordered_json::array();
  auto entity_json = [](const security::ClientQuotaEntity& e) {
    ordered_json j = ordered_json::object();
    for (const auto& [type, name] : e.entries) j[type] = name ? ordered_json(*name) : ordered_json(nullptr);
    return j;
  };
  static const security::ClientQuotaValues kNoValues;
  std::set<security::ClientQuotaEntity> entities;
  for (const auto& [e, v] : a.client_quotas()) entities.insert(e);
  for (const auto& [e, v] : b.client_quotas()) entities.insert(e);
  for (const auto& e : entities) {
    auto ia = a.client_quotas().find(e);
    auto ib = b.client_quotas().find(e);
    const auto& va = ia == a.client_quotas().end() ? kNoValues : ia->second;
    const auto& vb = ib == b.client_quotas().end() ? kNoValues : ib->second;
    for (const auto& [k, v] : vb) {
      auto old = va.find(k);
      if (old != va.end() && old->second == v) continue;
      qset.push_back({{"entity", entity_json(e)}, {"key", k}, {"old", old == va.end() ? ordered_json(nullptr) : ordered_json(old->second)},
                      {"new", v}});
    }
    for (const auto& [k, v] : va)
      if (!vb.count(k)) qremoved.push_back({{"entity", entity_json(e)}, {"key", k}, {"old", v}});
  }
  d["clientQuotas"] = {{"set", qset}, {"removed", qremoved}};

  // ---- delegation tokens, by id (the HMAC is in no image: nothing to hide)
  auto token_json = [](const security::DelegationToken& t) {
    ordered_json renewers = ordered_json::array();
    for (const auto& p : t.renewers) renewers.push_back(p.to_string());
    return ordered_json{{"tokenId", t.token_id},
                        {"owner", t.owner.to_string()},
                        {"requester", t.requester.to_string()},
                        {"renewers", renewers},
                        {"issueTimestamp", t.issue_timestamp_ms},
                        {"expiryTimestamp", t.expiry_timestamp_ms},
                        {"maxTimestamp", t.max_timestamp_ms}};
  };
  ordered_json tadded = ordered_json::array(), tremoved = ordered_json::array(), tchanged = ordered_json::array();
  for (const auto& [id, t] : b.delegation_tokens()) {
    auto it = a.delegation_tokens().find(id);
    if (it == a.delegation_tokens().end())
      tadded.push_back(token_json(t));
    else if (!(it->second == t))
      tchanged.push_back({{"tokenId", id}, {"expiryTimestamp", change(it->second.expiry_timestamp_ms, t.expiry_timestamp_ms)}});
  }
  for (const auto& [id, t] : a.delegation_tokens())
    if (!b.delegation_tokens().count(id)) tremoved.push_back({{"tokenId", id}, {"owner", t.owner.to_string()}});
  d["delegationTokens"] = {{"added", tadded}, {"removed", tremoved}, {"changed", tchanged}};
  return d;
}

std::string format_diff(const ordered_json& d) {
  std::string s;
  auto line = [&](const std::string& l) { s += l + "\n"; };
  auto prov = [](const ordered_json& p) {
    return "offset " + std::to_string(p["offset"].get<int64_t>()) + ", epoch " + std::to_string(p["epoch"].get<int32_t>());
  };
  line("Comparing metadata at " + prov(d["from"]) + " with " + prov(d["to"]));
  size_t changes = 0;
  for (const auto& t : d["topics"]["added"]) {
    size_t n = t["partitions"].get<size_t>();
    line("+ topic " + t["name"].get<std::string>() + " (id " + t["id"].get<std::string>() + ", " + std::to_string(n) +
         (n == 1 ? " partition)" : " partitions)"));
    ++changes;
  }
  for (const auto& t : d["topics"]["removed"]) {
    line("- topic " + t["name"].get<std::string>() + " (id " + t["id"].get<std::string>() + ")");
    ++changes;
  }
  auto tp = [](const ordered_json& p) {
    return p["topic"].get<std::string>() + "-" + std::to_string(p["partition"].get<int32_t>());
  };
  for (const auto& p : d["partitions"]["added"]) {
    line("+ partition " + tp(p) + " (replicas " + p["replicas"].dump() + ", leader " + p["leader"].dump() + ")");
    ++changes;
  }
  for (const auto& p : d["partitions"]["removed"]) {
    line("- partition " + tp(p));
    ++changes;
  }
  for (const auto& p : d["partitions"]["changed"]) {
    line("~ partition " + tp(p) + ":" + changes_text(p, {"topic", "partition"}));
    ++changes;
  }
  const auto& br = d["brokers"];
  for (const auto& id : br["registered"]) line("+ broker " + id.dump() + " registered"), ++changes;
  for (const auto& id : br["unregistered"]) line("- broker " + id.dump() + " unregistered"), ++changes;
  for (const auto& id : br["reregistered"]) line("~ broker " + id.dump() + " re-registered"), ++changes;
  for (const auto& id : br["fenced"]) line("~ broker " + id.dump() + " fenced"), ++changes;
  for (const auto& id : br["unfenced"]) line("~ broker " + id.dump() + " unfenced"), ++changes;
  for (const auto& b : br["changed"]) {
    line("~ broker " + b["id"].dump() + ":" + changes_text(b, {"id"}));
    ++changes;
  }
  auto entity = [](const ordered_json& c) {
    std::string name = c["name"].get<std::string>();
    return c["type"].get<std::string>() + " " + (name.empty() ? "<default>" : name);
  };
  for (const auto& c : d["configs"]["set"]) {
    std::string l = "+ config " + entity(c) + " " + c["key"].get<std::string>() + "=" + c["new"].get<std::string>();
    if (!c["old"].is_null()) l += " (was " + c["old"].get<std::string>() + ")";
    line(l);
    ++changes;
  }
  for (const auto& c : d["configs"]["removed"]) {
    line("- config " + entity(c) + " " + c["key"].get<std::string>() + " (was " + c["old"].get<std::string>() + ")");
    ++changes;
  }
  for (const auto& f : d["features"]["changed"]) {
    line("~ feature " + f["name"].get<std::string>() + ": " + list_text(f["old"]) + " -> " + list_text(f["new"]));
    ++changes;
  }
  for (const auto& c : d["scram"]["added"]) {
    line("+ SCRAM credential " + c["user"].get<std::string>() + " " + c["mechanism"].get<std::string>() + " (iterations " +
         c["iterations"].dump() + ")");
    ++changes;
  }
  for (const auto& c : d["scram"]["removed"]) {
    line("- SCRAM credential " + c["user"].get<std::string>() + " " + c["mechanism"].get<std::string>());
    ++changes;
  }
  for (const auto& c : d["scram"]["changed"]) {
    line("~ SCRAM credential " + c["user"].get<std::string>() + " " + c["mechanism"].get<std::string>() + " replaced (iterations " +
         c["iterations"]["old"].dump() + " -> " + c["iterations"]["new"].dump() + ")");
    ++changes;
  }
  auto acl_text = [](const ordered_json& a) {
    return a["id"].get<std::string>() + " StandardAcl(resourceType=" + a["resourceType"].get<std::string>() +
           ", resourceName=" + a["resourceName"].get<std::string>() + ", patternType=" + a["patternType"].get<std::string>() +
           ", principal=" + a["principal"].get<std::string>() + ", host=" + a["host"].get<std::string>() +
           ", operation=" + a["operation"].get<std::string>() + ", permissionType=" + a["permissionType"].get<std::string>() + ")";
  };
  for (const auto& a : d["acls"]["added"]) {
    line("+ ACL " + acl_text(a));
    ++changes;
  }
  for (const auto& a : d["acls"]["removed"]) {
    line("- ACL " + acl_text(a));
    ++changes;
  }
  // Client quota entities as kafka-configs names them.
  auto quota_entity = [](const ordered_json& e) {
    std::string s;
    for (const auto& [type, label] : {std::pair{"user", "user-principal"}, std::pair{"client-id", "client-id"}, std::pair{"ip", "ip"}}) {
      if (!e.contains(type)) continue;
      s += s.empty() ? "" : ", ";
      s += e[type].is_null() ? std::string("the default ") + label : std::string(label) + " '" + e[type].get<std::string>() + "'";
    }
    return s;
  };
  for (const auto& q : d["clientQuotas"]["set"]) {
    std::string l = "+ client quota " + quota_entity(q["entity"]) + " " + q["key"].get<std::string>() + "=" +
                    java_double_to_string(q["new"].get<double>());
    if (!q["old"].is_null()) l += " (was " + java_double_to_string(q["old"].get<double>()) + ")";
    line(l);
    ++changes;
  }
  for (const auto& q : d["clientQuotas"]["removed"]) {
    line("- client quota " + quota_entity(q["entity"]) + " " + q["key"].get<std::string>() + " (was " +
         java_double_to_string(q["old"].get<double>()) + ")");
    ++changes;
  }
  for (const auto& t : d["delegationTokens"]["added"]) {
    std::string renewers;
    for (const auto& r : t["renewers"]) renewers += (renewers.empty() ? "" : ",") + r.get<std::string>();
    line("+ delegation token " + t["tokenId"].get<std::string>() + " owner=" + t["owner"].get<std::string>() +
         " requester=" + t["requester"].get<std::string>() + " renewers=[" + renewers + "] expiry=" +
         std::to_string(t["expiryTimestamp"].get<int64_t>()) + " max=" + std::to_string(t["maxTimestamp"].get<int64_t>()));
    ++changes;
  }
  for (const auto& t : d["delegationTokens"]["changed"]) {
    line("~ delegation token " + t["tokenId"].get<std::string>() + " expiry " +
         std::to_string(t["expiryTimestamp"]["old"].get<int64_t>()) + " -> " + std::to_string(t["expiryTimestamp"]["new"].get<int64_t>()));
    ++changes;
  }
  for (const auto& t : d["delegationTokens"]["removed"]) {
    line("- delegation token " + t["tokenId"].get<std::string>() + " owner=" + t["owner"].get<std::string>());
    ++changes;
  }
  if (changes == 0) line("No changes.");
  return s;
}

}  // namespace flotilla::metadata
