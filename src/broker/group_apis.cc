// The classic group coordinator's Kafka APIs: FindCoordinator (v0-5),
// JoinGroup (v0-9), SyncGroup (v0-5), Heartbeat (v0-4), LeaveGroup (v0-5),
// OffsetCommit (v0-9), OffsetFetch (v0-9), ListGroups (v0-5), DescribeGroups
// (v0-5), DeleteGroups (v0-2), OffsetDelete (v0). Decoding and encoding per
// version; the state machine is coordinator/group_coordinator.
#include <spdlog/spdlog.h>

#include <cctype>
#include <set>

#include "broker/api_util.h"
#include "broker/commit_partitions.h"
#include "broker/request_handler.h"
#include "coordinator/consumer_group.h"
#include "coordinator/group_service.h"
#include "coordinator/txn_service.h"
#include "protocol/messages.h"

namespace flotilla::broker {
namespace {

using namespace api::prelude;
using namespace flotilla::coordinator;

// ListGroups compares states and types case-insensitively.
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// ---------------------------------------------------------------- FindCoordinator

void RequestHandler::handle_find_coordinator(std::shared_ptr<net::Request> req, net::Respond respond) {
  FindCoordinatorRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  std::vector<std::string> keys = v >= 4 ? request.coordinator_keys : std::vector<std::string>{request.key};
  auto image = replicas_.image();
  // Key type 0: a group (__consumer_offsets), 1: a transactional id (__transaction_state).
  const bool txn = request.key_type == 1;
  const char* topic_name = txn ? kTransactionStateTopic : kGroupMetadataTopic;
  const bool served = txn ? txns_ != nullptr : groups_ != nullptr;
  bool create = false;
  const Authz auth = authz(*req);

  auto find = [&](const std::string& key) {
    FindCoordinatorResponse::Coordinator c;
    c.key = key;
    c.node_id = -1;
    c.host = "";
    c.port = -1;
    c.error_message = std::nullopt;
    auto fail = [&](ErrorCode e) {
      c.error_code = code(e);
      return c;
    };
    if (ErrorCode e = authorize_find_coordinator(auth, request.key_type, key); e != ErrorCode::NONE) return fail(e);
    if (request.key_type != 0 && request.key_type != 1) return fail(ErrorCode::INVALID_REQUEST);
    if (txn && key.empty()) return fail(ErrorCode::INVALID_REQUEST);
    if (!served) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    const int32_t partition = txn ? txns_->coordinator().partition_for(key) : groups_->coordinator().partition_for(key);
    const metadata::TopicImage* t = image->topic(topic_name);
    if (!t) {
      create = true;
      return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    }
    auto pit = t->partitions.find(partition);
    if (pit == t->partitions.end() || pit->second.leader < 0) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    const metadata::BrokerRegistration* b = image->broker(pit->second.leader);
    if (!b || b->fenced) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    for (const auto& ep : b->listeners) {
      if (ep.name != req->listener) continue;
      c.node_id = pit->second.leader;
      c.host = ep.host;
      c.port = ep.port;
      c.error_code = 0;
      return c;
    }
    return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  };

  FindCoordinatorResponse resp;
  if (v >= 4) {
    for (const auto& k : keys) resp.coordinators.push_back(find(k));
  } else {
    FindCoordinatorResponse::Coordinator c = find(keys.front());
    resp.error_code = c.error_code;
    resp.error_message = c.error_code ? std::optional<std::string>(std::string(error_name(c.error_code))) : std::nullopt;
    resp.node_id = c.node_id;
    resp.host = c.host;
    resp.port = c.port;
  }
  if (create && !txn) {
    const GroupCoordinatorConfig& gcfg = groups_->coordinator().config();
    create_internal_topic(kGroupMetadataTopic, gcfg.offsets_topic_num_partitions, gcfg.offsets_topic_replication_factor,
                          {{"cleanup.policy", "compact"}, {"compression.type", "producer"},
                           {"segment.bytes", std::to_string(gcfg.offsets_topic_segment_bytes)}},
                          &groups_->topic_creation_in_flight);
  } else if (create) {
    const TxnCoordinatorConfig& tcfg = txns_->coordinator().config();
    create_internal_topic(kTransactionStateTopic, tcfg.transaction_state_log_num_partitions, tcfg.transaction_state_log_replication_factor,
                          {{"cleanup.policy", "compact"}, {"compression.type", "uncompressed"},
                           {"min.insync.replicas", std::to_string(tcfg.transaction_state_log_min_isr)},
                           {"segment.bytes", std::to_string(tcfg.transaction_state_log_segment_bytes)},
                           {"unclean.leader.election.enable", "false"}},
                          &txns_->topic_creation_in_flight);
  }
  send(*req, respond, resp);
}

void RequestHandler::create_internal_topic(const std::string& name, int32_t partitions, int16_t replication_factor,
                                           std::vector<std::pair<std::string, std::string>> configs, bool* in_flight) {
  if (!controller_ || *in_flight) return;
  CreateTopicsRequest ct;
  CreateTopicsRequest::CreatableTopic topic;
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  for (auto& [k, val] : configs) {
    CreateTopicsRequest::CreatableTopicConfig c;
    c.name = k;
    c.value = std::move(val);
    topic.configs.push_back(c);
  }
  ct.topics.push_back(topic);
  ct.timeout_ms = 30000;
  *in_flight = true;
  spdlog::info("[KafkaApi] Creating the internal topic {} ({} partitions, replication factor {})", name, partitions, replication_factor);
  // `in_flight` lives in a coordinator service, which outlives the controller channel's callbacks (both stop at shutdown).
  controller_->create_topics(std::move(ct), 7, [in_flight](CreateTopicsResponse r) {
    *in_flight = false;
    for (const auto& t : r.topics)
      if (t.error_code != 0 && t.error_code != code(ErrorCode::TOPIC_ALREADY_EXISTS))
        spdlog::warn("[KafkaApi] Creation of the internal topic {} failed: {} {}", t.name, error_name(t.error_code), t.error_message.value_or(""));
  });
}

// ---------------------------------------------------------------- JoinGroup / SyncGroup / Heartbeat / LeaveGroup

void RequestHandler::handle_join_group(std::shared_ptr<net::Request> req, net::Respond respond) {
  JoinGroupRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  auto answer = [req, respond, v](JoinResult r) mutable {
    JoinGroupResponse resp;
    resp.error_code = code(r.error);
    resp.generation_id = r.generation_id;
    resp.protocol_type = r.protocol_type;
    resp.protocol_name = v >= 7 ? r.protocol_name : std::optional<std::string>(r.protocol_name.value_or(""));
    resp.leader = r.leader;
    resp.skip_assignment = r.skip_assignment;
    resp.member_id = r.member_id;
    for (auto& m : r.members) {
      JoinGroupResponse::JoinGroupResponseMember jm;
      jm.member_id = m.member_id;
      jm.group_instance_id = m.group_instance_id;
      jm.metadata = std::move(m.metadata);
      resp.members.push_back(std::move(jm));
    }
    send(*req, respond, resp);
  };
  if (ErrorCode e = authorize_group_member(authz(*req), request.group_id); e != ErrorCode::NONE) {
    JoinResult r;
    r.error = e;
    return answer(r);
  }
  if (!groups_) {
    JoinResult r;
    r.error = ErrorCode::NOT_COORDINATOR;
    return answer(r);
  }
  // KIP-848: a consumer group with members cannot be joined with the classic
  // protocol; an empty one gives way to the classic group.
  if (groups_->coordinator().check_coordinator(request.group_id) == ErrorCode::NONE) {
    if (groups_->consumer_groups().has_members(request.group_id)) {
      JoinResult r;
      r.error = ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
      r.member_id = request.member_id;
      return answer(r);
    }
    groups_->consumer_groups().delete_group(request.group_id);
  }
  JoinParams p;
  p.group_id = request.group_id;
  p.member_id = request.member_id;
  p.group_instance_id = request.group_instance_id;
  p.require_known_member_id = v >= 4;
  p.client_id = req->client_id.value_or("");
  p.client_host = client_host(*req);
  p.session_timeout_ms = request.session_timeout_ms;
  p.rebalance_timeout_ms = v >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
  p.protocol_type = request.protocol_type;
  for (auto& pr : request.protocols) p.protocols.emplace_back(pr.name, std::move(pr.metadata));
  p.reason = request.reason.value_or("");
  groups_->coordinator().join_group(std::move(p), std::move(answer));
}

void RequestHandler::handle_sync_group(std::shared_ptr<net::Request> req, net::Respond respond) {
  SyncGroupRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto answer = [req, respond](SyncResult r) mutable {
    SyncGroupResponse resp;
    resp.error_code = code(r.error);
    resp.protocol_type = r.protocol_type;
    resp.protocol_name = r.protocol_name;
    resp.assignment = std::move(r.assignment);
    send(*req, respond, resp);
  };
  if (ErrorCode e = authorize_group_member(authz(*req), request.group_id); e != ErrorCode::NONE) {
    SyncResult r;
    r.error = e;
    return answer(r);
  }
  if (!groups_) {
    SyncResult r;
    r.error = ErrorCode::NOT_COORDINATOR;
    return answer(r);
  }
  SyncParams p;
  p.group_id = request.group_id;
  p.generation_id = request.generation_id;
  p.member_id = request.member_id;
  p.group_instance_id = request.group_instance_id;
  p.protocol_type = request.protocol_type;
  p.protocol_name = request.protocol_name;
  for (auto& a : request.assignments) p.assignments.emplace_back(a.member_id, std::move(a.assignment));
  groups_->coordinator().sync_group(std::move(p), std::move(answer));
}

void RequestHandler::handle_heartbeat(std::shared_ptr<net::Request> req, net::Respond respond) {
  HeartbeatRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  HeartbeatResponse resp;
  ErrorCode e = authorize_group_member(authz(*req), request.group_id);
  if (e == ErrorCode::NONE && !groups_) e = ErrorCode::NOT_COORDINATOR;
  else if (e == ErrorCode::NONE)
    e = request.group_id.empty() ? ErrorCode::INVALID_GROUP_ID
                                 : groups_->coordinator().heartbeat(request.group_id, request.member_id, request.group_instance_id,
                                                                    request.generation_id);
  resp.error_code = code(e);
  send(*req, respond, resp);
}

void RequestHandler::handle_leave_group(std::shared_ptr<net::Request> req, net::Respond respond) {
  LeaveGroupRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  std::vector<LeaveMember> members;
  if (v >= 3) {
    for (const auto& m : request.members) members.push_back(LeaveMember{m.member_id, m.group_instance_id});
  } else {
    members.push_back(LeaveMember{request.member_id, std::nullopt});
  }
  ErrorCode top = authorize_group_member(authz(*req), request.group_id);
  if (top == ErrorCode::NONE) top = groups_ ? groups_->coordinator().leave_group(request.group_id, members) : ErrorCode::NOT_COORDINATOR;
  LeaveGroupResponse resp;
  if (v >= 3) {
    resp.error_code = code(top);
    if (top == ErrorCode::NONE)
      for (const auto& m : members) resp.members.push_back(LeaveGroupResponse::MemberResponse{m.member_id, m.group_instance_id, code(m.error)});
  } else {
    resp.error_code = code(top != ErrorCode::NONE ? top : members.front().error);
  }
  send(*req, respond, resp);
}

// ---------------------------------------------------------------- offsets

void RequestHandler::handle_offset_commit(std::shared_ptr<net::Request> req, net::Respond respond) {
  OffsetCommitRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  const Verdict verdict = authorize_offset_commit(authz(*req), request);
  std::vector<CommitPartition> parts, refused;  // refused: answered with their authorization error
  for (const auto& t : request.topics)
    for (const auto& p : t.partitions) {
      CommitPartition c{t.name, p.partition_index, p.committed_offset, v >= 6 ? p.committed_leader_epoch : -1, p.committed_metadata,
                        v == 1 ? p.commit_timestamp : -1};
      if (!verdict.ok() || verdict.refuses(t.name)) {
        c.error = verdict.ok() ? verdict.item_error : verdict.error;
        refused.push_back(std::move(c));
      } else {
        parts.push_back(std::move(c));
      }
    }
  refuse_unknown_partitions(*replicas_.image(), parts, refused);
  auto answer = [req, respond, refused](ErrorCode, std::vector<CommitPartition> res) mutable {
    OffsetCommitResponse resp;
    for (const auto& p : refused)
      topic_entry(resp.topics, p.topic)
          .partitions.push_back(OffsetCommitResponse::OffsetCommitResponsePartition{p.partition, code(p.error)});
    for (const auto& p : res)
      topic_entry(resp.topics, p.topic)
          .partitions.push_back(OffsetCommitResponse::OffsetCommitResponsePartition{p.partition, code(p.error)});
    send(*req, respond, resp);
  };
  if (!refused.empty() && parts.empty()) return answer(ErrorCode::NONE, {});
  if (!groups_) {
    for (auto& p : parts) p.error = ErrorCode::NOT_COORDINATOR;
    return answer(ErrorCode::NONE, std::move(parts));
  }
  int32_t generation = v >= 1 ? request.generation_id_or_member_epoch : -1;
  int64_t retention = v >= 2 && v <= 4 ? request.retention_time_ms : -1;
  // KIP-848 groups: the member epoch is validated here (Kafka's
  // ConsumerGroup.validateOffsetCommit); the classic path then stores the
  // offsets as a commit without group management.
  if (groups_->coordinator().check_coordinator(request.group_id) == ErrorCode::NONE) {
    if (auto ve = groups_->consumer_groups().validate_offset_commit(request.group_id, v >= 1 ? request.member_id : "",
                                                                    request.group_instance_id, generation, v)) {
      if (*ve != ErrorCode::NONE) {
        for (auto& p : parts) p.error = *ve;
        return answer(ErrorCode::NONE, std::move(parts));
      }
      return groups_->coordinator().commit_offsets(request.group_id, "", std::nullopt, -1, retention, std::move(parts), std::move(answer));
    }
  }
  groups_->coordinator().commit_offsets(request.group_id, v >= 1 ? request.member_id : "", request.group_instance_id, generation, retention,
                                        std::move(parts), std::move(answer));
}

void RequestHandler::handle_offset_fetch(std::shared_ptr<net::Request> req, net::Respond respond) {
  OffsetFetchRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  using Topics = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;
  const Authz auth = authz(*req);
  // After the group's DESCRIBE (checked by the caller): named topics the
  // caller may not DESCRIBE are answered TOPIC_AUTHORIZATION_FAILED, with all
  // topics they are left out.
  auto fetch = [&](const std::string& group, const Topics& topics, std::vector<FetchedOffset>& out) {
    if (!groups_) return ErrorCode::NOT_COORDINATOR;
    if (group.empty() && v >= 2) return ErrorCode::INVALID_GROUP_ID;
    const bool stable = v >= 7 && request.require_stable;
    if (!auth.enabled()) return groups_->coordinator().fetch_offsets(group, topics, out, stable);
    if (!topics) {
      ErrorCode e = groups_->coordinator().fetch_offsets(group, topics, out, stable);
      std::vector<std::string> names;
      for (const auto& f : out)
        if (names.empty() || names.back() != f.topic) names.push_back(f.topic);
      const Verdict tv = authorize_offset_fetch_topics(auth, names);
      std::erase_if(out, [&](const FetchedOffset& f) { return tv.refuses(f.topic); });
      return e;
    }
    std::vector<std::string> names;
    for (const auto& [t, ps] : *topics) names.push_back(t);
    const Verdict tv = authorize_offset_fetch_topics(auth, names);
    Topics allowed(std::in_place);
    std::vector<FetchedOffset> refused;
    for (const auto& [t, ps] : *topics) {
      if (!tv.refuses(t)) {
        allowed->emplace_back(t, ps);
        continue;
      }
      for (int32_t p : ps) refused.push_back(FetchedOffset{t, p, -1, -1, "", tv.item_error});
    }
    ErrorCode e = groups_->coordinator().fetch_offsets(group, allowed, out, stable);
    if (e == ErrorCode::NONE) out.insert(out.end(), refused.begin(), refused.end());
    return e;
  };
  OffsetFetchResponse resp;
  if (v >= 8) {
    for (const auto& g : request.groups) {
      Topics topics;
      if (g.topics) {
        topics.emplace();
        for (const auto& t : *g.topics) topics->emplace_back(t.name, t.partition_indexes);
      }
      std::vector<FetchedOffset> out;
      OffsetFetchResponse::OffsetFetchResponseGroup rg;
      rg.group_id = g.group_id;
      if (ErrorCode ge = authorize_offset_fetch_group(auth, g.group_id); ge != ErrorCode::NONE) {
        rg.error_code = code(ge);
        resp.groups.push_back(std::move(rg));
        continue;
      }
      ErrorCode member_error = ErrorCode::NONE;  // KIP-848 groups: v9's member id and epoch
      if (v >= 9 && groups_ && groups_->coordinator().check_coordinator(g.group_id) == ErrorCode::NONE)
        member_error = groups_->consumer_groups().validate_offset_fetch(g.group_id, g.member_id.value_or(""), g.member_epoch).value_or(ErrorCode::NONE);
      rg.error_code = code(member_error != ErrorCode::NONE ? member_error : fetch(g.group_id, topics, out));
      for (const auto& f : out)
        topic_entry(rg.topics, f.topic)
            .partitions.push_back(
                OffsetFetchResponse::OffsetFetchResponsePartitions{f.partition, f.offset, f.leader_epoch, f.metadata, code(f.error)});
      resp.groups.push_back(std::move(rg));
    }
    return send(*req, respond, resp);
  }
  Topics topics;
  if (request.topics) {
    topics.emplace();
    for (const auto& t : *request.topics) topics->emplace_back(t.name, t.partition_indexes);
  }
  std::vector<FetchedOffset> out;
  ErrorCode e = authorize_offset_fetch_group(auth, request.group_id);
  if (e == ErrorCode::NONE) e = fetch(request.group_id, topics, out);
  if (e != ErrorCode::NONE && v < 2 && topics) {
    // v0-1 have no top-level error: every partition carries it.
    for (const auto& [t, ps] : *topics)
      for (int32_t p : ps) out.push_back(FetchedOffset{t, p, -1, -1, "", e});
  }
  for (const auto& f : out)
    topic_entry(resp.topics, f.topic)
        .partitions.push_back(
            OffsetFetchResponse::OffsetFetchResponsePartition{f.partition, f.offset, f.leader_epoch, f.metadata, code(f.error)});
  if (v >= 2) resp.error_code = code(e);
  send(*req, respond, resp);
}

// ---------------------------------------------------------------- admin

void RequestHandler::handle_list_groups(std::shared_ptr<net::Request> req, net::Respond respond) {
  ListGroupsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  ListGroupsResponse resp;
  bool classic = request.types_filter.empty();
  bool consumer = request.types_filter.empty();  // KIP-848 groups
  for (const auto& t : request.types_filter) {
    const std::string l = lower(t);
    if (l == "classic") classic = true;
    if (l == "consumer") consumer = true;
  }
  if (groups_ && classic) {
    std::vector<ListedGroup> out;
    resp.error_code = code(groups_->coordinator().list_groups(request.states_filter, out));
    for (const auto& g : out)
      if (!groups_->consumer_groups().has_group(g.group_id))  // the classic side only holds its offsets
        resp.groups.push_back(ListGroupsResponse::ListedGroup{g.group_id, g.protocol_type, g.state, "classic"});
  }
  if (groups_ && consumer) {
    std::set<std::string> states;
    for (const auto& s : request.states_filter) states.insert(lower(s));
    for (const auto& g : groups_->consumer_groups().list())
      if (states.empty() || states.count(lower(g.state)))
        resp.groups.push_back(ListGroupsResponse::ListedGroup{g.group_id, "consumer", g.state, "consumer"});
  }
  // DESCRIBE on the cluster lists every group; without it, those the caller may DESCRIBE.
  if (const Authz auth = authz(*req); auth.enabled() && !list_groups_all(auth))
    std::erase_if(resp.groups, [&](const ListGroupsResponse::ListedGroup& g) { return !list_groups_shows(auth, g.group_id); });
  send(*req, respond, resp);
}

void RequestHandler::handle_describe_groups(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeGroupsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  DescribeGroupsResponse resp;
  const Authz auth = authz(*req);
  for (const auto& id : request.groups) {
    DescribedGroup d;
    d.group_id = id;
    std::optional<std::string> message;
    if (ErrorCode e = authorize_describe_group(auth, id); e != ErrorCode::NONE) {
      d.error = e;
    } else if (!groups_) {
      d.error = ErrorCode::NOT_COORDINATOR;
    } else if (id.empty()) {
      d.error = ErrorCode::INVALID_GROUP_ID;
    } else {
      d = groups_->coordinator().describe_group(id);
      if (d.error == ErrorCode::NONE && groups_->consumer_groups().has_group(id)) {
        // A KIP-848 group is not a classic group: Kafka answers Dead below
        // DescribeGroups v6, GROUP_ID_NOT_FOUND from v6 (KIP-1043).
        d = DescribedGroup{};
        d.group_id = id;
        d.state = "Dead";
        if (req->api_version >= 6) {
          d.error = ErrorCode::GROUP_ID_NOT_FOUND;
          message = "Group " + id + " is not a classic group.";
        }
      } else if (d.error == ErrorCode::NONE && d.state == "Dead" && req->api_version >= 6) {
        d.error = ErrorCode::GROUP_ID_NOT_FOUND;
        message = "Group " + id + " not found.";
      }
    }
    DescribeGroupsResponse::DescribedGroup g;
    g.error_code = code(d.error);
    // v6: the error's message (Kafka's exception text where it has one).
    if (d.error != ErrorCode::NONE) g.error_message = message ? message : std::optional<std::string>(std::string(error_message(d.error)));
    if (d.error == ErrorCode::GROUP_ID_NOT_FOUND) d.state = "";
    g.group_id = d.group_id;
    g.group_state = d.state;
    g.protocol_type = d.protocol_type;
    g.protocol_data = d.protocol;
    for (auto& m : d.members) {
      DescribeGroupsResponse::DescribedGroupMember dm;
      dm.member_id = m.member_id;
      dm.group_instance_id = m.group_instance_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      dm.member_metadata = std::move(m.metadata);
      dm.member_assignment = std::move(m.assignment);
      g.members.push_back(std::move(dm));
    }
    if (req->api_version >= 3 && request.include_authorized_operations && d.error == ErrorCode::NONE)
      g.authorized_operations = auth.operations(ResourceType::GROUP, id);
    resp.groups.push_back(std::move(g));
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_delete_groups(std::shared_ptr<net::Request> req, net::Respond respond) {
  DeleteGroupsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  // DELETE on each group: the refused ones are answered after the others.
  const Verdict verdict = authorize_delete_groups(authz(*req), request.groups_names);
  std::erase_if(request.groups_names, [&](const std::string& g) { return verdict.refuses(g); });
  auto answer = [req, respond, verdict](std::vector<std::pair<std::string, ErrorCode>> results) mutable {
    DeleteGroupsResponse resp;
    for (const auto& [id, e] : results) resp.results.push_back(DeleteGroupsResponse::DeletableGroupResult{id, code(e)});
    for (const auto& id : verdict.refused.names()) resp.results.push_back(DeleteGroupsResponse::DeletableGroupResult{id, code(verdict.item_error)});
    send(*req, respond, resp);
  };
  if (request.groups_names.empty() && !verdict.refused.empty()) return answer({});
  if (!groups_) {
    std::vector<std::pair<std::string, ErrorCode>> r;
    for (const auto& g : request.groups_names) r.emplace_back(g, ErrorCode::NOT_COORDINATOR);
    return answer(std::move(r));
  }
  // KIP-848 groups: NON_EMPTY_GROUP while they have members; an empty one is
  // forgotten here and its offsets deleted by the classic side.
  std::vector<std::string> names;
  std::vector<std::pair<std::string, ErrorCode>> non_empty;
  std::set<std::string> deleted;
  for (const auto& g : request.groups_names) {
    if (groups_->coordinator().check_coordinator(g) == ErrorCode::NONE && groups_->consumer_groups().has_group(g)) {
      if (groups_->consumer_groups().delete_group(g) != ErrorCode::NONE) {
        non_empty.emplace_back(g, ErrorCode::NON_EMPTY_GROUP);
        continue;
      }
      deleted.insert(g);
    }
    names.push_back(g);
  }
  if (non_empty.empty() && deleted.empty()) return groups_->coordinator().delete_groups(request.groups_names, std::move(answer));
  groups_->coordinator().delete_groups(
      std::move(names), [answer, non_empty, deleted](std::vector<std::pair<std::string, ErrorCode>> results) mutable {
        for (auto& [id, e] : results)
          if (deleted.count(id) && e == ErrorCode::GROUP_ID_NOT_FOUND) e = ErrorCode::NONE;
        results.insert(results.end(), non_empty.begin(), non_empty.end());
        answer(std::move(results));
      });
}

void RequestHandler::handle_offset_delete(std::shared_ptr<net::Request> req, net::Respond respond) {
  OffsetDeleteRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  using Parts = std::vector<std::tuple<std::string, int32_t, ErrorCode>>;
  std::function<void(ErrorCode, Parts)> answer = [req, respond](ErrorCode e, Parts parts) mutable {
    OffsetDeleteResponse resp;
    resp.error_code = code(e);
    for (const auto& [t, p, pe] : parts)
      topic_entry(resp.topics, t).partitions.push_back(OffsetDeleteResponse::OffsetDeleteResponsePartition{p, code(pe)});
    send(*req, respond, resp);
  };
  const Verdict verdict = authorize_offset_delete(authz(*req), request);
  if (!verdict.ok()) return answer(verdict.error, {});
  if (!verdict.refused.empty()) {
    // Topics the caller may not READ: TOPIC_AUTHORIZATION_FAILED, the others go on.
    std::vector<std::tuple<std::string, int32_t, ErrorCode>> refused;
    for (const auto& t : request.topics)
      if (verdict.refuses(t.name))
        for (const auto& p : t.partitions) refused.emplace_back(t.name, p.partition_index, verdict.item_error);
    std::erase_if(request.topics, [&](const auto& t) { return verdict.refuses(t.name); });
    answer = [answer, refused](ErrorCode e, Parts parts) mutable {
      if (e == ErrorCode::NONE) parts.insert(parts.begin(), refused.begin(), refused.end());
      answer(e, std::move(parts));
    };
    if (request.topics.empty()) return answer(ErrorCode::NONE, {});
  }
  if (!groups_) return answer(ErrorCode::NOT_COORDINATOR, {});
  std::vector<std::pair<std::string, std::vector<int32_t>>> topics;
  for (const auto& t : request.topics) {
    std::vector<int32_t> ps;
    for (const auto& p : t.partitions) ps.push_back(p.partition_index);
    topics.emplace_back(t.name, std::move(ps));
  }
  groups_->coordinator().delete_offsets(request.group_id, std::move(topics), std::move(answer));
}

}  // namespace flotilla::broker
