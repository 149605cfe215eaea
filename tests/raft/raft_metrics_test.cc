// Raft's sensors (raft/raft_metrics.h): Kafka's sampled windows for averages,
// maxima and rates, commit latency from append to high watermark, and
// election latency from the start of an election to a known leader.
#include "raft/raft_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flotilla::raft {
namespace {

TEST(WindowedStat, EmptyIsNaNAndRateZero) {
  WindowedStat s(2, 1000);
  EXPECT_TRUE(std::isnan(s.avg(0)));
  EXPECT_TRUE(std::isnan(s.max(0)));
  EXPECT_EQ(s.rate(0), 0);
}

TEST(WindowedStat, AveragesAndMaximaOverTheLiveWindowsOnly) {
  WindowedStat s(2, 1000);
  s.record(10, 0);
  s.record(30, 500);
  EXPECT_DOUBLE_EQ(s.avg(600), 20);
  EXPECT_DOUBLE_EQ(s.max(600), 30);
  s.record(2, 1200);  // a second window
  EXPECT_DOUBLE_EQ(s.avg(1300), 14);
  EXPECT_DOUBLE_EQ(s.max(1300), 30);
  // The first window (started at 0) expires 2 windows after its start.
  EXPECT_DOUBLE_EQ(s.avg(2000), 2);
  EXPECT_DOUBLE_EQ(s.max(2000), 2);
  EXPECT_TRUE(std::isnan(s.avg(3200)));
}

TEST(WindowedStat, RateIsTheSumPerSecondOverAtLeastOneWholeWindow) {
  WindowedStat s(2, 1000);
  s.record(100, 0);
  // The elapsed 500 ms plus the samples-1 = 1 whole window not yet elapsed: 100 / 1.5 s.
  EXPECT_NEAR(s.rate(500), 100 / 1.5, 1e-9);
  s.record(200, 1500);
  // 300 over the 1.8 s since the oldest window started.
  EXPECT_NEAR(s.rate(1800), 300 / 1.8, 1e-9);
  // Both windows gone: nothing.
  EXPECT_EQ(s.rate(10000), 0);
}

TEST(RaftSensors, CommitLatencyRunsFromTheAppendToTheHighWatermark) {
  RaftSensors r;
  PublishedRaftMetrics out;
  r.appended_as_leader(9, 10, 1000);
  r.appended_as_leader(19, 10, 1010);
  r.high_watermark(10, 1030);  // the first batch only
  r.publish(3, 0, 1030, out);
  EXPECT_DOUBLE_EQ(out.commit_latency_avg.load(), 30);
  r.high_watermark(20, 1060);
  r.publish(3, 1, 1060, out);
  EXPECT_DOUBLE_EQ(out.commit_latency_avg.load(), 40);  // (30 + 50) / 2
  EXPECT_DOUBLE_EQ(out.commit_latency_max.load(), 50);
  EXPECT_NEAR(out.append_records_rate.load(), 20 / 30.06, 1e-9);  // 20 records over 60 ms + one 30 s window
  EXPECT_EQ(out.log_end_epoch.load(), 3);
  EXPECT_EQ(out.number_unknown_voter_connections.load(), 1);
  EXPECT_TRUE(std::isnan(out.election_latency_avg.load()));
  // Batches of an old term are never measured.
  r.appended_as_leader(29, 10, 2000);
  r.leader_changed();
  r.high_watermark(30, 9000);
  r.publish(4, 0, 9000, out);
  EXPECT_DOUBLE_EQ(out.commit_latency_max.load(), 50);
}

TEST(RaftSensors, ElectionLatencyRunsFromTheElectionToAKnownLeader) {
  RaftSensors r;
  PublishedRaftMetrics out;
  r.role(false, true, 0);      // a follower: nothing
  r.role(true, false, 100);    // prospective
  r.role(true, false, 150);    // candidate: the same election
  r.role(false, false, 200);   // unattached, no leader yet
  r.role(false, true, 340);    // a leader is known
  r.publish(1, 0, 400, out);
  EXPECT_DOUBLE_EQ(out.election_latency_avg.load(), 240);
  EXPECT_DOUBLE_EQ(out.election_latency_max.load(), 240);
  r.fetched_as_follower(60, 400);
  r.publish(1, 0, 400, out);
  EXPECT_DOUBLE_EQ(out.fetch_records_rate.load(), 2);  // 60 over 0 ms + one 30 s window
}

}  // namespace
}  // namespace flotilla::raft
