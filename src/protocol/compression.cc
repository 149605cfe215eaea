#include "protocol/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>

namespace flotilla::records {
namespace {

// xerial snappy-java stream header: magic, version 1, compatible version 1.
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeader = 16;
constexpr size_t kXerialBlock = 32 * 1024;

void check_limit(size_t n, size_t max) {
  if (n > max) throw DecodeError("decompressed data exceeds the limit");
}

std::vector<uint8_t> gzip_compress(std::span<const uint8_t> in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&zs, in.size()) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip compression failed");
  return out;
}

std::vector<uint8_t> gzip_decompress(std::span<const uint8_t> in, size_t max) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw DecodeError("inflateInit2 failed");
  std::vector<uint8_t> out(std::max<size_t>(in.size() * 4, 1024));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (true) {
    if (zs.total_out == out.size()) {
      check_limit(out.size() * 2, max * 2);
      out.resize(out.size() * 2);
    }
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  size_t n = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw DecodeError("corrupt gzip data");
  check_limit(n, max);
  out.resize(n);
  return out;
}

std::vector<uint8_t> snappy_compress(std::span<const uint8_t> in) {
  std::vector<uint8_t> out(kXerialHeader);
  std::memcpy(out.data(), kXerialMagic, 8);
  store_be32(out.data() + 8, 1);
  store_be32(out.data() + 12, 1);
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlock) {
    size_t n = std::min(kXerialBlock, in.size() - pos);
    std::string block;
    snappy::Compress(reinterpret_cast<const char*>(in.data() + pos), n, &block);
    size_t at = out.size();
    out.resize(at + 4 + block.size());
    store_be32(out.data() + at, static_cast<uint32_t>(block.size()));
    std::memcpy(out.data() + at + 4, block.data(), block.size());
  }
  return out;
}

void snappy_raw(const uint8_t* p, size_t n, std::vector<uint8_t>& out, size_t max) {
  size_t len = 0;
  if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(p), n, &len)) throw DecodeError("corrupt snappy data");
  check_limit(out.size() + len, max);
  size_t at = out.size();
  out.resize(at + len);
  if (!snappy::RawUncompress(reinterpret_cast<const char*>(p), n, reinterpret_cast<char*>(out.data() + at)))
    throw DecodeError("corrupt snappy data");
}

std::vector<uint8_t> snappy_decompress(std::span<const uint8_t> in, size_t max) {
  std::vector<uint8_t> out;
  if (in.size() >= kXerialHeader && std::memcmp(in.data(), kXerialMagic, 8) == 0) {
    size_t pos = kXerialHeader;
    while (pos < in.size()) {
      if (in.size() - pos < 4) throw DecodeError("truncated snappy-java block");
      size_t n = load_be32(in.data() + pos);
      pos += 4;
      if (n > in.size() - pos) throw DecodeError("truncated snappy-java block");
      snappy_raw(in.data() + pos, n, out, max);
      pos += n;
    }
    return out;
  }
  snappy_raw(in.data(), in.size(), out, max);
  return out;
}

std::vector<uint8_t> lz4_compress(std::span<const uint8_t> in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::vector<uint8_t> out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) throw std::runtime_error(std::string("lz4 compression failed: ") + LZ4F_getErrorName(n));
  out.resize(n);
  return out;
}

std::vector<uint8_t> lz4_decompress(std::span<const uint8_t> in, size_t max) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) throw DecodeError("lz4 context");
  std::vector<uint8_t> out(std::max<size_t>(in.size() * 4, 1024));
  size_t in_pos = 0, out_pos = 0;
  size_t rc = 1;
  while (in_pos < in.size() && rc != 0) {
    if (out_pos == out.size()) {
      check_limit(out.size() * 2, max * 2);
      out.resize(out.size() * 2);
    }
    size_t src = in.size() - in_pos, dst = out.size() - out_pos;
    rc = LZ4F_decompress(ctx, out.data() + out_pos, &dst, in.data() + in_pos, &src, nullptr);
    if (LZ4F_isError(rc)) {
      LZ4F_freeDecompressionContext(ctx);
      throw DecodeError(std::string("corrupt lz4 data: ") + LZ4F_getErrorName(rc));
    }
    in_pos += src;
    out_pos += dst;
    if (src == 0 && dst == 0 && out_pos < out.size()) break;
  }
  LZ4F_freeDecompressionContext(ctx);
  if (rc != 0) throw DecodeError("truncated lz4 frame");
  check_limit(out_pos, max);
  out.resize(out_pos);
  return out;
}

std::vector<uint8_t> zstd_compress(std::span<const uint8_t> in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

std::vector<uint8_t> zstd_decompress(std::span<const uint8_t> in, size_t max) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  ZSTD_initDStream(ds);
  std::vector<uint8_t> out(std::max<size_t>(in.size() * 4, 1024));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t out_pos = 0;
  size_t rc = 1;
  while (true) {
    if (out_pos == out.size()) {
      check_limit(out.size() * 2, max * 2);
      out.resize(out.size() * 2);
    }
    ZSTD_outBuffer ob{out.data() + out_pos, out.size() - out_pos, 0};
    rc = ZSTD_decompressStream(ds, &ob, &ib);
    out_pos += ob.pos;
    if (ZSTD_isError(rc)) {
      ZSTD_freeDStream(ds);
      throw DecodeError(std::string("corrupt zstd data: ") + ZSTD_getErrorName(rc));
    }
    if (ib.pos == ib.size && ob.pos < ob.size) break;
  }
  ZSTD_freeDStream(ds);
  if (rc != 0) throw DecodeError("truncated zstd frame");
  check_limit(out_pos, max);
  out.resize(out_pos);
  return out;
}

}  // namespace

std::vector<uint8_t> compress(Compression c, std::span<const uint8_t> data) {
  switch (c) {
    case Compression::NONE: return std::vector<uint8_t>(data.begin(), data.end());
    case Compression::GZIP: return gzip_compress(data);
    case Compression::SNAPPY: return snappy_compress(data);
    case Compression::LZ4: return lz4_compress(data);
    case Compression::ZSTD: return zstd_compress(data);
  }
  throw std::invalid_argument("unknown compression codec");
}

std::vector<uint8_t> decompress(Compression c, std::span<const uint8_t> data, size_t max_output) {
  switch (c) {
    case Compression::NONE: return std::vector<uint8_t>(data.begin(), data.end());
    case Compression::GZIP: return gzip_decompress(data, max_output);
    case Compression::SNAPPY: return snappy_decompress(data, max_output);
    case Compression::LZ4: return lz4_decompress(data, max_output);
    case Compression::ZSTD: return zstd_decompress(data, max_output);
  }
  throw DecodeError("unknown compression codec");
}

}  // namespace flotilla::records
