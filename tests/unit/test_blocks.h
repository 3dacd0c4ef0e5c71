// Block batches for block store tests: a server's blocks among the first
// `count` of a file, each filled with a byte that depends on `fill` and the
// block, checksummed and flagged kWantData (so the same records read back).
#pragma once

#include <string>
#include <vector>

#include "core/common/checksum.h"
#include "core/common/placement.h"
#include "core/data/block_store.h"

namespace dfs::testing {

struct Blocks {
  std::vector<BlockRecord> records;
  std::string data;
};

// With `gaps`, every other stripe only (the batch is then many runs of
// slots, one write pair each).
inline Blocks MakeBlocks(const FileLayout& key, uint32_t server, uint64_t count, uint64_t version, char fill,
                         bool gaps = false) {
  Blocks b;
  for (uint64_t i = 0; i < count; ++i) {
    if (!HoldsBlock(key.placement_seed, key.stripe_width, server, i)) continue;
    if (gaps && (i / key.stripe_width) % 2 == 1) continue;
    std::string block(key.block_size, static_cast<char>(fill + i % 7));
    BlockRecord r;
    r.index = i;
    r.version = version;
    r.length = key.block_size;
    r.crc = Crc32c(block.data(), block.size());
    r.flags = kWantData;
    b.records.push_back(r);
    b.data += block;
  }
  return b;
}

}  // namespace dfs::testing
