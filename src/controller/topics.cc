// QuorumController: CreateTopics, DeleteTopics, CreatePartitions, as Kafka's
// ControllerApis + ReplicationControlManager answer them; new partitions are
// checked against the brokers' partition budgets and max.partitions
// (capacity.cc: POLICY_VIOLATION, nothing written, validateOnly alike).
#include <algorithm>
#include <set>
#include <spdlog/spdlog.h>

#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

namespace {
constexpr int32_t kMaxPartitions = 1000000;  // sanity bound on one request

// Kafka's checks of one partition's manual replica list: not empty, no broker
// twice, every broker registered. "" if it passes, else the message.
std::string manual_replicas_error(const metadata::MetadataImage& image, const std::vector<int32_t>& ids) {
  if (ids.empty()) return "The manual partition assignment includes an empty replica list.";
  std::set<int32_t> seen;
  for (int32_t b : ids) {
    if (!seen.insert(b).second)
      return "The manual partition assignment includes the broker " + std::to_string(b) + " more than once.";
    if (!image.broker(b))
      return "The manual partition assignment includes broker " + std::to_string(b) + ", but no such broker is registered.";
  }
  return "";
}

// A batch that did not commit (ec): the results it carried report its error instead.
template <class Result>
void fail_uncommitted(std::vector<Result>& results, const std::vector<size_t>& written, ErrorCode ec) {
  if (ec == ErrorCode::NONE) return;
  for (size_t i : written) {
    results[i].error_code = code(ec);
    results[i].error_message = std::string(error_message(ec));
  }
}

std::string normalize_collision(const std::string& name) {
  std::string n = name;
  std::replace(n.begin(), n.end(), '.', '_');
  return n;
}

const char* const kTopicConfigs[] = {
    "cleanup.policy", "compression.gzip.level", "compression.lz4.level", "compression.type", "compression.zstd.level",
    "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
    "index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
    "max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.format.version",
    "message.timestamp.after.max.ms", "message.timestamp.before.max.ms", "message.timestamp.difference.max.ms",
    "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
    "remote.log.copy.disable", "remote.log.delete.on.disable", "remote.storage.enable", "retention.bytes", "retention.ms",
    "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
};
}  // namespace

std::string validate_topic_name(const std::string& name) {
  if (name.empty()) return "Topic name is illegal, it can't be empty";
  if (name == "." || name == "..") return "Topic name cannot be \".\" or \"..\"";
  if (name.size() > 249)
    return "Topic name is illegal, it can't be longer than 249 characters, topic name: " + name;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return "Topic name \"" + name + "\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
  }
  return "";
}

bool is_known_topic_config(const std::string& name) {
  for (const char* c : kTopicConfigs)
    if (name == c) return true;
  return false;
}

// ---------------------------------------------------------------- CreateTopics

