// Produce: each partition's batches are validated and appended where the
// request's frame holds them (offsets assigned in place, never copied); the
// writes go to the AppendWriter, and the answer waits for them — and, with
// acks=all, in the purgatory until the high watermark passes the records.
//
// Invariants: an answer never goes out before its records are in the page
// cache (a kill -9 loses nothing acknowledged); a partition whose own write,
// or an earlier one to its log, failed is answered KAFKA_STORAGE_ERROR;
// acks=all is refused before appending (NOT_ENOUGH_REPLICAS) when the ISR is
// below min.insync.replicas (capped at the replication factor), and waits
// while it is (the high watermark stands still, as Kafka >= 3.7);
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the maximal ISR is below it when the
// high watermark gets there; acks=0 sends
// nothing (and closes the connection on an error, as Kafka does). Produce
// v0-2's legacy message sets (magic 0/1) are converted to one v2 batch first
// (protocol/legacy_records.h), so LogAppendTime and everything after treat
// them as any batch.
//
// Threading: the broker's io_context thread; the AppendWriter's completion is
// posted back to it (ReplicaManager::submit_writes).
#include "broker/api_util.h"
#include "broker/broker_metrics.h"
#include "broker/client_quotas.h"
#include "broker/delayed_response.h"
#include "broker/request_handler.h"
#include "common/clock.h"
#include "protocol/legacy_records.h"
#include "protocol/messages.h"
#include "storage/log.h"

