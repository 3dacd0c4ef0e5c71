// Invalidator: has the kernel drop what it caches of a path (attributes
// and pages) from a thread of its own. A FUSE callback holds libfuse's
// lock on its path, and dropping a page waits for its lock, which a write
// in flight holds until the daemon answers it; that answer waits for the
// same path while a rename of it is queued: done inside the callback, the
// three wait for each other forever. The callback waits for the drop a
// short while only, then goes on: the kernel has the open's own answer
// drop the pages anyway (keep_cache = 0), and only the cached size may lag
// behind for that moment.
// Thread-safety: Invalidate from any thread.
#pragma once

#define FUSE_USE_VERSION 31

#include <fuse.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace dfs::mount {

class Invalidator {
 public:
  explicit Invalidator(fuse* f);
  ~Invalidator();
  Invalidator(const Invalidator&) = delete;
  Invalidator& operator=(const Invalidator&) = delete;

  // Drops what the kernel caches of `path`, waiting up to `wait` for it.
  void Invalidate(const std::string& path, std::chrono::milliseconds wait = std::chrono::milliseconds(200));

 private:
  void Loop();

  fuse* const fuse_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;   // guarded by mu_
  uint64_t queued_ = 0, done_ = 0;  // counts; guarded by mu_
  bool stop_ = false;               // guarded by mu_
  std::thread thread_;
};

}  // namespace dfs::mount
