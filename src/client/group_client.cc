#include "client/group_client.h"

#include <algorithm>
#include <set>
#include <thread>

#include "common/clock.h"

namespace flotilla::client {

int16_t group_client_max_version(int16_t api_key) {
  switch (api_key) {
    case msg::FindCoordinatorRequest::kApiKey: return 4;
    case msg::JoinGroupRequest::kApiKey: return 9;
    case msg::SyncGroupRequest::kApiKey: return 5;
    case msg::HeartbeatRequest::kApiKey: return 4;
    case msg::LeaveGroupRequest::kApiKey: return 5;
    case msg::OffsetCommitRequest::kApiKey: return 8;
    case msg::OffsetFetchRequest::kApiKey: return 8;
    case msg::ListGroupsRequest::kApiKey: return 5;
    case msg::DescribeGroupsRequest::kApiKey: return 5;
    case msg::DeleteGroupsRequest::kApiKey: return 2;
    case msg::OffsetDeleteRequest::kApiKey: return 0;
    case msg::DescribeTransactionsRequest::kApiKey: return 0;
    case msg::ConsumerGroupDescribeRequest::kApiKey: return 0;  // the transactions tool, through a transaction coordinator
    default: return client_max_version(api_key);
  }
}

int16_t group_api_version(const Connection& c, int16_t api_key) {
  return c.version_for(api_key, group_client_max_version(api_key));
}

bool is_coordinator_error(int16_t c) {
  return c == code(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS) || c == code(ErrorCode::COORDINATOR_NOT_AVAILABLE) ||
         c == code(ErrorCode::NOT_COORDINATOR);
}

// ------------------------------------------------------------------ GroupClient

GroupClient::GroupClient(KafkaClient& client, std::string group_id, int timeout_ms, int8_t key_type)
    : client_(client),
      group_id_(std::move(group_id)),
      timeout_ms_(timeout_ms),
      key_type_(key_type),
      request_timeout_ms_(client.options().request_timeout_ms) {}

GroupClient::~GroupClient() = default;

void GroupClient::coordinator_dead() { coord_.reset(); }

void GroupClient::set_request_timeout_ms(int ms) {
  request_timeout_ms_ = ms;
  if (coord_) coord_->set_timeout_ms(ms);
}

const BrokerInfo& GroupClient::coordinator_info() {
  coordinator();
  return coord_info_;
}

Connection& GroupClient::coordinator() {
  if (coord_) return *coord_;
  int64_t deadline = monotonic_ms() + timeout_ms_;
  std::string last;
  for (;;) {
    int16_t err = 0;
    std::string message;
    BrokerInfo found;
    try {
      Connection& c = client_.any();
      int16_t v = group_api_version(c, msg::FindCoordinatorRequest::kApiKey);
      msg::FindCoordinatorRequest req;
      req.key_type = key_type_;
      if (v >= 4) req.coordinator_keys = {group_id_};
      else req.key = group_id_;
      msg::FindCoordinatorResponse resp;
      try {
        resp = c.call(req, v).first;
      } catch (const NetworkError&) {
        client_.drop(c);
        throw;
      }
      if (v >= 4) {
        if (resp.coordinators.empty()) {
          err = code(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        } else {
          const auto& co = resp.coordinators.front();
          err = co.error_code;
          message = error_text(err, co.error_message);
          found = BrokerInfo{co.node_id, co.host, co.port, std::nullopt};
        }
      } else {
        err = resp.error_code;
        message = error_text(err, resp.error_message);
        found = BrokerInfo{resp.node_id, resp.host, resp.port, std::nullopt};
      }
      if (err == 0) {
        coord_ = std::make_unique<Connection>(found.host, found.port, client_.options().client_id, request_timeout_ms_);
        coord_info_ = found;
        return *coord_;
      }
      last = message;
    } catch (const NetworkError& e) {
      last = e.what();
      err = code(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    }
    if (!(is_coordinator_error(err) || is_retriable(err)) || monotonic_ms() >= deadline)
      throw KafkaError(static_cast<ErrorCode>(err ? err : code(ErrorCode::COORDINATOR_NOT_AVAILABLE)),
                       "Could not find the coordinator of group " + group_id_ + ": " + last);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool GroupClient::retry_after(int16_t err, int64_t deadline_ms) {
  if (!is_coordinator_error(err)) return false;
  if (monotonic_ms() >= deadline_ms) return false;
  if (err != code(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)) coordinator_dead();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return true;
}

msg::DescribeGroupsResponse::DescribedGroup GroupClient::describe() {
  int64_t deadline = monotonic_ms() + timeout_ms_;
  for (;;) {
    msg::DescribeGroupsRequest req;
    req.groups = {group_id_};
    auto resp = call(req);
    for (auto& g : resp.groups) {
      if (g.group_id != group_id_) continue;
      if (retry_after(g.error_code, deadline)) break;
      if (g.error_code == 0 && g.group_state == "Dead")
        if (auto cg = describe_consumer_group()) return *cg;
      return g;
    }
    if (monotonic_ms() >= deadline) throw KafkaError(ErrorCode::REQUEST_TIMED_OUT, "Timed out describing group " + group_id_);
    bool found = false;
    for (auto& g : resp.groups) found = found || g.group_id == group_id_;
    if (!found) throw KafkaError(ErrorCode::UNKNOWN_SERVER_ERROR, "DescribeGroups returned no result for group " + group_id_);
  }
}

std::optional<msg::DescribeGroupsResponse::DescribedGroup> GroupClient::describe_consumer_group() {
  Connection& c = coordinator();
  if (!c.broker_versions(msg::ConsumerGroupDescribeRequest::kApiKey)) return std::nullopt;
  msg::ConsumerGroupDescribeRequest req;
  req.group_ids = {group_id_};
  msg::ConsumerGroupDescribeResponse resp;
  try {
    resp = c.call(req, group_api_version(c, msg::ConsumerGroupDescribeRequest::kApiKey)).first;
  } catch (const NetworkError&) {
    coordinator_dead();
    return std::nullopt;
  }
  for (const auto& g : resp.groups) {
    if (g.group_id != group_id_ || g.error_code != 0) continue;
    // The classic shape the tools print: protocol type "consumer", each
    // member's assignment as ConsumerProtocol assignment bytes.
    msg::DescribeGroupsResponse::DescribedGroup d;
    d.group_id = g.group_id;
    d.group_state = g.group_state;
    d.protocol_type = "consumer";
    d.protocol_data = g.assignor_name;
    for (const auto& m : g.members) {
      msg::DescribeGroupsResponse::DescribedGroupMember dm;
      dm.member_id = m.member_id;
      dm.group_instance_id = m.instance_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      Assignment a;
      for (const auto& tp : m.assignment.topic_partitions) a[tp.topic_name].insert(a[tp.topic_name].end(), tp.partitions.begin(), tp.partitions.end());
      for (auto& [t, ps] : a) std::sort(ps.begin(), ps.end());
      dm.member_assignment = encode_assignment(a);
      d.members.push_back(std::move(dm));
    }
    return d;
  }
  return std::nullopt;
}

std::map<TopicPartition, int64_t> GroupClient::fetch_offsets(const std::optional<std::vector<TopicPartition>>& partitions) {
  int64_t deadline = monotonic_ms() + timeout_ms_;
  for (;;) {
    Connection& c = coordinator();
    int16_t v = group_api_version(c, msg::OffsetFetchRequest::kApiKey);
    msg::OffsetFetchRequest req;
    std::optional<Assignment> by_topic;
    if (partitions) {
      by_topic.emplace();
      for (const auto& [t, p] : *partitions) (*by_topic)[t].push_back(p);
    }
    if (v >= 8) {
      msg::OffsetFetchRequest::OffsetFetchRequestGroup g;
      g.group_id = group_id_;
      if (by_topic) {
        g.topics.emplace();
        for (const auto& [t, ps] : *by_topic) {
          msg::OffsetFetchRequest::OffsetFetchRequestTopics rt;
          rt.name = t;
          rt.partition_indexes = ps;
          g.topics->push_back(rt);
        }
      } else {
        g.topics = std::nullopt;
      }
      req.groups.push_back(g);
    } else {
      req.group_id = group_id_;
      if (by_topic) {
        req.topics.emplace();
        for (const auto& [t, ps] : *by_topic) {
          msg::OffsetFetchRequest::OffsetFetchRequestTopic rt;
          rt.name = t;
          rt.partition_indexes = ps;
          req.topics->push_back(rt);
        }
      } else {
        req.topics = std::nullopt;
      }
    }
    msg::OffsetFetchResponse resp;
    try {
      resp = c.call(req, v).first;
    } catch (const NetworkError&) {
      coordinator_dead();
      if (monotonic_ms() >= deadline) throw;
      continue;
    }
    int16_t err = 0;
    std::map<TopicPartition, int64_t> out;
    auto take = [&](const std::string& topic, int32_t p, int64_t off, int16_t perr) {
      if (perr != 0) {
        if (is_coordinator_error(perr) || perr == code(ErrorCode::UNSTABLE_OFFSET_COMMIT)) err = err ? err : perr;
        return;
      }
      if (off >= 0) out[{topic, p}] = off;
    };
    if (v >= 8) {
      for (const auto& g : resp.groups) {
        if (g.group_id != group_id_) continue;
        if (g.error_code) err = g.error_code;
        for (const auto& t : g.topics)
          for (const auto& p : t.partitions) take(t.name, p.partition_index, p.committed_offset, p.error_code);
      }
    } else {
      if (resp.error_code) err = resp.error_code;
      for (const auto& t : resp.topics)
        for (const auto& p : t.partitions) take(t.name, p.partition_index, p.committed_offset, p.error_code);
    }
    if (err == 0) return out;
    if (err == code(ErrorCode::UNSTABLE_OFFSET_COMMIT) && monotonic_ms() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (retry_after(err, deadline)) continue;
    throw KafkaError(static_cast<ErrorCode>(err), error_text(err));
  }
}

std::map<TopicPartition, int16_t> GroupClient::commit_offsets(const std::map<TopicPartition, int64_t>& offsets, int32_t generation,
                                                              const std::string& member_id) {
  int64_t deadline = monotonic_ms() + timeout_ms_;
  for (;;) {
    msg::OffsetCommitRequest req;
    req.group_id = group_id_;
    req.generation_id_or_member_epoch = generation;
    req.member_id = member_id;
    req.group_instance_id = member_id.empty() ? std::nullopt : group_instance_id_;
    req.retention_time_ms = -1;
    std::map<std::string, msg::OffsetCommitRequest::OffsetCommitRequestTopic> topics;
    for (const auto& [tp, off] : offsets) {
      auto& t = topics[tp.first];
      t.name = tp.first;
      msg::OffsetCommitRequest::OffsetCommitRequestPartition p;
      p.partition_index = tp.second;
      p.committed_offset = off;
      p.committed_leader_epoch = -1;
      p.committed_metadata = "";
      t.partitions.push_back(p);
    }
    for (auto& [_, t] : topics) req.topics.push_back(std::move(t));
    auto resp = call(req);
    std::map<TopicPartition, int16_t> out;
    int16_t coord_err = 0;
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions) {
        out[{t.name, p.partition_index}] = p.error_code;
        if (is_coordinator_error(p.error_code)) coord_err = p.error_code;
      }
    if (coord_err && retry_after(coord_err, deadline)) continue;
    return out;
  }
}

int16_t GroupClient::delete_group() {
  int64_t deadline = monotonic_ms() + timeout_ms_;
  for (;;) {
    msg::DeleteGroupsRequest req;
    req.groups_names = {group_id_};
    auto resp = call(req);
    int16_t err = code(ErrorCode::UNKNOWN_SERVER_ERROR);
    for (const auto& r : resp.results)
      if (r.group_id == group_id_) err = r.error_code;
    if (retry_after(err, deadline)) continue;
    return err;
  }
}

std::pair<int16_t, std::map<TopicPartition, int16_t>> GroupClient::delete_offsets(const std::vector<TopicPartition>& partitions) {
  int64_t deadline = monotonic_ms() + timeout_ms_;
  for (;;) {
    msg::OffsetDeleteRequest req;
    req.group_id = group_id_;
    std::map<std::string, msg::OffsetDeleteRequest::OffsetDeleteRequestTopic> topics;
    for (const auto& [t, p] : partitions) {
      auto& rt = topics[t];
      rt.name = t;
      msg::OffsetDeleteRequest::OffsetDeleteRequestPartition rp;
      rp.partition_index = p;
      rt.partitions.push_back(rp);
    }
    for (auto& [_, t] : topics) req.topics.push_back(std::move(t));
    auto resp = call(req);
    if (retry_after(resp.error_code, deadline)) continue;
    std::map<TopicPartition, int16_t> out;
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions) out[{t.name, p.partition_index}] = p.error_code;
    return {resp.error_code, out};
  }
}

// ------------------------------------------------------------------ membership

void GroupClient::reset_generation(bool forget_member_id) {
  generation_ = -1;
  if (forget_member_id) member_id_.clear();
}

Assignment GroupClient::join(const MemberConfig& cfg, int64_t deadline_ms) {
  group_instance_id_ = cfg.group_instance_id;
  int saved_timeout = request_timeout_ms_;
  // JoinGroup is answered when the rebalance completes (up to the rebalance timeout).
  set_request_timeout_ms(std::max(saved_timeout, cfg.rebalance_timeout_ms + 5000));
  struct Restore {
    GroupClient* g;
    int ms;
    ~Restore() { g->set_request_timeout_ms(ms); }
  } restore{this, saved_timeout};
  for (;;) {
    if (monotonic_ms() >= deadline_ms) throw KafkaError(ErrorCode::REQUEST_TIMED_OUT, "Timed out joining group " + group_id_);
    msg::JoinGroupRequest jreq;
    jreq.group_id = group_id_;
    jreq.session_timeout_ms = cfg.session_timeout_ms;
    jreq.rebalance_timeout_ms = cfg.rebalance_timeout_ms;
    jreq.member_id = member_id_;
    jreq.group_instance_id = cfg.group_instance_id;
    jreq.protocol_type = "consumer";
    msg::JoinGroupRequest::JoinGroupRequestProtocol proto;
    proto.name = cfg.assignor;
    proto.metadata = encode_subscription(cfg.topics);
    jreq.protocols.push_back(proto);
    jreq.reason = std::nullopt;
    auto jresp = call(jreq);
    int16_t err = jresp.error_code;
    if (err == code(ErrorCode::MEMBER_ID_REQUIRED)) {
      member_id_ = jresp.member_id;
      continue;
    }
    if (err == code(ErrorCode::UNKNOWN_MEMBER_ID)) {
      member_id_.clear();
      continue;
    }
    if (err == code(ErrorCode::REBALANCE_IN_PROGRESS) || err == code(ErrorCode::ILLEGAL_GENERATION)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (err != 0) {
      if (retry_after(err, deadline_ms)) continue;
      throw KafkaError(static_cast<ErrorCode>(err), error_text(err));
    }
    member_id_ = jresp.member_id;
    generation_ = jresp.generation_id;
    protocol_name_ = jresp.protocol_name.value_or(cfg.assignor);

    msg::SyncGroupRequest sreq;
    sreq.group_id = group_id_;
    sreq.generation_id = generation_;
    sreq.member_id = member_id_;
    sreq.group_instance_id = cfg.group_instance_id;
    sreq.protocol_type = std::string("consumer");
    sreq.protocol_name = protocol_name_;
    if (jresp.leader == member_id_ && !jresp.skip_assignment) {
      std::map<std::string, std::vector<std::string>> subs;
      std::set<std::string> all_topics;
      for (const auto& m : jresp.members) {
        std::vector<std::string> topics;
        try {
          topics = decode_subscription(m.metadata).topics;
        } catch (const std::exception&) {
        }
        subs[m.member_id] = topics;
        all_topics.insert(topics.begin(), topics.end());
      }
      std::map<std::string, int32_t> counts;
      if (!all_topics.empty()) {
        ClusterInfo ci = client_.metadata(std::vector<std::string>(all_topics.begin(), all_topics.end()));
        for (const auto& [name, ti] : ci.topics)
          if (ti.error == 0) counts[name] = static_cast<int32_t>(ti.partitions.size());
      }
      for (const auto& [member, a] : range_assign(subs, counts)) {
        msg::SyncGroupRequest::SyncGroupRequestAssignment sa;
        sa.member_id = member;
        sa.assignment = encode_assignment(a);
        sreq.assignments.push_back(sa);
      }
    }
    auto sresp = call(sreq);
    err = sresp.error_code;
    if (err == code(ErrorCode::UNKNOWN_MEMBER_ID)) {
      reset_generation(true);
      continue;
    }
    if (err == code(ErrorCode::REBALANCE_IN_PROGRESS) || err == code(ErrorCode::ILLEGAL_GENERATION)) {
      generation_ = -1;
      continue;
    }
    if (err != 0) {
      if (retry_after(err, deadline_ms)) continue;
      throw KafkaError(static_cast<ErrorCode>(err), error_text(err));
    }
    return decode_assignment(sresp.assignment);
  }
}

int16_t GroupClient::heartbeat() {
  msg::HeartbeatRequest req;
  req.group_id = group_id_;
  req.generation_id = generation_;
  req.member_id = member_id_;
  req.group_instance_id = group_instance_id_;
  try {
    auto resp = call(req);
    if (is_coordinator_error(resp.error_code)) coordinator_dead();
    return resp.error_code;
  } catch (const NetworkError&) {
    coordinator_dead();
    return code(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  }
}

GroupClient::HeartbeatAction GroupClient::member_heartbeat() {
  int16_t e = heartbeat();
  if (e == code(ErrorCode::REBALANCE_IN_PROGRESS)) return HeartbeatAction::kCommitAndRejoin;
  if (e == code(ErrorCode::ILLEGAL_GENERATION)) {
    reset_generation(false);
    return HeartbeatAction::kRejoin;
  }
  if (e == code(ErrorCode::UNKNOWN_MEMBER_ID) || e == code(ErrorCode::FENCED_INSTANCE_ID)) {
    reset_generation(true);
    return HeartbeatAction::kRejoin;
  }
  if (e != 0 && !is_coordinator_error(e)) throw KafkaError(static_cast<ErrorCode>(e), "Heartbeat failed: " + error_text(e));
  return HeartbeatAction::kNone;
}

int16_t GroupClient::commit_as_member(const std::map<TopicPartition, int64_t>& offsets) {
  for (const auto& [tp, e] : commit_offsets(offsets, generation_, member_id_)) {
    if (e == 0) continue;
    if (e == code(ErrorCode::REBALANCE_IN_PROGRESS) || e == code(ErrorCode::ILLEGAL_GENERATION) ||
        e == code(ErrorCode::UNKNOWN_MEMBER_ID) || e == code(ErrorCode::FENCED_INSTANCE_ID))
      return e;
    throw KafkaError(static_cast<ErrorCode>(e), "Offset commit failed: " + error_text(e));
  }
  return 0;
}

void GroupClient::leave(const std::string& reason) {
  if (member_id_.empty()) return;
  try {
    Connection& c = coordinator();
    int16_t v = group_api_version(c, msg::LeaveGroupRequest::kApiKey);
    msg::LeaveGroupRequest req;
    req.group_id = group_id_;
    if (v >= 3) {
      msg::LeaveGroupRequest::MemberIdentity m;
      m.member_id = member_id_;
      m.group_instance_id = group_instance_id_;
      m.reason = reason;
      req.members.push_back(m);
    } else {
      req.member_id = member_id_;
    }
    c.call(req, v);
  } catch (const std::exception&) {
    // Best effort: the session timeout removes the member otherwise.
  }
  reset_generation(true);
}

}  // namespace flotilla::client
