// `flotilla console-producer` (Kafka's kafka-console-producer.sh): stdin lines
// → records (LineMessageReader), sent by client/producer.h (partitioned like
// the Java client, batched per partition with batch.size and linger.ms =
// --timeout, several requests in flight per leader, retriable errors retried
// after a metadata refresh). This file maps Kafka's flags and properties to
// the producer's settings, polls stdin together with the producer's
// connections, and prints Kafka's error lines. Exits at EOF once every batch
// is answered. Threading: one thread; SIGINT/SIGTERM only set a flag.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>

#include "client/producer.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/console.h"
#include "tools/stop_signal.h"

namespace flotilla::tools {

using client::ClientOptions;
using client::KafkaClient;
using client::Producer;
using client::ProducerEvents;
using client::ProducerRecord;
using client::ProducerSettings;

namespace {

std::string describe(const std::optional<std::string>& b) { return b ? std::to_string(b->size()) + " bytes" : std::string("null"); }

// Kafka's console producer's error lines for a record or a batch it could not send.
ProducerEvents stderr_events(const std::string& topic, int32_t max_request_size) {
  ProducerEvents ev;
  ev.record_too_large = [topic, max_request_size](const ProducerRecord& rec, size_t size) {
    std::cerr << "ERROR Error when sending message to topic " << topic << " with key: " << describe(rec.key)
              << ", value: " << describe(rec.value) << " with error: The message is " << size
              << " bytes when serialized which is larger than " << max_request_size
              << ", which is the value of the max.request.size configuration.\n";
  };
  ev.batch_failed = [topic](int32_t partition, int32_t records, const std::string& message) {
    std::cerr << "ERROR Error when sending " << records << (records == 1 ? " message" : " messages") << " to topic " << topic
              << " partition " << partition << " with error: " << message << "\n";
  };
  return ev;
}

}  // namespace

int run_console_producer(const ConsoleProducerOptions& o) {
  ProducerSettings s;
  LineReaderOptions lr;
  std::string bootstrap = o.bootstrap_server;
  try {
    std::map<std::string, std::string> props;
    if (o.producer_config) props = server::load_properties_file(*o.producer_config);
    for (const auto& [k, v] : parse_key_values(o.producer_properties)) props[k] = v;
    apply_client_security(props);
    std::map<std::string, std::string> reader_props;
    if (o.reader_config) reader_props = server::load_properties_file(*o.reader_config);
    for (const auto& [k, v] : parse_key_values(o.properties)) reader_props[k] = v;
    lr = line_reader_options(reader_props);

    auto prop = [&](const char* k) -> std::optional<std::string> {
      auto it = props.find(k);
      if (it == props.end()) return std::nullopt;
      return it->second;
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
    // A flag if given, else the property (else Kafka's default), as a LONG.
    auto property_long = [&](const char* k, const char* dflt) { return parse_long_property(k, prop(k).value_or(dflt)); };
    auto setting = [&](const auto& flag, const char* k, const char* dflt) -> int64_t {
      return flag ? static_cast<int64_t>(*flag) : property_long(k, dflt);
    };
    s.batch_size = static_cast<int32_t>(setting(o.batch_size, "batch.size", "16384"));
    s.linger_ms = setting(o.linger_ms, "linger.ms", "1000");
    s.request_timeout_ms = static_cast<int32_t>(setting(o.request_timeout_ms, "request.timeout.ms", "1500"));
    s.retries = static_cast<int32_t>(setting(o.message_send_max_retries, "retries", "3"));
    s.retry_backoff_ms = setting(o.retry_backoff_ms, "retry.backoff.ms", "100");
    s.max_block_ms = setting(o.max_block_ms, "max.block.ms", "60000");
    s.max_request_size = static_cast<int32_t>(property_long("max.request.size", "1048576"));
    s.max_in_flight = static_cast<int32_t>(property_long("max.in.flight.requests.per.connection", "5"));
    s.delivery_timeout_ms = property_long("delivery.timeout.ms", "120000");
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
    Producer producer(client, o.topic, s, stderr_events(o.topic, s.max_request_size));
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
      if (s.sync) producer.send_now();
    };

    // SIGINT/SIGTERM: stop reading, send what was read, then exit (Kafka's shutdown hook closes the producer).
    stop_on_signals();
    while (!fatal) {
      if (stop_requested() && !eof) {
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
    producer.drain();
    return (fatal || producer.errors() > 0) ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "ERROR " << e.what() << "\n";
    return 1;
  }
}

}  // namespace flotilla::tools
