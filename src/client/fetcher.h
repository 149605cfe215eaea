// Fetching the partitions of one topic from their leaders, as a consumer's
// poll does: one Fetch per leader, all sent before any answer is read, the
// answers read in the order sent.
//
// Invariants: a partition's position only moves forward through the caller's
// on_records (which sees the records at or after it), except that
// OFFSET_OUT_OF_RANGE resets it to the offset at the reset timestamp
// (auto.offset.reset); partitions without a leader are left out of a round
// and a retriable error only asks for a metadata refresh, so a round never
// blocks longer than one fetch wait per leader.
// Threading: one thread, as KafkaClient.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/kafka_client.h"

namespace flotilla::client {

struct FetchSettings {
  int32_t partition_max_bytes = 1048576;  // max.partition.fetch.bytes
  int32_t max_bytes = 52428800;           // fetch.max.bytes
  int64_t reset_timestamp = -1;           // -2 earliest, -1 latest (after OFFSET_OUT_OF_RANGE)
  // A network failure ends the round with the NetworkError (else the
  // connection is dropped, the round goes on and asks for a refresh).
  bool rethrow_network_errors = false;
};

struct FetchRound {
  bool no_leader = false;  // no partition had a leader: nothing was sent
  bool refresh = false;    // a retriable error or a network failure: refresh the metadata
  bool stopped = false;    // on_records asked to stop (answers not read yet stay unread)
};

class TopicFetcher {
 public:
  // The records of one partition's answer; `position` is its fetch position,
  // to be advanced past what was consumed. Returns false to stop the round.
  using OnRecords = std::function<bool(const FetchPartitionResult& result, int64_t& position)>;

  TopicFetcher(KafkaClient& client, std::string topic, FetchSettings s) : client_(client), topic_(std::move(topic)), s_(s) {}

  // One round over `partitions` (those with a position in `positions` are
  // answered; the leaders are info's). Per partition: OFFSET_OUT_OF_RANGE
  // resets the position, a retriable error sets refresh, any other error
  // throws KafkaError, records go to on_records.
  FetchRound round(const TopicInfo& info, const std::vector<int32_t>& partitions, std::map<int32_t, int64_t>& positions,
                   int32_t max_wait_ms, const OnRecords& on_records);

 private:
  KafkaClient& client_;
  std::string topic_;
  FetchSettings s_;
};

}  // namespace flotilla::client