namespace flotilla::broker {
namespace {

using namespace api::prelude;

// BrokerTopicMetrics of one produced partition's append (Kafka's
// appendToLocalLog): records and bytes appended, or bytes refused as too large.
void count_append(const TopicMetrics& m, const AppendResult& ar, size_t bytes) {
  if (ar.error == ErrorCode::NONE) m.produced(static_cast<uint64_t>(ar.last_offset - ar.base_offset + 1), bytes);
  else if (ar.error == ErrorCode::MESSAGE_TOO_LARGE || ar.error == ErrorCode::RECORD_LIST_TOO_LARGE) m.bytes_rejected(bytes);
}

}  // namespace

namespace api {
void count_errors(const net::Request& req, const msg::ProduceResponse& m) {
  if constexpr (!metrics::kEnabled) return;
  BrokerMetrics& bm = BrokerMetrics::get();
  for (const auto& t : m.responses)
    for (const auto& p : t.partition_responses) bm.errors(req.api_key, ec(p.error_code)).inc();
}
}  // namespace api

void RequestHandler::handle_produce(std::shared_ptr<net::Request> req, net::Respond respond) {
  ProduceRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  // v13 (KIP-516) names topics by id: resolved to names first, so that
  // authorization and everything after work on names; an unknown id keeps an
  // empty name and is answered UNKNOWN_TOPIC_ID.
  const bool by_id = req->api_version >= 13;
  if (by_id)
    for (auto& td : request.topic_data) {
      const metadata::TopicImage* t = replicas_.image()->topic(td.topic_id);
      td.name = t ? t->name : std::string();
    }
  const Verdict verdict = authorize_produce(authz(*req), request);
  auto resp = std::make_shared<ProduceResponse>();
  bool any_error = false;
  const bool acks_ok = request.acks == 0 || request.acks == 1 || request.acks == -1;
  auto waiting = std::make_shared<std::vector<ProduceWaiting>>();
  // Appends whose write went to the AppendWriter: answered once it is done.
  struct Deferred {
    size_t topic, partition;  // indexes into resp
    std::string topic_name;
    int32_t index;
    size_t first_write, end_write;  // their writes in `batch`
  };
  auto batch = std::make_shared<storage::WriteBatch>();
  auto deferred = std::make_shared<std::vector<Deferred>>();
  uint8_t* frame_base = req->frame->data();
  // Legacy message sets converted to v2 batches (their bytes are written from here).
  auto converted = std::make_shared<std::vector<std::vector<uint8_t>>>();
  for (auto& td : request.topic_data) {
    ProduceResponse::TopicProduceResponse tr;
    tr.name = td.name;
    tr.topic_id = td.topic_id;
    for (auto& pd : td.partition_data) {
      ProduceResponse::PartitionProduceResponse pr;
      pr.index = pd.index;
      Partition* p = replicas_.find(td.name, pd.index);
      if (!verdict.ok()) {
        pr.error_code = code(verdict.error);
      } else if (by_id && td.name.empty()) {
        pr.error_code = code(ErrorCode::UNKNOWN_TOPIC_ID);
      } else if (verdict.refuses(td.name)) {
        pr.error_code = code(verdict.item_error);
      } else if (!acks_ok) {
        pr.error_code = code(ErrorCode::INVALID_REQUIRED_ACKS);
      } else if (!p) {
        // A partition whose files could not be opened at start-up is offline, not unknown.
        pr.error_code = code(replicas_.logs().is_failed(td.name, pd.index) ? ErrorCode::KAFKA_STORAGE_ERROR
                                                                          : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (p->offline) {
        pr.error_code = code(ErrorCode::KAFKA_STORAGE_ERROR);  // its log dir failed (KIP-858)
      } else if (!p->is_leader(config_.node_id)) {
        pr.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        pr.current_leader.leader_id = p->leader_id;
        pr.current_leader.leader_epoch = p->leader_epoch;
      } else if (pd.records.is_null || pd.records.view.empty()) {
        pr.error_code = code(ErrorCode::CORRUPT_MESSAGE);
        pr.error_message = "Produce request contained no record batches";
      } else if (request.acks == -1 && p->under_min_isr()) {
        // Kafka refuses before appending: the write could not become durable as asked.
        pr.error_code = code(ErrorCode::NOT_ENOUGH_REPLICAS);
        pr.error_message = "The size of the current ISR " + std::to_string(p->isr.size()) + " is insufficient to satisfy the min.isr requirement of " +
                           std::to_string(p->effective_min_isr()) + " for partition " + td.name + "-" + std::to_string(pd.index);
      } else {
        // The records view points into this request's own frame, which we own:
        // offsets are assigned in place, nothing is copied.
        size_t off = static_cast<size_t>(pd.records.view.data() - frame_base);
        std::span<uint8_t> payload(frame_base + off, pd.records.view.size());
        AppendResult ar;
        if (req->api_version <= 2 && records::is_legacy_message_set(payload)) {
          // Magic 0/1 (Produce v0-2): converted to one v2 batch, as Kafka does
          // for every v2 log; the copy lives until the write is done.
          records::LegacyConversion conv = records::convert_legacy_message_set(payload);
          if (conv.error == ErrorCode::NONE) {
            converted->push_back(std::move(conv.batch));
            payload = std::span<uint8_t>(converted->back());
          } else {
            ar.error = conv.error;
            ar.message = conv.message;
          }
        }
        const size_t writes_before = batch->writes.size();
        if (ar.error == ErrorCode::NONE) ar = replicas_.append(*p, payload, AppendOrigin::Client, batch.get());
        if (p->metrics) count_append(*p->metrics, ar, payload.size());
        pr.error_code = code(ar.error);
        if (batch->writes.size() > writes_before)
          deferred->push_back(Deferred{resp->responses.size(), tr.partition_responses.size(), td.name, pd.index, writes_before, batch->writes.size()});
        if (ar.error == ErrorCode::NONE) {
          pr.base_offset = ar.base_offset;
          pr.log_append_time_ms = ar.log_append_time;
          pr.log_start_offset = ar.log_start_offset;
          if (request.acks == -1 && p->high_watermark() <= ar.last_offset)
            waiting->push_back(ProduceWaiting{resp->responses.size(), tr.partition_responses.size(), td.name, pd.index, p->leader_epoch,
                                       ar.last_offset + 1});
        } else if (!ar.message.empty()) {
          pr.error_message = ar.message;
        }
        for (const auto& e : ar.record_errors) {
          ProduceResponse::BatchIndexAndErrorMessage be;
          be.batch_index = e.batch_index;
          be.batch_index_error_message = e.message;
          pr.record_errors.push_back(std::move(be));
        }
      }
      if (pr.error_code != 0) any_error = true;
      // TotalProduceRequestsPerSec / FailedProduceRequestsPerSec: each
      // authorized partition of a valid request that is hosted here.
      if (p && p->metrics && acks_ok && verdict.ok() && !verdict.refuses(td.name)) {
        p->metrics->produce_request();
        if (counts_as_failed_produce(ec(pr.error_code))) p->metrics->produce_failed();
      }
      tr.partition_responses.push_back(std::move(pr));
    }
    resp->responses.push_back(std::move(tr));
  }
  // Client quotas: the request's bytes against producer_byte_rate, now, so a
  // throttled connection is muted before its next request is read.
  if (quotas_) quotas_->record_produce(*req, static_cast<int64_t>(req->frame->size()));
  if (deferred->empty()) return finish_produce(std::move(req), std::move(respond), request.acks, request.timeout_ms, any_error, resp, waiting);
  // The request's frame holds the bytes being written.
  batch->keepalive = req;
  replicas_.submit_writes(batch, [this, req = std::move(req), respond = std::move(respond), acks = request.acks, timeout_ms = request.timeout_ms,
                                  any_error, resp, waiting, batch, deferred, converted]() mutable {
    for (const auto& d : *deferred) {
      auto& pr = resp->responses[d.topic].partition_responses[d.partition];
      Partition* p = replicas_.find(d.topic_name, d.index);
      if (p) replicas_.after_written(*p);
      // Failed: its own write, or one before it (then nothing after that hole is visible).
      bool failed = p && p->log->failed() && p->log->log_end_offset() < batch->writes[d.end_write - 1]->end_offset;
      for (size_t i = d.first_write; i < d.end_write; ++i) failed = failed || batch->writes[i]->error != 0;
      if (failed) {
        pr.error_code = code(ErrorCode::KAFKA_STORAGE_ERROR);
        pr.error_message = "the write to the log failed";
        pr.base_offset = -1;
        any_error = true;
      }
    }
    finish_produce(std::move(req), std::move(respond), acks, timeout_ms, any_error, resp, waiting);
  });
}

// The part of a Produce after its appends are written: the answer, at once or
// (acks=all) from the produce purgatory.
void RequestHandler::finish_produce(std::shared_ptr<net::Request> req, net::Respond respond, int16_t acks, int32_t timeout_ms, bool any_error,
                                    std::shared_ptr<ProduceResponse> resp, std::shared_ptr<std::vector<ProduceWaiting>> waiting) {
  if (acks == 0) {
    // No response is expected; on error Kafka closes the connection so the
    // producer notices and refreshes its metadata.
    api::count_errors(*req, *resp);
    net::Response r;
    r.send = false;
    r.close_after = any_error;
    respond(std::move(r));
    return;
  }
  if (waiting->empty()) return send(*req, respond, *resp);

  // The produce purgatory: done when every partition's high watermark passed
  // its records, or the partition stopped being led here, or timeout_ms.
  auto check = [this, resp, waiting]() {
    bool all = true;
    for (auto& w : *waiting) {
      if (w.done) continue;
      auto& pr = resp->responses[w.topic].partition_responses[w.partition];
      if (pr.error_code != 0) {  // its write failed
        w.done = true;
        continue;
      }
      Partition* p = replicas_.find(w.topic_name, w.index);
      if (!p || !p->is_leader(config_.node_id) || p->leader_epoch != w.leader_epoch) {
        // The records may or may not survive the new leader: the producer retries.
        pr.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        pr.base_offset = -1;
        if (p) {
          pr.current_leader.leader_id = p->leader_id;
          pr.current_leader.leader_epoch = p->leader_epoch;
        }
        w.done = true;
      } else if (p->high_watermark() >= w.required_offset) {
        // Kafka's checkEnoughReplicasReachOffset: the maximal ISR, against the effective min ISR.
        if (static_cast<int32_t>(p->maximal_isr().size()) < p->effective_min_isr()) {
          pr.error_code = code(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
          pr.base_offset = -1;
        }
        w.done = true;
      } else {
        all = false;
      }
    }
    return all;
  };
  if (check()) return send(*req, respond, *resp);
  std::vector<std::string> keys;
  for (const auto& w : *waiting) keys.push_back(ReplicaManager::key(w.topic_name, w.index));
  respond_when_settled(replicas_, std::move(req), std::move(respond), resp, monotonic_ms() + std::max<int32_t>(timeout_ms, 0), std::move(keys),
                       check, [resp, waiting, check]() {
                         check();
                         for (auto& w : *waiting) {
                           if (w.done) continue;
                           auto& pr = resp->responses[w.topic].partition_responses[w.partition];
                           pr.error_code = code(ErrorCode::REQUEST_TIMED_OUT);
                           pr.base_offset = -1;
                         }
                       });
}

}  // namespace flotilla::broker
