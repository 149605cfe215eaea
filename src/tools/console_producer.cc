// `flotilla console-producer` (Kafka's kafka-console-producer.sh): stdin lines
// → records (LineMessageReader), partitioned like the Java client (murmur2 of
// the key, sticky for null keys), batched per partition (batch.size, linger.ms
// = --timeout), several requests in flight per leader, retries of retriable
// errors after a metadata refresh. Exits at EOF once every batch is answered.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "common/clock.h"
#include "protocol/record_batch.h"
#include "server/config.h"
#include "tools/commands.h"
#include "tools/console.h"
#include "tools/kafka_client.h"
#include "tools/partitioner.h"

namespace flotilla::tools {

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

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
  bool sync = false;
};

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

class Producer {
 public:
  Producer(KafkaClient& client, std::string topic, ProducerSettings s) : client_(client), topic_(std::move(topic)), s_(s) {}

  void start() { info_ = client_.wait_for_topic(topic_, static_cast<int>(s_.max_block_ms), true); }

  void add(const ProducerRecord& rec) {
    int64_t now = wall_clock_ms();
    int32_t n = static_cast<int32_t>(info_.partitions.size());
    size_t size = 61 + 21 + (rec.key ? rec.key->size() : 0) + (rec.value ? rec.value->size() : 0);
    for (const auto& h : rec.headers) size += h.key.size() + (h.value ? h.value->size() : 0) + 10;
    if (size > static_cast<size_t>(s_.max_request_size)) {
      std::cerr << "ERROR Error when sending message to topic " << topic_ << " with key: " << describe(rec.key)
                << ", value: " << describe(rec.value) << " with error: The message is " << size
                << " bytes when serialized which is larger than " << s_.max_request_size
                << ", which is the value of the max.request.size configuration.\n";
      ++errors_;
      return;
    }
    int32_t p;
    bool sticky = !rec.key.has_value();
    if (rec.key) {
      auto kb = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(rec.key->data()), rec.key->size());
      p = partition_for_key(kb, n);
    } else {
      p = sticky_.partition(n);
    }
    Accumulating& a = accum_[p];
    if (a.builder && a.builder->record_count() > 0 && a.builder->estimated_size() + size > static_cast<size_t>(s_.batch_size)) {
      seal(p);
      if (sticky) {
        p = sticky_.partition(n);
      }
    }
    Accumulating& b = accum_[p];
    if (!b.builder) {
      b.builder = std::make_unique<records::BatchBuilder>(s_.compression);
      b.first_ms = now;
    }
    auto key = rec.key ? std::optional<std::span<const uint8_t>>(std::span<const uint8_t>(
                             reinterpret_cast<const uint8_t*>(rec.key->data()), rec.key->size()))
                       : std::nullopt;
    auto value = rec.value ? std::optional<std::span<const uint8_t>>(std::span<const uint8_t>(
                                 reinterpret_cast<const uint8_t*>(rec.value->data()), rec.value->size()))
                           : std::nullopt;
    b.builder->add(now, key, value, rec.headers);
    if (sticky) b.null_key_sticky = true;
    if (s_.sync || b.builder->estimated_size() >= static_cast<size_t>(s_.batch_size)) seal(p);
  }

  // Seals batches whose linger time passed (or all of them).
  void expire(bool all) {
    int64_t now = wall_clock_ms();
    std::vector<int32_t> due;
    for (auto& [p, a] : accum_)
      if (a.builder && (all || now - a.first_ms >= s_.linger_ms)) due.push_back(p);
    for (int32_t p : due) seal(p);
  }

  // Milliseconds until something must happen (-1: nothing pending in time).
  int next_timeout_ms() const {
    int64_t now = wall_clock_ms();
    int64_t best = -1;
    auto consider = [&](int64_t when) {
      int64_t d = std::max<int64_t>(0, when - now);
      if (best < 0 || d < best) best = d;
    };
    for (const auto& [p, a] : accum_)
      if (a.builder) consider(a.first_ms + s_.linger_ms);
    for (const auto& b : ready_)
      if (b.not_before_ms > now) consider(b.not_before_ms);
    for (const auto& b : retry_) consider(b.not_before_ms);
    return static_cast<int>(best);
  }

  // Sends ready batches to their leaders while in-flight room remains.
  void send_ready() {
    while (!retry_.empty()) {
      ready_.push_front(std::move(retry_.back()));
      retry_.pop_back();
    }
    if (ready_.empty()) return;
    int64_t now = wall_clock_ms();
    std::map<int32_t, std::vector<size_t>> by_leader;  // leader -> indexes into ready_
    for (size_t i = 0; i < ready_.size(); ++i) {
      if (ready_[i].not_before_ms > now) continue;
      const PartitionInfo* pi = info_.partition(ready_[i].partition);
      int32_t leader = pi ? pi->leader : -1;
      if (leader < 0) {
        refresh();
        return;
      }
      by_leader[leader].push_back(i);
    }
    std::vector<bool> sent(ready_.size(), false);
    for (auto& [leader, idx] : by_leader) {
      Connection* c;
      try {
        c = &client_.broker(leader);
      } catch (const std::exception& e) {
        for (size_t i : idx) ready_[i].not_before_ms = now + s_.retry_backoff_ms;
        last_error_ = e.what();
        refresh_needed_ = true;
        continue;
      }
      size_t k = 0;
      while (k < idx.size() && (s_.acks == 0 || inflight_[c].size() < static_cast<size_t>(s_.max_in_flight))) {
        // One request: at most one batch per partition, within max.request.size.
        std::vector<size_t> chosen;
        std::set<int32_t> parts;
        size_t total = 0;
        std::vector<size_t> rest;
        for (; k < idx.size(); ++k) {
          const Batch& b = ready_[idx[k]];
          if (parts.count(b.partition) || (!chosen.empty() && total + b.bytes.size() > static_cast<size_t>(s_.max_request_size))) {
            rest.push_back(idx[k]);
            continue;
          }
          chosen.push_back(idx[k]);
          parts.insert(b.partition);
          total += b.bytes.size();
        }
        // Unchosen ones go back to the front of the list for the next request.
        std::vector<size_t> remaining = rest;
        idx.assign(remaining.begin(), remaining.end());
        k = 0;
        if (chosen.empty()) break;
        msg::ProduceRequest req;
        req.acks = s_.acks;
        req.timeout_ms = s_.request_timeout_ms;
        msg::ProduceRequest::TopicProduceData td;
        td.name = topic_;
        InFlight f;
        f.sent_ms = wall_clock_ms();
        for (size_t i : chosen) {
          msg::ProduceRequest::PartitionProduceData pd;
          pd.index = ready_[i].partition;
          pd.records = Records::of_view(ready_[i].bytes);
          td.partition_data.push_back(std::move(pd));
        }
        req.topic_data.push_back(std::move(td));
        try {
          int16_t v = c->version_for(msg::ProduceRequest::kApiKey);
          c->send(req, v, s_.acks != 0);
        } catch (const NetworkError& e) {
          last_error_ = e.what();
          fail_connection(c);
          for (size_t i : chosen) ready_[i].not_before_ms = wall_clock_ms() + s_.retry_backoff_ms;
          break;
        }
        for (size_t i : chosen) {
          sent[i] = true;
          f.batches.push_back(std::move(ready_[i]));
        }
        if (s_.acks != 0) inflight_[c].push_back(std::move(f));
      }
    }
    std::deque<Batch> keep;
    for (size_t i = 0; i < ready_.size(); ++i)
      if (!sent[i]) keep.push_back(std::move(ready_[i]));
    ready_.swap(keep);
  }

  std::vector<pollfd> response_fds() const {
    std::vector<pollfd> fds;
    for (const auto& [c, q] : inflight_)
      if (!q.empty()) fds.push_back(pollfd{c->fd(), POLLIN, 0});
    return fds;
  }

  // Reads one response from the connection with this fd.
  void on_readable(int fd) {
    for (auto& [c, q] : inflight_) {
      if (c->fd() != fd || q.empty()) continue;
      handle_one(c);
      return;
    }
  }

  // Blocks until every in-flight request is answered.
  void wait_all() {
    for (;;) {
      Connection* c = nullptr;
      for (auto& [conn, q] : inflight_)
        if (!q.empty()) c = conn;
      if (!c) return;
      handle_one(c);
    }
  }

  bool idle() const {
    for (const auto& [p, a] : accum_)
      if (a.builder) return false;
    if (!ready_.empty() || !retry_.empty()) return false;
    for (const auto& [c, q] : inflight_)
      if (!q.empty()) return false;
    return true;
  }
  bool has_ready() const { return !ready_.empty() || !retry_.empty(); }
  int errors() const { return errors_; }
  void maybe_refresh() {
    if (refresh_needed_) refresh();
  }

 private:
  struct InFlight {
    int64_t sent_ms = 0;
    std::vector<Batch> batches;
  };

  static std::string describe(const std::optional<std::string>& b) {
    return b ? std::to_string(b->size()) + " bytes" : std::string("null");
  }

  void seal(int32_t p) {
    auto it = accum_.find(p);
    if (it == accum_.end() || !it->second.builder) return;
    Batch b;
    b.partition = p;
    b.records = static_cast<int32_t>(it->second.builder->record_count());
    b.bytes = it->second.builder->build();
    b.created_ms = it->second.first_ms;
    bool sticky = it->second.null_key_sticky;
    accum_.erase(it);
    ready_.push_back(std::move(b));
    if (sticky) sticky_.next_batch(static_cast<int32_t>(info_.partitions.size()));
  }

  void refresh() {
    refresh_needed_ = false;
    try {
      info_ = client_.wait_for_topic(topic_, static_cast<int>(std::max<int64_t>(s_.request_timeout_ms, 5000)), true);
    } catch (const std::exception& e) {
      last_error_ = e.what();
    }
  }

  void fail_connection(Connection* c) {
    auto it = inflight_.find(c);
    if (it != inflight_.end()) {
      for (auto& f : it->second)
        for (auto& b : f.batches) retry_or_fail(std::move(b), code(ErrorCode::NETWORK_EXCEPTION), last_error_);
      inflight_.erase(it);
    }
    client_.drop(*c);
    refresh_needed_ = true;
  }

  void retry_or_fail(Batch b, int16_t err, const std::string& message) {
    int64_t now = wall_clock_ms();
    if (is_retriable(err) && b.attempts < s_.retries && now - b.created_ms < s_.delivery_timeout_ms) {
      ++b.attempts;
      b.not_before_ms = now + s_.retry_backoff_ms;
      retry_.push_back(std::move(b));
      refresh_needed_ = true;
      return;
    }
    ++errors_;
    std::cerr << "ERROR Error when sending " << b.records << (b.records == 1 ? " message" : " messages") << " to topic " << topic_
              << " partition " << b.partition << " with error: " << message << "\n";
  }

  void handle_one(Connection* c) {
    auto& q = inflight_[c];
    ResponseFrame f;
    try {
      f = c->receive();
    } catch (const NetworkError& e) {
      last_error_ = e.what();
      fail_connection(c);
      return;
    }
    InFlight fl = std::move(q.front());
    q.pop_front();
    msg::ProduceResponse resp;
    try {
      resp = f.decode<msg::ProduceResponse>();
    } catch (const std::exception& e) {
      for (auto& b : fl.batches) retry_or_fail(std::move(b), code(ErrorCode::UNKNOWN_SERVER_ERROR), std::string("Bad produce response: ") + e.what());
      return;
    }
    for (auto& b : fl.batches) {
      int16_t err = code(ErrorCode::UNKNOWN_SERVER_ERROR);
      std::string message = "The produce response has no result for partition " + std::to_string(b.partition);
      for (const auto& t : resp.responses)
        for (const auto& p : t.partition_responses)
          if (p.index == b.partition) {
            err = p.error_code;
            message = error_text(p.error_code, p.error_message);
          }
      if (err == 0) continue;
      retry_or_fail(std::move(b), err, message);
    }
  }

  KafkaClient& client_;
  std::string topic_;
  ProducerSettings s_;
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

}  // namespace

