#include "net/server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

using namespace flotilla;
using namespace flotilla::net;
using asio::ip::tcp;

namespace {

// Handler for tests: api key 1 answers at once with the body echoed; api key 2
// answers after a delay given in the body (ms), so responses finish out of
// order; api key 3 answers with a file region; others are unknown.
class TestHandler : public Handler {
 public:
  explicit TestHandler(asio::io_context& io) : io_(io) {}
  int request_header_version(int16_t key, int16_t) const override { return key >= 1 && key <= 3 ? 1 : -1; }
  void handle(std::shared_ptr<Request> req, Respond respond) override {
    ByteReader body = req->body();
    if (req->api_key == 2) {
      int32_t delay = body.get_i32();
      auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(delay));
      t->async_wait([t, req, respond, delay](const asio::error_code&) {
        Response r;
        r.body.put_i32(delay);
        respond(std::move(r));
      });
      return;
    }
    Response r;
    if (req->api_key == 3) {
      r.body.put_i32(7);
      Records rec;
      rec.is_null = false;
      rec.files.push_back(FileRegion{file_fd, 2, 5, nullptr});
      r.body.put_records_payload(rec);
      r.body.put_i32(9);
    } else {
      auto rest = body.get_span(body.remaining());
      r.body.put_bytes(rest);
    }
    respond(std::move(r));
  }
  int file_fd = -1;

 private:
  asio::io_context& io_;
};

struct Fixture {
  asio::io_context io;
  TestHandler handler{io};
  std::unique_ptr<Listener> listener;
  std::thread thread;
  Fixture() {
    Limits l;
    l.max_request_bytes = 1024;
    listener = std::make_unique<Listener>(io, "PLAINTEXT", "127.0.0.1", 0, handler, l);
    listener->start();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~Fixture() {
    asio::post(io, [this] {
      listener->stop();
      io.stop();
    });
    thread.join();
  }
};

std::vector<uint8_t> frame(int16_t key, int32_t corr, const std::vector<uint8_t>& body) {
  ByteWriter w;
  w.put_i32(0);
  w.put_i16(key);
  w.put_i16(0);
  w.put_i32(corr);
  w.put_i16(-1);  // null client id
  w.put_bytes(body.data(), body.size());
  w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
  return w.buffer();
}

std::vector<uint8_t> read_response(tcp::socket& s) {
  uint8_t sz[4];
  asio::read(s, asio::buffer(sz, 4));
  std::vector<uint8_t> body(load_be32(sz));
  asio::read(s, asio::buffer(body));
  return body;
}

}  // namespace

TEST(Listener, ResponsesLeaveInRequestOrder) {
  Fixture f;
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(f.listener->port())));
  // Three pipelined requests; the first finishes last.
  for (int32_t corr : {1, 2, 3}) {
    ByteWriter b;
    b.put_i32(corr == 1 ? 80 : (corr == 2 ? 40 : 0));
    asio::write(s, asio::buffer(frame(2, corr, b.buffer())));
  }
  for (int32_t corr : {1, 2, 3}) {
    auto r = read_response(s);
    ASSERT_EQ(r.size(), 8u);
    EXPECT_EQ(static_cast<int32_t>(load_be32(r.data())), corr);
  }
}

TEST(Listener, OversizedFrameClosesOnlyThatConnection) {
  Fixture f;
  asio::io_context cio;
  tcp::socket bad(cio), good(cio);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(f.listener->port()));
  bad.connect(ep);
  good.connect(ep);
  uint8_t huge[4];
  store_be32(huge, 1 << 20);  // > max_request_bytes (1024)
  asio::write(bad, asio::buffer(huge, 4));
  uint8_t b;
  asio::error_code ec;
  asio::read(bad, asio::buffer(&b, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  asio::write(good, asio::buffer(frame(1, 42, {1, 2, 3})));
  auto r = read_response(good);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(load_be32(r.data()), 42u);
  EXPECT_EQ(r[4], 1);
  EXPECT_EQ(r[6], 3);
}

TEST(Listener, UnknownApiKeyClosesConnection) {
  Fixture f;
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(f.listener->port())));
  asio::write(s, asio::buffer(frame(99, 1, {})));
  uint8_t b;
  asio::error_code ec;
  asio::read(s, asio::buffer(&b, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(Listener, NegativeSizeClosesConnection) {
  Fixture f;
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(f.listener->port())));
  uint8_t neg[4] = {0xff, 0xff, 0xff, 0xf0};
  asio::write(s, asio::buffer(neg, 4));
  uint8_t b;
  asio::error_code ec;
  asio::read(s, asio::buffer(&b, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(Listener, FileRegionsAreSpliced) {
  auto path = std::filesystem::temp_directory_path() / ("flotilla-net-" + std::to_string(::getpid()));
  {
    FILE* fp = fopen(path.c_str(), "w");
    fputs("0123456789", fp);
    fclose(fp);
  }
  Fixture f;
  f.handler.file_fd = ::open(path.c_str(), O_RDONLY);
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(f.listener->port())));
  asio::write(s, asio::buffer(frame(3, 5, {})));
  auto r = read_response(s);
  ASSERT_EQ(r.size(), 4u + 4 + 5 + 4);
  EXPECT_EQ(load_be32(r.data()), 5u);
  EXPECT_EQ(load_be32(r.data() + 4), 7u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(r.data() + 8), 5), "23456");
  EXPECT_EQ(load_be32(r.data() + 13), 9u);
  ::close(f.handler.file_fd);
  std::filesystem::remove(path);
}
