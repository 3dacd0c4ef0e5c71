// Prefetcher: reads files ahead of their readers on its own thread, so that
// what a sequential read needs next crosses the network while the caller
// (the mount's FUSE thread) hands on what it has. It has its own engine
// connection: a FileSystem is used by one thread at a time.
//
// Its work is ReadAheads: a sequential read of a file from an offset on, as
// one pipelined stream of the engine's windows (about 1 MiB per data server
// each), with no restart between them. When its reader holds `max_ready`
// windows not yet taken it waits for the reader (at most 200 ms, and not
// at all when other work waits), then stops until the reader takes one.
// After 64 MiB it lets waiting work go first. Each window lands in a buffer
// recycled from one the reader is done with: no fresh memory per window.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
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
  uint64_t end() const { return offset + bytes.size(); }
};

class Prefetcher;

// A sequential read-ahead of one file (Prefetcher::StartReadAhead). The
// reader takes its windows in file order. Thread-safe.
class ReadAhead : public std::enable_shared_from_this<ReadAhead> {
 public:
  // Where the next window Take returns starts.
  uint64_t next() const;
  // Where the file ends, as the read-ahead knows it.
  uint64_t end() const { return attr_.size; }
  const Attr& attr() const { return attr_; }

  // The next window, waiting for it if needed. A window whose status is not
  // Ok says why it could not be read; no window follows it.
  Window Take();
  // A taken window's buffer, for a later window: its memory stays mapped.
  void Recycle(std::string bytes);
  // Stops: the windows on their way are dropped, none is read after.
  void Cancel();

 private:
  friend class Prefetcher;
  ReadAhead(Prefetcher* owner, Attr attr, std::string path, uint64_t offset, size_t max_ready)
      : owner_(owner), attr_(std::move(attr)), path_(std::move(path)), pos_(offset), max_ready_(max_ready) {}
  // On the prefetcher's thread: streams from pos_ until the reader holds
  // max_ready_ windows, the file ends, the turn ends or it is cancelled.
  // Returns whether it should be queued again (its turn ended).
  bool Run(FileSystem* fs);

  Prefetcher* const owner_;
  const Attr attr_;
  const std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Window> ready_;       // read, not taken yet
  std::deque<std::string> spare_;  // recycled buffers
  uint64_t pos_;                   // where reading goes on
  const size_t max_ready_;
  bool queued_ = false;     // in the prefetcher's queue or running
  bool cancelled_ = false;  // by the reader
  bool failed_ = false;     // a window with an error is in ready_ (or was taken)
};

class Prefetcher {
 public:
  static Result<std::unique_ptr<Prefetcher>> Start(const ClientOptions& options);
  ~Prefetcher();  // finishes queued work, then stops the thread

  // Starts reading `attr`'s file from `offset` on, keeping at most
  // `max_ready` windows (about 1 MiB per data server each) read ahead of
  // its reader.
  std::shared_ptr<ReadAhead> StartReadAhead(const Attr& attr, const std::string& path, uint64_t offset,
                                            size_t max_ready);

  // Bytes read by this prefetcher's thread so far.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  friend class ReadAhead;
  explicit Prefetcher(std::unique_ptr<FileSystem> fs) : fs_(std::move(fs)) {}
  void Loop();
  void Queue(std::function<void()> work);
  // Queues `ra` to run (again), unless it is queued or running.
  void Resume(const std::shared_ptr<ReadAhead>& ra);
  // Whether other work waits for the thread (a read-ahead then yields).
  bool OthersWaiting();

  std::unique_ptr<FileSystem> fs_;  // used by the worker thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::shared_ptr<ReadAhead> running_;  // the read-ahead on the thread, if any
  bool stop_ = false;
  std::atomic<uint64_t> bytes_read_{0};
  std::thread worker_;
};

}  // namespace dfs::client
