#include "core/client/extent_cursor.h"

#include <algorithm>

#include "core/common/placement.h"

namespace dfs::client {

ExtentCursor::ExtentCursor(const proto::Attr& attr, Fetch fetch)
    : fid_(attr.fid),
      blocks_(BlockCount(attr.size, attr.block_size)),
      dense_(proto::Dense(attr)),
      fetch_(std::move(fetch)) {}

Result<std::pair<uint64_t, uint64_t>> ExtentCursor::Next(uint64_t block) {
  const std::pair<uint64_t, uint64_t> none{blocks_, blocks_};
  if (block >= blocks_) return none;
  if (dense_) return std::pair<uint64_t, uint64_t>{0, blocks_};
  while (true) {
    while (at_ < page_.size() && page_[at_].second <= block) ++at_;
    if (at_ < page_.size()) {
      auto r = page_[at_];
      if (r.first >= blocks_) return none;
      r.second = std::min(r.second, blocks_);
      return r;
    }
    if (!more_) return none;
    DFS_ASSIGN_OR_RETURN(proto::ExtentsRsp rsp, fetch_(fid_, std::max(block, fetched_to_)));
    page_.clear();
    at_ = 0;
    for (size_t k = 0; k + 1 < rsp.ranges.size(); k += 2) page_.emplace_back(rsp.ranges[k], rsp.ranges[k + 1]);
    more_ = rsp.more && !page_.empty();
    if (!page_.empty()) fetched_to_ = page_.back().second;
  }
}

Result<bool> ExtentCursor::IsData(uint64_t block) {
  if (dense_) return block < blocks_;
  if (block >= current_.second) {
    DFS_ASSIGN_OR_RETURN(current_, Next(block));
  }
  return block >= current_.first && block < current_.second;
}

}  // namespace dfs::client
