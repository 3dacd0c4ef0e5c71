#include "mount/invalidator.h"

namespace dfs::mount {

Invalidator::Invalidator(fuse* f) : fuse_(f), thread_([this] { Loop(); }) {}

Invalidator::~Invalidator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Invalidator::Invalidate(const std::string& path, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(path);
  const uint64_t mine = ++queued_;
  cv_.notify_all();
  cv_.wait_for(lock, wait, [&] { return done_ >= mine || stop_; });
}

void Invalidator::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::string path = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    // A path the kernel does not know (gone, renamed since) has nothing to drop.
    (void)fuse_invalidate_path(fuse_, path.c_str());
    lock.lock();
    ++done_;
    cv_.notify_all();
  }
}

}  // namespace dfs::mount
