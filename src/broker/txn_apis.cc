// Transactions and producers: InitProducerId (v0-5; idempotent and
// transactional producers), AddPartitionsToTxn (v0-3 from clients, v4-5
// batched from partition leaders), AddOffsetsToTxn (v0-4), EndTxn (v0-5; v5
// with transaction.version >= 2 is KIP-890 part 2), TxnOffsetCommit (v0-5),
// WriteTxnMarkers (v0-1, from transaction coordinators to partition leaders),
// DescribeTransactions (v0), ListTransactions (v0-2), DescribeProducers (v0). Decoding and encoding per
// version; the state machine is coordinator/txn_coordinator, the markers and
// ids coordinator/txn_service.
#include <spdlog/spdlog.h>

#include <regex>

#include "broker/api_util.h"
#include "broker/commit_partitions.h"
#include "broker/request_handler.h"
#include "common/client_pattern.h"
#include "common/clock.h"
#include "coordinator/consumer_group.h"
#include "coordinator/group_service.h"
#include "coordinator/txn_service.h"
#include "protocol/messages.h"

namespace flotilla::broker {
namespace {

using namespace api::prelude;
using namespace flotilla::coordinator;

constexpr int16_t kInitProducerIdKey = 22, kAddPartitionsToTxnKey = 24, kAddOffsetsToTxnKey = 25, kEndTxnKey = 26;

// One response sent from a callback that may outlive the handler's frame.
template <typename Resp>
auto sender(std::shared_ptr<net::Request> req, net::Respond respond) {
  auto r = std::make_shared<net::Respond>(std::move(respond));
  return [req, r](const Resp& resp) { send(*req, *r, resp); };
}

// The answer of an API whose response is an error code only (AddOffsetsToTxn,
// EndTxn), mapped to what that version of the API may carry.
template <typename Resp>
auto error_only_answer(std::shared_ptr<net::Request> req, net::Respond respond, int16_t api_key) {
  auto reply = sender<Resp>(req, std::move(respond));
  return [reply, api_key, v = req->api_version](ErrorCode e) {
    Resp r;
    r.error_code = code(txn_error_for_version(api_key, v, e));
    reply(r);
  };
}

}  // namespace

// ---------------------------------------------------------------- InitProducerId

void RequestHandler::handle_init_producer_id(std::shared_ptr<net::Request> req, net::Respond respond) {
  InitProducerIdRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  auto reply = sender<InitProducerIdResponse>(req, std::move(respond));
  auto answer = [reply, v](ErrorCode e, int64_t id, int16_t epoch) {
    InitProducerIdResponse r;
    e = txn_error_for_version(kInitProducerIdKey, v, e);
    r.error_code = code(e);
    r.producer_id = e == ErrorCode::NONE ? id : -1;
    r.producer_epoch = e == ErrorCode::NONE ? epoch : -1;
    reply(r);
  };
  if (ErrorCode e = authorize_init_producer_id(authz(*req), request.transactional_id); e != ErrorCode::NONE) return answer(e, -1, -1);
  if ((request.producer_id == -1) != (request.producer_epoch == -1)) return answer(ErrorCode::INVALID_REQUEST, -1, -1);
  if (request.transactional_id && request.transactional_id->empty()) return answer(ErrorCode::INVALID_REQUEST, -1, -1);
  if (!txns_) return answer(ErrorCode::COORDINATOR_NOT_AVAILABLE, -1, -1);
  std::optional<ProducerIdAndEpoch> expected;
  if (v >= 3 && request.producer_id >= 0) expected = ProducerIdAndEpoch{request.producer_id, request.producer_epoch};
  // An idempotent producer always gets a new id with epoch 0 (as Kafka: also when it passes its current one).
  if (!request.transactional_id) expected.reset();
  txns_->coordinator().init_producer_id(request.transactional_id, request.transaction_timeout_ms, expected,
                                        [answer](InitProducerIdResult r) { answer(r.error, r.producer_id, r.producer_epoch); });
}

// ---------------------------------------------------------------- AddPartitionsToTxn / AddOffsetsToTxn / EndTxn

void RequestHandler::handle_add_partitions_to_txn(std::shared_ptr<net::Request> req, net::Respond respond) {
  AddPartitionsToTxnRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  if (v >= 4) return add_partitions_to_txn_batched(std::move(req), std::move(respond), std::move(request));
  auto reply = sender<AddPartitionsToTxnResponse>(req, std::move(respond));
  // Every partition gets `e`, except those already answered in `per`.
  auto answer = [reply, v, topics = request.v3_and_below_topics](ErrorCode e, std::map<TopicPartitionKey, ErrorCode> per) {
    AddPartitionsToTxnResponse r;
    for (const auto& t : topics) {
      AddPartitionsToTxnResponse::AddPartitionsToTxnTopicResult tr;
      tr.name = t.name;
      for (int32_t p : t.partitions) {
        auto it = per.find({t.name, p});
        ErrorCode pe = it != per.end() ? it->second : e;
        tr.results_by_partition.push_back({p, code(txn_error_for_version(kAddPartitionsToTxnKey, v, pe))});
      }
      r.results_by_topic_v3_and_below.push_back(std::move(tr));
    }
    reply(r);
  };
  const Verdict verdict = authorize_add_partitions_to_txn(authz(*req), request);
  if (!verdict.ok()) return answer(verdict.error, {});
  if (!txns_) return answer(ErrorCode::COORDINATOR_NOT_AVAILABLE, {});
  // As Kafka: partitions refused or that do not exist fail alone, the others are not attempted.
  auto image = replicas_.image();
  std::map<TopicPartitionKey, ErrorCode> unknown;
  std::vector<TopicPartitionKey> parts;
  for (const auto& t : request.v3_and_below_topics) {
    const metadata::TopicImage* ti = image->topic(t.name);
    for (int32_t p : t.partitions) {
      if (verdict.refuses(t.name)) unknown[{t.name, p}] = verdict.item_error;
      else if (!ti || !ti->partitions.count(p)) unknown[{t.name, p}] = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      else parts.emplace_back(t.name, p);
    }
  }
  if (!unknown.empty()) return answer(ErrorCode::OPERATION_NOT_ATTEMPTED, std::move(unknown));
  txns_->coordinator().add_partitions_to_txn(request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
                                             request.v3_and_below_producer_epoch, parts, [answer](ErrorCode e) { answer(e, {}); });
}

// AddPartitionsToTxn v4+ (KIP-890 part 1): from partition leaders, many
// transactions at once, each verified (VerifyOnly) or added; CLUSTER_ACTION
// on the cluster, no transactional-id or topic ACLs (as Kafka: brokers ask).
void RequestHandler::add_partitions_to_txn_batched(std::shared_ptr<net::Request> req, net::Respond respond,
                                                   AddPartitionsToTxnRequest request) {
  using Resp = AddPartitionsToTxnResponse;
  auto resp = std::make_shared<Resp>();
  auto reply = sender<Resp>(req, std::move(respond));
  if (ErrorCode e = authorize_add_partitions_to_txn_batched(authz(*req)); e != ErrorCode::NONE) {
    resp->error_code = code(e);
    return reply(*resp);
  }
  const int16_t v = req->api_version;
  // One result per transaction, filled as each is answered.
  auto result = [v](const AddPartitionsToTxnRequest::AddPartitionsToTxnTransaction& t, ErrorCode all,
                    const std::map<TopicPartitionKey, ErrorCode>& per) {
    Resp::AddPartitionsToTxnResult r;
    r.transactional_id = t.transactional_id;
    for (const auto& topic : t.topics) {
      Resp::AddPartitionsToTxnTopicResult tr;
      tr.name = topic.name;
      for (int32_t p : topic.partitions) {
        auto it = per.find({topic.name, p});
        const ErrorCode e = it != per.end() ? it->second : all;
        tr.results_by_partition.push_back({p, code(txn_error_for_version(kAddPartitionsToTxnKey, v, e))});
      }
      r.topic_results.push_back(std::move(tr));
    }
    return r;
  };
  resp->results_by_transaction.resize(request.transactions.size());
  auto pending = std::make_shared<size_t>(request.transactions.size());
  auto finish_one = [resp, reply, pending](size_t i, Resp::AddPartitionsToTxnResult r) {
    resp->results_by_transaction[i] = std::move(r);
    if (--*pending == 0) reply(*resp);
  };
  if (request.transactions.empty()) return reply(*resp);
  auto image = replicas_.image();
  for (size_t i = 0; i < request.transactions.size(); ++i) {
    const auto& t = request.transactions[i];
    std::map<TopicPartitionKey, ErrorCode> unknown;
    std::vector<TopicPartitionKey> parts;
    for (const auto& topic : t.topics) {
      const metadata::TopicImage* ti = image->topic(topic.name);
      for (int32_t p : topic.partitions) {
        if (!ti || !ti->partitions.count(p)) unknown[{topic.name, p}] = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
        else parts.emplace_back(topic.name, p);
      }
    }
    if (!unknown.empty()) {
      finish_one(i, result(t, ErrorCode::OPERATION_NOT_ATTEMPTED, unknown));
    } else if (!txns_) {
      finish_one(i, result(t, ErrorCode::COORDINATOR_NOT_AVAILABLE, {}));
    } else if (t.verify_only) {
      TxnVerifyResult vr = txns_->coordinator().verify_partitions_in_txn(t.transactional_id, t.producer_id, t.producer_epoch, parts);
      finish_one(i, result(t, vr.error, vr.partitions));
    } else {
      txns_->coordinator().add_partitions_to_txn(t.transactional_id, t.producer_id, t.producer_epoch, parts,
                                                 [finish_one, result, t, i](ErrorCode e) { finish_one(i, result(t, e, {})); });
    }
  }
}

void RequestHandler::handle_add_offsets_to_txn(std::shared_ptr<net::Request> req, net::Respond respond) {
  AddOffsetsToTxnRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto answer = error_only_answer<AddOffsetsToTxnResponse>(req, std::move(respond), kAddOffsetsToTxnKey);
  if (ErrorCode e = authorize_add_offsets_to_txn(authz(*req), request.transactional_id, request.group_id); e != ErrorCode::NONE)
    return answer(e);
  if (!txns_) return answer(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  txns_->coordinator().add_offsets_to_txn(request.transactional_id, request.producer_id, request.producer_epoch, request.group_id, answer);
}

void RequestHandler::handle_end_txn(std::shared_ptr<net::Request> req, net::Respond respond) {
  EndTxnRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const int16_t v = req->api_version;
  auto reply = sender<EndTxnResponse>(req, std::move(respond));
  // v5 also carries the producer id and epoch the client continues with.
  auto answer = [reply, v](EndTxnResult r) {
    EndTxnResponse out;
    out.error_code = code(txn_error_for_version(kEndTxnKey, v, r.error));
    out.producer_id = r.error == ErrorCode::NONE ? r.producer_id : kNoProducerId;
    out.producer_epoch = r.error == ErrorCode::NONE ? r.producer_epoch : kNoProducerEpoch;
    reply(out);
  };
  if (ErrorCode e = authorize_end_txn(authz(*req), request.transactional_id); e != ErrorCode::NONE) return answer({e});
  if (!txns_) return answer({ErrorCode::COORDINATOR_NOT_AVAILABLE});
  // KIP-890 part 2 as Kafka decides it: an EndTxn v5+ while transaction.version >= 2 is finalized.
  txns_->coordinator().end_txn(request.transactional_id, request.producer_id, request.producer_epoch,
                               request.committed ? TxnResult::Commit : TxnResult::Abort, v >= 5 && transaction_version() >= 2, answer);
}

int16_t RequestHandler::transaction_version() const {
  const auto& f = replicas_.image()->features();
  auto it = f.find("transaction.version");
  return it == f.end() ? 0 : it->second;
}

// ---------------------------------------------------------------- TxnOffsetCommit

void RequestHandler::handle_txn_offset_commit(std::shared_ptr<net::Request> req, net::Respond respond) {
  TxnOffsetCommitRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto reply = sender<TxnOffsetCommitResponse>(req, std::move(respond));
  const Verdict verdict = authorize_txn_offset_commit(authz(*req), request);
  std::vector<CommitPartition> parts, refused;  // refused: answered with their authorization error
  for (const auto& t : request.topics)
    for (const auto& p : t.partitions) {
      CommitPartition c;
      c.topic = t.name;
      c.partition = p.partition_index;
      c.offset = p.committed_offset;
      c.leader_epoch = p.committed_leader_epoch;
      c.metadata = p.committed_metadata;
      if (!verdict.ok() || verdict.refuses(t.name)) {
        c.error = verdict.ok() ? verdict.item_error : verdict.error;
        refused.push_back(std::move(c));
      } else {
        parts.push_back(std::move(c));
      }
    }
  refuse_unknown_partitions(*replicas_.image(), parts, refused);
  auto answer = [reply, refused](std::vector<CommitPartition> done) {
    TxnOffsetCommitResponse r;
    for (const auto& p : refused) topic_entry(r.topics, p.topic).partitions.push_back({p.partition, code(p.error)});
    for (const auto& p : done) topic_entry(r.topics, p.topic).partitions.push_back({p.partition, code(p.error)});
    reply(r);
  };
  if (!refused.empty() && parts.empty()) return answer({});
  if (!groups_) {
    for (auto& p : parts) p.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    return answer(std::move(parts));
  }
  const TxnProducer producer{request.producer_id, request.producer_epoch};
  // A KIP-848 group checks the member and its epoch itself (v3+ carry them;
  // without them, KIP-447's old producers, nothing is checked); the offsets
  // then go in as a commit without classic group management. A stale epoch is
  // ILLEGAL_GENERATION here (TxnOffsetCommit has no STALE_MEMBER_EPOCH).
  if (groups_->coordinator().check_coordinator(request.group_id) == ErrorCode::NONE && groups_->consumer_groups().has_group(request.group_id)) {
    ErrorCode ve = request.generation_id < 0
                       ? ErrorCode::NONE
                       : groups_->consumer_groups()
                             .validate_offset_commit(request.group_id, request.member_id, request.group_instance_id, request.generation_id, 9)
                             .value_or(ErrorCode::NONE);
    if (ve == ErrorCode::STALE_MEMBER_EPOCH) ve = ErrorCode::ILLEGAL_GENERATION;
    if (ve != ErrorCode::NONE) {
      for (auto& p : parts) p.error = ve;
      return answer(std::move(parts));
    }
    return groups_->coordinator().txn_commit_offsets(request.group_id, producer, "", std::nullopt, -1, std::move(parts), answer);
  }
  groups_->coordinator().txn_commit_offsets(request.group_id, producer, request.member_id, request.group_instance_id, request.generation_id,
                                            std::move(parts), answer);
}

// ---------------------------------------------------------------- WriteTxnMarkers

void RequestHandler::handle_write_txn_markers(std::shared_ptr<net::Request> req, net::Respond respond) {
  WriteTxnMarkersRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto reply = sender<WriteTxnMarkersResponse>(req, std::move(respond));
  auto resp = std::make_shared<WriteTxnMarkersResponse>();
  auto remaining = std::make_shared<size_t>(1);  // 1 for the loop below: answered once every partition is
  auto finish_one = [reply, resp, remaining] {
    if (--*remaining == 0) reply(*resp);
  };
  const ErrorCode refused = authorize_write_txn_markers(authz(*req));
  for (size_t m = 0; m < request.markers.size(); ++m) {
    const auto& mk = request.markers[m];
    WriteTxnMarkersResponse::WritableTxnMarkerResult mr;
    mr.producer_id = mk.producer_id;
    for (size_t t = 0; t < mk.topics.size(); ++t) {
      WriteTxnMarkersResponse::WritableTxnMarkerTopicResult tr;
      tr.name = mk.topics[t].name;
      for (int32_t p : mk.topics[t].partition_indexes) tr.partitions.push_back({p, code(refused)});
      mr.topics.push_back(std::move(tr));
    }
    resp->markers.push_back(std::move(mr));
  }
  if (refused != ErrorCode::NONE) return reply(*resp);  // every partition: CLUSTER_AUTHORIZATION_FAILED
  for (size_t m = 0; m < request.markers.size(); ++m) {
    const auto& mk = request.markers[m];
    for (size_t t = 0; t < mk.topics.size(); ++t) {
      for (size_t i = 0; i < mk.topics[t].partition_indexes.size(); ++i) {
        ++*remaining;
        auto set = [resp, m, t, i, finish_one](ErrorCode e) {
          resp->markers[m].topics[t].partitions[i].error_code = code(e);
          finish_one();
        };
        if (!txns_) {
          set(ErrorCode::NOT_LEADER_OR_FOLLOWER);
          continue;
        }
        txns_->local_markers().write_local(mk.producer_id, mk.producer_epoch, mk.coordinator_epoch, mk.transaction_result,
                                           {mk.topics[t].name, mk.topics[t].partition_indexes[i]}, set);
      }
    }
  }
  finish_one();
}

// ---------------------------------------------------------------- DescribeTransactions / ListTransactions

void RequestHandler::handle_describe_transactions(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeTransactionsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  DescribeTransactionsResponse resp;
  const Authz auth = authz(*req);
  for (const auto& id : request.transactional_ids) {
    DescribeTransactionsResponse::TransactionState s;
    s.transactional_id = id;
    s.producer_id = -1;
    s.producer_epoch = -1;
    s.transaction_start_time_ms = -1;
    if (ErrorCode e = authorize_describe_transaction(auth, id); e != ErrorCode::NONE) {
      s.error_code = code(e);
      resp.transaction_states.push_back(std::move(s));
      continue;
    }
    ErrorCode e = txns_ ? txns_->coordinator().check_coordinator(id) : ErrorCode::COORDINATOR_NOT_AVAILABLE;
    const TransactionMetadata* m = e == ErrorCode::NONE ? txns_->coordinator().metadata_of(id) : nullptr;
    if (e == ErrorCode::NONE && !m) e = ErrorCode::TRANSACTIONAL_ID_NOT_FOUND;
    s.error_code = code(e);
    if (m) {
      s.transaction_state = txn_state_name(m->state);
      s.transaction_timeout_ms = m->txn_timeout_ms;
      s.transaction_start_time_ms = m->txn_start_timestamp;
      s.producer_id = m->producer_id;
      s.producer_epoch = m->producer_epoch;
      for (const auto& [topic, p] : m->partitions) {
        if (s.topics.empty() || s.topics.back().topic != topic) s.topics.push_back({topic, {}});
        s.topics.back().partitions.push_back(p);
      }
      // Only the topics the caller may DESCRIBE.
      if (auth.enabled()) std::erase_if(s.topics, [&](const auto& td) { return !shows_topic(auth, td.topic); });
    }
    resp.transaction_states.push_back(std::move(s));
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_list_transactions(std::shared_ptr<net::Request> req, net::Respond respond) {
  ListTransactionsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  ListTransactionsResponse resp;
  if (!txns_) {
    resp.error_code = code(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    return send(*req, respond, resp);
  }
  static const char* kStates[] = {"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"};
  std::set<std::string> states;
  for (const auto& f : request.state_filters) {
    if (std::find_if(std::begin(kStates), std::end(kStates), [&](const char* s) { return f == s; }) == std::end(kStates))
      resp.unknown_state_filters.push_back(f);
    else states.insert(f);
  }
  const std::set<int64_t> pids(request.producer_id_filters.begin(), request.producer_id_filters.end());
  // v2 (KIP-1152): only the ids the pattern matches in full (Kafka: Java's
  // Pattern.matches); none or "" filters nothing; a pattern that does not
  // compile fails the request with INVALID_REGULAR_EXPRESSION.
  std::optional<ClientPattern> pattern;
  if (req->api_version >= 2 && request.transactional_id_pattern && !request.transactional_id_pattern->empty()) {
    pattern = ClientPattern::compile(*request.transactional_id_pattern);
    if (!pattern) {
      resp.error_code = code(ErrorCode::INVALID_REGULAR_EXPRESSION);
      return send(*req, respond, resp);
    }
  }
  const int64_t now = wall_clock_ms();
  const Authz auth = authz(*req);
  TxnCoordinator& c = txns_->coordinator();
  for (const auto& id : c.transactional_ids()) {
    const TransactionMetadata* m = c.metadata_of(id);
    if (!m) continue;
    if (!request.state_filters.empty() && !states.count(txn_state_name(m->state))) continue;
    if (!pids.empty() && !pids.count(m->producer_id)) continue;
    if (pattern && !pattern->full_match(id)) continue;
    // v1 (KIP-994): only transactions running longer than the filter.
    if (req->api_version >= 1 && request.duration_filter >= 0 &&
        (m->state != TxnState::Ongoing || m->txn_start_timestamp < 0 || now - m->txn_start_timestamp < request.duration_filter))
      continue;
    if (!list_transactions_shows(auth, id)) continue;  // only the ids the caller may DESCRIBE
    resp.transaction_states.push_back({id, m->producer_id, txn_state_name(m->state)});
  }
  send(*req, respond, resp);
}

// ---------------------------------------------------------------- DescribeProducers

void RequestHandler::handle_describe_producers(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeProducersRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  DescribeProducersResponse resp;
  std::vector<std::string> names;
  if (authorizer_)
    for (const auto& t : request.topics) names.push_back(t.name);
  const Verdict verdict = authorize_topics(authz(*req), AclOperation::READ, names);
  for (const auto& t : request.topics) {
    DescribeProducersResponse::TopicResponse tr;
    tr.name = t.name;
    for (int32_t idx : t.partition_indexes) {
      DescribeProducersResponse::PartitionResponse pr;
      pr.partition_index = idx;
      Partition* p = replicas_.find(t.name, idx);
      if (verdict.refuses(t.name)) {
        pr.error_code = code(verdict.item_error);
      } else if (!p) {
        pr.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (!p->is_leader(config_.node_id)) {
        pr.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
      } else {
        for (const storage::ProducerEntry& e : p->log->producer_state().entries()) {
          DescribeProducersResponse::ProducerState s;
          s.producer_id = e.producer_id;
          s.producer_epoch = e.epoch;
          s.last_sequence = e.last_seq();
          s.last_timestamp = e.last_timestamp;
          s.coordinator_epoch = e.coordinator_epoch;
          s.current_txn_start_offset = e.current_txn_first_offset;
          pr.active_producers.push_back(s);
        }
      }
      tr.partitions.push_back(std::move(pr));
    }
    resp.topics.push_back(std::move(tr));
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
