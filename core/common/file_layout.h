// FileLayout: where a file's blocks live. Its id, its placement seed and
// stripe width (placement.h: which servers hold block i) and its block size.
// Fixed when the file is created; sent with every block batch, kept by a
// data server in the header of the file's index and checked against it.
#pragma once

#include <cstdint>

#include "core/common/fields.h"

namespace dfs {

struct FileLayout {
  uint64_t fid = 0;
  uint64_t placement_seed = 0;  // FNV-1a 64 of the path at creation
  uint32_t stripe_width = 0;    // data servers at creation
  uint32_t block_size = 0;
  DFS_FIELDS(fid, placement_seed, stripe_width, block_size);
};

}  // namespace dfs
