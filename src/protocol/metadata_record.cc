#include "protocol/metadata_record.h"

namespace flotilla::protocol {

AnyMetadataRecord decode_metadata_record(std::span<const uint8_t> value) {
  ByteReader r(value);
  uint32_t frame = r.get_uvarint32();
  if (frame != kMetadataFrameVersion) throw DecodeError("unknown metadata record frame version " + std::to_string(frame));
  uint32_t key = r.get_uvarint32();
  uint32_t version = r.get_uvarint32();
  if (key > 0x7fff || version > 0x7fff) throw DecodeError("metadata record key or version out of range");
  AnyMetadataRecord out;
  out.api_key = static_cast<int16_t>(key);
  out.version = static_cast<int16_t>(version);
  if (!decode_metadata_body(out.api_key, out.version, r, out.record))
    throw DecodeError("unknown metadata record type " + std::to_string(key));
  if (!r.empty()) throw DecodeError("trailing bytes after metadata record");
  return out;
}

nlohmann::json metadata_record_to_json(const AnyMetadataRecord& rec) {
  nlohmann::json j;
  j["type"] = metadata_record_type_name(rec.api_key);
  j["version"] = rec.version;
  j["data"] = std::visit([&](const auto& m) { return m.to_json(rec.version); }, rec.record);
  return j;
}

const char* metadata_record_name(int16_t api_key) { return metadata_record_schema_name(api_key); }

std::vector<uint8_t> control_record_key(ControlType type) {
  ByteWriter w;
  w.put_i16(0);
  w.put_i16(static_cast<int16_t>(type));
  return std::move(w).take();
}

ControlType parse_control_key(std::span<const uint8_t> key) {
  ByteReader r(key);
  int16_t version = r.get_i16();
  int16_t type = r.get_i16();
  if (version < 0) throw DecodeError("bad control record key version");
  if (type < 0 || type > 6) throw DecodeError("unknown control record type " + std::to_string(type));
  return static_cast<ControlType>(type);
}

const char* control_type_name(ControlType t) {
  switch (t) {
    case ControlType::ABORT: return "Abort";
    case ControlType::COMMIT: return "Commit";
    case ControlType::LEADER_CHANGE: return "LeaderChange";
    case ControlType::SNAPSHOT_HEADER: return "SnapshotHeader";
    case ControlType::SNAPSHOT_FOOTER: return "SnapshotFooter";
    case ControlType::KRAFT_VERSION: return "KRaftVersion";
    case ControlType::KRAFT_VOTERS: return "KRaftVoters";
  }
  return "Unknown";
}

const char* control_type_constant(int16_t id) {
  switch (id) {
    case 0: return "ABORT";
    case 1: return "COMMIT";
    case 2: return "LEADER_CHANGE";
    case 3: return "SNAPSHOT_HEADER";
    case 4: return "SNAPSHOT_FOOTER";
    case 5: return "KRAFT_VERSION";
    case 6: return "KRAFT_VOTERS";
  }
  return "UNKNOWN";
}

}  // namespace flotilla::protocol
