// EnginePool: a few engines (client::FileSystem, each with its own
// connections) for the mount's FUSE threads. An engine serves one call at
// a time; Borrow hands out one that is free, so a call that waits (a close
// for a down data server, R10) holds one engine and the others go on
// serving stat, ls and reads.
// Thread-safety: Borrow from any thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/client/file_system.h"

namespace dfs::mount {

class EnginePool {
 public:
  // `count` more engines of `base`'s client (FileSystem::ConnectAnother).
  static Result<std::unique_ptr<EnginePool>> Connect(const client::FileSystem& base, int count);

  // An engine, used by this thread alone until the Lease ends.
  class Lease {
   public:
    Lease(EnginePool* pool, size_t index) : pool_(pool), index_(index) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), index_(o.index_) { o.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (pool_) pool_->GiveBack(index_);
    }
    client::FileSystem* operator->() const { return pool_->engines_[index_].get(); }
    client::FileSystem* get() const { return pool_->engines_[index_].get(); }

   private:
    EnginePool* pool_;
    size_t index_;
  };
  // Waits while every engine is in use.
  Lease Borrow();

 private:
  EnginePool() = default;
  void GiveBack(size_t index);

  std::vector<std::unique_ptr<client::FileSystem>> engines_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> free_;  // guarded by mu_
};

}  // namespace dfs::mount
