// How subcommands take their dfs path operands, as coreutils do: globs
// expanded by dfs, a trailing slash that demands a directory, and several
// operands where one failing does not stop the others.
#pragma once

#include <string>
#include <vector>

#include "cmd/cli_common.h"

namespace dfs::cmd {

// One dfs path operand: normalised, with what the user wrote.
struct DfsOperand {
  std::string path;       // normalised
  std::string written;    // as given, for messages
  bool dir_only = false;  // written with a trailing slash: must be a directory
};

// Normalises one operand ("/a", "dfs:/a", "/a/"); InvalidArgument if it is
// not a dfs path.
Result<DfsOperand> ParseOperand(const std::string& written);

// NotADirectory ("X/: not a directory", as ENOTDIR) when `op` was written
// with a trailing slash and `a` is not a directory.
Status CheckDirOnly(const DfsOperand& op, const client::Attr& a);

// Stat that follows dfs symlinks, the last one and any on the way, as
// stat(2) does: a target taken relative to the link's directory (absolute:
// a dfs path), "." and ".." resolved, at most 40 links (then
// FailedPrecondition, as ELOOP). A path with no symlink costs one lookup.
Result<client::Attr> StatFollowing(client::FileSystem& fs, const std::string& path);

// True if a path component holds *, ? or [: a pattern to expand.
bool HasGlob(const std::string& path);

// Expands `*`, `?` and `[...]` in each component of a normalised path
// against the namespace (fnmatch, a leading dot matched only by a dot),
// sorted. A pattern that matches nothing is returned as written, as a shell
// does, so the command then says what is missing.
Result<std::vector<std::string>> ExpandGlob(client::FileSystem& fs, const std::string& pattern);

// Every operand parsed and expanded, each expansion keeping the original's
// trailing slash. An operand that is not a dfs path is reported (exit 2 at
// the end) and skipped.
std::vector<DfsOperand> ExpandOperands(client::FileSystem& fs, const std::vector<std::string>& written,
                                       OperandErrors& errors);

}  // namespace dfs::cmd
