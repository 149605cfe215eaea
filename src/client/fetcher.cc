#include "client/fetcher.h"

namespace flotilla::client {

FetchRound TopicFetcher::round(const TopicInfo& info, const std::vector<int32_t>& partitions, std::map<int32_t, int64_t>& positions,
                               int32_t max_wait_ms, const OnRecords& on_records) {
  FetchRound out;
  std::map<int32_t, std::vector<FetchTarget>> by_leader;
  for (int32_t p : partitions) {
    const PartitionInfo* pi = info.partition(p);
    int32_t leader = pi ? pi->leader : -1;
    if (leader < 0) continue;
    by_leader[leader].push_back(FetchTarget{topic_, info.id, p, positions[p], s_.partition_max_bytes});
  }
  if (by_leader.empty()) {
    out.no_leader = true;
    return out;
  }
  std::vector<PendingFetch> sent;
  for (auto& [leader, targets] : by_leader) {
    try {
      sent.push_back(client_.send_fetch(leader, targets, max_wait_ms, 1, s_.max_bytes));
    } catch (const NetworkError&) {
      if (s_.rethrow_network_errors) throw;
      out.refresh = true;
    }
  }
  for (const auto& pending : sent) {
    std::vector<FetchPartitionResult> results;
    try {
      results = client_.receive_fetch(pending);
    } catch (const NetworkError&) {
      if (s_.rethrow_network_errors) throw;
      client_.drop(*pending.conn);
      out.refresh = true;
      continue;
    }
    for (const auto& r : results) {
      if (r.topic != topic_ || !positions.count(r.partition)) continue;
      int64_t& position = positions[r.partition];
      if (r.error == code(ErrorCode::OFFSET_OUT_OF_RANGE)) {
        position = client_.list_offset(topic_, r.partition, s_.reset_timestamp).first;
        continue;
      }
      if (r.error != 0) {
        if (is_retriable(r.error)) {
          out.refresh = true;
          continue;
        }
        throw KafkaError(static_cast<ErrorCode>(r.error), error_text(r.error));
      }
      if (!on_records(r, position)) {
        out.stopped = true;
        return out;
      }
    }
  }
  return out;
}

}  // namespace flotilla::client
