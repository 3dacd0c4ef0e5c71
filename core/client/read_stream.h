// ReadStream: the reads of one open handle of a file. Sequential reads are
// served from windows of MiBs (the mount is asked 128 KiB at a time; the
// engine is fast with windows of MiBs), and while they go on the following
// windows are fetched ahead by a Prefetcher, in file order. A read anywhere
// else (a seek) cancels the read-ahead not yet started and reads just the
// bytes it asks for, at once, not behind the read-ahead.
//
// It reads the file by id: a rename or a replace of its name elsewhere
// never changes what it reads. Each new window learns the file's size
// afresh (by id), so it sees what others committed since (close-to-open),
// unless it learnt it less than `attr_max_age_s` ago (the mount's cache=
// time, as the kernel keeps the size) and Drop was not called since.
// Thread-safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <future>

#include "core/client/file_system.h"
#include "core/client/prefetcher.h"

namespace dfs::client {

class ReadStream {
 public:
  ReadStream(FileSystem* fs, Prefetcher* prefetcher, Attr attr, double attr_max_age_s = 0)
      : fs_(fs),
        prefetcher_(prefetcher),
        attr_(std::move(attr)),
        attr_max_age_s_(attr_max_age_s),
        attr_at_(std::chrono::steady_clock::now()) {}

  uint64_t fid() const { return attr_.fid; }
  const Attr& attr() const { return attr_; }
  // The engine the following reads use for what they fetch on the
  // caller's thread (the mount lends one per call).
  void Use(FileSystem* fs) { fs_ = fs; }

  // Reads up to `size` bytes at `offset` into `out`: all of them, or fewer
  // at the end of the file.
  Result<size_t> Read(uint64_t offset, char* out, size_t size);

  // What was fetched is stale (the file was written), and what is known of
  // the file.
  void Drop();

 private:
  struct Ahead {
    uint64_t offset;
    std::shared_future<Window> window;
    std::shared_ptr<std::atomic<bool>> cancel;
  };
  // Cancels the windows on their way and forgets them.
  void CancelAhead();

  // Makes window_ hold `offset` and as much as it can of the `size` bytes
  // from it, unless that is past the end of the file.
  Status Fill(uint64_t offset, uint64_t size);
  bool Holds(uint64_t offset) const { return window_.Holds(offset); }

  FileSystem* fs_;
  Prefetcher* prefetcher_;
  Attr attr_;
  const double attr_max_age_s_;
  std::chrono::steady_clock::time_point attr_at_;  // when attr_ was learnt
  bool attr_stale_ = false;                        // Drop was called since
  Window window_;                                  // the bytes being served
  std::deque<Ahead> ahead_;                        // the following windows, on their way
};

}  // namespace dfs::client
