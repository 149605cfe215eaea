#include "metadata/record_json.h"

#include <stdexcept>
#include <variant>

#include "common/bytes.h"
#include "metadata/java_text.h"
#include "protocol/messages.h"
#include "protocol/metadata_records.h"

namespace flotilla::metadata {

namespace {
struct Undecodable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

DecodedRecord decode_metadata_record(std::optional<std::span<const uint8_t>> value) {
  DecodedRecord out;
  std::span<const uint8_t> v = value.value_or(std::span<const uint8_t>{});
  ByteReader r(v);
  // Kafka's AbstractApiMessageSerde.read: three unsigned varints, each at most
  // Short.MAX_VALUE, then the body; nothing may follow it.
  auto read_short = [&](const char* entity) -> int16_t {
    uint64_t x;
    try {
      x = r.get_uvarint();
      if (x > 0xffffffffULL) throw DecodeError("varint too long");
    } catch (const DecodeError&) {
      throw Undecodable(std::string("Error while reading ") + entity);
    }
    if (x > 0x7fff) throw Undecodable(std::string("Value for ") + entity + " was too large.");
    return static_cast<int16_t>(x);
  };
  try {
    int16_t frame = read_short("frame version");
    if (frame == 0)
      throw Undecodable(
          "Could not deserialize metadata record with frame version 0. Note that upgrades from the preview release of "
          "KRaft in 2.8 to newer versions are not supported.");
    if (frame != 1)
      throw Undecodable("Could not deserialize metadata record due to unknown frame version " + std::to_string(frame) +
                        "(only frame version 1 is supported)");
    int16_t api_key = read_short("type");
    int16_t version = read_short("version");
    const char* name = protocol::metadata_record_type_name(api_key);
    if (!name)
      throw Undecodable("org.apache.kafka.common.errors.UnsupportedVersionException: Unknown metadata id " +
                        std::to_string(api_key));
    protocol::MetadataRecordVariant rec;
    try {
      protocol::decode_metadata_body(api_key, version, r, rec);
    } catch (const DecodeError&) {
      throw Undecodable("Failed to deserialize record with type " + std::to_string(api_key));
    }
    if (!r.empty())
      throw Undecodable("Found " + std::to_string(r.remaining()) + " byte(s) of garbage after " + std::to_string(api_key));
    out.api_key = api_key;
    out.type = name;
    out.version = version;
    out.data = std::visit([&](const auto& m) { return msg::to_json(m, version); }, rec);
    out.ok = true;
  } catch (const Undecodable& e) {
    out.error = e.what();
  }
  return out;
}

std::string format_metadata_record(std::optional<std::span<const uint8_t>> value, int64_t offset) {
  DecodedRecord d = decode_metadata_record(value);
  if (!d.ok) return "Error at " + std::to_string(offset) + ", skipping. " + d.error;
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["type"] = d.type;
  j["version"] = d.version;
  j["data"] = std::move(d.data);
  return jackson_json(j);
}

}  // namespace flotilla::metadata
