// Fsck: checks every replica of every block under a path where it lives and
// reports per file (DESIGN.md section 7; docs/fsck.md).
//
// Each data server verifies its own copies against their checksums and
// answers with checksum, version and verdict only, so a scrub moves no block
// data. Replicas are then compared: missing, corrupt, stale (older than the
// other copy, or from before a truncate), mismatched (both verify, same
// version, different bytes), unverified (the holder is down) and orphan
// (stored for a file id the namespace no longer has). With `repair`, a bad
// replica is rewritten from the good one through the same read-repair path
// reads use, and orphans go to the server's trash; a block with no good copy
// is left alone and reported unrecoverable.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/client/file_system.h"

namespace dfs::client {

struct FsckProblem {
  std::string path;     // empty for an orphan
  uint64_t fid = 0;
  int64_t block = -1;   // -1 for an orphan (the whole file id)
  uint64_t offset = 0;  // byte range of the block in the file
  uint64_t length = 0;
  uint32_t server = 0;
  std::string endpoint;
  std::string kind;          // missing, corrupt, stale, mismatched, unverified, orphan
  bool recoverable = true;   // a good copy exists (or, for an orphan, deleting is safe)
  bool repaired = false;
};

struct FsckReport {
  std::vector<FsckProblem> problems;
  uint64_t files = 0;
  uint64_t blocks = 0;          // blocks checked
  uint64_t replica_bytes = 0;   // bytes of replicas verified on the servers
  uint64_t healthy_blocks = 0;  // both copies good before any repair
  uint64_t repaired = 0;        // problems fixed
  uint64_t unrecoverable = 0;   // blocks with no good copy
  double seconds = 0;
};

struct FsckProgress {
  uint64_t files_done = 0;
  uint64_t files_total = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
};

struct FsckOptions {
  std::string path = "/";
  bool repair = false;
  std::function<void(const FsckProgress&)> progress;  // may be null
};

// Fails only for operational errors (meta server unreachable, bad path);
// problems with the data are in the report.
Result<FsckReport> Fsck(FileSystem& fs, const FsckOptions& options);

}  // namespace dfs::client
