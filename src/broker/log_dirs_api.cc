// DescribeLogDirs (key 35, v0-4) and AlterReplicaLogDirs (key 34, v0-2).
//
// DescribeLogDirs: for every directory of log.dirs, its
// partition logs and their sizes, and (v4+) the file system's total and
// usable bytes, as Kafka's ReplicaManager.describeLogDirs answers.
//
// A dir taken offline by an I/O error (KIP-858) answers KAFKA_STORAGE_ERROR
// and no partitions, as Kafka's "Log directory ... is offline".
//
// The partitions listed are this broker's replicas (each Partition's log
// lives in one log dir: the parent of its directory); the metadata log is the
// Raft layer's, not a partition log, so it is not listed, as in Kafka.
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "broker/api_util.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"

namespace flotilla::broker {

namespace {

// A directory's absolute form, as Kafka reports it (Path.toAbsolutePath:
// made absolute, not resolved through links); "a/b/" and "a/b" are one dir.
std::string absolute_dir(const std::filesystem::path& p) {
  std::filesystem::path a = std::filesystem::absolute(p).lexically_normal();
  std::string s = a.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Kafka clamps FileStore sizes that overflow a signed long to Long.MAX_VALUE.
int64_t clamp_bytes(unsigned long long blocks, unsigned long long block_size) {
  if (block_size != 0 && blocks > static_cast<unsigned long long>(INT64_MAX) / block_size) return INT64_MAX;
  return static_cast<int64_t>(blocks * block_size);
}

}  // namespace

void RequestHandler::handle_describe_log_dirs(std::shared_ptr<net::Request> req, net::Respond respond) {
  msg::DescribeLogDirsRequest request;
  if (!api::decode(*req, request)) return api::close_connection(respond);
  // DESCRIBE on the cluster, else an empty answer with the error (v3+ carry it).
  if (ErrorCode e = authorize_cluster(authz(*req), AclOperation::DESCRIBE); e != ErrorCode::NONE) {
    msg::DescribeLogDirsResponse refused;
    refused.error_code = code(e);
    return api::send(*req, respond, refused);
  }

  // Null Topics means every partition this broker has a log for.
  std::set<std::pair<std::string, int32_t>> wanted;
  const bool all = !request.topics.has_value();
  if (!all)
    for (const auto& t : *request.topics)
      for (int32_t p : t.partitions) wanted.emplace(t.topic, p);

  // dir -> topic -> (partition, future) -> (size, offset lag). Sorted, so the answer is stable.
  std::map<std::string, std::map<std::string, std::map<std::pair<int32_t, bool>, std::pair<int64_t, int64_t>>>> by_dir;
  for (Partition* p : replicas_.partitions()) {
    if (!p || !p->log || p->offline) continue;
    if (!all && !wanted.count({p->topic, p->index})) continue;
    by_dir[absolute_dir(p->log->dir().parent_path())][p->topic][{p->index, false}] = {p->log->size_bytes(), 0};
    // A replica being moved (AlterReplicaLogDirs): its future log, lagging the current one.
    if (const storage::Log* f = replicas_.logs().future(p->topic, p->index))
      by_dir[absolute_dir(f->dir().parent_path())][p->topic][{p->index, true}] = {
          f->size_bytes(), std::max<int64_t>(0, p->log->log_end_offset() - f->log_end_offset())};
  }

  msg::DescribeLogDirsResponse resp;
  std::set<std::string> seen;
  for (const auto& configured : config_.log_dirs) {
    std::string dir = absolute_dir(configured);
    if (!seen.insert(dir).second) continue;  // Kafka answers per distinct dir
    msg::DescribeLogDirsResponse::DescribeLogDirsResult result;
    result.log_dir = dir;
    struct statvfs st{};
    if (replicas_.logs().is_offline(configured) || ::statvfs(dir.c_str(), &st) != 0) {
      // The directory cannot be read: Kafka reports an offline dir this way.
      result.error_code = code(ErrorCode::KAFKA_STORAGE_ERROR);
      resp.results.push_back(std::move(result));
      continue;
    }
    result.total_bytes = clamp_bytes(st.f_blocks, st.f_frsize);
    result.usable_bytes = clamp_bytes(st.f_bavail, st.f_frsize);
    if (auto it = by_dir.find(dir); it != by_dir.end()) {
      for (const auto& [topic, parts] : it->second) {
        msg::DescribeLogDirsResponse::DescribeLogDirsTopic t;
        t.name = topic;
        for (const auto& [key, size_lag] : parts) {
          msg::DescribeLogDirsResponse::DescribeLogDirsPartition dp;
          dp.partition_index = key.first;
          dp.partition_size = size_lag.first;
          // Kafka: max(high watermark - log end offset, 0) for a current log
          // (always 0), the current log's end minus the future's for a future one.
          dp.offset_lag = size_lag.second;
          dp.is_future_key = key.second;
          t.partitions.push_back(dp);
        }
        result.topics.push_back(std::move(t));
      }
    }
    resp.results.push_back(std::move(result));
  }
  api::send(*req, respond, resp);
}

// AlterReplicaLogDirs (key 34, v0-2): ALTER on the cluster, else every
// partition gets CLUSTER_AUTHORIZATION_FAILED; each partition's move is
// ReplicaManager::alter_replica_log_dir's (answered when started, not done).
void RequestHandler::handle_alter_replica_log_dirs(std::shared_ptr<net::Request> req, net::Respond respond) {
  msg::AlterReplicaLogDirsRequest request;
  if (!api::decode(*req, request)) return api::close_connection(respond);
  const ErrorCode refused = authorize_cluster(authz(*req), AclOperation::ALTER);
  // Results by topic, in request order (a topic named under two dirs answers once per partition).
  msg::AlterReplicaLogDirsResponse resp;
  std::map<std::string, size_t> topic_at;
  for (const auto& d : request.dirs) {
    for (const auto& t : d.topics) {
      auto [it, added] = topic_at.emplace(t.name, resp.results.size());
      if (added) {
        msg::AlterReplicaLogDirsResponse::AlterReplicaLogDirTopicResult tr;
        tr.topic_name = t.name;
        resp.results.push_back(std::move(tr));
      }
      for (int32_t p : t.partitions) {
        msg::AlterReplicaLogDirsResponse::AlterReplicaLogDirPartitionResult pr;
        pr.partition_index = p;
        pr.error_code = code(refused != ErrorCode::NONE ? refused : replicas_.alter_replica_log_dir(t.name, p, d.path));
        resp.results[it->second].partitions.push_back(pr);
      }
    }
  }
  api::send(*req, respond, resp);
}

}  // namespace flotilla::broker
