// CRC32C (Castagnoli) of block data, hardware accelerated by ISA-L.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dfs {

uint32_t Crc32c(const void* data, size_t length);

}  // namespace dfs
