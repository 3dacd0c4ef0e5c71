// Paths in the dfs namespace: absolute, '/'-separated, UTF-8 bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace dfs {

inline constexpr size_t kMaxNameLength = 255;   // bytes, as NAME_MAX
inline constexpr size_t kMaxPathLength = 4096;  // bytes, as PATH_MAX

// Validates and normalises a dfs path: accepts "/p" or "dfs:/p", collapses
// repeated and trailing slashes. Rejects relative paths, "." and ".."
// components, NUL bytes and over-long names or paths.
Result<std::string> NormalizePath(std::string_view path);

// True if `arg` is written as a dfs path ("dfs:/..."), as `dfs cp` needs.
bool IsDfsUri(std::string_view arg);

// Components of a normalised path ("/" has none).
std::vector<std::string> SplitPath(const std::string& normalised);

// Parent of a normalised path ("/a/b" -> "/a", "/a" -> "/").
std::string ParentPath(const std::string& normalised);

// Last component ("/a/b" -> "b", "/" -> "").
std::string BaseName(const std::string& normalised);

// Joins a normalised directory and a name.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace dfs
