// A producer of one topic, as the Java client's: records partitioned like it
// (murmur2 of the key, sticky for null keys), accumulated into one batch per
// partition (batch.size, linger.ms), sent with at most one batch per
// partition in a request of at most max.request.size, up to
// max.in.flight.requests.per.connection requests in flight per leader, and
// retried (retriable errors, within retries and delivery.timeout.ms) after a
// metadata refresh. The caller drives it: it polls stdin or its own source
// together with response_fds(), and calls expire/send_ready/on_readable.
//
// Invariants: a batch is built once and sent as built (retries resend the
// same bytes); a batch that fails for good is reported once to
// on_batch_failed and counted in errors(); responses on a connection are
// matched to its requests in order (in_flight_ per connection).
// Threading: one thread; the callbacks run on it, inside the calls.
#pragma once

#include <poll.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/kafka_client.h"
#include "client/partitioner.h"
#include "protocol/record_batch.h"

namespace flotilla::client {

struct ProducerRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<records::Header> headers;
};

struct ProducerSettings {
  int16_t acks = -1;
  records::Compression compression = records::Compression::NONE;
  int32_t batch_size = 16384;
  int64_t linger_ms = 1000;
  int32_t request_timeout_ms = 1500;
  int32_t retries = 3;
  int64_t retry_backoff_ms = 100;
  int32_t max_request_size = 1048576;
  int32_t max_in_flight = 5;
  int64_t delivery_timeout_ms = 120000;
  int64_t max_block_ms = 60000;
  bool sync = false;  // each record in a batch of its own, sent at once
};

// What the producer reports as it happens (the caller prints it).
struct ProducerEvents {
  // A record larger than max.request.size was refused (serialized_size bytes).
  std::function<void(const ProducerRecord&, size_t serialized_size)> record_too_large;
  // A batch of `records` records failed for good with this error text.
  std::function<void(int32_t partition, int32_t records, const std::string& message)> batch_failed;
};

class Producer {
 public:
  Producer(KafkaClient& client, std::string topic, ProducerSettings s, ProducerEvents events = {});

  // Waits (max.block.ms) for the topic and its leaders (auto-creating it).
  void start();
  // Adds a record to its partition's batch (sealing the batch when full or in sync mode).
  void add(const ProducerRecord& rec);
  // Seals batches whose linger time passed (or all of them).
  void expire(bool all);
  // Milliseconds until something must happen (-1: nothing pending in time).
  int next_timeout_ms() const;
  // Sends ready batches to their leaders while in-flight room remains.
  void send_ready();
  // The connections with requests in flight, to poll for reading.
  std::vector<pollfd> response_fds() const;
  // Reads one response from the connection with this fd.
  void on_readable(int fd);
  // Blocks until every in-flight request is answered.
  void wait_all();
  // Sync mode: seals and sends everything added, and waits (retrying) until
  // it is acknowledged or has failed.
  void send_now();
  // At exit: seals, sends and waits until nothing is left (bounded).
  void drain();

  bool idle() const;
  bool has_ready() const { return !ready_.empty() || !retry_.empty(); }
  int errors() const { return errors_; }
  void maybe_refresh() {
    if (refresh_needed_) refresh();
  }

 private:
  struct Batch {
    int32_t partition = 0;
    std::vector<uint8_t> bytes;
    int32_t records = 0;
    int attempts = 0;
    int64_t created_ms = 0;
    int64_t not_before_ms = 0;
  };
  struct Accumulating {
    std::unique_ptr<records::BatchBuilder> builder;
    int64_t first_ms = 0;
    bool null_key_sticky = false;
  };
  struct InFlight {
    int64_t sent_ms = 0;
    std::vector<Batch> batches;
  };

  void seal(int32_t p);
  void refresh();
  void fail_connection(Connection* c);
  void retry_or_fail(Batch b, int16_t err, const std::string& message);
  void handle_one(Connection* c);

  KafkaClient& client_;
  std::string topic_;
  ProducerSettings s_;
  ProducerEvents events_;
  TopicInfo info_;
  StickyPartitioner sticky_;
  std::map<int32_t, Accumulating> accum_;
  std::deque<Batch> ready_;
  std::deque<Batch> retry_;  // failed batches waiting to go back to the front of ready_
  std::map<Connection*, std::deque<InFlight>> inflight_;
  int errors_ = 0;
  bool refresh_needed_ = false;
  std::string last_error_;
};

}  // namespace flotilla::client
