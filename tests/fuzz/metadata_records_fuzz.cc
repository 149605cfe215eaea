// Fuzz target: what the metadata log and its snapshots hold — one metadata
// record value (frame version, apiKey, version, the record), or a whole
// `.checkpoint` file (batches, CRCs, header and footer records), chosen by the
// first byte.
#include <cstdint>

#include "common/bytes.h"
#include "protocol/metadata_record.h"
#include "raft/snapshot.h"

using namespace flotilla;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  try {
    if (data[0] & 1) {
      auto rec = protocol::decode_metadata_record(in);
      (void)protocol::metadata_record_to_json(rec);
    } else {
      (void)raft::parse_snapshot(in);
    }
  } catch (const DecodeError&) {
  }
  return 0;
}
