// The read side of the broker's API: Fetch (consumers, and followers
// replicating), ListOffsets, OffsetForLeaderEpoch.
//
// Invariants: a fetch sends file regions of whole batches (sendfile, no
// conversion, no copy); followers read up to the log end, consumers up to the
// high watermark, read_committed ones up to the last stable offset with the
// aborted transactions overlapping what they get; a follower's FetchOffset is
// recorded once, at arrival (the leader's high watermark and ISR decisions go
// by it); a fetch that found too little waits in the purgatory until
// min.bytes arrive or max.wait.ms passes, and any partition error answers at
// once. Followers serve consumers (KIP-392, Fetch v11+), never other replicas.
// Client quotas (broker/client_quotas.h) apply to consumers only: a fetch is
// capped at what one quota window allows, and a response that takes the
// consumer over consumer_byte_rate (or the request quota) goes out without
// data, with the throttle time, and mutes the connection. Followers are held
// by the leader side of the replication throttles instead: a throttled
// partition whose follower is out of the ISR gets no data while the
// leader.replication.throttled.rate is exceeded.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <algorithm>

#include "broker/api_util.h"
#include "broker/broker_metrics.h"
#include "broker/client_quotas.h"
#include "broker/request_handler.h"
#include "common/clock.h"
#include "net/net_metrics.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/log_files.h"

namespace flotilla::broker {
namespace {

using namespace api::prelude;

// BrokerTopicMetrics of an answered Fetch: each partition's request (and
// failure, by Kafka's rule), the bytes sent to a consumer per topic, or to a
// follower as replication bytes (all topics only, as Kafka). A topic's
// counters come from any of its partitions hosted here (one lookup per topic).
void count_fetch(ReplicaManager& replicas, const FetchResponse& resp, bool follower) {
  if constexpr (!metrics::kEnabled) return;
  BrokerMetrics& bm = BrokerMetrics::get();
  int64_t replication = 0;
  for (const auto& t : resp.responses) {
    const TopicMetrics* m = nullptr;
    for (const auto& pd : t.partitions) {
      if (!m) {
        Partition* p = t.topic.empty() ? replicas.find(t.topic_id, pd.partition_index) : replicas.find(t.topic, pd.partition_index);
        if (p) m = p->metrics.get();
      }
      if (!m) continue;  // not hosted here: no series for names nobody created
      m->fetch_request();
      if (counts_as_failed_fetch(ec(pd.error_code))) m->fetch_failed();
      const int64_t n = pd.records.size();
      if (n <= 0) continue;
      if (follower) replication += n;
      else m->bytes_out(static_cast<uint64_t>(n));
    }
  }
  if (replication > 0) bm.replication_bytes_out().inc(static_cast<uint64_t>(replication));
}

// The first record with timestamp >= ts, as Kafka answers ListOffsets: the
// log finds the batch (by its time index), then that batch's records decide.
std::optional<std::pair<int64_t, int64_t>> offset_for_timestamp(storage::Log& log, int64_t ts, int64_t hw) {
  auto found = log.offset_for_timestamp(ts);
  while (found && found->first < hw) {
    storage::ReadResult rr = log.read(found->first, 1, hw, true);
    ByteWriter w;
    w.put_records_payload(rr.records);
    std::vector<uint8_t> bytes = w.flatten();
    int64_t next = -1;
    bool any = false;
    records::for_each_batch(bytes, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
      if (any) return;
      any = true;
      next = h.last_offset() + 1;
      if (h.max_timestamp < ts) return;
      for (const auto& r : records::decode_records(batch)) {
        if (r.offset >= found->first && r.timestamp >= ts) {
          found = std::make_pair(r.offset, r.timestamp);
          next = -2;
          return;
        }
      }
    });
    if (next == -2) return found;
    if (!any || next < 0 || next >= hw) return std::nullopt;
    found = std::make_pair(next, int64_t{-1});  // the batch held nothing late enough: look further
  }
  return std::nullopt;
}

}  // namespace

