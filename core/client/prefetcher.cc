#include "core/client/prefetcher.h"

#include <algorithm>

namespace dfs::client {

Result<std::unique_ptr<Prefetcher>> Prefetcher::Start(const ClientOptions& options) {
  DFS_ASSIGN_OR_RETURN(auto fs, FileSystem::Connect(options));
  std::unique_ptr<Prefetcher> ra(new Prefetcher(std::move(fs)));
  ra->worker_ = std::thread([r = ra.get()] { r->Loop(); });
  return ra;
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (worker_.joinable()) worker_.join();
}

std::shared_future<Window> Prefetcher::Fetch(const Attr& attr, const std::string& path, uint64_t offset,
                                             uint64_t length, std::shared_ptr<std::atomic<bool>> cancel) {
  std::packaged_task<Window()> task([this, attr, path, offset, length, cancel] {
    Window w;
    w.offset = offset;
    if (cancel && cancel->load()) {
      ++skipped_;
      w.status = Status(Code::kCancelled, "read-ahead of " + path + " cancelled");
      return w;
    }
    if (offset < attr.size) w.bytes.reserve(std::min(length, attr.size - offset));
    w.status = fs_->ReadInto(attr, path, offset, length, &w.bytes);
    if (!w.status.ok()) w.bytes.clear();
    return w;
  });
  std::shared_future<Window> result = task.get_future().share();
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return result;
}

void Prefetcher::Loop() {
  while (true) {
    std::packaged_task<Window()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace dfs::client
