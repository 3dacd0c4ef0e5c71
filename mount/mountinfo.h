// What is mounted where, as /proc/self/mountinfo says: for the mount
// command's checks and the daemon's kernel tuning.
#pragma once

#include <string>

namespace dfs::mount {

struct MountEntry {
  std::string device;  // "MAJ:MIN" of the mounted file system
  std::string type;    // "fuse.dfs", "ext4", ...
};

// The last mount on `dir` (an absolute path without symlinks, as realpath
// gives), the one seen there; false if nothing is mounted on it.
bool MountAt(const std::string& dir, MountEntry* found);

}  // namespace dfs::mount
