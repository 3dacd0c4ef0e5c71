// Trash: the files of deleted blocks (DIR/trash/<fid>.dat, .idx), kept for a
// grace period so that a mistake can still be undone by hand, and given up
// at once, oldest first, when the disk runs short: the trash never makes a
// write fail for lack of space.
// Thread-safety: none; the data server calls it under its store mutex.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "core/data/disk.h"

namespace dfs::data {

struct TrashUsage {
  uint64_t files = 0;
  uint64_t bytes = 0;  // on disk
};

class Trash {
 public:
  // REQUIRES: `dir` exists on `disk`.
  Trash(Disk* disk, std::string dir, double grace_s) : disk_(disk), dir_(std::move(dir)), grace_s_(grace_s) {}

  // Moves `path` into the trash as `name`; with no grace period, removes it.
  // A `path` that does not exist is not an error.
  Status Put(const std::string& path, const std::string& name);

  TrashUsage Usage() const;

  // Removes what has been there longer than the grace period; returns the
  // bytes freed.
  uint64_t PurgeExpired();
  // Removes entries, oldest first, until the file system holding the trash
  // has `want_free` bytes free or the trash is empty; returns bytes freed.
  uint64_t PurgeUntilFree(uint64_t want_free);

 private:
  Disk* disk_;
  std::string dir_;
  double grace_s_;
};

}  // namespace dfs::data
