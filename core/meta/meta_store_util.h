// What the MetaStore's files share beside SQLite: the root's file id and
// the type tests. Internal to core/meta.
#pragma once

#include <cstdint>
#include <vector>

#include "core/common/protocol.h"

namespace dfs::meta {

inline constexpr uint64_t kRootFid = 1;

inline bool IsDir(const proto::Attr& a) { return a.type == static_cast<int>(proto::FileType::kDirectory); }
inline bool IsFile(const proto::Attr& a) { return a.type == static_cast<int>(proto::FileType::kFile); }

// True if `ranges` (first, end, ...) are non-empty, in order and apart (not
// touching): a map as it is stored.
bool SortedRanges(const std::vector<uint64_t>& ranges);

}  // namespace dfs::meta
