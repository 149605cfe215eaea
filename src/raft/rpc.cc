#include "raft/rpc.h"

#include <variant>

#include "common/overloaded.h"
#include "protocol/api.h"
#include "raft/core.h"

namespace flotilla::raft::rpc {

namespace {


const Uuid kMetadataTopicId{kMetadataTopicIdHi, kMetadataTopicIdLo};

ErrorCode to_error(int16_t code) { return static_cast<ErrorCode>(code); }
int16_t to_code(ErrorCode e) { return static_cast<int16_t>(e); }

std::optional<std::string> cluster_id_field(const std::string& id) {
  if (id.empty()) return std::nullopt;
  return id;
}

template <class M>
std::vector<uint8_t> encode_body(const M& m, int16_t version) {
  ByteWriter w;
  m.encode(w, version);
  return std::move(w).take();
}

// The single partition of a request or response, or nullptr if the message
// is not about __cluster_metadata-0.
template <class Topics>
auto* metadata_partition(Topics& topics) {
  using P = decltype(&topics.front().partitions.front());
  if (topics.size() != 1 || topics.front().partitions.size() != 1) return P{nullptr};
  return &topics.front().partitions.front();
}

// Every response starts with the same header (ResponseHeader): the top-level
// error, then the partition's error and leader, which Vote, BeginQuorumEpoch
// and EndQuorumEpoch carry as leader_id/leader_epoch and Fetch and
// FetchSnapshot as current_leader. Decoding: without the partition (nullptr),
// the answer is UNKNOWN_TOPIC_OR_PARTITION unless the top level says more;
// returns whether the partition is there.
template <class Partition>
bool decode_header(ResponseHeader& r, int16_t error_code, const Partition* p) {
  r.error = to_error(error_code);
  if (!p) {
    if (r.error == ErrorCode::NONE) r.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    return false;
  }
  r.partition_error = to_error(p->error_code);
  if constexpr (requires { p->current_leader; }) {
    r.leader_id = p->current_leader.leader_id;
    r.leader_epoch = p->current_leader.leader_epoch;
  } else {
    r.leader_id = p->leader_id;
    r.leader_epoch = p->leader_epoch;
  }
  return true;
}

template <class Wire, class Partition>
void encode_header(const ResponseHeader& r, Wire& m, Partition& p) {
  m.error_code = to_code(r.error);
  p.error_code = to_code(r.partition_error);
  if constexpr (requires { p.current_leader; }) {
    p.current_leader.leader_id = r.leader_id;
    p.current_leader.leader_epoch = r.leader_epoch;
  } else {
    p.leader_id = r.leader_id;
    p.leader_epoch = r.leader_epoch;
  }
}

// Vote, BeginQuorumEpoch and EndQuorumEpoch responses are the header and
// little more. Returns the core's response and the wire partition (nullopt if
// it is missing).
template <class Wire, class Core>
std::pair<Core, std::optional<typename Wire::PartitionData>> decode_election_response(ByteReader& body, int16_t v) {
  Wire m;
  m.decode(body, v);
  Core r;
  auto* p = metadata_partition(m.topics);
  if (!decode_header(r, m.error_code, p)) return {r, std::nullopt};
  return {r, *p};
}

// The other direction: one partition of __cluster_metadata with the header
// (and whatever `extra` fills in).
template <class Wire, class Core, class Extra = void (*)(typename Wire::PartitionData&)>
void encode_election_response(const Core& r, int16_t v, ByteWriter& out, Extra extra = [](typename Wire::PartitionData&) {}) {
  Wire m;
  typename Wire::PartitionData p;
  encode_header(r, m, p);
  extra(p);
  m.topics.push_back({kMetadataTopicName, {p}});
  m.encode(out, v);
}

// An election request (Vote, BeginQuorumEpoch, EndQuorumEpoch) about the
// partition __cluster_metadata-0: `fill` sets the partition's own fields.
template <class Wire, class Fill>
WireRequest election_request(const std::string& cluster_id, int16_t version, Fill fill) {
  Wire m;
  m.cluster_id = cluster_id_field(cluster_id);
  typename Wire::PartitionData p;
  p.partition_index = 0;
  fill(m, p);
  m.topics.push_back({kMetadataTopicName, {p}});
  return {Wire::kApiKey, version, encode_body(m, version)};
}

// Decodes an election request; its partition, or nullptr if it is not about
// __cluster_metadata-0 (then the request is not Raft's).
template <class Wire>
const typename Wire::PartitionData* decode_election_request(Wire& m, ByteReader& body, int16_t v) {
  m.decode(body, v);
  auto* p = metadata_partition(m.topics);
  if (!p || m.topics.front().topic_name != kMetadataTopicName || p->partition_index != 0) return nullptr;
  return p;
}

// BeginQuorumEpoch and EndQuorumEpoch: the leader and the epoch it begins or ends.
template <class Wire>
void read_quorum_epoch(const Wire& m, const typename Wire::PartitionData& p, QuorumEpochRequest& r) {
  r.cluster_id = m.cluster_id.value_or("");
  r.leader_id = p.leader_id;
  r.leader_epoch = p.leader_epoch;
}

// An answer carrying only `error` (in the partition: the request was Raft's
// but could not be handled), as the core would have sent it.
template <class Core>
void encode_partition_error(int16_t api_key, int16_t v, ErrorCode error, ByteWriter& out) {
  Core r;
  r.partition_error = error;
  encode_response(r, api_key, v, out);
}

}  // namespace

bool is_metadata_fetch(const msg::FetchRequest& r) {
  if (r.topics.size() != 1) return false;
  const auto& t = r.topics.front();
  return t.topic_id == kMetadataTopicId || t.topic == kMetadataTopicName;
}

// ---------------------------------------------------------------- outbound

WireRequest encode_request(const RaftRequest& request, int32_t local_id) {
  WireRequest out;
  std::visit(Overloaded{
                 [&](const VoteRequest& r) {
                   out = election_request<msg::VoteRequest>(r.cluster_id, kVoteVersion, [&](auto& m, auto& p) {
                     m.voter_id = -1;
                     p.candidate_epoch = r.candidate_epoch;
                     p.candidate_id = r.candidate_id;
                     p.last_offset_epoch = r.last_offset_epoch;
                     p.last_offset = r.last_offset;
                     p.pre_vote = r.pre_vote;
                   });
                 },
                 [&](const BeginQuorumEpochRequest& r) {
                   out = election_request<msg::BeginQuorumEpochRequest>(r.cluster_id, kBeginQuorumEpochVersion, [&](auto&, auto& p) {
                     p.leader_id = r.leader_id;
                     p.leader_epoch = r.leader_epoch;
                   });
                 },
                 [&](const EndQuorumEpochRequest& r) {
                   out = election_request<msg::EndQuorumEpochRequest>(r.cluster_id, kEndQuorumEpochVersion, [&](auto&, auto& p) {
                     p.leader_id = r.leader_id;
                     p.leader_epoch = r.leader_epoch;
                     p.preferred_successors = r.preferred_successors;  // v0
                     for (int32_t id : r.preferred_successors) {
                       msg::EndQuorumEpochRequest::ReplicaInfo ri;
                       ri.candidate_id = id;
                       p.preferred_candidates.push_back(ri);  // v1+
                     }
                   });
                 },
                 [&](const FetchRequest& r) {
                   msg::FetchRequest m;
                   m.cluster_id = cluster_id_field(r.cluster_id);
                   m.replica_id = r.replica_id;  // v < 15
                   m.replica_state.replica_id = r.replica_id;
                   m.max_wait_ms = r.max_wait_ms;
                   m.min_bytes = 0;
                   m.max_bytes = r.max_bytes;
                   msg::FetchRequest::FetchPartition p;
                   p.partition = 0;
                   p.current_leader_epoch = r.current_leader_epoch;
                   p.fetch_offset = r.fetch_offset;
                   p.last_fetched_epoch = r.last_fetched_epoch;
                   p.log_start_offset = r.log_start_offset;
                   p.partition_max_bytes = r.max_bytes;
                   msg::FetchRequest::FetchTopic t;
                   t.topic = kMetadataTopicName;
                   t.topic_id = kMetadataTopicId;
                   t.partitions.push_back(p);
                   m.topics.push_back(std::move(t));
                   out = {msg::FetchRequest::kApiKey, kFetchVersion, encode_body(m, kFetchVersion)};
                 },
                 [&](const FetchSnapshotRequest& r) {
                   msg::FetchSnapshotRequest m;
                   m.cluster_id = cluster_id_field(r.cluster_id);
                   m.replica_id = r.replica_id;
                   m.max_bytes = r.max_bytes > 0 ? r.max_bytes : INT32_MAX;
                   msg::FetchSnapshotRequest::PartitionSnapshot p;
                   p.partition = 0;
                   p.current_leader_epoch = r.current_leader_epoch;
                   p.snapshot_id.end_offset = r.snapshot_id.offset;
                   p.snapshot_id.epoch = r.snapshot_id.epoch;
                   p.position = r.position;
                   m.topics.push_back({kMetadataTopicName, {p}});
                   out = {msg::FetchSnapshotRequest::kApiKey, kFetchSnapshotVersion, encode_body(m, kFetchSnapshotVersion)};
                 },
             },
             request);
  (void)local_id;
  return out;
}

RaftResponse decode_response(int16_t api_key, int16_t v, ByteReader& body, std::vector<NodeAddress>* endpoints) {
  switch (api_key) {
    case msg::VoteResponse::kApiKey: {
      auto [r, p] = decode_election_response<msg::VoteResponse, VoteResponse>(body, v);
      if (p) r.vote_granted = p->vote_granted;
      return r;
    }
    case msg::BeginQuorumEpochResponse::kApiKey:
      return decode_election_response<msg::BeginQuorumEpochResponse, BeginQuorumEpochResponse>(body, v).first;
    case msg::EndQuorumEpochResponse::kApiKey:
      return decode_election_response<msg::EndQuorumEpochResponse, EndQuorumEpochResponse>(body, v).first;
    case msg::FetchResponse::kApiKey: {
      msg::FetchResponse m;
      m.decode(body, v);
      if (endpoints)
        for (const auto& e : m.node_endpoints) endpoints->push_back(NodeAddress{e.node_id, e.host, e.port});
      FetchResponse r;
      auto* p = m.responses.size() == 1 && m.responses.front().partitions.size() == 1 ? &m.responses.front().partitions.front()
                                                                                      : nullptr;
      if (!decode_header(r, m.error_code, p)) return r;
      r.high_watermark = p->high_watermark;
      r.log_start_offset = p->log_start_offset;
      if (p->diverging_epoch.epoch >= 0 && p->diverging_epoch.end_offset >= 0)
        r.diverging_epoch = OffsetAndEpoch{p->diverging_epoch.end_offset, p->diverging_epoch.epoch};
      if (p->snapshot_id.epoch >= 0 && p->snapshot_id.end_offset >= 0)
        r.snapshot_id = OffsetAndEpoch{p->snapshot_id.end_offset, p->snapshot_id.epoch};
      if (!p->records.is_null && !p->records.view.empty())
        r.records = std::make_shared<const std::vector<uint8_t>>(p->records.view.begin(), p->records.view.end());
      return r;
    }
    case msg::FetchSnapshotResponse::kApiKey: {
      msg::FetchSnapshotResponse m;
      m.decode(body, v);
      FetchSnapshotResponse r;
      auto* p = metadata_partition(m.topics);
      if (!decode_header(r, m.error_code, p)) return r;
      r.snapshot_id = OffsetAndEpoch{p->snapshot_id.end_offset, p->snapshot_id.epoch};
      r.size = p->size;
      r.position = p->position;
      r.bytes = std::make_shared<const std::vector<uint8_t>>(p->unaligned_records.view.begin(), p->unaligned_records.view.end());
      return r;
    }
    default:
      throw DecodeError("not a Raft response: api key " + std::to_string(api_key));
  }
}

// ---------------------------------------------------------------- inbound

std::optional<InboundRequest> decode_request(int16_t api_key, int16_t v, ByteReader& body) {
  switch (api_key) {
    case msg::VoteRequest::kApiKey: {
      msg::VoteRequest m;
      auto* p = decode_election_request(m, body, v);
      if (!p) return std::nullopt;
      VoteRequest r;
      r.cluster_id = m.cluster_id.value_or("");
      r.candidate_epoch = p->candidate_epoch;
      r.candidate_id = p->candidate_id;
      r.last_offset_epoch = p->last_offset_epoch;
      r.last_offset = p->last_offset;
      r.pre_vote = v >= 2 && p->pre_vote;
      return InboundRequest{r.candidate_id, r};
    }
    case msg::BeginQuorumEpochRequest::kApiKey: {
      msg::BeginQuorumEpochRequest m;
      auto* p = decode_election_request(m, body, v);
      if (!p) return std::nullopt;
      BeginQuorumEpochRequest r;
      read_quorum_epoch(m, *p, r);
      return InboundRequest{r.leader_id, r};
    }
    case msg::EndQuorumEpochRequest::kApiKey: {
      msg::EndQuorumEpochRequest m;
      auto* p = decode_election_request(m, body, v);
      if (!p) return std::nullopt;
      EndQuorumEpochRequest r;
      read_quorum_epoch(m, *p, r);
      if (v >= 1) {
        for (const auto& c : p->preferred_candidates) r.preferred_successors.push_back(c.candidate_id);
      } else {
        r.preferred_successors = p->preferred_successors;
      }
      return InboundRequest{r.leader_id, r};
    }
    case msg::FetchRequest::kApiKey: {
      msg::FetchRequest m;
      m.decode(body, v);
      if (!is_metadata_fetch(m) || m.topics.front().partitions.size() != 1 || m.topics.front().partitions.front().partition != 0)
        return std::nullopt;
      const auto& p = m.topics.front().partitions.front();
      FetchRequest r;
      r.cluster_id = m.cluster_id.value_or("");
      r.replica_id = v >= 15 ? m.replica_state.replica_id : m.replica_id;
      r.current_leader_epoch = p.current_leader_epoch;
      r.fetch_offset = p.fetch_offset;
      r.last_fetched_epoch = p.last_fetched_epoch;
      r.log_start_offset = p.log_start_offset;
      r.max_wait_ms = m.max_wait_ms;
      r.max_bytes = std::min(m.max_bytes, p.partition_max_bytes);
      return InboundRequest{r.replica_id, r};
    }
    case msg::FetchSnapshotRequest::kApiKey: {
      msg::FetchSnapshotRequest m;
      m.decode(body, v);
      auto* p = metadata_partition(m.topics);
      if (!p || m.topics.front().name != kMetadataTopicName || p->partition != 0) return std::nullopt;
      FetchSnapshotRequest r;
      r.cluster_id = m.cluster_id.value_or("");
      r.replica_id = m.replica_id;
      r.current_leader_epoch = p->current_leader_epoch;
      r.snapshot_id = OffsetAndEpoch{p->snapshot_id.end_offset, p->snapshot_id.epoch};
      r.position = p->position;
      r.max_bytes = m.max_bytes;
      return InboundRequest{r.replica_id, r};
    }
    default:
      return std::nullopt;
  }
}

void encode_response(const RaftResponse& response, int16_t api_key, int16_t v, ByteWriter& out,
                     const std::vector<NodeAddress>& endpoints) {
  std::visit(Overloaded{
                 [&](const VoteResponse& r) {
                   encode_election_response<msg::VoteResponse>(r, v, out, [&](auto& p) { p.vote_granted = r.vote_granted; });
                 },
                 [&](const BeginQuorumEpochResponse& r) { encode_election_response<msg::BeginQuorumEpochResponse>(r, v, out); },
                 [&](const EndQuorumEpochResponse& r) { encode_election_response<msg::EndQuorumEpochResponse>(r, v, out); },
                 [&](const FetchResponse& r) {
                   msg::FetchResponse m;
                   msg::FetchResponse::PartitionData p;
                   encode_header(r, m, p);
                   p.high_watermark = r.high_watermark;
                   p.log_start_offset = r.log_start_offset;
                   if (r.diverging_epoch) {
                     p.diverging_epoch.epoch = r.diverging_epoch->epoch;
                     p.diverging_epoch.end_offset = r.diverging_epoch->offset;
                   }
                   if (r.snapshot_id) {
                     p.snapshot_id.epoch = r.snapshot_id->epoch;
                     p.snapshot_id.end_offset = r.snapshot_id->offset;
                   }
                   if (r.records && !r.records->empty()) {
                     p.records = Records::of_view(std::span<const uint8_t>(r.records->data(), r.records->size()));
                   } else {
                     p.records = Records::of_view({});
                   }
                   msg::FetchResponse::FetchableTopicResponse t;
                   t.topic = kMetadataTopicName;
                   t.topic_id = kMetadataTopicId;
                   t.partitions.push_back(std::move(p));
                   m.responses.push_back(std::move(t));
                   for (const auto& e : endpoints) {
                     msg::FetchResponse::NodeEndpoint ne;
                     ne.node_id = e.id;
                     ne.host = e.host;
                     ne.port = e.port;
                     m.node_endpoints.push_back(ne);
                   }
                   m.encode(out, v);
                 },
                 [&](const FetchSnapshotResponse& r) {
                   msg::FetchSnapshotResponse m;
                   msg::FetchSnapshotResponse::PartitionSnapshot p;
                   encode_header(r, m, p);
                   p.snapshot_id.end_offset = r.snapshot_id.offset;
                   p.snapshot_id.epoch = r.snapshot_id.epoch;
                   p.size = r.size;
                   p.position = r.position;
                   p.unaligned_records = r.bytes ? Records::of_view(std::span<const uint8_t>(r.bytes->data(), r.bytes->size()))
                                                 : Records::of_view({});
                   m.topics.push_back({kMetadataTopicName, {p}});
                   m.encode(out, v);
                 },
             },
             response);
  (void)api_key;
}

void encode_error_response(int16_t api_key, int16_t v, ErrorCode error, ByteWriter& out) {
  switch (api_key) {
    case msg::VoteRequest::kApiKey:
      return encode_partition_error<VoteResponse>(api_key, v, error, out);
    case msg::BeginQuorumEpochRequest::kApiKey:
      return encode_partition_error<BeginQuorumEpochResponse>(api_key, v, error, out);
    case msg::EndQuorumEpochRequest::kApiKey:
      return encode_partition_error<EndQuorumEpochResponse>(api_key, v, error, out);
    case msg::FetchRequest::kApiKey:
      return encode_partition_error<FetchResponse>(api_key, v, error, out);
    case msg::FetchSnapshotRequest::kApiKey:
      return encode_partition_error<FetchSnapshotResponse>(api_key, v, error, out);
    default: {
      msg::DescribeQuorumResponse m;
      m.error_code = to_code(error);
      m.encode(out, v);
    }
  }
}

// ---------------------------------------------------------------- DescribeQuorum

msg::DescribeQuorumResponse describe_quorum(const RaftCore& core, int64_t now_ms) {
  msg::DescribeQuorumResponse m;
  msg::DescribeQuorumResponse::PartitionData p;
  p.partition_index = 0;
  const auto* leader = std::get_if<LeaderState>(&core.state());
  if (!leader) {
    p.error_code = to_code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
    p.error_message = std::string(error_message(ErrorCode::NOT_LEADER_OR_FOLLOWER));
    LeaderAndEpoch le = core.leader_and_epoch();
    p.leader_id = le.leader_id;
    p.leader_epoch = le.epoch;
  } else {
    p.leader_id = core.local_id();
    p.leader_epoch = core.epoch();
    p.high_watermark = core.high_watermark();
    auto row = [&](int32_t id, const ReplicaProgress& rp) {
      msg::DescribeQuorumResponse::ReplicaState s;
      s.replica_id = id;
      if (id == core.local_id()) {
        s.log_end_offset = core.log().end_offset();
        s.last_fetch_timestamp = now_ms;
        s.last_caught_up_timestamp = now_ms;
      } else {
        s.log_end_offset = rp.end_offset;
        s.last_fetch_timestamp = rp.last_fetch_ms;
        s.last_caught_up_timestamp = rp.last_caught_up_ms;
      }
      return s;
    };
    // The leader first, as Kafka lists it.
    if (auto it = leader->voters().find(core.local_id()); it != leader->voters().end())
      p.current_voters.push_back(row(it->first, it->second));
    for (const auto& [id, rp] : leader->voters())
      if (id != core.local_id()) p.current_voters.push_back(row(id, rp));
    for (const auto& [id, rp] : leader->observers()) p.observers.push_back(row(id, rp));
  }
  msg::DescribeQuorumResponse::TopicData t;
  t.topic_name = kMetadataTopicName;
  t.partitions.push_back(std::move(p));
  m.topics.push_back(std::move(t));
  return m;
}

}  // namespace flotilla::raft::rpc
