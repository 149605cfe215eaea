// Framing of __cluster_metadata records and of KRaft control records.
//
// A metadata record value is: unsigned varint frame version (1), unsigned
// varint apiKey, unsigned varint version, then the record body. Control
// records (in control batches) have key = int16 version (0) + int16 type and
// value = the control body written at its own version, with no prefix.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "common/bytes.h"
#include "protocol/messages.h"
#include "protocol/metadata_records.h"

namespace flotilla::protocol {

inline constexpr uint32_t kMetadataFrameVersion = 1;

template <class T>
std::vector<uint8_t> frame_metadata_record(const T& rec, int16_t version) {
  ByteWriter w;
  w.put_uvarint(kMetadataFrameVersion);
  w.put_uvarint(static_cast<uint16_t>(T::kApiKey));
  w.put_uvarint(static_cast<uint16_t>(version));
  rec.encode(w, version);
  return std::move(w).take();
}

struct AnyMetadataRecord {
  int16_t api_key = -1;
  int16_t version = 0;
  MetadataRecordVariant record;
};

// Throws DecodeError on a bad frame, an unknown apiKey or version, or trailing bytes.
AnyMetadataRecord decode_metadata_record(std::span<const uint8_t> value);
// As kafka-dump-log prints it: {"type":"TOPIC_RECORD","version":0,"data":{...}};
// a UserScramCredentialRecord's storedKey and serverKey read "[redacted]".
nlohmann::json metadata_record_to_json(const AnyMetadataRecord& rec);
const char* metadata_record_name(int16_t api_key);  // "TopicRecord"

enum class ControlType : int16_t {
  ABORT = 0,
  COMMIT = 1,
  LEADER_CHANGE = 2,
  SNAPSHOT_HEADER = 3,
  SNAPSHOT_FOOTER = 4,
  KRAFT_VERSION = 5,
  KRAFT_VOTERS = 6,
};
std::vector<uint8_t> control_record_key(ControlType type);
ControlType parse_control_key(std::span<const uint8_t> key);  // throws DecodeError
const char* control_type_name(ControlType t);                // "LeaderChange"
// Kafka's ControlRecordType constant name of a control key's type id
// ("LEADER_CHANGE"; "UNKNOWN" for an id Kafka does not define), as
// kafka-dump-log.sh prints it.
const char* control_type_constant(int16_t id);

}  // namespace flotilla::protocol
