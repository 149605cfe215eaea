// The Raft RPCs on the wire: conversion between the core's messages
// (raft/messages.h) and Kafka's generated request/response types — Vote,
// BeginQuorumEpoch, EndQuorumEpoch, Fetch (of __cluster_metadata-0, by topic
// id) and FetchSnapshot — at the versions Flotilla's nodes speak to each
// other, and DescribeQuorum answered from a leader's state.
//
// Pure functions, no I/O: decoding throws DecodeError on malformed bytes and
// returns a request addressed to another partition as nullopt, so the
// listener can answer with a Kafka error instead.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "protocol/messages.h"
#include "raft/messages.h"

namespace flotilla::raft {
class RaftCore;
}

namespace flotilla::raft::rpc {

// The versions this node sends (and the newest it answers).
inline constexpr int16_t kVoteVersion = 2;  // v2: PreVote (KIP-996)
inline constexpr int16_t kBeginQuorumEpochVersion = 1;
inline constexpr int16_t kEndQuorumEpochVersion = 1;
inline constexpr int16_t kFetchVersion = 17;
inline constexpr int16_t kFetchSnapshotVersion = 1;

// A node's address as carried in NodeEndpoints (Fetch v16+).
struct NodeAddress {
  int32_t id = -1;
  std::string host;
  int port = 0;
};

struct WireRequest {
  int16_t api_key = 0;
  int16_t api_version = 0;
  std::vector<uint8_t> body;
};

// Outbound: a request of this core, from `local_id`.
WireRequest encode_request(const RaftRequest& request, int32_t local_id);
// The response to a request of ours (api key and version as sent).
// `endpoints` (optional): the NodeEndpoints the response carried.
RaftResponse decode_response(int16_t api_key, int16_t api_version, ByteReader& body, std::vector<NodeAddress>* endpoints = nullptr);

// Inbound: a request for __cluster_metadata-0 and the node it comes from.
struct InboundRequest {
  int32_t source = -1;
  RaftRequest request;
};
// nullopt: the request is well formed but not for __cluster_metadata-0.
std::optional<InboundRequest> decode_request(int16_t api_key, int16_t api_version, ByteReader& body);
// `endpoints`: NodeEndpoints to include (the leader's, so an observer that
// only knew a bootstrap server can reach it).
void encode_response(const RaftResponse& response, int16_t api_key, int16_t api_version, ByteWriter& out,
                     const std::vector<NodeAddress>& endpoints = {});
// The answer to a request that could not reach the core (wrong partition,
// shutting down): the error at partition level, as Kafka does.
void encode_error_response(int16_t api_key, int16_t api_version, ErrorCode error, ByteWriter& out);

// True if a Fetch request body names the metadata topic (by id, v13+, or by name).
bool is_metadata_fetch(const msg::FetchRequest& request);

// DescribeQuorum from the core's view: a leader answers with its voters'
// and observers' progress; any other node with NOT_LEADER_OR_FOLLOWER.
msg::DescribeQuorumResponse describe_quorum(const RaftCore& core, int64_t now_ms);

}  // namespace flotilla::raft::rpc
