// Prefetcher: fetches windows of files on its own thread, so the next
// window of a sequential read (ReadStream) crosses the network while the
// caller (the mount's FUSE thread) hands the current one on. It has its own
// engine connection: a FileSystem is used by one thread at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/client/file_system.h"

namespace dfs::client {

// Bytes of a file from `offset`, or why they could not be read.
struct Window {
  uint64_t offset = 0;
  std::string bytes;
  Status status;

  bool Holds(uint64_t at) const { return at >= offset && at < offset + bytes.size(); }
};

class Prefetcher {
 public:
  static Result<std::unique_ptr<Prefetcher>> Start(const ClientOptions& options);
  ~Prefetcher();  // finishes queued fetches, then stops the thread

  // Queues a read of [offset, offset + length) of the file (shorter at its
  // end). The future is ready when the bytes are. Setting `cancel` before
  // the read starts skips it (its window says Cancelled): a reader that
  // seeks away frees the thread for what it reads next.
  std::shared_future<Window> Fetch(const Attr& attr, const std::string& path, uint64_t offset, uint64_t length,
                                   std::shared_ptr<std::atomic<bool>> cancel = nullptr);

  // Fetches skipped because they were cancelled before they started.
  uint64_t skipped() const { return skipped_; }

 private:
  explicit Prefetcher(std::unique_ptr<FileSystem> fs) : fs_(std::move(fs)) {}
  void Loop();

  std::unique_ptr<FileSystem> fs_;  // used by the worker thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<Window()>> queue_;
  bool stop_ = false;
  std::atomic<uint64_t> skipped_{0};
  std::thread worker_;
};

}  // namespace dfs::client
