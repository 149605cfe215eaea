// The console (GET / and /console/...): plain pages that poll JSON
// endpoints under /console/api/ and redraw.
//
//   /, /console, /console/{quorum,brokers,topics,log,snapshots}  the page (one
//       HTML shell; console.js draws the page its path names)
//   /console/static/<file>        the embedded assets (console_assets.h)
//   /console/api/quorum           Raft status, voters/observers with lag, the
//                                 leader history seen by polling and the
//                                 LEADER_CHANGE control records of the log
//   /console/api/brokers          registrations from the image
//   /console/api/topics           partitions (leader, replicas, ISR, ELR,
//                                 offline / under-replicated) with end offsets
//   /console/api/groups           consumer groups with lag
//   /console/api/log?type=&before=&limit=   the metadata-log timeline
//   /console/api/snapshots        snapshot files with sizes and offsets
//   /console/api/snapshots/diff?from=&to=   metadata-diff of two snapshots
//                                 ("current": the node's published image)
//
// Threading: handlers run on HTTP workers and read NodeView's snapshots
// (image(), raft_status()) and files on disk; live numbers come through
// kafka_call (console_kafka.h). The shared state (ConsoleState) is guarded by
// its own mutexes, never held across a kafka_call.
#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "http/console_assets.h"
#include "http/console_kafka.h"
#include "http/console_log.h"
#include "http/routes.h"
#include "metadata/image_diff.h"
#include "metadata/image_files.h"
#include "raft/snapshot.h"

namespace flotilla::http {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What the console remembers between polls.
struct ConsoleState {
  explicit ConsoleState(const std::string& partition_dir) : timeline(partition_dir) {}

  MetadataLogTimeline timeline;

  // Leader changes seen by polling raft_status() (bounded).
  static constexpr size_t kMaxHistory = 200;
  std::mutex history_mu;
  std::deque<ordered_json> history;
  void observe(const RaftStatus& s) {
    std::lock_guard lock(history_mu);
    if (!history.empty() && history.back()["leaderId"] == s.leader_id && history.back()["epoch"] == s.epoch) return;
    history.push_back({{"time", now_ms()}, {"leaderId", s.leader_id}, {"epoch", s.epoch}});
    while (history.size() > kMaxHistory) history.pop_front();
  }

  // Snapshot files' LastContainedLogTimestamp by name (a file never changes;
  // only listed files are kept).
  std::mutex stamps_mu;
  std::map<std::string, int64_t> stamps;

