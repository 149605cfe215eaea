#include "raft/quorum_state.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "raft/file_util.h"

namespace flotilla::raft {

const char* role_name(Role r) {
  switch (r) {
    case Role::Unattached: return "Unattached";
    case Role::Voted: return "Voted";
    case Role::Prospective: return "Prospective";
    case Role::Candidate: return "Candidate";
    case Role::Leader: return "Leader";
    case Role::Follower: return "Follower";
    case Role::Resigned: return "Resigned";
  }
  return "?";
}

std::string quorum_state_to_json(const ElectionState& s, int16_t data_version) {
  // Field order is the schema's (Jackson writes an ObjectNode in insertion order).
  std::string out = "{";
  if (data_version == 0) out += "\"clusterId\":\"\",";
  out += "\"leaderId\":" + std::to_string(s.leader_id);
  out += ",\"leaderEpoch\":" + std::to_string(s.epoch);
  out += ",\"votedId\":" + std::to_string(s.voted_id);
  if (data_version >= 1) {
    out += ",\"votedDirectoryId\":" + nlohmann::json(s.voted_directory_id.to_string()).dump();
  } else {
    out += ",\"appliedOffset\":0,\"currentVoters\":[";
    std::vector<int32_t> v = s.voters;
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ",";
      out += "{\"voterId\":" + std::to_string(v[i]) + "}";
    }
    out += "]";
  }
  out += ",\"data_version\":" + std::to_string(data_version) + "}";
  return out;
}

ElectionState quorum_state_from_json(std::string_view text, int16_t* data_version) {
  // Kafka reads the first line only.
  if (auto nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("quorum-state is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw std::runtime_error("quorum-state is not a JSON object");
  if (!j.contains("data_version") || !j["data_version"].is_number_integer())
    throw std::runtime_error("quorum-state does not have a data_version field");
  int dv = j["data_version"].get<int>();
  if (dv < 0 || dv > 1) throw std::runtime_error("quorum-state data_version " + std::to_string(dv) + " is not within 0..1");
  auto get_i32 = [&](const char* k, int32_t def) -> int32_t {
    if (!j.contains(k)) return def;
    if (!j[k].is_number_integer()) throw std::runtime_error(std::string("quorum-state field ") + k + " is not an integer");
    return j[k].get<int32_t>();
  };
  ElectionState s;
  s.leader_id = get_i32("leaderId", -1);
  s.epoch = get_i32("leaderEpoch", -1);
  s.voted_id = get_i32("votedId", -1);
  if (dv >= 1 && j.contains("votedDirectoryId") && j["votedDirectoryId"].is_string()) {
    auto u = Uuid::parse(j["votedDirectoryId"].get<std::string>());
    if (!u) throw std::runtime_error("quorum-state votedDirectoryId is not a uuid");
    s.voted_directory_id = *u;
  }
  if (dv == 0 && j.contains("currentVoters") && j["currentVoters"].is_array()) {
    for (const auto& v : j["currentVoters"]) {
      if (!v.is_object() || !v.contains("voterId") || !v["voterId"].is_number_integer())
        throw std::runtime_error("quorum-state currentVoters entry has no voterId");
      s.voters.push_back(v["voterId"].get<int32_t>());
    }
    std::sort(s.voters.begin(), s.voters.end());
  }
  if (s.epoch < 0) s.epoch = 0;
  if (data_version) *data_version = static_cast<int16_t>(dv);
  return s;
}

std::optional<ElectionState> QuorumStateFile::read() const {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return std::nullopt;
  auto bytes = read_whole_file(path_);
  if (bytes.empty()) throw std::runtime_error("quorum-state file " + path_.string() + " is empty");
  try {
    return quorum_state_from_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("Error while reading the Quorum status from the file " + path_.string() + ": " + e.what());
  }
}

void QuorumStateFile::write(const ElectionState& s, int16_t data_version) const {
  std::string text = quorum_state_to_json(s, data_version);
  write_file_atomically(path_, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace flotilla::raft
