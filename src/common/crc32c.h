// CRC-32C (Castagnoli), the checksum of record batch v2 and of producer snapshots.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flotilla {

// CRC-32C of [data, data+n), continuing from `crc` (0 to start). Uses the SSE4.2
// crc32 instruction (8 bytes per step) when the CPU has it, found at run time.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

// The portable table-driven version (reference for tests and old CPUs).
uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc = 0);

bool crc32c_has_hardware();

}  // namespace flotilla
