#include "mount/engine_pool.h"

namespace dfs::mount {

Result<std::unique_ptr<EnginePool>> EnginePool::Connect(const client::FileSystem& base, int count) {
  std::unique_ptr<EnginePool> pool(new EnginePool());
  for (int i = 0; i < count; ++i) {
    DFS_ASSIGN_OR_RETURN(auto fs, base.ConnectAnother());
    pool->engines_.push_back(std::move(fs));
    pool->free_.push_back(static_cast<size_t>(i));
  }
  return pool;
}

EnginePool::Lease EnginePool::Borrow() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty(); });
  size_t index = free_.back();
  free_.pop_back();
  return Lease(this, index);
}

void EnginePool::GiveBack(size_t index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(index);
  }
  cv_.notify_one();
}

}  // namespace dfs::mount
