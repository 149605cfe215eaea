// `flotilla features` as Kafka's FeatureCommand (kafka-features.sh):
// - describe: ApiVersions (v3+) from the first address that answers; a line
//   per supported feature, sorted by name, "Feature: <name>\tSupportedMinVersion:
//   <min>\tSupportedMaxVersion: <max>\tFinalizedVersionLevel: <level>\tEpoch:
//   <epoch>" (metadata.version levels by release name, e.g. 3.9-IV0; "-" for
//   an unknown epoch).
// - upgrade / downgrade / disable: one UpdateFeatures (ValidateOnly with
//   --dry-run), then per feature (sorted) "<f> was upgraded to <level>." /
//   "<f> can be ..." or "Could not upgrade <f> to <level>. <message>"; any
//   failure ends with "<n> out of <m> operation(s) failed." and exit code 1.
//   --release-version sets metadata.version and the other features at their
//   defaults for that release (eligible.leader.replicas.version: 0 up to 4.0).
// A request error (network, NOT_CONTROLLER, ...) prints "Error: ..." and exits 1.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <stdexcept>

#include "client/connection.h"
#include "metadata/bootstrap.h"
#include "metadata/features.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"

namespace flotilla::tools {

namespace {

using client::Connection;
using client::KafkaError;
using client::NetworkError;

constexpr const char* kFeaturesClientId = "flotilla-features";
constexpr int16_t kApiVersionsKey = 18, kUpdateFeaturesKey = 57;
constexpr int8_t kUpgrade = 1, kSafeDowngrade = 2, kUnsafeDowngrade = 3;

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// FeatureCommand.levelToString.
std::string level_text(const std::string& feature, int16_t level) {
  if (feature == metadata::kMetadataVersionFeature) {
    std::string name = metadata::metadata_version_name(level);
    if (!name.empty()) return name;
  }
  return std::to_string(level);
}

std::unique_ptr<Connection> connect_first(const std::string& bootstrap) {
  std::string last_error = "no bootstrap address";
  for (const auto& addr : client::split_list(bootstrap)) {
    if (addr.empty()) continue;
    auto [host, port] = client::parse_host_port(addr);
    try {
      return std::make_unique<Connection>(host, port, kFeaturesClientId, 10000);
    } catch (const NetworkError& e) {
      last_error = e.what();
    }
  }
  throw std::runtime_error("could not connect to " + bootstrap + ": " + last_error);
}

int describe(Connection& c, std::ostream& out) {
  msg::ApiVersionsRequest req;
  req.client_software_name = "flotilla";
  req.client_software_version = "1";
  int16_t v = std::max<int16_t>(3, c.version_for(kApiVersionsKey));
  auto [resp, frame] = c.call(req, v);
  (void)frame;
  if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), "ApiVersions failed");
  std::map<std::string, int16_t> finalized;
  for (const auto& f : resp.finalized_features) finalized[f.name] = f.max_version_level;
  std::vector<msg::ApiVersionsResponse::SupportedFeatureKey> supported(resp.supported_features.begin(), resp.supported_features.end());
  std::sort(supported.begin(), supported.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string epoch = resp.finalized_features_epoch >= 0 ? std::to_string(resp.finalized_features_epoch) : "-";
  for (const auto& f : supported) {
    auto it = finalized.find(f.name);
    int16_t level = it == finalized.end() ? 0 : it->second;
    out << fmt::format("Feature: {}\tSupportedMinVersion: {}\tSupportedMaxVersion: {}\tFinalizedVersionLevel: {}\tEpoch: {}\n", f.name,
                       level_text(f.name, f.min_version), level_text(f.name, f.max_version), level_text(f.name, level), epoch);
  }
  return 0;
}

int16_t parse_level(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    int v = std::stoi(text, &used);
    if (used == text.size() && v >= -32768 && v <= 32767) return static_cast<int16_t>(v);
  } catch (const std::exception&) {
  }
  throw Usage("Can't parse feature=level string " + what + ": unable to parse " + text + " as a short.");
}

