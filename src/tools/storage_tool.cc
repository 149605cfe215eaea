// `flotilla storage random-uuid` and `flotilla storage format` (Kafka's
// kafka-storage.sh): meta.properties in every log directory, the bootstrap
// checkpoint (metadata.version) in the metadata log directory and, for a
// dynamic quorum, the 0-0 snapshot with the initial voters.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "common/directory_id.h"
#include "common/clock.h"
#include "common/uuid.h"
#include "metadata/bootstrap.h"
#include "metadata/features.h"
#include "tools/storage_scram.h"
#include "raft/snapshot.h"
#include "server/config.h"
#include "storage/meta_properties.h"
#include "tools/commands.h"
#include "tools/storage_tool.h"

namespace flotilla::tools {

namespace fs = std::filesystem;

namespace {

class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "--feature name=level" arguments, by name (Kafka's StorageTool).
std::map<std::string, int16_t> parse_feature_levels(const std::vector<std::string>& args) {
  std::map<std::string, int16_t> out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos) throw FormatError("Can't parse feature=level string " + a + ": equals sign not found.");
    std::string name = a.substr(0, eq), value = a.substr(eq + 1);
    int level = -1;
    try {
      size_t used = 0;
      level = std::stoi(value, &used);
      if (used != value.size() || level < 0 || level > 32767) level = -1;
    } catch (const std::logic_error&) {
    }
    if (level < 0) throw FormatError("Can't parse feature=level string " + a + ": unable to parse " + value + " as a short.");
    out[name] = static_cast<int16_t>(level);
  }
  return out;
}

// Every named feature is known, within its supported range, and has the
// levels of the features it depends on (Kafka's calculateEffectiveFeatureLevels).
void check_feature_levels(const std::map<std::string, int16_t>& levels, bool dynamic_quorum) {
  std::string names;
  for (const auto& f : metadata::supported_features()) {
    if (std::string(f.name) == metadata::kMetadataVersionFeature) continue;
    names += names.empty() ? f.name : std::string(", ") + f.name;
  }
  for (const auto& [name, level] : levels) {
    if (name == metadata::kMetadataVersionFeature) continue;
    const metadata::FeatureSupport* s = nullptr;
    for (const auto& f : metadata::supported_features())
      if (name == f.name) s = &f;
    if (!s) throw FormatError("Unsupported feature: " + name + ". Supported features are: " + names);
    if (level < s->min_level || level > s->max_level) throw FormatError("No feature:" + name + " with feature level " + std::to_string(level));
    if (name == metadata::kKraftVersionFeature) {
      // kraft.version follows the quorum's kind (storage format writes it with the voters).
      if (level >= 1 && !dynamic_quorum)
        throw FormatError("Cannot set kraft.version to " + std::to_string(level) +
                          " unless KIP-853 configuration is present. Try removing the --feature flag for kraft.version.");
      if (level == 0 && dynamic_quorum)
        throw FormatError("Cannot set kraft.version to 0 if KIP-853 configuration is present. Try removing the --feature flag for kraft.version.");
      continue;
    }
    if (auto e = metadata::feature_dependency_error(name, level, levels)) throw FormatError(*e);
  }
}

}  // namespace

void write_meta_properties(const fs::path& dir, const std::string& cluster_id, int32_t node_id, const Uuid& directory_id) {
  storage::MetaProperties mp;
  mp.version = 1;
  mp.cluster_id = cluster_id;
  mp.node_id = node_id;
  mp.directory_id = directory_id.to_string();
  try {
    storage::write_meta_properties(dir / "meta.properties", mp);
  } catch (const std::exception& e) {
    throw FormatError("Error while writing meta.properties file " + (dir / "meta.properties").string() + ": " + e.what());
  }
}

std::vector<std::string> format_directories(const std::vector<std::string>& log_dirs, const std::string& metadata_log_dir) {
  std::vector<std::string> dirs;
  for (const auto& d : log_dirs)
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  if (!metadata_log_dir.empty() && std::find(dirs.begin(), dirs.end(), metadata_log_dir) == dirs.end()) dirs.push_back(metadata_log_dir);
  return dirs;
}

