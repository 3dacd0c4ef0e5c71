// The on-disk layout of a data server's index files (docs/block-format.md),
// shared by the block store's files. Internal to core/data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dfs::data {

inline constexpr char kIdxMagic[8] = {'D', 'F', 'S', 'I', 'D', 'X', '0', '1'};
inline constexpr size_t kIdxHeader = 32;
inline constexpr size_t kIdxRecord = 16;

struct IdxHeader {
  char magic[8];
  uint64_t fid;
  uint64_t placement_seed;
  uint32_t block_size;
  uint32_t stripe_width;
};
static_assert(sizeof(IdxHeader) == kIdxHeader);

struct IdxRecord {
  uint32_t crc;
  uint32_t length;
  uint64_t version;  // 0: no block in this slot
};
static_assert(sizeof(IdxRecord) == kIdxRecord);

}  // namespace dfs::data
