// Copier: what `dfs cp` does for each operand, as cp(1) does it.
//
//  - Ends: local paths, dfs paths (dfs:/p) and "-" (stdin or stdout).
//  - Every file copy replaces its destination atomically (docs/leases.md):
//    a dfs destination is written as a new file that takes the name when
//    complete, a local one as a temporary file renamed over it; a copy that
//    fails or is interrupted leaves the destination as it was.
//  - A new file gets the source's permission bits less the umask; an
//    existing destination keeps its own. -p keeps mode, owner (where
//    allowed) and times.
//  - -r copies symlinks as symlinks and special files (FIFOs, devices,
//    sockets) as special files; -L follows symlinks, with directory loops
//    detected and reported. Without -r a special file is refused.
//  - Errors below a directory are reported as they happen and the copy goes
//    on (OperandErrors); an interrupt stops it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cmd/cli_common.h"
#include "cmd/progress.h"

namespace dfs::cmd {

struct CpFlags {
  std::vector<std::string> args;
  bool recursive = false;
  bool wait = false;            // for another writer's lease instead of failing
  bool preserve = false;        // -p
  bool no_clobber = false;      // -n
  bool dereference = false;     // -L: follow every symlink
  bool no_dereference = false;  // -P: follow none (the default with -r)
  bool command_line = false;    // -H: follow symlinks named as operands
  uint32_t block_size = 0;
};

// One end of a copy.
struct Place {
  bool dfs = false;
  bool stdio = false;     // "-"
  bool dir_only = false;  // written with a trailing slash
  std::string path;       // normalised dfs path, or local path
};

Result<Place> ParsePlace(const std::string& arg);
std::string Show(const Place& p);

// What a source or destination is.
struct Node {
  enum Kind { kMissing, kFile, kDirectory, kSymlink, kSpecial } kind = kMissing;
  uint32_t mode = 0;  // permission bits
  uint32_t uid = 0, gid = 0;
  int64_t atime_ns = 0, mtime_ns = 0;
  std::string target;                      // a symlink's
  proto::FileType type{};                  // a special file's
  uint64_t rdev = 0;                       // a device's
  std::pair<uint64_t, uint64_t> id{0, 0};  // (device, inode) or (0, file id): loops and same-file checks
  client::Attr attr;                       // dfs: what Stat said
};

class Copier {
 public:
  // `progress`: where bytes and files copied are counted (a terminal's line).
  Copier(client::FileSystem& fs, const CpFlags& flags, OperandErrors& errors, Progress& progress);
  ~Copier();

  bool wrote_dfs() const { return wrote_dfs_; }

  // What `p` is; symlinks followed if `follow`.
  Result<Node> Look(const Place& p, bool follow);

  Place Child(const Place& dir, const std::string& name) const;
  std::string NameOf(const Place& p) const;

  // Copies one operand. Errors below a directory are reported to `errors`
  // and skipped; the Status is the operand's own.
  Status Copy(const Place& src, const Place& dst, bool top);

  // Writes the small files still queued and sets what -p keeps of them.
  Status Finish();

 private:
  bool Follow(bool top) const;
  Status CopyTree(const Place& src, const Node& node, const Place& dst);
  Status CopyFile(const Place& src, const Node& node, const Place& dst);
  Status CopySymlink(const Node& node, const Place& dst);
  Status CopySpecial(const Place& src, const Node& node, const Place& dst);
  Status CheckNotSame(const Place& src, const Node& node, const Place& dst);
  // A new name made under a temporary one and renamed over `dst`.
  Status ReplaceWith(const Place& dst, const std::function<Status(const std::string& temp)>& make);
  // New entries: the source's bits less the umask, or all of them with -p.
  uint32_t NewMode(const Node& src) const;
  // -p on a dfs path: mode, owner where allowed, times.
  Status PreserveDfs(const std::string& path, const Node& src);
  Result<std::unique_ptr<client::FileWriter>> OpenDfsTarget(const Place& dst, const Node& src);
  Status ReadLocal(int fd, const std::string& what, client::FileWriter* w);

  client::FileSystem& fs_;
  const CpFlags& flags_;
  OperandErrors& errors_;
  const mode_t umask_;
  bool wrote_dfs_ = false;
  std::unique_ptr<client::SmallFileWriter> small_;
  std::vector<std::pair<std::string, Node>> preserve_after_finish_;
  std::vector<std::pair<uint64_t, uint64_t>> ancestors_;  // directories being copied (-L loops)
  Progress* progress_;
};

}  // namespace dfs::cmd