std::vector<InitialController> parse_initial_controllers(const std::string& spec) {
  // id@host:port:directoryId[,...]  (host may be [v6])
  std::vector<InitialController> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto bad = [&](const std::string& why) {
      return std::invalid_argument("Invalid value " + item + " for --initial-controllers: " + why);
    };
    auto at = item.find('@');
    if (at == std::string::npos || at == 0) throw bad("expected id@host:port:directoryId");
    InitialController c;
    try {
      size_t used = 0;
      c.id = std::stoi(item.substr(0, at), &used);
      if (used != at || c.id < 0) throw bad("invalid node id");
    } catch (const std::logic_error&) {
      throw bad("invalid node id");
    }
    std::string rest = item.substr(at + 1);
    auto last = rest.rfind(':');
    if (last == std::string::npos) throw bad("missing directory id");
    auto dir = Uuid::parse(rest.substr(last + 1));
    if (!dir || dir->is_zero()) throw bad("invalid directory id " + rest.substr(last + 1));
    c.directory_id = *dir;
    rest = rest.substr(0, last);
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) throw bad("missing port");
    c.host = rest.substr(0, colon);
    if (c.host.size() >= 2 && c.host.front() == '[' && c.host.back() == ']') c.host = c.host.substr(1, c.host.size() - 2);
    try {
      size_t used = 0;
      int port = std::stoi(rest.substr(colon + 1), &used);
      if (used != rest.size() - colon - 1 || port <= 0 || port > 65535) throw bad("invalid port");
      c.port = port;
    } catch (const std::logic_error&) {
      throw bad("invalid port");
    }
    out.push_back(c);
  }
  if (out.empty()) throw std::invalid_argument("--initial-controllers must name at least one controller");
  return out;
}

int run_storage_random_uuid(std::ostream& out) {
  out << Uuid::random().to_string() << "\n";
  return 0;
}

