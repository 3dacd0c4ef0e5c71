// What the MetaStore's files share beside SQLite: the root's file id and
// the type tests. Internal to core/meta.
#pragma once

#include <cstdint>

#include "core/common/protocol.h"

namespace dfs::meta {

inline constexpr uint64_t kRootFid = 1;

inline bool IsDir(const proto::Attr& a) { return a.type == static_cast<int>(proto::FileType::kDirectory); }
inline bool IsFile(const proto::Attr& a) { return a.type == static_cast<int>(proto::FileType::kFile); }

}  // namespace dfs::meta
