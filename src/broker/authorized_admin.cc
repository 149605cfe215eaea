// The gates of authorized_admin.h.
#include "broker/authorized_admin.h"

#include <set>

namespace flotilla::broker {

namespace {

// The names a request lists more than once: the controller answers those
// INVALID_REQUEST whatever the caller may do, so they are not authorized here.
template <class Items, class NameOf>
std::set<std::string> duplicated_names(const Items& items, NameOf name_of) {
  std::set<std::string> seen, dup;
  for (const auto& i : items)
    if (!seen.insert(name_of(i)).second) dup.insert(name_of(i));
  return dup;
}

}  // namespace

CreateTopicsGate::CreateTopicsGate(const Authz& a, msg::CreateTopicsRequest& req) {
  if (!a.enabled()) return;
  auto dups = duplicated_names(req.topics, [](const auto& t) { return t.name; });
  std::vector<std::string> names;
  for (const auto& t : req.topics)
    if (!dups.count(t.name) && t.name != "__cluster_metadata") names.push_back(t.name);
  CreateTopicsAuth ca = authorize_create_topics(a, names);
  no_configs_ = std::move(ca.describe);
  std::erase_if(req.topics, [&](const auto& t) { return !dups.count(t.name) && ca.create.has(t.name); });
  for (const auto& n : ca.create.names()) {
    msg::CreateTopicsResponse::CreatableTopicResult r;
    r.name = n;
    r.error_code = code(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
    r.error_message = "Authorization failed.";
    refused_.push_back(std::move(r));
  }
}

void CreateTopicsGate::complete(msg::CreateTopicsResponse& resp) const {
  for (auto& t : resp.topics)
    if (t.error_code == 0 && no_configs_.has(t.name)) {
      // Created, but the caller may not see its configuration.
      t.configs = std::vector<msg::CreateTopicsResponse::CreatableTopicConfigs>{};
      t.num_partitions = -1;
      t.replication_factor = -1;
      t.topic_config_error_code = code(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
    }
  resp.topics.insert(resp.topics.end(), refused_.begin(), refused_.end());
}

// Kafka's ControllerApis.deleteTopics: a topic named by id that may not be
// deleted is answered with its name only if the caller may DESCRIBE it; one
// named by name that may not be described is refused whether or not it
// exists; one that may be described but not deleted is refused if it exists
// (else the controller says it does not).
DeleteTopicsGate::DeleteTopicsGate(const Authz& a, msg::DeleteTopicsRequest& req, const metadata::MetadataImage& image) {
  if (!a.enabled()) return;
  std::vector<std::string> names;
  for (const auto& n : req.topic_names) names.push_back(n);
  for (const auto& t : req.topics) {
    if (t.name) names.push_back(*t.name);
    else if (const metadata::TopicImage* ti = image.topic(t.topic_id)) names.push_back(ti->name);
  }
  DeleteTopicsAuth da = authorize_delete_topics(a, names);
  if (da.remove.empty() && da.describe.empty()) return;
  auto refuse = [&](std::optional<std::string> name, Uuid id) {
    msg::DeleteTopicsResponse::DeletableTopicResult r;
    r.name = std::move(name);
    r.topic_id = id;
    r.error_code = code(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
    r.error_message = std::nullopt;
    refused_.push_back(std::move(r));
  };
  auto by_name_refused = [&](const std::string& n) { return da.describe.has(n) || (da.remove.has(n) && image.topic(n)); };
  std::erase_if(req.topic_names, [&](const std::string& n) {
    if (!by_name_refused(n)) return false;
    refuse(n, Uuid{});
    return true;
  });
  std::erase_if(req.topics, [&](const auto& t) {
    if (t.name) {
      if (!by_name_refused(*t.name)) return false;
      refuse(*t.name, Uuid{});
      return true;
    }
    const metadata::TopicImage* ti = image.topic(t.topic_id);
    if (!ti || !da.remove.has(ti->name)) return false;
    refuse(da.describe.has(ti->name) ? std::optional<std::string>() : std::optional<std::string>(ti->name), t.topic_id);
    return true;
  });
}

void DeleteTopicsGate::complete(msg::DeleteTopicsResponse& resp) const {
  resp.responses.insert(resp.responses.end(), refused_.begin(), refused_.end());
}

CreatePartitionsGate::CreatePartitionsGate(const Authz& a, msg::CreatePartitionsRequest& req) {
  if (!a.enabled()) return;
  auto dups = duplicated_names(req.topics, [](const auto& t) { return t.name; });
  std::vector<std::string> names;
  for (const auto& t : req.topics)
    if (!dups.count(t.name)) names.push_back(t.name);
  Verdict v = authorize_topics(a, AclOperation::ALTER, names);
  std::erase_if(req.topics, [&](const auto& t) { return !dups.count(t.name) && v.refuses(t.name); });
  for (const auto& n : v.refused.names()) {
    msg::CreatePartitionsResponse::CreatePartitionsTopicResult r;
    r.name = n;
    r.error_code = code(v.item_error);
    r.error_message = std::nullopt;
    refused_.push_back(std::move(r));
  }
}

void CreatePartitionsGate::complete(msg::CreatePartitionsResponse& resp) const {
  resp.results.insert(resp.results.end(), refused_.begin(), refused_.end());
}

}  // namespace flotilla::broker
