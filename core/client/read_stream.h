// ReadStream: the reads of one open handle of a file. A sequential read is
// served from the windows of a ReadAhead (the mount is asked 128 KiB at a
// time; the engine is fast with windows of MiBs): the prefetcher's thread
// streams the file ahead of the reader, a few windows ahead, with no pause
// between them. A read anywhere else (a seek) cancels the read-ahead and
// reads just the bytes it asks for, at once, not behind the read-ahead.
//
// It reads the file by id: a rename or a replace of its name elsewhere
// never changes what it reads. It learns the file's size afresh (by id)
// when what it knows is older than `attr_max_age_s` (the mount's cache=
// time, as the kernel keeps the size), after Drop, and before saying a
// read is past the end: it sees what others committed since (close-to-open).
// Thread-safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

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
  ~ReadStream() { StopAhead(); }
  ReadStream(const ReadStream&) = delete;
  ReadStream& operator=(const ReadStream&) = delete;

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
  // Cancels the read-ahead and forgets it.
  void StopAhead();
  // Serves from `w`; the window it replaces gives its buffer back.
  void Hold(Window w);
  // Takes the read-ahead's windows up to the one holding `offset` into
  // window_; false if it has none (then it is stopped).
  bool TakeAhead(uint64_t offset);

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
  std::shared_ptr<ReadAhead> ahead_;               // the following windows, on their way
};

}  // namespace dfs::client
