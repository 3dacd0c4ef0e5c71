// Fsck: checks every replica of every data block under a path where it
// lives and reports per file and per server (DESIGN.md section 7;
// docs/fsck.md).
//
// Each data server verifies its own copies against their checksums and
// answers with checksum, version and verdict only, so a check moves no block
// data. Replicas are then compared: missing, corrupt, stale (older than the
// other copy, or from before a truncate), mismatched (both verify, same
// version, different bytes) are damage; unverified (the holder is down) is
// a degraded block, counted per server. Holes have no replicas to check.
// Orphans (file ids a server stores that the namespace no longer has) are
// space waiting to be reclaimed, reported per server, not damage. With
// `repair`, a bad replica is rewritten from the good one through the same
// read-repair path reads use, and orphans go to the server's trash; a block
// with no good copy is left alone and reported unrecoverable.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/client/file_system.h"

namespace dfs::client {

// One bad replica of one block.
struct FsckProblem {
  int64_t block = -1;
  uint64_t offset = 0;  // byte range of the block in the file
  uint64_t length = 0;
  uint32_t server = 0;
  std::string endpoint;
  std::string kind;         // missing, corrupt, stale, mismatched, unverified
  bool recoverable = true;  // a good copy exists
  bool repaired = false;
};

// What was found in one file; `problems` in block order.
struct FsckFile {
  std::string path;
  uint64_t fid = 0;
  uint64_t blocks = 0;  // data blocks checked
  std::vector<FsckProblem> problems;
  uint64_t damaged_blocks = 0;      // with a missing, corrupt, stale or mismatched copy
  uint64_t unverified_blocks = 0;   // a holder did not answer
  uint64_t repaired = 0;            // problems fixed
  uint64_t unrecoverable = 0;       // blocks with no good copy
  bool damaged() const { return damaged_blocks > 0; }
};

// Per data server.
struct FsckServer {
  uint32_t index = 0;
  std::string endpoint;
  bool down = false;
  uint64_t unverified_blocks = 0;      // its copies that could not be checked
  uint64_t unverified_files = 0;
  uint64_t unverified_unprotected = 0; // of those, blocks without a verified copy on the other holder
  uint64_t orphan_files = 0;           // stored, not in the namespace: waiting to be reclaimed
  uint64_t orphan_bytes = 0;
  uint64_t orphans_removed = 0;        // with repair: moved to the trash
};

struct FsckReport {
  uint64_t files = 0;
  uint64_t blocks = 0;          // blocks checked
  uint64_t replica_bytes = 0;   // bytes of replicas verified on the servers
  uint64_t healthy_blocks = 0;  // both copies good before any repair
  uint64_t damaged_files = 0;
  uint64_t damaged_blocks = 0;
  uint64_t unverified_blocks = 0;
  uint64_t problems = 0;        // bad replicas found
  uint64_t repaired = 0;        // problems fixed
  uint64_t unrecoverable = 0;   // blocks with no good copy
  uint64_t damage_left = 0;     // bad replicas (not unverified) not repaired
  std::vector<FsckServer> servers;
  double seconds = 0;
  // What is left: damage not repaired, or replicas not verified.
  bool clean() const { return problems == repaired; }
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
  // Called for each file with a problem (damaged or degraded), as soon as
  // it is checked, so the caller can stream it. May be null.
  std::function<void(const FsckFile&)> on_file;
};

// Fails only for operational errors (meta server unreachable, bad path);
// problems with the data are in the report.
Result<FsckReport> Fsck(FileSystem& fs, const FsckOptions& options);

}  // namespace dfs::client
