// The classic group coordinator's Kafka APIs: FindCoordinator (v0-5),
// JoinGroup (v0-9), SyncGroup (v0-5), Heartbeat (v0-4), LeaveGroup (v0-5),
// OffsetCommit (v0-9), OffsetFetch (v0-9), ListGroups (v0-5), DescribeGroups
// (v0-5), DeleteGroups (v0-2), OffsetDelete (v0). Decoding and encoding per
// version; the state machine is broker/group_coordinator.
#include <spdlog/spdlog.h>

#include "broker/api_util.h"
#include "broker/group_coordinator.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"

namespace flotilla::broker {
namespace {

using namespace flotilla::msg;
using api::close_connection;
using api::decode;
using api::send;

std::string client_host(const net::Request& req) {
  std::string h = req.peer;
  auto c = h.rfind(':');
  if (c != std::string::npos) h = h.substr(0, c);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return "/" + h;
}

}  // namespace

// ---------------------------------------------------------------- FindCoordinator

void RequestHandler::handle_find_coordinator(std::shared_ptr<net::Request> req, net::Respond respond) {
  FindCoordinatorRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  std::vector<std::string> keys = v >= 4 ? request.coordinator_keys : std::vector<std::string>{request.key};
  auto image = replicas_.image();
  bool create = false;

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
    if (request.key_type == 1) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);  // no transaction coordinator yet
    if (request.key_type != 0) return fail(ErrorCode::INVALID_REQUEST);
    if (!groups_) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    const GroupCoordinator& gc = groups_->coordinator();
    const metadata::TopicImage* t = image->topic(kGroupMetadataTopic);
    if (!t) {
      create = true;
      return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    }
    auto pit = t->partitions.find(gc.partition_for(key));
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
  if (create && controller_ && groups_ && !groups_->topic_creation_in_flight) {
    const GroupCoordinatorConfig& gcfg = groups_->coordinator().config();
    CreateTopicsRequest ct;
    CreateTopicsRequest::CreatableTopic topic;
    topic.name = kGroupMetadataTopic;
    topic.num_partitions = gcfg.offsets_topic_num_partitions;
    topic.replication_factor = gcfg.offsets_topic_replication_factor;
    auto cfg = [&](const char* n, std::string val) {
      CreateTopicsRequest::CreatableTopicConfig c;
      c.name = n;
      c.value = std::move(val);
      topic.configs.push_back(c);
    };
    cfg("cleanup.policy", "compact");
    cfg("compression.type", "producer");
    cfg("segment.bytes", std::to_string(gcfg.offsets_topic_segment_bytes));
    ct.topics.push_back(topic);
    ct.timeout_ms = 30000;
    groups_->topic_creation_in_flight = true;
    spdlog::info("[KafkaApi] Creating the internal topic {} ({} partitions, replication factor {})", kGroupMetadataTopic,
                 topic.num_partitions, topic.replication_factor);
    GroupCoordinatorService* groups = groups_;
    controller_->create_topics(std::move(ct), 7, [groups](CreateTopicsResponse r) {
      groups->topic_creation_in_flight = false;
      for (const auto& t : r.topics)
        if (t.error_code != 0 && t.error_code != code(ErrorCode::TOPIC_ALREADY_EXISTS))
          spdlog::warn("[KafkaApi] Creation of the internal topic {} failed: {} {}", t.name, error_name(t.error_code),
                       t.error_message.value_or(""));
    });
  }
  send(*req, respond, resp);
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
  if (!groups_) {
    JoinResult r;
    r.error = ErrorCode::NOT_COORDINATOR;
    return answer(r);
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
  ErrorCode e = ErrorCode::NOT_COORDINATOR;
  if (groups_)
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
  ErrorCode top = groups_ ? groups_->coordinator().leave_group(request.group_id, members) : ErrorCode::NOT_COORDINATOR;
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
  std::vector<CommitPartition> parts;
  for (const auto& t : request.topics)
    for (const auto& p : t.partitions)
      parts.push_back(CommitPartition{t.name, p.partition_index, p.committed_offset, v >= 6 ? p.committed_leader_epoch : -1,
                                      p.committed_metadata, v == 1 ? p.commit_timestamp : -1});
  auto answer = [req, respond](ErrorCode, std::vector<CommitPartition> res) mutable {
    OffsetCommitResponse resp;
    for (const auto& p : res) {
      if (resp.topics.empty() || resp.topics.back().name != p.topic) {
        OffsetCommitResponse::OffsetCommitResponseTopic t;
        t.name = p.topic;
        resp.topics.push_back(t);
      }
      resp.topics.back().partitions.push_back(OffsetCommitResponse::OffsetCommitResponsePartition{p.partition, code(p.error)});
    }
    send(*req, respond, resp);
  };
  if (!groups_) {
    for (auto& p : parts) p.error = ErrorCode::NOT_COORDINATOR;
    return answer(ErrorCode::NONE, std::move(parts));
  }
  int32_t generation = v >= 1 ? request.generation_id_or_member_epoch : -1;
  int64_t retention = v >= 2 && v <= 4 ? request.retention_time_ms : -1;
  groups_->coordinator().commit_offsets(request.group_id, v >= 1 ? request.member_id : "", request.group_instance_id, generation, retention,
                                        std::move(parts), std::move(answer));
}

void RequestHandler::handle_offset_fetch(std::shared_ptr<net::Request> req, net::Respond respond) {
  OffsetFetchRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  using Topics = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;
  auto fetch = [&](const std::string& group, const Topics& topics, std::vector<FetchedOffset>& out) {
    if (!groups_) return ErrorCode::NOT_COORDINATOR;
    if (group.empty() && v >= 2) return ErrorCode::INVALID_GROUP_ID;
    return groups_->coordinator().fetch_offsets(group, topics, out);
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
      rg.error_code = code(fetch(g.group_id, topics, out));
      for (const auto& f : out) {
        if (rg.topics.empty() || rg.topics.back().name != f.topic) {
          OffsetFetchResponse::OffsetFetchResponseTopics t;
          t.name = f.topic;
          rg.topics.push_back(t);
        }
        rg.topics.back().partitions.push_back(
            OffsetFetchResponse::OffsetFetchResponsePartitions{f.partition, f.offset, f.leader_epoch, f.metadata, code(f.error)});
      }
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
  ErrorCode e = fetch(request.group_id, topics, out);
  if (e != ErrorCode::NONE && v < 2 && topics) {
    // v0-1 have no top-level error: every partition carries it.
    for (const auto& [t, ps] : *topics)
      for (int32_t p : ps) out.push_back(FetchedOffset{t, p, -1, -1, "", e});
  }
  for (const auto& f : out) {
    if (resp.topics.empty() || resp.topics.back().name != f.topic) {
      OffsetFetchResponse::OffsetFetchResponseTopic t;
      t.name = f.topic;
      resp.topics.push_back(t);
    }
    resp.topics.back().partitions.push_back(
        OffsetFetchResponse::OffsetFetchResponsePartition{f.partition, f.offset, f.leader_epoch, f.metadata, code(f.error)});
  }
  if (v >= 2) resp.error_code = code(e);
  send(*req, respond, resp);
}

// ---------------------------------------------------------------- admin

void RequestHandler::handle_list_groups(std::shared_ptr<net::Request> req, net::Respond respond) {
  ListGroupsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  ListGroupsResponse resp;
  bool classic = request.types_filter.empty();
  for (const auto& t : request.types_filter) {
    std::string l = t;
    for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == "classic") classic = true;
  }
  if (groups_ && classic) {
    std::vector<ListedGroup> out;
    resp.error_code = code(groups_->coordinator().list_groups(request.states_filter, out));
    for (const auto& g : out) resp.groups.push_back(ListGroupsResponse::ListedGroup{g.group_id, g.protocol_type, g.state, "classic"});
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_describe_groups(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeGroupsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  DescribeGroupsResponse resp;
  for (const auto& id : request.groups) {
    DescribedGroup d;
    d.group_id = id;
    if (!groups_) {
      d.error = ErrorCode::NOT_COORDINATOR;
    } else if (id.empty()) {
      d.error = ErrorCode::INVALID_GROUP_ID;
    } else {
      d = groups_->coordinator().describe_group(id);
    }
    DescribeGroupsResponse::DescribedGroup g;
    g.error_code = code(d.error);
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
    resp.groups.push_back(std::move(g));
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_delete_groups(std::shared_ptr<net::Request> req, net::Respond respond) {
  DeleteGroupsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto answer = [req, respond](std::vector<std::pair<std::string, ErrorCode>> results) mutable {
    DeleteGroupsResponse resp;
    for (const auto& [id, e] : results) resp.results.push_back(DeleteGroupsResponse::DeletableGroupResult{id, code(e)});
    send(*req, respond, resp);
  };
  if (!groups_) {
    std::vector<std::pair<std::string, ErrorCode>> r;
    for (const auto& g : request.groups_names) r.emplace_back(g, ErrorCode::NOT_COORDINATOR);
    return answer(std::move(r));
  }
  groups_->coordinator().delete_groups(request.groups_names, std::move(answer));
}

void RequestHandler::handle_offset_delete(std::shared_ptr<net::Request> req, net::Respond respond) {
  OffsetDeleteRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto answer = [req, respond](ErrorCode e, std::vector<std::tuple<std::string, int32_t, ErrorCode>> parts) mutable {
    OffsetDeleteResponse resp;
    resp.error_code = code(e);
    for (const auto& [t, p, pe] : parts) {
      if (resp.topics.empty() || resp.topics.back().name != t) {
        OffsetDeleteResponse::OffsetDeleteResponseTopic rt;
        rt.name = t;
        resp.topics.push_back(rt);
      }
      resp.topics.back().partitions.push_back(OffsetDeleteResponse::OffsetDeleteResponsePartition{p, code(pe)});
    }
    send(*req, respond, resp);
  };
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
