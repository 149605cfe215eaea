#include "common/bytes.h"

#include <unistd.h>

namespace flotilla {

std::vector<uint8_t> ByteWriter::flatten() const {
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(total_size()));
  for (const auto& c : chunks()) {
    if (!c.is_file) {
      out.insert(out.end(), buf_.begin() + static_cast<long>(c.begin), buf_.begin() + static_cast<long>(c.end));
      continue;
    }
    size_t at = out.size();
    out.resize(at + static_cast<size_t>(c.file.length));
    int64_t done = 0;
    while (done < c.file.length) {
      ssize_t n = ::pread(c.file.fd, out.data() + at + done, static_cast<size_t>(c.file.length - done), c.file.offset + done);
      if (n <= 0) throw std::runtime_error("pread of file region failed");
      done += n;
    }
  }
  return out;
}

}  // namespace flotilla
