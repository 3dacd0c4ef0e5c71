#include "core/data/trash.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace dfs::data {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status Trash::Put(const std::string& path, const std::string& name) {
  Status st = grace_s_ <= 0 ? disk_->Remove(path) : disk_->Rename(path, dir_ + "/" + name);
  return st.code() == Code::kNotFound ? Status::Ok() : st;
}

TrashUsage Trash::Usage() const {
  TrashUsage u;
  for (const DiskEntry& e : disk_->List(dir_, false)) {
    ++u.files;
    u.bytes += e.bytes;
  }
  return u;
}

uint64_t Trash::PurgeExpired() {
  uint64_t freed = 0;
  const int64_t cutoff = NowNs() - static_cast<int64_t>(grace_s_ * 1e9);
  for (const DiskEntry& e : disk_->List(dir_, false)) {
    if (e.mtime_ns <= cutoff && disk_->Remove(e.path).ok()) freed += e.bytes;
  }
  return freed;
}

uint64_t Trash::PurgeUntilFree(uint64_t want_free) {
  if (disk_->Space(dir_).free >= want_free) return 0;
  std::vector<DiskEntry> entries = disk_->List(dir_, false);
  std::sort(entries.begin(), entries.end(),
            [](const DiskEntry& a, const DiskEntry& b) { return a.mtime_ns < b.mtime_ns; });
  uint64_t freed = 0;
  for (const DiskEntry& e : entries) {
    if (disk_->Space(dir_).free >= want_free) break;
    if (disk_->Remove(e.path).ok()) freed += e.bytes;
  }
  return freed;
}

}  // namespace dfs::data
