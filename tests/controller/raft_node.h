// One controller node over a real single-voter RaftDriver on a temp dir,
// with a loader as a broker would have it, and the io_context run by the test
// (raft/test_io.h's run_until): the controller as it runs in a node, for the
// controller's tests and for the server's tests that drive a broker against it.
#pragma once

#include <gtest/gtest.h>

#include <asio.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/quorum_controller.h"
#include "controller/requests.h"
#include "metadata/loader.h"
#include "raft/driver.h"
#include "raft/test_io.h"

namespace flotilla::controller::testing {

using raft::testing::run_until;
using raft::testing::temp_dir;

struct RaftControllerNode {
  std::filesystem::path dir;
  asio::io_context io;
  std::unique_ptr<raft::RaftDriver> raft;
  std::unique_ptr<metadata::MetadataLoader> loader;
  std::unique_ptr<QuorumController> controller;

  // Node 1, the only voter of cluster "cluster"; with `start_raft`, active on return.
  explicit RaftControllerNode(std::filesystem::path d, ControllerConfig cc = {}, bool start_raft = true) : dir(std::move(d)) {
    raft::RaftConfig rc;
    rc.node_id = 1;
    rc.voters = {1};
    rc.cluster_id = "cluster";
    rc.random_seed = 3;
    raft = std::make_unique<raft::RaftDriver>(io, rc, raft::RaftDriver::open_metadata_log(dir), dir);
    loader = std::make_unique<metadata::MetadataLoader>("cluster");
    raft->register_listener(loader.get());
    cc.node_id = 1;
    cc.cluster_id = "cluster";
    if (cc.metadata_log_dir.empty()) cc.metadata_log_dir = dir.string();
    if (!cc.random_seed) cc.random_seed = 7;
    controller = std::make_unique<QuorumController>(io, *raft, cc);
    controller->start();
    if (start_raft) {
      raft->start();
      EXPECT_TRUE(run_until(io, [&] { return controller->is_active(); }));
    }
  }
  ~RaftControllerNode() {
    if (controller) controller->shutdown();
    if (raft) raft->shutdown();
  }

  template <class Resp, class F>
  Resp call(F f) {
    std::optional<Resp> out;
    f([&](Resp r) { out = std::move(r); });
    EXPECT_TRUE(run_until(io, [&] { return out.has_value(); }));
    return out.value_or(Resp{});
  }

  msg::BrokerRegistrationResponse register_broker(int32_t id, Uuid incarnation = Uuid::random()) {
    auto r = registration(id, std::string(), incarnation);  // rack "": the request's default
    return call<msg::BrokerRegistrationResponse>([&](auto done) { controller->register_broker(r, 4, done); });
  }

  msg::BrokerHeartbeatResponse heartbeat(int32_t id, int64_t epoch, int64_t offset, bool want_fence = false, bool shut_down = false) {
    auto h = heartbeat_request(id, epoch, offset, want_fence, shut_down);
    return call<msg::BrokerHeartbeatResponse>([&](auto done) { controller->broker_heartbeat(h, 1, done); });
  }

  // Registers and unfences broker `id`; returns its epoch.
  int64_t live_broker(int32_t id) {
    auto r = register_broker(id);
    EXPECT_EQ(r.error_code, 0);
    auto h = heartbeat(id, r.broker_epoch, raft->high_watermark());
    EXPECT_EQ(h.error_code, 0);
    EXPECT_FALSE(h.is_fenced);
    EXPECT_TRUE(h.is_caught_up);
    return r.broker_epoch;
  }

  msg::CreateTopicsResponse create(const std::string& name, int32_t partitions, int16_t rf, int16_t version = 7,
                                   std::vector<std::pair<std::string, std::string>> configs = {}, bool validate_only = false) {
    auto req = create_topic_request(name, partitions, rf, configs);
    req.validate_only = validate_only;
    return call<msg::CreateTopicsResponse>([&](auto done) { controller->create_topics(req, version, done); });
  }
};

}  // namespace flotilla::controller::testing
