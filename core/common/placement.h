// Placement and block math (DESIGN.md section 3). Pure functions: anyone can
// recompute where a block lives from the file's placement seed and stripe
// width, which are fixed when the file is created.
#pragma once

#include <cstdint>
#include <string_view>

namespace dfs {

using PlacementSeed = uint64_t;
using BlockIndex = uint64_t;
using ServerIndex = uint32_t;

// 64-bit FNV-1a of the bytes of a normalised absolute path.
PlacementSeed Fnv1a64(std::string_view bytes);

struct ReplicaPair {
  ServerIndex first;   // replica 1: (x mod N + i) mod N
  ServerIndex second;  // replica 2: the next server
};

// REQUIRES: stripe_width >= 2.
ReplicaPair PlaceBlock(PlacementSeed seed, uint32_t stripe_width, BlockIndex block);

// True if `server` holds a replica of `block`.
bool HoldsBlock(PlacementSeed seed, uint32_t stripe_width, ServerIndex server, BlockIndex block);

// A data server packs the blocks it holds of one file densely, in block order:
// it holds two of every N consecutive blocks, so its k-th held block (k from 0)
// sits in local slot k. REQUIRES: HoldsBlock(seed, stripe_width, server, block).
uint64_t LocalSlot(PlacementSeed seed, uint32_t stripe_width, ServerIndex server, BlockIndex block);

// The largest file size: 1 EiB. Holes cost nothing, so `truncate -s 1P`
// works; a block index stays far from overflowing any offset computed from
// it (index * block size, local slot * block size).
inline constexpr uint64_t kMaxFileSize = uint64_t{1} << 60;

// The block a server keeps in local slot `slot`: the inverse of LocalSlot.
BlockIndex BlockOfSlot(PlacementSeed seed, uint32_t stripe_width, ServerIndex server, uint64_t slot);

// Number of blocks of a file of `size` bytes.
inline uint64_t BlockCount(uint64_t size, uint32_t block_size) {
  return (size + block_size - 1) / block_size;
}

// Bytes of block `block` in a file of `size` bytes (0 past the end).
inline uint32_t BlockLength(uint64_t size, uint32_t block_size, BlockIndex block) {
  uint64_t start = block * block_size;
  if (start >= size) return 0;
  uint64_t left = size - start;
  return left < block_size ? static_cast<uint32_t>(left) : block_size;
}

}  // namespace dfs
