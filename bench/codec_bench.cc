// Micro-benchmarks of the hot paths of produce and fetch: CRC32C, batch
// validation, batch building, compression, generated message codecs.
#include <benchmark/benchmark.h>

#include "common/crc32c.h"
#include "protocol/compression.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"

using namespace flotilla;
using namespace flotilla::records;

namespace {

std::vector<uint8_t> make_batch(int n, size_t value_size, Compression c = Compression::NONE) {
  BatchBuilder b(c);
  std::vector<uint8_t> value(value_size);
  for (size_t i = 0; i < value_size; ++i) value[i] = static_cast<uint8_t>(i * 31 + 7);
  for (int i = 0; i < n; ++i) b.add(1000 + i, std::nullopt, std::span<const uint8_t>(value));
  return b.build();
}

void BM_Crc32cHardware(benchmark::State& s) {
  std::vector<uint8_t> buf(static_cast<size_t>(s.range(0)), 0xab);
  for (auto _ : s) benchmark::DoNotOptimize(crc32c(buf.data(), buf.size()));
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * s.range(0));
}
BENCHMARK(BM_Crc32cHardware)->Arg(4096)->Arg(1 << 20);

void BM_Crc32cPortable(benchmark::State& s) {
  std::vector<uint8_t> buf(static_cast<size_t>(s.range(0)), 0xab);
  for (auto _ : s) benchmark::DoNotOptimize(crc32c_portable(buf.data(), buf.size()));
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * s.range(0));
}
BENCHMARK(BM_Crc32cPortable)->Arg(1 << 20);

// Validation of a produced 1 MiB payload of 1 KiB records (the per-request broker cost).
void BM_ValidateBatch(benchmark::State& s) {
  auto batch = make_batch(1000, static_cast<size_t>(s.range(0)));
  for (auto _ : s) benchmark::DoNotOptimize(validate_batches(batch, 1 << 30));
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations() * batch.size()));
  s.SetItemsProcessed(static_cast<int64_t>(s.iterations() * 1000));
}
BENCHMARK(BM_ValidateBatch)->Arg(100)->Arg(1024);

void BM_BuildBatch(benchmark::State& s) {
  std::vector<uint8_t> value(1024, 1);
  for (auto _ : s) {
    BatchBuilder b;
    for (int i = 0; i < 1000; ++i) b.add(1000 + i, std::nullopt, std::span<const uint8_t>(value));
    benchmark::DoNotOptimize(b.build());
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * 1000 * 1024);
}
BENCHMARK(BM_BuildBatch);

void BM_Compress(benchmark::State& s) {
  auto c = static_cast<Compression>(s.range(0));
  auto batch = make_batch(1000, 1024);
  std::span<const uint8_t> body(batch.data() + kHeaderSize, batch.size() - kHeaderSize);
  for (auto _ : s) benchmark::DoNotOptimize(compress(c, body));
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations() * body.size()));
  s.SetLabel(c == Compression::GZIP ? "gzip" : c == Compression::SNAPPY ? "snappy" : c == Compression::LZ4 ? "lz4" : "zstd");
}
BENCHMARK(BM_Compress)->Arg(1)->Arg(2)->Arg(3)->Arg(4);

void BM_DecodeRecords(benchmark::State& s) {
  auto c = static_cast<Compression>(s.range(0));
  auto batch = make_batch(1000, 100, c);
  for (auto _ : s) benchmark::DoNotOptimize(decode_records(batch));
  s.SetItemsProcessed(static_cast<int64_t>(s.iterations() * 1000));
}
BENCHMARK(BM_DecodeRecords)->Arg(0)->Arg(2)->Arg(3)->Arg(4);

// A Produce request for 8 partitions with 1 MiB each: decode cost without the records copy.
void BM_ProduceRequestDecode(benchmark::State& s) {
  auto batch = make_batch(1000, 1024);
  msg::ProduceRequest req;
  req.acks = 1;
  msg::ProduceRequest::TopicProduceData td;
  td.name = "bench";
  for (int p = 0; p < 8; ++p) {
    msg::ProduceRequest::PartitionProduceData pd;
    pd.index = p;
    pd.records = Records::of_view(batch);
    td.partition_data.push_back(pd);
  }
  req.topic_data.push_back(td);
  ByteWriter w;
  req.encode(w, 9);
  auto bytes = w.flatten();
  for (auto _ : s) {
    msg::ProduceRequest out;
    ByteReader r(bytes);
    out.decode(r, 9);
    benchmark::DoNotOptimize(out);
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations() * bytes.size()));
}
BENCHMARK(BM_ProduceRequestDecode);

void BM_FetchResponseEncode(benchmark::State& s) {
  msg::FetchResponse resp;
  msg::FetchResponse::FetchableTopicResponse t;
  t.topic_id = Uuid{1, 2};
  for (int p = 0; p < 8; ++p) {
    msg::FetchResponse::PartitionData pd;
    pd.partition_index = p;
    pd.high_watermark = 1000000;
    pd.records.is_null = false;
    pd.records.files.push_back(FileRegion{3, 0, 1 << 20, nullptr});
    t.partitions.push_back(pd);
  }
  resp.responses.push_back(t);
  for (auto _ : s) {
    ByteWriter w;
    resp.encode(w, 16);
    benchmark::DoNotOptimize(w.chunks());
  }
}
BENCHMARK(BM_FetchResponseEncode);

}  // namespace
