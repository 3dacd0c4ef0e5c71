// LocalTarget: a local file that `dfs cp` writes whole or not at all.
//
// The bytes go to an unnamed temporary file in the destination's directory
// (O_TMPFILE; a hidden `.NAME.dfs-XXXXXX` where the file system has no
// O_TMPFILE), which Commit() renames over the destination, as rsync does.
// A copy that fails or is interrupted leaves the destination as it was;
// with O_TMPFILE even kill -9 leaves nothing behind. A destination that is
// not a regular file (a device such as /dev/null, a FIFO) is written in
// place. An existing destination keeps its permission bits; a new one gets
// the mode given, less the umask.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/status.h"

namespace dfs::cmd {

class LocalTarget {
 public:
  // `new_mode`: the permission bits if the destination is new.
  static Result<LocalTarget> Open(const std::string& path, mode_t new_mode = 0666);
  LocalTarget(LocalTarget&& other) noexcept;
  LocalTarget& operator=(LocalTarget&&) = delete;
  ~LocalTarget();  // without Commit: the destination is left as it was

  int fd() const { return fd_; }
  Status Commit();

 private:
  LocalTarget() = default;

  std::string path_;       // the destination (symlinks resolved)
  std::string temp_name_;  // a named temporary file, if O_TMPFILE was not available
  bool in_place_ = false;  // writing the destination itself
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace dfs::cmd