// The updates the options ask for, by feature.
std::map<std::string, std::pair<int16_t, int8_t>> updates_of(const FeaturesOptions& o) {
  const int8_t type = o.command == "upgrade" ? kUpgrade : o.unsafe ? kUnsafeDowngrade : kSafeDowngrade;
  std::map<std::string, std::pair<int16_t, int8_t>> u;
  if (o.command == "disable") {
    for (const auto& f : o.features) u[f] = {0, kSafeDowngrade};
    return u;
  }
  if (o.release_version && (o.metadata || !o.features.empty()))
    throw Usage("Can not specify `release-version` with other feature flags.");
  if (o.release_version) {
    auto level = metadata::metadata_version_from_release(*o.release_version);
    if (!level) throw Usage("Unknown release version '" + *o.release_version + "'.");
    u[metadata::kMetadataVersionFeature] = {*level, type};
    u[metadata::kEligibleLeaderReplicasFeature] = {0, type};  // its default up to 4.0
    return u;
  }
  if (o.metadata) {
    auto level = metadata::metadata_version_from_release(*o.metadata);
    if (!level) throw Usage("Unsupported metadata.version " + *o.metadata);
    u[metadata::kMetadataVersionFeature] = {*level, type};
  }
  for (const auto& f : o.features) {
    auto eq = f.find('=');
    if (eq == std::string::npos) throw Usage("Can't parse feature=level string " + f + ": equals sign not found.");
    std::string name = f.substr(0, eq);
    if (name == metadata::kMetadataVersionFeature && o.metadata)
      throw Usage("Can not specify `metadata` and `feature` flag for metadata.version at the same time.");
    u[name] = {parse_level(f.substr(eq + 1), f), type};
  }
  return u;
}

int update(Connection& c, const FeaturesOptions& o, std::ostream& out, std::ostream& err) {
  auto updates = updates_of(o);
  if (updates.empty()) throw Usage("You must specify at least one feature to " + o.command);
  msg::UpdateFeaturesRequest req;
  req.timeout_ms = 60000;
  req.validate_only = o.dry_run;
  for (const auto& [name, u] : updates) {
    msg::UpdateFeaturesRequest::FeatureUpdateKey k;
    k.feature = name;
    k.max_version_level = u.first;
    k.upgrade_type = u.second;
    k.allow_downgrade = u.second != kUpgrade;
    req.feature_updates.push_back(k);
  }
  int16_t v = c.version_for(kUpdateFeaturesKey, 2, 0, "this tool");
  auto [resp, frame] = c.call(req, v);
  (void)frame;
  std::map<std::string, std::optional<std::string>> errors;  // null: success
  for (const auto& [name, u] : updates) errors[name] = std::nullopt;
  if (resp.error_code != 0) {
    for (auto& [name, e] : errors) e = resp.error_message.value_or(std::string(error_message(static_cast<ErrorCode>(resp.error_code))));
  } else {
    for (const auto& r : resp.results)
      if (r.error_code != 0) errors[r.feature] = r.error_message.value_or(std::string(error_message(static_cast<ErrorCode>(r.error_code))));
  }
  int failures = 0;
  for (const auto& [name, e] : errors) {
    int16_t level = updates[name].first;
    if (e) {
      std::string suffix = o.command == "disable" ? "disable " + name : o.command + " " + name + " to " + level_text(name, level);
      out << (o.dry_run ? "Can not " : "Could not ") << suffix << ". " << *e << "\n";
      ++failures;
    } else {
      std::string obj = o.command == "disable" ? "disabled." : o.command + "d to " + level_text(name, level) + ".";
      out << name << (o.dry_run ? " can be " : " was ") << obj << "\n";
    }
  }
  if (failures > 0) {
    err << failures << " out of " << updates.size() << " operation(s) failed.\n";
    return 1;
  }
  return 0;
}

}  // namespace

int run_features(const FeaturesOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.bootstrap_server == !o.bootstrap_controller) {
    err << "Exactly one of --bootstrap-server or --bootstrap-controller must be given\n";
    return 1;
  }
  try {
    if (o.command_config) {
      if (!std::filesystem::exists(*o.command_config)) throw std::runtime_error("Properties file " + *o.command_config + " does not exist.");
      apply_client_security(server::load_properties_file(*o.command_config));
    }
    if (o.command != "describe") (void)updates_of(o);  // usage errors before connecting
    auto c = connect_first(o.bootstrap_server ? *o.bootstrap_server : *o.bootstrap_controller);
    return o.command == "describe" ? describe(*c, out) : update(*c, o, out, err);
  } catch (const Usage& e) {
    err << e.what() << "\n";
  } catch (const KafkaError& e) {
    err << "Error: " << error_name(e.code()) << ": " << e.what() << "\n";
  } catch (const std::exception& e) {
    err << "Error: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
