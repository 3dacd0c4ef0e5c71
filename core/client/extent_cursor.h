// ExtentCursor: which blocks of a file hold data, for a reader moving
// forward through it (docs/leases.md, "The hole map"). A dense file (every
// block up to its size holds data) needs nothing from the meta server; a
// file with holes has its extent map fetched a page at a time, as the
// reader gets there.
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "core/common/protocol.h"
#include "base/status.h"

namespace dfs::client {

class ExtentCursor {
 public:
  // The page of the extent map from block `first` on.
  using Fetch = std::function<Result<proto::ExtentsRsp>(uint64_t fid, uint64_t first)>;

  ExtentCursor(const proto::Attr& attr, Fetch fetch);

  // The first data range [first, end) that ends after `block` (first may be
  // past `block`: the blocks between are a hole); {N, N} when no data
  // follows, N = the file's block count. REQUIRES: calls move forward.
  Result<std::pair<uint64_t, uint64_t>> Next(uint64_t block);

  // Whether `block` holds data. REQUIRES: calls move forward.
  Result<bool> IsData(uint64_t block);

 private:
  const uint64_t fid_;
  const uint64_t blocks_;  // the file's block count
  const bool dense_;
  Fetch fetch_;
  std::vector<std::pair<uint64_t, uint64_t>> page_;
  size_t at_ = 0;          // first range of page_ not known to end before the last block asked
  bool more_ = true;       // ranges after page_ may exist
  uint64_t fetched_to_ = 0;  // the next page starts here
  std::pair<uint64_t, uint64_t> current_{0, 0};  // the range Next last returned
};

}  // namespace dfs::client
