// Fuzz target: record batches v2 as a Produce carries them (validation, then
// every record decoded — decompressing with each codec under the size
// limit), legacy message sets (magic 0/1, converted as the broker does), and
// each codec's decompression on its own (the first byte picks the codec): a
// zip bomb must be refused, not allocated.
#include <cstdint>

#include "common/bytes.h"
#include "protocol/compression.h"
#include "protocol/legacy_records.h"
#include "protocol/record_batch.h"

using namespace flotilla;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  try {
    switch (data[0] % 3) {
      case 0: {
        auto v = records::validate_batches(in, 1 << 20);
        if (v.error == ErrorCode::NONE)
          records::for_each_batch(in, [](const records::BatchHeader&, std::span<const uint8_t> batch) { (void)records::decode_records(batch); });
        break;
      }
      case 1:
        if (records::is_legacy_message_set(in)) (void)records::convert_legacy_message_set(in);
        break;
      default: {  // the next byte picks the codec
        if (in.empty()) break;
        const auto codec = static_cast<records::Compression>(1 + in[0] % 4);
        (void)records::decompress(codec, in.subspan(1), size_t(1) << 22);
        break;
      }
    }
  } catch (const DecodeError&) {
  }
  return 0;
}