void QuorumController::create_topics(msg::CreateTopicsRequest request, int16_t version,
                                     std::function<void(msg::CreateTopicsResponse)> done) {
  using Result = msg::CreateTopicsResponse::CreatableTopicResult;
  auto response = std::make_shared<msg::CreateTopicsResponse>();
  auto fail = [&](const std::string& name, ErrorCode ec, std::optional<std::string> message) {
    Result r;
    r.name = name;
    r.error_code = code(ec);
    r.error_message = std::move(message);
    response->topics.push_back(std::move(r));
  };

  // Duplicate names are rejected once per name (ControllerApis).
  std::map<std::string, int> counts;
  for (const auto& t : request.topics) counts[t.name]++;
  std::set<std::string> reported_dups;

  if (!active_) {
    for (const auto& t : request.topics) {
      if (counts[t.name] > 1 && !reported_dups.insert(t.name).second) continue;
      fail(t.name, ErrorCode::NOT_CONTROLLER, std::string(error_message(ErrorCode::NOT_CONTROLLER)));
    }
    post([done = std::move(done), response] { done(std::move(*response)); });
    return;
  }

  std::vector<std::vector<uint8_t>> records;
  std::vector<size_t> created;  // indexes into response->topics that succeed once committed
  CapacityPlan capacity;        // what the topics accepted so far add (capacity.cc)
  std::set<std::string> names_in_request;
  std::map<std::string, std::string> collisions;  // normalized -> name, existing topics and this request
  for (const auto& [name, t] : latest_->topics_by_name()) collisions[normalize_collision(name)] = name;

  for (const auto& t : request.topics) {
    if (counts[t.name] > 1) {
      if (reported_dups.insert(t.name).second) fail(t.name, ErrorCode::INVALID_REQUEST, "Duplicate topic name.");
      continue;
    }
    if (std::string err = validate_topic_name(t.name); !err.empty()) {
      fail(t.name, ErrorCode::INVALID_TOPIC_EXCEPTION, err);
      continue;
    }
    // The metadata log's name (its directory is __cluster_metadata-0): refused as Kafka does.
    if (t.name == "__cluster_metadata") {
      fail(t.name, ErrorCode::INVALID_REQUEST, "Creation of internal topic __cluster_metadata is prohibited.");
      continue;
    }
    if (latest_->topic(t.name)) {
      fail(t.name, ErrorCode::TOPIC_ALREADY_EXISTS, "Topic '" + t.name + "' already exists.");
      continue;
    }
    if (auto c = collisions.find(normalize_collision(t.name)); c != collisions.end() && c->second != t.name) {
      fail(t.name, ErrorCode::INVALID_TOPIC_EXCEPTION, "Topic '" + t.name + "' collides with existing topic: " + c->second);
      continue;
    }
    // Configs.
    metadata::ConfigMap overrides;
    ErrorCode cfg_error = ErrorCode::NONE;
    std::string cfg_message;
    for (const auto& c : t.configs) {
      if (!c.value) {
        cfg_error = ErrorCode::INVALID_REQUEST;
        cfg_message = "Null value not supported for topic configs: " + c.name;
        break;
      }
      if (!is_known_topic_config(c.name)) {
        cfg_error = ErrorCode::INVALID_CONFIG;
        cfg_message = "Unknown topic config name: " + c.name;
        break;
      }
      overrides[c.name] = *c.value;
    }
    if (cfg_error != ErrorCode::NONE) {
      fail(t.name, cfg_error, cfg_message);
      continue;
    }
    // Assignment.
    std::vector<std::vector<int32_t>> assignment;
    if (!t.assignments.empty()) {
      if (t.num_partitions != -1) {
        fail(t.name, ErrorCode::INVALID_REQUEST, "A manual partition assignment was specified, but numPartitions was not set to -1.");
        continue;
      }
      if (t.replication_factor != -1) {
        fail(t.name, ErrorCode::INVALID_REQUEST,
             "A manual partition assignment was specified, but replicationFactor was not set to -1.");
        continue;
      }
      std::string err;
      int32_t expected = 0;
      for (const auto& a : t.assignments) {
        if (a.partition_index != expected) {
          err = "Partitions should be sequentially numbered starting from 0, but partition " + std::to_string(a.partition_index) +
                " was found where partition " + std::to_string(expected) + " was expected.";
          break;
        }
        ++expected;
        err = manual_replicas_error(*latest_, a.broker_ids);
        if (!err.empty()) break;
        if (!assignment.empty() && assignment.front().size() != a.broker_ids.size()) {
          err = "The manual partition assignment includes a partition with " + std::to_string(a.broker_ids.size()) +
                " replica(s), but this is not consistent with previous partitions, which have " +
                std::to_string(assignment.front().size()) + " replica(s).";
          break;
        }
        bool any_usable = false;
        for (int32_t b : a.broker_ids) any_usable |= is_live(b);
        if (!any_usable) {
          err = "All brokers specified in the manual partition assignment for partition " + std::to_string(a.partition_index) +
                " are fenced or in controlled shutdown.";
          break;
        }
        assignment.push_back(a.broker_ids);
      }
      if (!err.empty()) {
        fail(t.name, ErrorCode::INVALID_REPLICA_ASSIGNMENT, err);
        continue;
      }
      if (std::string cap = capacity_error(capacity, assignment, "Creating"); !cap.empty()) {
        fail(t.name, ErrorCode::POLICY_VIOLATION, cap);
        continue;
      }
    } else {
      int32_t np = t.num_partitions == -1 ? config_.num_partitions : t.num_partitions;
      int16_t rf = t.replication_factor == -1 ? config_.default_replication_factor : t.replication_factor;
      if (np <= 0) {
        fail(t.name, ErrorCode::INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value.");
        continue;
      }
      if (np > kMaxPartitions) {
        fail(t.name, ErrorCode::INVALID_PARTITIONS, "Number of partitions " + std::to_string(np) + " is too large.");
        continue;
      }
      if (rf <= 0) {
        fail(t.name, ErrorCode::INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0, or -1 to use the default value.");
        continue;
      }
      Placement p = place_within_capacity(capacity, np, rf, 0);
      if (p.error != ErrorCode::NONE) {
        fail(t.name, p.error, p.message);
        continue;
      }
      assignment = std::move(p.replicas);
    }
    capacity.add(assignment);

    Uuid topic_id = Uuid::random();
    Result r;
    r.name = t.name;
    r.topic_id = topic_id;
    r.error_code = 0;
    r.error_message = std::nullopt;
    r.num_partitions = static_cast<int32_t>(assignment.size());
    r.replication_factor = static_cast<int16_t>(assignment.front().size());
    std::vector<TopicConfigEntry> entries;
    if (config_.describe_topic_configs) {
      entries = config_.describe_topic_configs(overrides);
    } else {
      for (const auto& [k, v] : overrides) entries.push_back(TopicConfigEntry{k, v, false, 1, false});
    }
    std::vector<msg::CreateTopicsResponse::CreatableTopicConfigs> cfgs;
    for (const auto& e : entries) {
      msg::CreateTopicsResponse::CreatableTopicConfigs c;
      c.name = e.name;
      c.value = e.is_sensitive ? std::nullopt : e.value;
      c.read_only = e.read_only;
      c.config_source = e.source;
      c.is_sensitive = e.is_sensitive;
      cfgs.push_back(std::move(c));
    }
    r.configs = std::move(cfgs);
    collisions[normalize_collision(t.name)] = t.name;

    if (!request.validate_only) {
      msg::TopicRecord tr;
      tr.name = t.name;
      tr.topic_id = topic_id;
      records.push_back(frame_metadata_record(tr, 0));
      for (const auto& [k, v] : overrides) {
        msg::ConfigRecord cr;
        cr.resource_type = static_cast<int8_t>(metadata::ConfigResourceType::TOPIC);
        cr.resource_name = t.name;
        cr.name = k;
        cr.value = v;
        records.push_back(frame_metadata_record(cr, 0));
      }
      // PartitionRecords see the brokers as of latest_ (written below in one batch).
      for (size_t i = 0; i < assignment.size(); ++i) records.push_back(partition_record(topic_id, static_cast<int32_t>(i), assignment[i]));
      spdlog::info("[QuorumController id={}] Creating topic {} with id {}, {} partition(s), replication factor {}", config_.node_id,
                   t.name, topic_id.to_string(), assignment.size(), assignment.front().size());
    }
    created.push_back(response->topics.size());
    response->topics.push_back(std::move(r));
  }

  std::optional<int64_t> off;
  if (!records.empty()) {
    off = write(std::move(records));  // on failure the controller deactivated: NOT_CONTROLLER below
  }
  after_commit_of(off, [done = std::move(done), response, created, version](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      for (size_t i : created) {
        auto& r = response->topics[i];
        std::string name = r.name;
        r = msg::CreateTopicsResponse::CreatableTopicResult{};
        r.name = name;
        r.error_code = code(ec);
        r.error_message = std::string(error_message(ec));
      }
    }
    done(std::move(*response));
  });
}

// ---------------------------------------------------------------- DeleteTopics

void QuorumController::delete_topics(msg::DeleteTopicsRequest request, int16_t version,
                                     std::function<void(msg::DeleteTopicsResponse)> done) {
  using Result = msg::DeleteTopicsResponse::DeletableTopicResult;
  auto response = std::make_shared<msg::DeleteTopicsResponse>();
  auto add = [&](std::optional<std::string> name, Uuid id, ErrorCode ec, std::optional<std::string> message = std::nullopt) {
    Result r;
    r.name = std::move(name);
    r.topic_id = id;
    r.error_code = code(ec);
    if (ec != ErrorCode::NONE) r.error_message = message ? std::move(message) : std::optional<std::string>(std::string(error_message(ec)));
    response->responses.push_back(std::move(r));
  };

  // Normalize v0-5 (names) and v6 (name or id) into one list.
  struct Want {
    std::optional<std::string> name;
    Uuid id;
  };
  std::vector<Want> wants;
  if (version >= 6) {
    for (const auto& t : request.topics) wants.push_back(Want{t.name, t.topic_id});
  } else {
    for (const auto& n : request.topic_names) wants.push_back(Want{n, Uuid{}});
  }

  if (!active_ || !config_.delete_topic_enable) {
    ErrorCode ec = !active_ ? ErrorCode::NOT_CONTROLLER : ErrorCode::TOPIC_DELETION_DISABLED;
    for (const auto& w : wants) add(w.name, w.id, ec);
    post([done = std::move(done), response] { done(std::move(*response)); });
    return;
  }

  std::map<std::string, int> name_counts;
  std::map<Uuid, int> id_counts;
  for (const auto& w : wants) {
    if (w.name) name_counts[*w.name]++;
    if (!w.id.is_zero()) id_counts[w.id]++;
  }
  std::vector<std::vector<uint8_t>> records;
  std::vector<size_t> deleted;
  std::set<Uuid> removing;
  for (const auto& w : wants) {
    if (w.name && !w.id.is_zero()) {
      add(w.name, w.id, ErrorCode::INVALID_REQUEST, "You may not specify both topic name and topic id.");
      continue;
    }
    if (!w.name && w.id.is_zero()) {
      add(w.name, w.id, ErrorCode::INVALID_REQUEST, "Neither topic name nor id were specified.");
      continue;
    }
    if (w.name && name_counts[*w.name] > 1) {
      add(w.name, w.id, ErrorCode::INVALID_REQUEST, "Duplicate topic name.");
      continue;
    }
    if (!w.id.is_zero() && id_counts[w.id] > 1) {
      add(w.name, w.id, ErrorCode::INVALID_REQUEST, "Duplicate topic id.");
      continue;
    }
    const metadata::TopicImage* t = w.name ? latest_->topic(*w.name) : latest_->topic(w.id);
    if (!t) {
      add(w.name, w.id, w.name ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::UNKNOWN_TOPIC_ID);
      continue;
    }
    if (!removing.insert(t->id).second) {
      add(t->name, t->id, ErrorCode::INVALID_REQUEST, "Duplicate topic id.");
      continue;
    }
    msg::RemoveTopicRecord rr;
    rr.topic_id = t->id;
    records.push_back(frame_metadata_record(rr, 0));
    spdlog::info("[QuorumController id={}] Removing topic {} with id {}", config_.node_id, t->name, t->id.to_string());
    deleted.push_back(response->responses.size());
    add(t->name, t->id, ErrorCode::NONE);
  }
  std::optional<int64_t> off;
  if (!records.empty()) off = write(std::move(records));
  after_commit_of(off, [done = std::move(done), response, deleted](ErrorCode ec) mutable {
    fail_uncommitted(response->responses, deleted, ec);
    done(std::move(*response));
  });
}

// ---------------------------------------------------------------- CreatePartitions

void QuorumController::create_partitions(msg::CreatePartitionsRequest request, int16_t version,
                                         std::function<void(msg::CreatePartitionsResponse)> done) {
  using Result = msg::CreatePartitionsResponse::CreatePartitionsTopicResult;
  auto response = std::make_shared<msg::CreatePartitionsResponse>();
  auto add = [&](const std::string& name, ErrorCode ec, std::optional<std::string> message = std::nullopt) {
    Result r;
    r.name = name;
    r.error_code = code(ec);
    if (ec != ErrorCode::NONE) r.error_message = message ? std::move(message) : std::optional<std::string>(std::string(error_message(ec)));
    response->results.push_back(std::move(r));
  };
  if (!active_) {
    for (const auto& t : request.topics) add(t.name, ErrorCode::NOT_CONTROLLER);
    post([done = std::move(done), response] { done(std::move(*response)); });
    return;
  }
  std::map<std::string, int> counts;
  for (const auto& t : request.topics) counts[t.name]++;
  std::set<std::string> reported;
  std::vector<std::vector<uint8_t>> records;
  std::vector<size_t> changed;
  CapacityPlan capacity;  // what the topics accepted so far add (capacity.cc)
  for (const auto& t : request.topics) {
    if (counts[t.name] > 1) {
      if (reported.insert(t.name).second) add(t.name, ErrorCode::INVALID_REQUEST, "Duplicate topic name.");
      continue;
    }
    const metadata::TopicImage* topic = latest_->topic(t.name);
    if (!topic) {
      add(t.name, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      continue;
    }
    int32_t current = static_cast<int32_t>(topic->partitions.size());
    if (t.count < current) {
      add(t.name, ErrorCode::INVALID_PARTITIONS,
          "The topic " + t.name + " currently has " + std::to_string(current) + " partition(s); " + std::to_string(t.count) +
              " would not be an increase.");
      continue;
    }
    if (t.count == current) {
      add(t.name, ErrorCode::INVALID_PARTITIONS, "Topic already has " + std::to_string(current) + " partition(s).");
      continue;
    }
    if (t.count > kMaxPartitions) {
      add(t.name, ErrorCode::INVALID_PARTITIONS, "Number of partitions " + std::to_string(t.count) + " is too large.");
      continue;
    }
    int32_t additional = t.count - current;
    size_t rf = topic->partitions.empty() ? 1 : topic->partitions.begin()->second.replicas.size();
    std::vector<std::vector<int32_t>> assignment;
    std::string err;
    if (t.assignments) {
      if (static_cast<int32_t>(t.assignments->size()) != additional) {
        err = "Attempted to add " + std::to_string(additional) + " additional partition(s), but only " +
              std::to_string(t.assignments->size()) + " assignment(s) were specified.";
      }
      for (size_t i = 0; err.empty() && i < t.assignments->size(); ++i) {
        const auto& ids = (*t.assignments)[i].broker_ids;
        err = manual_replicas_error(*latest_, ids);
        if (!err.empty()) break;
        if (ids.size() != rf) {
          err = "The manual partition assignment includes a partition with " + std::to_string(ids.size()) +
                " replica(s), but this is not consistent with previous partitions, which have " + std::to_string(rf) + " replica(s).";
        }
        if (err.empty() && std::none_of(ids.begin(), ids.end(), [this](int32_t b) { return is_live(b); })) {
          err = "All brokers specified in the manual partition assignment for partition " + std::to_string(current + static_cast<int32_t>(i)) +
                " are fenced or in controlled shutdown.";
        }
        if (err.empty()) assignment.push_back(ids);
      }
      if (!err.empty()) {
        add(t.name, ErrorCode::INVALID_REPLICA_ASSIGNMENT, err);
        continue;
      }
      if (std::string cap = capacity_error(capacity, assignment, "Adding"); !cap.empty()) {
        add(t.name, ErrorCode::POLICY_VIOLATION, cap);
        continue;
      }
    } else {
      Placement p = place_within_capacity(capacity, additional, static_cast<int16_t>(rf), current);
      if (p.error != ErrorCode::NONE) {
        add(t.name, p.error, p.message);
        continue;
      }
      assignment = std::move(p.replicas);
    }
    capacity.add(assignment);
    if (!request.validate_only) {
      for (int32_t i = 0; i < additional; ++i) records.push_back(partition_record(topic->id, current + i, assignment[i]));
      spdlog::info("[QuorumController id={}] Adding {} partition(s) to topic {}", config_.node_id, additional, t.name);
    }
    changed.push_back(response->results.size());
    add(t.name, ErrorCode::NONE);
  }
  std::optional<int64_t> off;
  if (!records.empty()) off = write(std::move(records));
  after_commit_of(off, [done = std::move(done), response, changed](ErrorCode ec) mutable {
    fail_uncommitted(response->results, changed, ec);
    done(std::move(*response));
  });
}

}  // namespace flotilla::controller