  // Snapshot images by file name (bounded: images can be large).
  static constexpr size_t kMaxImages = 4;
  std::mutex images_mu;
  std::deque<std::pair<std::string, std::shared_ptr<const metadata::MetadataImage>>> images;
  std::shared_ptr<const metadata::MetadataImage> snapshot_image(const fs::path& file) {
    std::string key = file.filename().string();
    {
      std::lock_guard lock(images_mu);
      for (const auto& [k, img] : images)
        if (k == key) return img;
    }
    auto img = metadata::load_metadata_image(file.string());  // outside the lock: reads the file
    std::lock_guard lock(images_mu);
    images.emplace_back(key, img);
    while (images.size() > kMaxImages) images.pop_front();
    return img;
  }
};

void send_json(HttpResponse& resp, const ordered_json& j) {
  resp.content_type = "application/json";
  resp.headers.emplace_back("Cache-Control", "no-store");
  resp.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_error(HttpResponse& resp, int status, const std::string& message) {
  resp.status = status;
  send_json(resp, {{"error_code", status}, {"message", message}});
}

std::string content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

void send_asset(HttpResponse& resp, const std::string& name) {
  const ConsoleAsset* a = find_console_asset(name);
  if (!a) return send_error(resp, 404, "HTTP 404 Not Found");
  resp.content_type = content_type_of(name);
  resp.body.assign(a->content);
  resp.headers.emplace_back("Cache-Control", "no-cache");
}

ordered_json replica_json(const RaftReplicaStatus& r, int64_t leader_leo) {
  ordered_json j = {{"replicaId", r.replica_id},
                    {"directoryId", r.directory_id},
                    {"logEndOffset", r.log_end_offset},
                    {"lag", nullptr},
                    {"lastFetchTimestamp", r.last_fetch_timestamp},
                    {"lastCaughtUpTimestamp", r.last_caught_up_timestamp}};
  if (r.log_end_offset >= 0 && leader_leo >= 0) j["lag"] = std::max<int64_t>(0, leader_leo - r.log_end_offset);
  return j;
}

ordered_json node_json(NodeView& node) {
  ordered_json roles = ordered_json::array();
  if (node.broker_role()) roles.push_back("broker");
  if (node.controller_role()) roles.push_back("controller");
  return {{"nodeId", node.node_id()}, {"clusterId", node.cluster_id()}, {"roles", roles}, {"now", now_ms()}};
}

void quorum(NodeView& node, ConsoleState& st, const HttpRequest& req, HttpResponse& resp) {
  RaftStatus s = node.raft_status();
  st.observe(s);
  ordered_json j = node_json(node);
  // Replica states are known only on the leader: elsewhere ask it (DescribeQuorum).
  std::vector<RaftReplicaStatus> voters_src = s.voters, observers_src = s.observers;
  std::string source = "this node's Raft status";
  bool known = std::any_of(s.voters.begin(), s.voters.end(), [](const auto& v) { return v.log_end_offset >= 0; });
  if (!known) {
    auto image = node.image();
    if (auto dq = console_describe_quorum(node, req, image.get())) {
      voters_src = dq->voters;
      observers_src = dq->observers;
      source = "DescribeQuorum (leader " + std::to_string(dq->leader_id) + ")";
    }
  }
  j["replicaSource"] = source;
  // Lags are measured against the leader's log end offset (as kafka-metadata-quorum does).
  int64_t leader_leo = -1;
  for (const auto& v : voters_src)
    if (v.replica_id == s.leader_id) leader_leo = v.log_end_offset;
  ordered_json voters = ordered_json::array(), observers = ordered_json::array();
  for (const auto& v : voters_src) voters.push_back(replica_json(v, leader_leo));
  for (const auto& o : observers_src) observers.push_back(replica_json(o, leader_leo));
  j["raft"] = {{"state", s.state},         {"leaderId", s.leader_id},         {"epoch", s.epoch},
               {"votedId", s.voted_id},     {"highWatermark", s.high_watermark}, {"logEndOffset", s.log_end_offset},
               {"logStartOffset", s.log_start_offset}, {"voters", voters},   {"observers", observers}};
  {
    std::lock_guard lock(st.history_mu);
    ordered_json history = ordered_json::array();
    for (const auto& h : st.history) history.push_back(h);
    j["history"] = history;
  }
  st.timeline.refresh();
  auto page = st.timeline.query({"LEADER_CHANGE"}, -1, 50);
  ordered_json elections = ordered_json::array();
  for (const auto& e : page.entries)
    elections.push_back({{"offset", e.offset}, {"epoch", e.epoch}, {"time", e.timestamp}, {"data", e.data}});
  j["elections"] = elections;
  send_json(resp, j);
}

ordered_json listeners_json(const std::vector<metadata::BrokerEndpoint>& ls) {
  static const char* kProtocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
  ordered_json out = ordered_json::array();
  for (const auto& l : ls)
    out.push_back({{"name", l.name},
                   {"host", l.host},
                   {"port", l.port},
                   {"securityProtocol", l.security_protocol >= 0 && l.security_protocol < 4
                                            ? std::string(kProtocols[l.security_protocol])
                                            : std::to_string(l.security_protocol)}});
  return out;
}

void brokers(NodeView& node, HttpResponse& resp) {
  ordered_json j = node_json(node);
  auto image = node.image();
  ordered_json bs = ordered_json::array(), cs = ordered_json::array();
  if (image) {
    for (const auto& [id, b] : image->brokers()) {
      std::string state = b.fenced ? "fenced" : b.in_controlled_shutdown ? "controlled shutdown" : "registered";
      bs.push_back({{"id", id},
                    {"state", state},
                    {"fenced", b.fenced},
                    {"inControlledShutdown", b.in_controlled_shutdown},
                    {"epoch", b.epoch},
                    {"incarnationId", b.incarnation_id.to_string()},
                    {"rack", b.rack ? ordered_json(*b.rack) : ordered_json(nullptr)},
                    {"listeners", listeners_json(b.listeners)}});
    }
    for (const auto& [id, c] : image->controllers())
      cs.push_back({{"id", id}, {"incarnationId", c.incarnation_id.to_string()}, {"listeners", listeners_json(c.listeners)}});
    j["metadataOffset"] = image->offset();
  }
  j["brokers"] = bs;
  j["controllers"] = cs;
  send_json(resp, j);
}

void topics(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  ordered_json j = node_json(node);
  auto image = node.image();
  ordered_json ts = ordered_json::array();
  size_t offline = 0, under = 0;
  if (image) {
    auto ends = console_end_offsets(node, req, *image);
    for (const auto& [name, t] : image->topics_by_name()) {
      ordered_json ps = ordered_json::array();
      for (const auto& [index, p] : t.partitions) {
        const auto* leader = image->broker(p.leader);
        bool is_offline = p.leader < 0 || !leader || leader->fenced;
        bool is_under = p.isr.size() < p.replicas.size();
        offline += is_offline;
        under += is_under;
        auto e = ends.find({name, index});
        ps.push_back({{"partition", index},
                      {"leader", p.leader},
                      {"leaderEpoch", p.leader_epoch},
                      {"replicas", p.replicas},
                      {"isr", p.isr},
                      {"elr", p.elr},
                      {"lastKnownElr", p.last_known_elr},
                      {"offline", is_offline},
                      {"underReplicated", is_under},
                      {"logEndOffset", e == ends.end() ? ordered_json(nullptr) : ordered_json(e->second)}});
      }
      ts.push_back({{"name", name}, {"id", t.id.to_string()}, {"partitions", ps}});
    }
    j["metadataOffset"] = image->offset();
  }
  j["offlinePartitions"] = offline;
  j["underReplicatedPartitions"] = under;
  j["topics"] = ts;
  send_json(resp, j);
}

void groups(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  ordered_json j = node_json(node);
  auto image = node.image();
  j["groups"] = ordered_json::array();
  if (image) {
    auto ends = console_end_offsets(node, req, *image);
    j["groups"] = console_groups(node, req, *image, ends);
  }
  send_json(resp, j);
}

// A query parameter as a number within [lo, hi]; `def` when absent; nullopt when malformed.
std::optional<int64_t> int_param(const HttpRequest& req, const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  auto v = req.query_param(key);
  if (!v || v->empty()) return def;
  try {
    size_t used = 0;
    long long x = std::stoll(*v, &used);
    if (used != v->size() || x < lo || x > hi) return std::nullopt;
    return x;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void log_page(ConsoleState& st, NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  auto limit = int_param(req, "limit", 200, 1, 1000);
  auto before = int_param(req, "before", -1, -1, INT64_MAX);
  if (!limit || !before) return send_error(resp, 400, "limit must be 1..1000 and before an offset");
  std::set<std::string> types;
  if (auto t = req.query_param("type")) {
    std::stringstream ss(*t);
    for (std::string one; std::getline(ss, one, ',');)
      if (!one.empty()) types.insert(one);
  }
  st.timeline.refresh();
  auto page = st.timeline.query(types, *before, static_cast<size_t>(*limit));
  ordered_json j = node_json(node);
  ordered_json entries = ordered_json::array();
  for (const auto& e : page.entries)
    entries.push_back({{"offset", e.offset}, {"batch", e.batch}, {"epoch", e.epoch}, {"time", e.timestamp}, {"type", e.type}, {"control", e.control},
                       {"data", e.data}});
  j["entries"] = entries;
  j["nextBefore"] = page.next_before;
  j["cachedFrom"] = page.cached_from;
  j["cachedTo"] = page.cached_to;
  j["nextOffset"] = page.next_offset;
  j["counts"] = page.counts;
  ordered_json names = ordered_json::object();  // PartitionChangeRecords name topics by id
  if (auto image = node.image())
    for (const auto& [name, t] : image->topics_by_name()) names[t.id.to_string()] = name;
  j["topicNames"] = names;
  send_json(resp, j);
}

struct SnapshotFile {
  raft::SnapshotId id;
  fs::path path;
};

std::vector<SnapshotFile> list_snapshot_files(const std::string& dir) {
  std::vector<SnapshotFile> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& id : raft::list_snapshots(dir)) out.push_back({id, fs::path(dir) / raft::snapshot_file_name(id)});
  return out;
}

void snapshots(NodeView& node, ConsoleState& st, HttpResponse& resp) {
  ordered_json j = node_json(node);
  ordered_json list = ordered_json::array();
  auto files = list_snapshot_files(node.metadata_partition_dir());
  std::map<std::string, int64_t> stamps;
  {
    std::lock_guard lock(st.stamps_mu);
    stamps = st.stamps;
  }
  std::map<std::string, int64_t> listed;
  for (const auto& s : files) {
    std::error_code ec;
    auto size = fs::file_size(s.path, ec);
    if (ec) continue;  // deleted by the cleaner since listed
    ordered_json one = {{"file", s.path.filename().string()},
                        {"endOffset", s.id.end_offset},
                        {"epoch", s.id.epoch},
                        {"sizeBytes", size},
                        {"lastContainedLogTimestamp", nullptr}};
    std::string name = s.path.filename().string();
    auto known = stamps.find(name);
    if (known != stamps.end()) {
      listed[name] = known->second;
    } else {
      try {
        listed[name] = raft::read_snapshot_timestamp(s.path);
      } catch (const std::exception&) {
      }
    }
    if (listed.count(name)) one["lastContainedLogTimestamp"] = listed[name];
    list.push_back(std::move(one));
  }
  {
    std::lock_guard lock(st.stamps_mu);
    st.stamps = std::move(listed);
  }
  j["snapshots"] = list;
  auto image = node.image();
  j["current"] = image ? ordered_json{{"offset", image->offset()}, {"epoch", image->epoch()}} : ordered_json(nullptr);
  send_json(resp, j);
}

void snapshot_diff(NodeView& node, ConsoleState& st, const HttpRequest& req, HttpResponse& resp) {
  auto files = list_snapshot_files(node.metadata_partition_dir());
  // A name from the list (never a path the client made up), or "current".
  auto pick = [&](const std::string& key, std::optional<size_t> fallback, std::string& name)
      -> std::shared_ptr<const metadata::MetadataImage> {
    auto v = req.query_param(key);
    if (v && *v == "current") {
      name = "current";
      return node.image();
    }
    for (size_t i = 0; i < files.size(); ++i) {
      bool hit = v ? files[i].path.filename().string() == *v : fallback && *fallback == i;
      if (hit) {
        name = files[i].path.filename().string();
        return st.snapshot_image(files[i].path);
      }
    }
    return nullptr;
  };
  std::optional<size_t> def_from, def_to;
  if (files.size() >= 2) def_from = files.size() - 2, def_to = files.size() - 1;
  std::string from_name, to_name;
  std::shared_ptr<const metadata::MetadataImage> a, b;
  try {
    a = pick("from", def_from, from_name);
    b = pick("to", def_to, to_name);
  } catch (const std::exception& e) {
    return send_error(resp, 500, std::string("reading a snapshot failed: ") + e.what());
  }
  if (!a || !b) return send_error(resp, 404, "no such snapshot (choose from /console/api/snapshots, or \"current\")");
  ordered_json d = metadata::diff_images(*a, *b);
  ordered_json j = node_json(node);
  j["from"] = from_name;
  j["to"] = to_name;
  j["text"] = metadata::format_diff(d);
  j["diff"] = d;
  send_json(resp, j);
}

}  // namespace

void add_console_routes(Router& router, NodeView& node, const HttpOptions&) {
  auto st = std::make_shared<ConsoleState>(node.metadata_partition_dir());
  NodeView* n = &node;
  auto page = [](const HttpRequest&, HttpResponse& resp) { send_asset(resp, "index.html"); };
  router.get("/", page);
  router.get("/console/?", page);
  router.get("/console/(quorum|brokers|topics|log|snapshots)", page);
  router.get("/console/static/([A-Za-z0-9_.-]+)", [](const HttpRequest& req, HttpResponse& resp) { send_asset(resp, req.matches[1]); });
  router.get("/console/api/quorum", [n, st](const HttpRequest& req, HttpResponse& resp) { quorum(*n, *st, req, resp); });
  router.get("/console/api/brokers", [n, st](const HttpRequest&, HttpResponse& resp) {
    st->observe(n->raft_status());
    brokers(*n, resp);
  });
  router.get("/console/api/topics", [n](const HttpRequest& req, HttpResponse& resp) { topics(*n, req, resp); });
  router.get("/console/api/groups", [n](const HttpRequest& req, HttpResponse& resp) { groups(*n, req, resp); });
  router.get("/console/api/log", [n, st](const HttpRequest& req, HttpResponse& resp) { log_page(*st, *n, req, resp); });
  router.get("/console/api/snapshots", [n, st](const HttpRequest&, HttpResponse& resp) { snapshots(*n, *st, resp); });
  router.get("/console/api/snapshots/diff",
             [n, st](const HttpRequest& req, HttpResponse& resp) { snapshot_diff(*n, *st, req, resp); });
}

}  // namespace flotilla::http
