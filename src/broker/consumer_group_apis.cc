// The new consumer group protocol's Kafka APIs (KIP-848): ConsumerGroupHeartbeat
// (v0-1) and ConsumerGroupDescribe (v0). Decoding and encoding; the state
// machine is coordinator/consumer_group, owned by the GroupCoordinatorService
// next to the classic coordinator (whose check_coordinator says whether this
// node coordinates a group).
#include <spdlog/spdlog.h>

#include "broker/api_util.h"
#include "broker/request_handler.h"
#include "coordinator/consumer_group.h"
#include "coordinator/group_service.h"
#include "protocol/messages.h"

namespace flotilla::broker {
namespace {

using namespace api::prelude;
using namespace flotilla::coordinator;

// The topics of the current image, rebuilt when the image changes.
std::shared_ptr<const CgTopics> consumer_group_topics(const std::shared_ptr<const metadata::MetadataImage>& image) {
  static std::weak_ptr<const metadata::MetadataImage> cached_image;
  static std::shared_ptr<const CgTopics> cached;
  if (cached && cached_image.lock() == image) return cached;
  auto t = std::make_shared<CgTopics>();
  static int64_t version = 0;
  t->version = ++version;
  if (image)
    for (const auto& [name, topic] : image->topics_by_name()) t->add(topic.id, name, static_cast<int32_t>(topic.partitions.size()));
  cached_image = image;
  cached = t;
  return cached;
}

// An assignment as a response lists it: per topic id, its partitions. With
// `topics` (ConsumerGroupDescribe) each entry also names its topic, and a
// topic deleted meanwhile is left out.
template <class TopicPartitions>
std::vector<TopicPartitions> assignment_entries(const CgAssignment& a, const CgTopics* topics = nullptr) {
  std::vector<TopicPartitions> out;
  for (const auto& [tid, ps] : a) {
    TopicPartitions tp;
    tp.topic_id = tid;
    if constexpr (requires { tp.topic_name; }) {
      auto nit = topics->names.find(tid);
      if (nit == topics->names.end()) continue;  // deleted meanwhile
      tp.topic_name = nit->second;
    }
    tp.partitions.assign(ps.begin(), ps.end());
    out.push_back(std::move(tp));
  }
  return out;
}

}  // namespace

// Whether a classic group with members holds the id (then it is not a consumer group).
static bool classic_group_in_use(GroupCoordinator& gc, const std::string& group_id) {
  auto st = gc.state_of(group_id);
  return st && *st != GroupState::Empty && *st != GroupState::Dead;
}

void RequestHandler::handle_consumer_group_heartbeat(std::shared_ptr<net::Request> req, net::Respond respond) {
  ConsumerGroupHeartbeatRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  ConsumerGroupHeartbeatResponse resp;
  auto fail = [&](ErrorCode e, std::optional<std::string> message = std::nullopt) {
    resp.error_code = code(e);
    resp.error_message = std::move(message);
    send(*req, respond, resp);
  };
  if (ErrorCode e = authorize_group_member(authz(*req), request.group_id); e != ErrorCode::NONE) return fail(e);
  if (!groups_) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  if (request.group_id.empty()) return fail(ErrorCode::INVALID_REQUEST, "GroupId can't be empty.");
  GroupCoordinator& classic = groups_->coordinator();
  if (ErrorCode e = classic.check_coordinator(request.group_id); e != ErrorCode::NONE) return fail(e);
  if (classic_group_in_use(classic, request.group_id))
    return fail(ErrorCode::GROUP_ID_NOT_FOUND, "Group " + request.group_id + " is not a consumer group.");

  CgHeartbeat hb;
  hb.version = req->api_version;
  hb.group_id = request.group_id;
  hb.member_id = request.member_id;
  hb.member_epoch = request.member_epoch;
  hb.instance_id = request.instance_id;
  hb.rack_id = request.rack_id;
  hb.rebalance_timeout_ms = request.rebalance_timeout_ms;
  hb.subscribed_topic_names = request.subscribed_topic_names;
  hb.subscribed_topic_regex = request.subscribed_topic_regex;
  hb.server_assignor = request.server_assignor;
  if (request.topic_partitions) {
    hb.owned.emplace();
    for (const auto& tp : *request.topic_partitions)
      for (int32_t p : tp.partitions) (*hb.owned)[tp.topic_id].insert(p);
  }
  hb.client_id = req->client_id.value_or("");
  hb.client_host = client_host(*req);
  auto topics = consumer_group_topics(replicas_.image());
  CgHeartbeatResult r = groups_->consumer_groups().heartbeat(hb, *topics);
  resp.error_code = code(r.error);
  resp.error_message = r.error_message;
  if (r.error == ErrorCode::NONE) {
    resp.member_id = r.member_id;
    resp.member_epoch = r.member_epoch;
    resp.heartbeat_interval_ms = r.heartbeat_interval_ms;
    if (r.assignment) {
      ConsumerGroupHeartbeatResponse::Assignment a;
      a.topic_partitions = assignment_entries<ConsumerGroupHeartbeatResponse::TopicPartitions>(*r.assignment);
      resp.assignment = std::move(a);
    }
  }
  if (r.records.empty()) return send(*req, respond, resp);
  // As Kafka: answer once the group's records are committed. (The state
  // machine has applied the change already; it is not reverted on failure.)
  classic.append_consumer_group_records(r.partition, std::move(r.records), [req, respond, resp = std::move(resp)](ErrorCode e) mutable {
    if (e != ErrorCode::NONE) {
      ConsumerGroupHeartbeatResponse err;
      err.error_code = code(e);
      return send(*req, respond, err);
    }
    send(*req, respond, resp);
  });
}

void RequestHandler::handle_consumer_group_describe(std::shared_ptr<net::Request> req, net::Respond respond) {
  ConsumerGroupDescribeRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  ConsumerGroupDescribeResponse resp;
  auto topics = consumer_group_topics(replicas_.image());
  auto assignment = [&](const CgAssignment& a) {
    ConsumerGroupDescribeResponse::Assignment out;
    out.topic_partitions = assignment_entries<ConsumerGroupDescribeResponse::TopicPartitions>(a, topics.get());
    return out;
  };
  const Authz auth = authz(*req);
  for (const auto& id : request.group_ids) {
    ConsumerGroupDescribeResponse::DescribedGroup g;
    g.group_id = id;
    ErrorCode e = authorize_describe_group(auth, id);
    if (e == ErrorCode::NONE) {
      if (!groups_) e = ErrorCode::COORDINATOR_NOT_AVAILABLE;
      else if (id.empty()) e = ErrorCode::INVALID_GROUP_ID;
      else e = groups_->coordinator().check_coordinator(id);
    }
    if (e != ErrorCode::NONE) {
      g.error_code = code(e);
      resp.groups.push_back(std::move(g));
      continue;
    }
    CgDescribedGroup d = groups_->consumer_groups().describe(id, *topics);
    if (d.error == ErrorCode::GROUP_ID_NOT_FOUND && classic_group_in_use(groups_->coordinator(), id))
      d.error_message = "Group " + id + " is not a consumer group.";
    g.error_code = code(d.error);
    g.error_message = d.error_message;
    if (d.error == ErrorCode::NONE) {
      g.group_state = d.state;
      g.group_epoch = d.group_epoch;
      g.assignment_epoch = d.assignment_epoch;
      g.assignor_name = d.assignor_name;
      for (const auto& m : d.members) {
        ConsumerGroupDescribeResponse::Member dm;
        dm.member_id = m.member_id;
        dm.instance_id = m.instance_id;
        dm.rack_id = m.rack_id;
        dm.member_epoch = m.member_epoch;
        dm.client_id = m.client_id;
        dm.client_host = m.client_host;
        dm.subscribed_topic_names = m.subscribed_topic_names;
        dm.subscribed_topic_regex = m.subscribed_topic_regex;
        dm.assignment = assignment(m.assignment);
        dm.target_assignment = assignment(m.target_assignment);
        dm.member_type = 1;  // v1 (KIP-1099): 1 = consumer protocol; members never join with the classic protocol here
        g.members.push_back(std::move(dm));
      }
      if (request.include_authorized_operations) g.authorized_operations = auth.operations(ResourceType::GROUP, id);
    }
    resp.groups.push_back(std::move(g));
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
