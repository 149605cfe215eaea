// Issue 21 in net/: the request memory pool (queued.max.request.bytes:
// accounting, frame growth, the partial share, the per-connection
// allowance), Kafka's connection quotas (max.connections, per ip, creation
// rate), connections.max.idle.ms, and an accept loop that survives EMFILE.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/metrics.h"
#include "net/connection_quotas.h"
#include "net/memory_pool.h"
#include "net/server.h"
#include "net/socket_server_metrics.h"

using namespace flotilla;
using namespace flotilla::net;
using asio::ip::tcp;

namespace {

constexpr int64_t KiB = 1024, MiB = 1024 * 1024;

// Echoes the body of api key 1.
class EchoHandler : public Handler {
 public:
  int request_header_version(int16_t key, int16_t) const override { return key == 1 ? 1 : -1; }
  void handle(std::shared_ptr<Request> req, Respond respond) override {
    ByteReader body = req->body();
    Response r;
    r.body.put_bytes(body.get_span(body.remaining()));
    respond(std::move(r));
  }
};

struct Server {
  asio::io_context io;
  EchoHandler handler;
  std::unique_ptr<Listener> listener;
  std::thread thread;
  explicit Server(Limits l) {
    listener = std::make_unique<Listener>(io, "PLAINTEXT", "127.0.0.1", 0, handler, l);
    listener->start();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~Server() {
    asio::post(io, [this] {
      listener->stop();
      io.stop();
    });
    thread.join();
  }
  tcp::endpoint ep() const { return {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(listener->port())}; }
};

std::vector<uint8_t> frame(int32_t corr, size_t body_size) {
  ByteWriter w;
  w.put_i32(0);
  w.put_i16(1);
  w.put_i16(0);
  w.put_i32(corr);
  w.put_i16(-1);
  for (size_t i = 0; i < body_size; ++i) w.put_u8(static_cast<uint8_t>(i * 7));
  w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
  return w.buffer();
}

// The response's body size (correlation id checked), or -1 when the server closed.
int64_t read_response(tcp::socket& s, int32_t corr) {
  uint8_t sz[4];
  asio::error_code ec;
  asio::read(s, asio::buffer(sz, 4), ec);
  if (ec) return -1;
  std::vector<uint8_t> body(load_be32(sz));
  asio::read(s, asio::buffer(body), ec);
  if (ec || body.size() < 4 || static_cast<int32_t>(load_be32(body.data())) != corr) return -1;
  return static_cast<int64_t>(body.size()) - 4;
}

// True when the server closes `s` within `ms` (EOF or reset).
bool closed_within(tcp::socket& s, int ms) {
  s.non_blocking(true);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    uint8_t b;
    asio::error_code ec;
    s.read_some(asio::buffer(&b, 1), ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      s.non_blocking(false);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s.non_blocking(false);
  return false;
}

template <typename F>
bool eventually(F f, int ms = 2000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

std::shared_ptr<std::atomic<int64_t>> counter() { return std::make_shared<std::atomic<int64_t>>(0); }

}  // namespace

TEST(MemoryPool, ChargesWithinCapacityAndReleases) {
  auto pool = std::make_shared<MemoryPool>(1 * MiB);
  auto held = counter();
  {
    FrameLease a(pool, held, 512 * KiB);
    EXPECT_EQ(a.next_capacity(0), 64 * KiB);
    EXPECT_EQ(a.next_capacity(64 * KiB), 512 * KiB);  // a small frame: its whole size next
    ASSERT_TRUE(a.grow(512 * KiB));
    FrameLease b(pool, counter(), 768 * KiB);
    EXPECT_TRUE(b.grow(256 * KiB));
    EXPECT_EQ(pool->used(), 768 * KiB);
    EXPECT_FALSE(b.grow(512 * KiB));  // over the capacity, beyond the allowance
    EXPECT_EQ(held->load(), 512 * KiB);
  }
  EXPECT_EQ(pool->used(), 0);
  EXPECT_EQ(held->load(), 0);
}

TEST(MemoryPool, AllowanceLetsAnIdleConnectionReadOneSmallChunk) {
  auto pool = std::make_shared<MemoryPool>(128 * KiB);
  FrameLease hog(pool, counter(), 128 * KiB);
  ASSERT_TRUE(hog.grow(128 * KiB));
  auto held = counter();
  FrameLease first(pool, held, 10 * KiB);
  EXPECT_TRUE(first.grow(10 * KiB));  // the pool is full, but this connection holds nothing else
  FrameLease second(pool, held, 10 * KiB);
  EXPECT_FALSE(second.grow(10 * KiB));  // its connection now holds the first
  FrameLease big(pool, counter(), 512 * KiB);
  EXPECT_TRUE(big.grow(64 * KiB));    // a first chunk is allowed too
  EXPECT_FALSE(big.grow(448 * KiB));  // the rest is not
  EXPECT_EQ(pool->used(), 128 * KiB + 10 * KiB + 64 * KiB);
}

TEST(MemoryPool, PartialLargeFramesShareHalfAndOneHoldsTheToken) {
  auto pool = std::make_shared<MemoryPool>(8 * MiB);  // share: 4 MiB
  FrameLease a(pool, counter(), 20 * MiB), b(pool, counter(), 20 * MiB), c(pool, counter(), 20 * MiB);
  EXPECT_EQ(a.next_capacity(2 * MiB), 4 * MiB);  // large frames double
  ASSERT_TRUE(a.grow(2 * MiB));
  ASSERT_TRUE(b.grow(2 * MiB));
  EXPECT_EQ(pool->large_partial(), 4 * MiB);
  EXPECT_TRUE(a.grow(1 * MiB));  // beyond the share: takes the token; its bytes leave the share
  EXPECT_TRUE(a.has_token());
  EXPECT_EQ(pool->large_partial(), 2 * MiB);
  EXPECT_TRUE(c.grow(2 * MiB));   // the share has room again
  EXPECT_FALSE(c.grow(1 * MiB));  // share full, token taken
  EXPECT_FALSE(a.grow(2 * MiB));  // 7 MiB used: the token's holder stays within the capacity
  a.complete();
  EXPECT_FALSE(a.has_token());
  EXPECT_TRUE(c.grow(1 * MiB));  // c takes the freed token
  std::atomic<int> woken{0};
  pool->add_waiter([&] { ++woken; });
  b.release();
  EXPECT_EQ(woken.load(), 1);
  a.release();
  c.release();
  EXPECT_EQ(pool->used(), 0);
  EXPECT_EQ(pool->large_partial(), 0);
}

TEST(MemoryPool, FramesLargerThanThePoolCannotBeRead) {
  MemoryPool pool(1 * MiB);
  EXPECT_EQ(pool.max_frame(), 1 * MiB);
  EXPECT_GT(MemoryPool(-1).max_frame(), int64_t{1} << 40);
}

TEST(ListenerMemory, PoolReturnsToZeroAfterRequests) {
  Limits l;
  l.pool = std::make_shared<MemoryPool>(16 * MiB);
  Server srv(l);
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(srv.ep());
  int32_t corr = 0;
  for (size_t size : {size_t{10}, size_t{70 * KiB}, size_t{900 * KiB}, size_t{3 * MiB}}) {
    asio::write(s, asio::buffer(frame(++corr, size)));
    EXPECT_EQ(read_response(s, corr), static_cast<int64_t>(size));
  }
  EXPECT_TRUE(eventually([&] { return l.pool->used() == 0; }));
  EXPECT_EQ(l.pool->large_partial(), 0);
}

TEST(ListenerMemory, FrameGrowsAsItsBytesArrive) {
  Limits l;
  l.pool = std::make_shared<MemoryPool>(64 * MiB);
  Server srv(l);
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(srv.ep());
  auto f = frame(1, 8 * MiB);
  asio::write(s, asio::buffer(f.data(), 100 * KiB));
  ASSERT_TRUE(eventually([&] { return l.pool->used() > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_LE(l.pool->used(), 256 * KiB);  // not the announced 8 MiB
  asio::write(s, asio::buffer(f.data() + 100 * KiB, f.size() - 100 * KiB));
  EXPECT_EQ(read_response(s, 1), 8 * MiB);
  EXPECT_TRUE(eventually([&] { return l.pool->used() == 0; }));
}

TEST(ListenerMemory, FrameLargerThanThePoolClosesTheConnection) {
  Limits l;
  l.max_request_bytes = 64 * MiB;
  l.pool = std::make_shared<MemoryPool>(1 * MiB);
  Server srv(l);
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(srv.ep());
  uint8_t size[4];
  store_be32(size, 2 * MiB);
  asio::write(s, asio::buffer(size, 4));
  EXPECT_TRUE(closed_within(s, 2000));
}

TEST(ListenerMemory, StalledLargeFramesDoNotStopSmallRequests) {
  Limits l;
  l.pool = std::make_shared<MemoryPool>(4 * MiB);  // share: 2 MiB
  Server srv(l);
  asio::io_context cio;
  std::vector<std::unique_ptr<tcp::socket>> slow;
  for (int i = 0; i < 6; ++i) {  // each announces 3 MiB and sends 1.5 MiB, then stalls
    slow.push_back(std::make_unique<tcp::socket>(cio));
    slow.back()->connect(srv.ep());
    auto f = frame(1, 3 * MiB);
    slow.back()->non_blocking(true);
    size_t sent = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (sent < 3 * MiB / 2 && std::chrono::steady_clock::now() < until) {  // the server stops reading: no blocking
      asio::error_code ec;
      sent += slow.back()->write_some(asio::buffer(f.data() + sent, 3 * MiB / 2 - sent), ec);
      if (ec) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LE(l.pool->used(), 4 * MiB + 6 * 64 * KiB);
  EXPECT_GT(l.pool->used(), 2 * MiB);  // the slow frames do hold memory
  EXPECT_LE(l.pool->large_partial(), 2 * MiB);
  // Another client's requests are still read and answered, small and up to 1 MiB.
  tcp::socket s(cio);
  s.connect(srv.ep());
  asio::write(s, asio::buffer(frame(7, 1000)));
  EXPECT_EQ(read_response(s, 7), 1000);
  asio::write(s, asio::buffer(frame(8, 60 * KiB)));
  EXPECT_EQ(read_response(s, 8), 60 * KiB);
  slow.clear();  // closing them gives everything back
  EXPECT_TRUE(eventually([&] { return l.pool->used() == 0 && l.pool->large_partial() == 0; }));
}

TEST(ConnectionQuotas, ParsesOverrides) {
  auto o = parse_ip_overrides("127.0.0.2:10, ::1:3,[::ffff:127.0.0.3]:0");
  EXPECT_EQ(o.at("127.0.0.2"), 10);
  EXPECT_EQ(o.at("::1"), 3);
  EXPECT_EQ(o.at("127.0.0.3"), 0);
  EXPECT_THROW(parse_ip_overrides("127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(parse_ip_overrides("127.0.0.1:x"), std::invalid_argument);
  EXPECT_THROW(parse_ip_overrides("127.0.0.1:-1"), std::invalid_argument);
}

TEST(ConnectionQuotas, CountsAndRates) {
  ConnectionLimits cl;
  cl.max_connections = 3;
  cl.max_connections_per_ip = 2;
  cl.per_ip_overrides["10.0.0.9"] = 5;
  cl.max_connection_creation_rate = 100;
  cl.listener_creation_rate["EXT"] = 2;
  cl.protected_listeners.insert("INTERNAL");
  ConnectionQuotas q(cl);
  using V = ConnectionQuotas::Verdict;
  EXPECT_EQ(q.on_accept("PLAIN", "10.0.0.1", 0), V::kAccepted);
  EXPECT_EQ(q.on_accept("PLAIN", "10.0.0.1", 0), V::kAccepted);
  EXPECT_EQ(q.on_accept("PLAIN", "10.0.0.1", 0), V::kTooManyForIp);
  EXPECT_EQ(q.on_accept("PLAIN", "10.0.0.9", 0), V::kAccepted);
  EXPECT_FALSE(q.may_accept("PLAIN"));  // max.connections
  EXPECT_TRUE(q.may_accept("INTERNAL"));  // protected
  EXPECT_EQ(q.on_accept("INTERNAL", "10.0.0.9", 0), V::kAccepted);
  q.on_close("PLAIN", "10.0.0.1");
  EXPECT_TRUE(q.may_accept("PLAIN"));
  EXPECT_EQ(q.total(), 2u);
  EXPECT_EQ(q.count_ip("10.0.0.9"), 2u);
  // listener.name.EXT.max.connection.creation.rate=2: a burst of two, then one per 500 ms.
  ConnectionQuotas r(cl);
  EXPECT_EQ(r.on_accept("EXT", "10.0.0.9", 1000), V::kAccepted);
  EXPECT_EQ(r.on_accept("EXT", "10.0.0.9", 1000), V::kAccepted);
  EXPECT_EQ(r.on_accept("EXT", "10.0.0.9", 1100), V::kRateExceeded);
  EXPECT_EQ(r.on_accept("EXT", "10.0.0.9", 1600), V::kAccepted);
}

TEST(ListenerLimits, ExcessConnectionsFromOneAddressAreClosed) {
  ConnectionLimits cl;
  cl.max_connections_per_ip = 2;
  cl.per_ip_overrides["127.0.0.2"] = 3;
  Limits l;
  l.quotas = std::make_shared<ConnectionQuotas>(cl);
  Server srv(l);
  asio::io_context cio;
  auto connect_from = [&](const char* ip) {
    auto s = std::make_unique<tcp::socket>(cio);
    s->open(tcp::v4());
    s->bind(tcp::endpoint(asio::ip::make_address(ip), 0));
    s->connect(srv.ep());
    return s;
  };
  auto a = connect_from("127.0.0.1"), b = connect_from("127.0.0.1"), c = connect_from("127.0.0.1");
  EXPECT_TRUE(closed_within(*c, 2000));
  for (auto* s : {a.get(), b.get()}) {
    asio::write(*s, asio::buffer(frame(3, 10)));
    EXPECT_EQ(read_response(*s, 3), 10);
  }
  std::vector<std::unique_ptr<tcp::socket>> other;
  for (int i = 0; i < 4; ++i) other.push_back(connect_from("127.0.0.2"));
  EXPECT_TRUE(closed_within(*other[3], 2000));
  for (int i = 0; i < 3; ++i) {
    asio::write(*other[i], asio::buffer(frame(4, 5)));
    EXPECT_EQ(read_response(*other[i], 4), 5);
  }
  // A closed connection frees its place.
  a.reset();
  EXPECT_TRUE(eventually([&] { return l.quotas->count_ip("127.0.0.1") == 1; }));
  auto d = connect_from("127.0.0.1");
  asio::write(*d, asio::buffer(frame(5, 1)));
  EXPECT_EQ(read_response(*d, 5), 1);
}

TEST(ListenerLimits, CreationRateRefusesTheExcess) {
  ConnectionLimits cl;
  cl.max_connection_creation_rate = 5;
  Limits l;
  l.quotas = std::make_shared<ConnectionQuotas>(cl);
  Server srv(l);
  asio::io_context cio;
  std::vector<std::unique_ptr<tcp::socket>> socks;
  for (int i = 0; i < 20; ++i) {
    socks.push_back(std::make_unique<tcp::socket>(cio));
    socks.back()->connect(srv.ep());
  }
  int served = 0, refused = 0;
  for (auto& s : socks) {
    asio::error_code ec;
    asio::write(*s, asio::buffer(frame(9, 3)), ec);
    if (read_response(*s, 9) == 3) ++served;
    else ++refused;
  }
  EXPECT_GE(served, 5);
  EXPECT_LE(served, 8);
  EXPECT_EQ(served + refused, 20);
}

TEST(ListenerLimits, MaxConnectionsStopsAcceptingUntilOneCloses) {
  ConnectionLimits cl;
  cl.listener_max_connections["PLAINTEXT"] = 2;
  Limits l;
  l.quotas = std::make_shared<ConnectionQuotas>(cl);
  Server srv(l);
  asio::io_context cio;
  auto a = std::make_unique<tcp::socket>(cio);
  tcp::socket b(cio), c(cio);
  a->connect(srv.ep());
  b.connect(srv.ep());
  ASSERT_TRUE(eventually([&] { return l.quotas->count("PLAINTEXT") == 2; }));
  c.connect(srv.ep());  // the kernel's backlog takes it; the listener does not accept it yet
  asio::write(c, asio::buffer(frame(1, 4)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(l.quotas->count("PLAINTEXT"), 2u);
  c.non_blocking(true);
  uint8_t byte;
  asio::error_code ec;
  c.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::would_block);  // no answer yet
  c.non_blocking(false);
  a.reset();
  EXPECT_EQ(read_response(c, 1), 4);
}

TEST(ListenerLimits, IdleConnectionsAreClosed) {
  Limits l;
  l.connections_max_idle_ms = 300;
  Server srv(l);
  asio::io_context cio;
  tcp::socket idle(cio), busy(cio);
  idle.connect(srv.ep());
  busy.connect(srv.ep());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {  // 600 ms of requests, one every 60 ms
    asio::write(busy, asio::buffer(frame(i, 2)));
    ASSERT_EQ(read_response(busy, i), 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  EXPECT_TRUE(closed_within(idle, 1000));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  asio::write(busy, asio::buffer(frame(11, 2)));
  EXPECT_EQ(read_response(busy, 11), 2);  // the busy one lives
  EXPECT_TRUE(closed_within(busy, 1500));  // until it too goes quiet
}

// With no descriptor left, accept fails (EMFILE): the listener backs off and
// accepts again once descriptors are free, instead of spinning or dying.
TEST(ListenerLimits, AcceptSurvivesRunningOutOfDescriptors) {
  Server srv(Limits{});
  asio::io_context cio;
  std::vector<std::unique_ptr<tcp::socket>> socks;
  for (int i = 0; i < 3; ++i) {
    socks.push_back(std::make_unique<tcp::socket>(cio));
    socks.back()->open(tcp::v4());  // the descriptors exist before the limit drops
  }
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);  // no new descriptor can be made
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (auto& s : socks) s->connect(srv.ep());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // accept fails meanwhile
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  for (size_t i = 0; i < socks.size(); ++i) {
    asio::write(*socks[i], asio::buffer(frame(static_cast<int32_t>(i), 6)));
    EXPECT_EQ(read_response(*socks[i], static_cast<int32_t>(i)), 6);
  }
}

TEST(SocketServerMetrics, GaugesFollowThePoolAndTheCounts) {
  if (!metrics::kEnabled) GTEST_SKIP() << "metrics compiled out";
  auto pool = std::make_shared<MemoryPool>(1 * MiB);
  ConnectionLimits cl;
  auto quotas = std::make_shared<ConnectionQuotas>(cl);
  FrameLease lease(pool, counter(), 1000);
  ASSERT_TRUE(lease.grow(1000));
  ASSERT_EQ(quotas->on_accept("EXTERNAL", "10.1.1.1", 0), ConnectionQuotas::Verdict::kAccepted);
  std::string out;
  {
    SocketServerMetrics m(pool, quotas, {"EXTERNAL"});
    metrics::global().render(out);
  }
  EXPECT_NE(out.find("kafka_network_socketserver_memorypoolused 1000\n"), std::string::npos) << out;
  EXPECT_NE(out.find("kafka_network_socketserver_memorypoolavailable " + std::to_string(MiB - 1000) + "\n"), std::string::npos);
  EXPECT_NE(out.find("kafka_server_socket_server_metrics_connections{listener=\"EXTERNAL\"} 1\n"), std::string::npos);
  std::string after;
  metrics::global().render(after);
  EXPECT_EQ(after.find("memorypoolused"), std::string::npos);  // the registration ended with the object
}