int run_storage_format(const StorageFormatOptions& o, std::ostream& out, std::ostream& err) {
  try {
    // The cluster id.
    auto cid = Uuid::parse(o.cluster_id);
    if (!cid || cid->is_zero() || cid->to_string() != o.cluster_id)
      throw FormatError("Cluster ID string " + o.cluster_id + " does not appear to be a valid UUID: the cluster id must be 22 characters of URL-safe base64 (as `storage random-uuid` prints)");

    // The configuration.
    server::KafkaConfig config;
    try {
      auto props = server::load_properties_file(o.config);
      config = server::KafkaConfig::from_properties(props);
    } catch (const server::ConfigError& e) {
      throw FormatError(e.what());
    }

    // --feature name=level, then metadata.version (Kafka's Formatter).
    std::map<std::string, int16_t> features = parse_feature_levels(o.features);
    int16_t mv = metadata::kLatestProductionMetadataVersion;
    if (auto f = features.find(metadata::kMetadataVersionFeature); f != features.end()) {
      if (o.release_version)
        throw FormatError(std::string("Use --release-version instead of --feature ") + metadata::kMetadataVersionFeature + "=X to avoid ambiguity.");
      if (metadata::metadata_version_name(f->second).empty()) throw FormatError("Unknown metadata.version " + std::to_string(f->second));
      mv = f->second;
    } else if (o.release_version) {
      auto v = metadata::metadata_version_from_release(*o.release_version);
      if (!v) {
        std::string supported;
        for (int16_t l = metadata::kMetadataVersion_3_3_IV3; l <= metadata::kLatestMetadataVersion; ++l) {
          if (!supported.empty()) supported += ", ";
          supported += metadata::metadata_version_name(l);
        }
        throw FormatError("Unknown release version '" + *o.release_version + "'. Supported versions are: " + supported);
      }
      mv = *v;
    }
    if (mv < metadata::kMetadataVersion_3_3_IV3)
      throw FormatError("The metadata.version " + metadata::metadata_version_name(mv) + " is not supported for bootstrapping; the minimum is " +
                        metadata::metadata_version_name(metadata::kMetadataVersion_3_3_IV3) + ".");
    features[metadata::kMetadataVersionFeature] = mv;
    // Features not named take the release's defaults (Kafka's Formatter);
    // kraft.version follows the quorum's kind instead (below).
    for (const auto& f : metadata::supported_features()) {
      std::string name = f.name;
      if (name == metadata::kMetadataVersionFeature || name == metadata::kKraftVersionFeature) continue;
      features.try_emplace(name, metadata::default_feature_level(name, mv));
    }
    check_feature_levels(features, o.standalone || o.no_initial_controllers || o.initial_controllers.has_value());
    std::string mv_name = metadata::metadata_version_name(mv);
    std::vector<std::vector<uint8_t>> scram_records;
    try {
      scram_records = add_scram_records(o.add_scram, mv);
    } catch (const std::invalid_argument& e) {
      throw FormatError(e.what());
    }

    // The quorum: static voters, or a dynamic quorum's initial controllers.
    int modes = int(o.standalone) + int(o.no_initial_controllers) + int(o.initial_controllers.has_value());
    if (modes > 1) throw FormatError("Only one of --standalone, --initial-controllers and --no-initial-controllers may be given.");
    if (modes == 1 && !config.controller_role)
      throw FormatError("--standalone, --initial-controllers and --no-initial-controllers can only be used on a node with the controller role (process.roles).");
    if (modes == 1 && !config.quorum_voters.empty() && !o.no_initial_controllers)
      throw FormatError("You cannot use --standalone or --initial-controllers when controller.quorum.voters is set; use controller.quorum.bootstrap.servers for a dynamic quorum.");
    if (modes == 0 && config.controller_role && config.quorum_voters.empty())
      throw FormatError(
          "Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, "
          "--initial-controllers, or --no-initial-controllers.");

    std::vector<std::string> dirs = format_directories(config.log_dirs, config.metadata_log_dir);
    std::vector<std::string> formatted, empty;
    for (const auto& d : dirs) {
      std::error_code ec;
      if (fs::exists(fs::path(d) / "meta.properties", ec)) formatted.push_back(d);
      else empty.push_back(d);
    }
    if (!formatted.empty() && !o.ignore_formatted)
      throw FormatError("Log directory " + formatted.front() + " is already formatted. Use --ignore-formatted to ignore this directory and format the others.");
    if (empty.empty()) {
      out << "All of the log directories are already formatted.\n";
      return 0;
    }

    // Directory ids, decided up front (the metadata directory's is the voter's).
    std::map<std::string, Uuid> dir_ids;
    std::set<Uuid> used;
    for (const auto& d : empty) {
      Uuid u;
      do u = directory_id::random();
      while (used.count(u));
      used.insert(u);
      dir_ids[d] = u;
    }

    std::vector<raft::Voter> voters;
    bool metadata_dir_new = dir_ids.count(config.metadata_log_dir) > 0;
    if ((o.standalone || o.initial_controllers) && metadata_dir_new) {
      const std::string& listener = config.controller_listener_names.at(0);
      server::Endpoint ep = config.advertised(listener);
      if (o.standalone) {
        raft::Voter v;
        v.id = config.node_id;
        v.directory_id = dir_ids[config.metadata_log_dir];
        v.endpoints.push_back(raft::VoterEndpoint{listener, ep.host, static_cast<uint16_t>(ep.port)});
        voters.push_back(v);
      } else {
        std::vector<InitialController> ics;
        try {
          ics = parse_initial_controllers(*o.initial_controllers);
        } catch (const std::invalid_argument& e) {
          throw FormatError(e.what());
        }
        bool self_found = false;
        for (const auto& ic : ics) {
          raft::Voter v;
          v.id = ic.id;
          v.directory_id = ic.directory_id;
          v.endpoints.push_back(raft::VoterEndpoint{listener, ic.host, static_cast<uint16_t>(ic.port)});
          voters.push_back(v);
          if (ic.id == config.node_id) {
            self_found = true;
            dir_ids[config.metadata_log_dir] = ic.directory_id;  // this node's voter key
          }
        }
        (void)self_found;
      }
    }

    for (const auto& d : empty) {
      fs::path dir(d);
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) throw FormatError("Unable to create storage directory " + d + ": " + ec.message());
      if (d == config.metadata_log_dir)
        out << "Formatting metadata directory " << d << " with metadata.version " << mv_name << ".\n";
      else
        out << "Formatting data directory " << d << " with metadata.version " << mv_name << ".\n";
      if (d == config.metadata_log_dir) {
        try {
          metadata::write_bootstrap_checkpoint(dir, mv, scram_records, features);
          if (!voters.empty()) {
            fs::path partition_dir = dir / "__cluster_metadata-0";
            if (o.standalone) {
              raft::write_standalone_checkpoint(partition_dir, voters.front(), wall_clock_ms());
            } else {
              fs::create_directories(partition_dir);
              raft::SnapshotWriter w(raft::SnapshotId{0, 0}, 0, wall_clock_ms());
              w.set_kraft_version(1, voters);
              w.write(partition_dir);
            }
          }
        } catch (const FormatError&) {
          throw;
        } catch (const std::exception& e) {
          throw FormatError("Error while writing the bootstrap metadata in " + d + ": " + e.what());
        }
      }
      // meta.properties last: its presence marks the directory as formatted.
      write_meta_properties(dir, o.cluster_id, config.node_id, dir_ids[d]);
    }
    return 0;
  } catch (const FormatError& e) {
    err << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "Error while formatting storage: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace flotilla::tools