void RequestHandler::handle_fetch(std::shared_ptr<net::Request> req, net::Respond respond) {
  auto request = std::make_shared<FetchRequest>();
  if (!decode(*req, *request)) return close_connection(respond);
  const int16_t v = req->api_version;
  const int32_t replica_id = v >= 15 ? request->replica_state.replica_id : request->replica_id;
  if (metrics::kEnabled && req->handler_start_us == 0) req->handler_start_us = monotonic_us();  // FetchConsumer/FetchFollower time (client quotas set it already)
  // Authorization, once at arrival (the purgatory re-evaluates the reads only).
  std::shared_ptr<const Verdict> verdict;
  {
    std::vector<std::string> names;
    if (authorizer_)
      for (const auto& ft : request->topics) {
        if (v < 13) names.push_back(ft.topic);
        else if (const metadata::TopicImage* t = replicas_.image()->topic(ft.topic_id)) names.push_back(t->name);
      }
    verdict = std::make_shared<const Verdict>(authorize_fetch(authz(*req), replica_id >= 0, names));
  }
  // Only an authorized follower (CLUSTER_ACTION) is exempt: a client that
  // claims a replica id without it is refused and still counted.
  const bool follower = replica_id >= 0 && verdict->ok();
  if (follower && quotas_) ClientQuotas::exempt(*req);  // replication is never throttled by client quotas
  // A consumer fetches at most what one quota window allows (Kafka's getMaxValueInQuotaWindow).
  const int64_t quota_max_bytes = !follower && quotas_ ? quotas_->max_fetch_bytes(*req) : INT32_MAX;

  // One evaluation of the fetch against the logs' current state. Returns the
  // bytes found and fills `out`; `has_error` reports a partition-level error
  // (which answers at once, as Kafka does).
  auto evaluate = [this, request, v, replica_id, verdict, quota_max_bytes](FetchResponse& out, bool& has_error) -> int64_t {
    out = FetchResponse();
    out.session_id = 0;
    has_error = false;
    int64_t total = 0;
    int64_t budget = v >= 3 ? std::min<int64_t>(request->max_bytes, config_.fetch_max_bytes) : INT32_MAX;
    budget = std::min(budget, quota_max_bytes);
    for (const auto& ft : request->topics) {
      FetchResponse::FetchableTopicResponse tr;
      tr.topic = ft.topic;
      tr.topic_id = ft.topic_id;
      std::string name = ft.topic;
      bool unknown_id = false;
      if (v >= 13) {
        const metadata::TopicImage* t = replicas_.image()->topic(ft.topic_id);
        if (t) name = t->name;
        else unknown_id = true;
      }
      for (const auto& fp : ft.partitions) {
        FetchResponse::PartitionData pd;
        pd.partition_index = fp.partition;
        pd.records = Records::of_view({});
        Partition* p = unknown_id || !verdict->ok() ? nullptr : replicas_.find(name, fp.partition);
        if (!verdict->ok()) {
          pd.error_code = code(verdict->error);
        } else if (unknown_id) {
          pd.error_code = code(ErrorCode::UNKNOWN_TOPIC_ID);
        } else if (verdict->refuses(name)) {
          pd.error_code = code(verdict->item_error);
        } else if (!p) {
          // A partition whose files could not be opened at start-up is offline, not unknown.
          pd.error_code = code(replicas_.logs().is_failed(name, fp.partition) ? ErrorCode::KAFKA_STORAGE_ERROR
                                                                               : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        } else if (p->offline) {
          pd.error_code = code(ErrorCode::KAFKA_STORAGE_ERROR);  // its log dir failed (KIP-858)
        } else if (!p->is_leader(config_.node_id) && (replica_id >= 0 || v < 11)) {
          // Followers serve consumers (KIP-392, Fetch v11+), never other replicas.
          pd.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
          pd.current_leader.leader_id = p->leader_id;
          pd.current_leader.leader_epoch = p->leader_epoch;
        } else if (fp.current_leader_epoch >= 0 && fp.current_leader_epoch < p->leader_epoch) {
          pd.error_code = code(ErrorCode::FENCED_LEADER_EPOCH);
        } else if (fp.current_leader_epoch > p->leader_epoch) {
          pd.error_code = code(ErrorCode::UNKNOWN_LEADER_EPOCH);
        } else {
          int64_t hw = p->high_watermark();
          const int64_t lso = replicas_.last_stable_offset(*p);
          const bool read_committed = replica_id < 0 && request->isolation_level == 1;
          pd.high_watermark = hw;
          pd.last_stable_offset = lso;
          pd.log_start_offset = p->log->log_start_offset();
          // Replicas read everything the leader has; consumers what is
          // committed, read_committed ones only below the last stable offset.
          int64_t max_offset = replica_id >= 0 ? p->log->log_end_offset() : read_committed ? lso : hw;
          int32_t preferred = replica_id < 0 && v >= 11 && p->is_leader(config_.node_id) ? preferred_read_replica(*p, request->rack_id) : -1;
          if (preferred >= 0) {
            // KIP-392: no data; the consumer fetches from the replica in its rack.
            pd.preferred_read_replica = preferred;
            tr.partitions.push_back(std::move(pd));
            continue;
          }
          if (read_committed) {
            // The aborted transactions overlapping what can be returned: the consumer drops their records.
            pd.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>{};
            if (fp.fetch_offset < lso)
              for (const storage::AbortedTxn& a : p->log->collect_aborted_transactions(fp.fetch_offset, lso))
                pd.aborted_transactions->push_back({a.producer_id, a.first_offset});
          }
          // Replication throttle (leader side): out-of-sync followers of a
          // throttled partition wait while the rate is exceeded.
          bool throttled = replica_id >= 0 && quotas_ && quotas_->leader_replication().is_throttled(name, fp.partition) &&
                           std::find(p->isr.begin(), p->isr.end(), replica_id) == p->isr.end() &&
                           quotas_->leader_replication().is_quota_exceeded(monotonic_ms());
          try {
            int64_t limit = std::min<int64_t>(fp.partition_max_bytes, std::max<int64_t>(budget, 0));
            bool min_one = v >= 3 && total == 0;
            if (!throttled && (limit > 0 || min_one)) {
              storage::ReadResult rr = p->log->read(fp.fetch_offset, static_cast<int32_t>(std::max<int64_t>(limit, 0)), max_offset, min_one);
              pd.records = std::move(rr.records);
              pd.records.is_null = false;
              int64_t n = pd.records.size();
              total += n;
              budget -= n;
            }
          } catch (const storage::OffsetOutOfRange&) {
            pd.error_code = code(ErrorCode::OFFSET_OUT_OF_RANGE);
          } catch (const storage::PartitionIoError& e) {
            if (e.err == EMFILE || e.err == ENFILE) {
              // Out of descriptors for now (this response's regions pin many):
              // nothing read, nothing lost; the client asks again.
              spdlog::debug("[Fetch] No descriptor for {}-{}: {}", name, fp.partition, e.what());
            } else {
              pd.error_code = code(ErrorCode::KAFKA_STORAGE_ERROR);
              replicas_.fail_dir_if_io_error(*p, &e);  // this partition goes offline
            }
          } catch (const storage::StorageError& e) {
            pd.error_code = code(ErrorCode::KAFKA_STORAGE_ERROR);
            replicas_.fail_dir_if_io_error(*p, &e);  // an I/O error takes its dir offline
          }
        }
        if (pd.error_code != 0) has_error = true;
        tr.partitions.push_back(std::move(pd));
      }
      out.responses.push_back(std::move(tr));
    }
    return total;
  };

  if (replica_id >= 0 && verdict->ok()) {
    // A follower's FetchOffset is its log end offset: what the leader's high
    // watermark and ISR decisions go by. Recorded once, at arrival.
    const int64_t replica_epoch = v >= 15 ? request->replica_state.replica_epoch : -1;
    for (const auto& ft : request->topics) {
      const metadata::TopicImage* t = v >= 13 ? replicas_.image()->topic(ft.topic_id) : replicas_.image()->topic(ft.topic);
      if (!t) continue;
      for (const auto& fp : ft.partitions) {
        Partition* p = replicas_.find(t->name, fp.partition);
        if (p && !p->offline && p->is_leader(config_.node_id) && (fp.current_leader_epoch < 0 || fp.current_leader_epoch == p->leader_epoch))
          replicas_.on_follower_fetch(*p, replica_id, replica_epoch, fp.fetch_offset, v >= 5 ? fp.log_start_offset : -1);
      }
    }
  }

  auto resp = std::make_shared<FetchResponse>();
  bool has_error = false;
  int64_t bytes = evaluate(*resp, has_error);
  if (has_error || bytes >= std::max(1, request->min_bytes) || request->max_wait_ms <= 0 || request->topics.empty()) {
    send_fetch(req, respond, *resp, follower);
    return;
  }
  // Wait in purgatory until enough data arrives or max.wait.ms passes.
  auto shared_respond = std::make_shared<net::Respond>(std::move(respond));
  auto done = std::make_shared<bool>(false);
  int64_t deadline = monotonic_ms() + request->max_wait_ms;
  std::vector<std::string> keys;
  for (const auto& ft : request->topics) {
    std::string name = ft.topic;
    if (v >= 13) {
      const metadata::TopicImage* t = replicas_.image()->topic(ft.topic_id);
      if (!t) continue;
      name = t->name;
    }
    for (const auto& fp : ft.partitions) keys.push_back(ReplicaManager::key(name, fp.partition));
  }
  replicas_.delay(
      deadline, std::move(keys),
      [this, req, request, evaluate, shared_respond, done, follower]() {
        if (*done) return true;
        FetchResponse r;
        bool err = false;
        int64_t n = evaluate(r, err);
        if (!err && n < std::max(1, request->min_bytes)) return false;
        *done = true;
        send_fetch(req, *shared_respond, r, follower);
        return true;
      },
      [this, req, evaluate, shared_respond, done, follower]() {
        if (*done) return;
        *done = true;
        FetchResponse r;
        bool err = false;
        evaluate(r, err);
        send_fetch(req, *shared_respond, r, follower);
      });
}

// Kafka's processResponseCallback for consumers: the response's size against
// the fetch quota and the request time against the request quota; throttled,
// the answer carries no data (the bytes are taken back) and the throttle time.
void RequestHandler::send_fetch(const std::shared_ptr<net::Request>& req, net::Respond& respond, FetchResponse& resp, bool follower) {
  count_fetch(replicas_, resp, follower);
  if (const net::RequestSeries* s = metrics::kEnabled ? net::fetch_series(follower, req->api_version) : nullptr) s->observe(monotonic_us() - req->handler_start_us);
  if (follower && quotas_ && quotas_->leader_replication().any_throttled()) {
    // Every throttled partition's bytes count against the leader's replication throttle.
    ReplicationQuota& q = quotas_->leader_replication();
    auto image = replicas_.image();
    int64_t bytes = 0;
    for (const auto& t : resp.responses) {
      std::string name = t.topic;
      if (name.empty())
        if (const metadata::TopicImage* ti = image->topic(t.topic_id)) name = ti->name;
      for (const auto& pd : t.partitions)
        if (q.is_throttled(name, pd.partition_index)) bytes += pd.records.size();
    }
    q.record(bytes, monotonic_ms());
  }
  if (follower || !quotas_ || req->accounted) return send(*req, respond, resp);
  net::Response r;
  r.header_version = static_cast<int16_t>(protocol::response_header_version(req->api_key, req->api_version));
  resp.encode(r.body, req->api_version);  // file regions are referenced, not read: sizing is cheap
  int32_t throttle = quotas_->record_fetch(*req, r.body.total_size());
  if (throttle <= 0) {
    api::count_errors(*req, resp);
    respond(std::move(r));
    return;
  }
  FetchResponse empty;
  empty.error_code = code(ErrorCode::NONE);
  empty.session_id = resp.session_id;
  empty.throttle_time_ms = throttle;
  send(*req, respond, empty);
}

namespace api {
void count_errors(const net::Request& req, const msg::FetchResponse& m) {
  if constexpr (!metrics::kEnabled) return;
  BrokerMetrics& bm = BrokerMetrics::get();
  bm.errors(req.api_key, ec(m.error_code)).inc();
  for (const auto& t : m.responses)
    for (const auto& p : t.partitions) bm.errors(req.api_key, ec(p.error_code)).inc();
}
}  // namespace api

int32_t RequestHandler::preferred_read_replica(const Partition& p, const std::string& client_rack) const {
  if (!config_.rack_aware_replica_selector || client_rack.empty()) return -1;
  auto image = replicas_.image();
  auto rack_of = [&](int32_t id) -> const std::optional<std::string>* {
    const metadata::BrokerRegistration* b = image->broker(id);
    return b && !b->fenced ? &b->rack : nullptr;
  };
  if (auto r = rack_of(config_.node_id); r && *r && **r == client_rack) return -1;  // the leader is in the rack already
  for (int32_t id : p.isr) {
    if (id == config_.node_id) continue;
    if (auto r = rack_of(id); r && *r && **r == client_rack) return id;
  }
  return -1;
}

void RequestHandler::handle_offset_for_leader_epoch(std::shared_ptr<net::Request> req, net::Respond respond) {
  OffsetForLeaderEpochRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  std::vector<std::string> names;
  if (authorizer_)
    for (const auto& t : request.topics) names.push_back(t.topic);
  const Verdict verdict = authorize_offset_for_leader_epoch(authz(*req), names);
  OffsetForLeaderEpochResponse resp;
  for (const auto& t : request.topics) {
    OffsetForLeaderEpochResponse::OffsetForLeaderTopicResult tr;
    tr.topic = t.topic;
    for (const auto& op : t.partitions) {
      OffsetForLeaderEpochResponse::EpochEndOffset eo;
      eo.partition = op.partition;
      Partition* p = replicas_.find(t.topic, op.partition);
      // Only the leader answers (a follower's log may still be behind or diverged);
      // the debugging replica id -2 may ask any replica, as in Kafka.
      bool leader_only = request.replica_id != -2;
      if (verdict.refuses(t.topic)) {
        eo.error_code = code(verdict.item_error);
      } else if (!p) {
        eo.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (op.current_leader_epoch >= 0 && op.current_leader_epoch < p->leader_epoch) {
        eo.error_code = code(ErrorCode::FENCED_LEADER_EPOCH);
      } else if (op.current_leader_epoch > p->leader_epoch) {
        eo.error_code = code(ErrorCode::UNKNOWN_LEADER_EPOCH);
      } else if (leader_only && !p->is_leader(config_.node_id)) {
        eo.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
      } else {
        auto [epoch, end] = replicas_.end_offset_for_epoch(*p, op.leader_epoch);
        eo.leader_epoch = epoch;
        eo.end_offset = end;
      }
      tr.partitions.push_back(eo);
    }
    resp.topics.push_back(std::move(tr));
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_list_offsets(std::shared_ptr<net::Request> req, net::Respond respond) {
  ListOffsetsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  std::vector<std::string> names;
  if (authorizer_)
    for (const auto& t : request.topics) names.push_back(t.name);
  const Verdict verdict = authorize_topics(authz(*req), AclOperation::DESCRIBE, names);
  ListOffsetsResponse resp;
  for (const auto& t : request.topics) {
    ListOffsetsResponse::ListOffsetsTopicResponse tr;
    tr.name = t.name;
    for (const auto& pr : t.partitions) {
      ListOffsetsResponse::ListOffsetsPartitionResponse out;
      out.partition_index = pr.partition_index;
      Partition* p = replicas_.find(t.name, pr.partition_index);
      if (verdict.refuses(t.name)) {
        out.error_code = code(verdict.item_error);
        out.timestamp = -1;
        out.offset = -1;
      } else if (!p) {
        out.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (!p->is_leader(config_.node_id)) {
        out.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
      } else if (pr.current_leader_epoch >= 0 && pr.current_leader_epoch < p->leader_epoch) {
        out.error_code = code(ErrorCode::FENCED_LEADER_EPOCH);
      } else {
        // read_committed consumers (v2+) see the log up to the last stable offset.
        int64_t hw = req->api_version >= 2 && request.isolation_level == 1 ? replicas_.last_stable_offset(*p) : p->high_watermark();
        int64_t offset = -1, ts = -1;
        if (pr.timestamp == -2 || pr.timestamp == -4) {  // EARLIEST, EARLIEST_LOCAL
          offset = p->log->log_start_offset();
        } else if (pr.timestamp == -1 || pr.timestamp == -5) {  // LATEST, LATEST_TIERED
          offset = hw;
        } else if (pr.timestamp == -3) {  // MAX_TIMESTAMP (KIP-734)
          if (auto m = p->log->max_timestamp_and_offset()) {
            ts = m->first;
            offset = m->second;
          }
        } else if (pr.timestamp >= 0) {
          if (auto found = offset_for_timestamp(*p->log, pr.timestamp, hw)) {
            offset = found->first;
            ts = found->second;
          }
        } else {
          out.error_code = code(ErrorCode::INVALID_REQUEST);
        }
        out.offset = offset;
        out.timestamp = ts;
        out.leader_epoch = p->leader_epoch;
        if (req->api_version == 0) out.old_style_offsets = {offset};
      }
      tr.partitions.push_back(out);
    }
    resp.topics.push_back(std::move(tr));
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
