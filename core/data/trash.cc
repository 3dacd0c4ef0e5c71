#include "core/data/trash.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>
#include <vector>

#include <dirent.h>

namespace dfs::data {
namespace {

struct Entry {
  std::string path;
  int64_t mtime_ns;
  uint64_t bytes;
};

std::vector<Entry> List(const std::string& dir) {
  std::vector<Entry> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string path = dir + "/" + e->d_name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({path, int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec,
                   static_cast<uint64_t>(st.st_blocks) * 512});
  }
  closedir(d);
  return out;
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace

DiskSpace SpaceOf(const std::string& path) {
  DiskSpace s;
  struct statvfs v;
  if (statvfs(path.c_str(), &v) == 0) {
    s.free = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
    s.total = static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
  }
  return s;
}

Status Trash::Put(const std::string& path, const std::string& name) {
  if (grace_s_ <= 0) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Internal("remove " + path + ": " + strerror(errno));
    }
    return Status::Ok();
  }
  std::string to = dir_ + "/" + name;
  if (rename(path.c_str(), to.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Internal("move " + path + " to the trash: " + strerror(errno));
  }
  utimes(to.c_str(), nullptr);  // the grace period starts now
  return Status::Ok();
}

TrashUsage Trash::Usage() const {
  TrashUsage u;
  for (const Entry& e : List(dir_)) {
    ++u.files;
    u.bytes += e.bytes;
  }
  return u;
}

uint64_t Trash::PurgeExpired() {
  uint64_t freed = 0;
  const int64_t cutoff = NowNs() - static_cast<int64_t>(grace_s_ * 1e9);
  for (const Entry& e : List(dir_)) {
    if (e.mtime_ns <= cutoff && unlink(e.path.c_str()) == 0) freed += e.bytes;
  }
  return freed;
}

uint64_t Trash::PurgeUntilFree(uint64_t want_free) {
  if (SpaceOf(dir_).free >= want_free) return 0;
  std::vector<Entry> entries = List(dir_);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.mtime_ns < b.mtime_ns; });
  uint64_t freed = 0;
  for (const Entry& e : entries) {
    if (SpaceOf(dir_).free >= want_free) break;
    if (unlink(e.path.c_str()) == 0) freed += e.bytes;
  }
  return freed;
}

}  // namespace dfs::data