int run_console_producer(const ConsoleProducerOptions& o) {
  ProducerSettings s;
  LineReaderOptions lr;
  std::string bootstrap = o.bootstrap_server;
  try {
    std::map<std::string, std::string> props;
    if (o.producer_config) props = server::load_properties_file(*o.producer_config);
    for (const auto& [k, v] : parse_key_values(o.producer_properties)) props[k] = v;
    std::map<std::string, std::string> reader_props;
    if (o.reader_config) reader_props = server::load_properties_file(*o.reader_config);
    for (const auto& [k, v] : parse_key_values(o.properties)) reader_props[k] = v;
    lr = line_reader_options(reader_props);

    auto prop = [&](const char* k) -> std::optional<std::string> {
      auto it = props.find(k);
      if (it == props.end()) return std::nullopt;
      return it->second;
    };
    auto to_long = [](const std::string& k, const std::string& v) {
      try {
        size_t used = 0;
        long long x = std::stoll(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return static_cast<int64_t>(x);
      } catch (const std::logic_error&) {
        throw std::invalid_argument("Invalid value " + v + " for configuration " + k + ": Not a number of type LONG");
      }
    };
    if (bootstrap.empty())
      if (auto v = prop("bootstrap.servers")) bootstrap = *v;
    if (bootstrap.empty()) throw std::invalid_argument("Missing required argument \"[bootstrap-server]\"");

    std::string acks = o.request_required_acks.value_or(prop("acks").value_or("-1"));
    s.acks = parse_acks(acks);
    std::string codec = o.compression_codec.value_or(prop("compression.type").value_or("none"));
    auto c = parse_compression(codec);
    if (!c) throw std::invalid_argument("Invalid value " + codec + " for configuration compression.type: String must be one of: none, gzip, snappy, lz4, zstd");
    s.compression = *c;
    s.batch_size = static_cast<int32_t>(o.batch_size ? *o.batch_size : to_long("batch.size", prop("batch.size").value_or("16384")));
    s.linger_ms = o.linger_ms ? *o.linger_ms : to_long("linger.ms", prop("linger.ms").value_or("1000"));
    s.request_timeout_ms = static_cast<int32_t>(o.request_timeout_ms ? *o.request_timeout_ms
                                                                      : to_long("request.timeout.ms", prop("request.timeout.ms").value_or("1500")));
    s.retries = static_cast<int32_t>(o.message_send_max_retries ? *o.message_send_max_retries
                                                                : to_long("retries", prop("retries").value_or("3")));
    s.retry_backoff_ms = o.retry_backoff_ms ? *o.retry_backoff_ms : to_long("retry.backoff.ms", prop("retry.backoff.ms").value_or("100"));
    s.max_block_ms = o.max_block_ms ? *o.max_block_ms : to_long("max.block.ms", prop("max.block.ms").value_or("60000"));
    s.max_request_size = static_cast<int32_t>(to_long("max.request.size", prop("max.request.size").value_or("1048576")));
    s.max_in_flight = static_cast<int32_t>(
        to_long("max.in.flight.requests.per.connection", prop("max.in.flight.requests.per.connection").value_or("5")));
    s.delivery_timeout_ms = to_long("delivery.timeout.ms", prop("delivery.timeout.ms").value_or("120000"));
    s.sync = o.sync;
    if (s.batch_size < 0 || s.linger_ms < 0 || s.max_in_flight < 1 || s.max_request_size < 1)
      throw std::invalid_argument("Invalid producer configuration (batch.size, linger.ms, max.in.flight.requests.per.connection, max.request.size)");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }

  try {
    ClientOptions copts;
    copts.client_id = "console-producer";
    copts.request_timeout_ms = std::max(30000, s.request_timeout_ms + 5000);
    KafkaClient client(bootstrap, copts);
    Producer producer(client, o.topic, s);
    try {
      producer.start();
    } catch (const std::exception& e) {
      std::cerr << "ERROR Error when sending message to topic " << o.topic << " with error: " << e.what() << "\n";
      return 1;
    }

    std::string buf;
    std::vector<char> chunk(65536);
    bool eof = false;
    int64_t line_number = 0;
    bool fatal = false;
    auto handle_line = [&](std::string line) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ++line_number;
      try {
        producer.add(parse_line(line, lr, line_number));
      } catch (const LineFormatError& e) {
        std::cerr << "ERROR " << e.what() << "\n";
        fatal = true;
      }
      if (s.sync) {
        producer.expire(true);
        producer.send_ready();
        producer.wait_all();
        while (producer.has_ready()) {
          producer.maybe_refresh();
          int t = producer.next_timeout_ms();
          if (t > 0) std::this_thread::sleep_for(std::chrono::milliseconds(t));
          producer.send_ready();
          producer.wait_all();
        }
      }
    };

    // SIGINT/SIGTERM: stop reading, send what was read, then exit (Kafka's shutdown hook closes the producer).
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    while (!fatal) {
      if (g_stop.load() && !eof) {
        eof = true;
        buf.clear();
      }
      std::vector<pollfd> fds;
      if (!eof) fds.push_back(pollfd{0, POLLIN, 0});
      auto rfds = producer.response_fds();
      fds.insert(fds.end(), rfds.begin(), rfds.end());
      if (eof) {
        producer.expire(true);
        if (producer.idle()) break;
      }
      int timeout = producer.next_timeout_ms();
      if (fds.empty() && timeout < 0) break;
      int r = ::poll(fds.data(), fds.size(), timeout);
      if (r < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      for (const auto& p : fds) {
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (p.fd == 0) {
          ssize_t n = ::read(0, chunk.data(), chunk.size());
          if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
          if (n <= 0) {
            eof = true;
            if (!buf.empty()) {
              handle_line(buf);
              buf.clear();
            }
            continue;
          }
          buf.append(chunk.data(), static_cast<size_t>(n));
          size_t start = 0;
          for (;;) {
            size_t nl = buf.find('\n', start);
            if (nl == std::string::npos) break;
            handle_line(buf.substr(start, nl - start));
            start = nl + 1;
            if (fatal) break;
          }
          buf.erase(0, start);
        } else {
          producer.on_readable(p.fd);
        }
      }
      producer.expire(eof);
      producer.maybe_refresh();
      producer.send_ready();
    }
    // Whatever was read before an error still goes out.
    producer.expire(true);
    for (int guard = 0; !producer.idle() && guard < 100000; ++guard) {
      producer.send_ready();
      producer.wait_all();
      producer.maybe_refresh();
      if (producer.has_ready()) {
        int t = producer.next_timeout_ms();
        if (t > 0) std::this_thread::sleep_for(std::chrono::milliseconds(t));
      }
    }
    return (fatal || producer.errors() > 0) ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "ERROR " << e.what() << "\n";
    return 1;
  }
}

}  // namespace flotilla::tools
