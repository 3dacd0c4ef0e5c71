// OpenFile: a file open for writing, shared by every handle that writes it
// (the kernel may write, flush or read through any of them). Writes from
// offset 0 of a new or truncated file stream through a FileWriter (fast,
// sequential); any other write, and truncate, go through a PatchWriter
// (blocks patched in memory, written at flush). A stream that gets a write
// elsewhere is finished and switches. A failed write is kept and reported
// again by every later Flush and by Close.
// Thread-safety: one thread at a time, but for path() and Renamed, from any.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/client/file_system.h"
#include "core/client/file_writer.h"
#include "core/client/patch_writer.h"

namespace dfs::client {

class OpenFile {
 public:
  // `path` is where the file is now (for patches and messages); Renamed
  // moves it. Its writes go through `fs`.
  OpenFile(FileSystem* fs, uint64_t fid, std::string path) : fs_(fs), fid_(fid), path_(std::move(path)) {}

  uint64_t fid() const { return fid_; }
  std::string path() const {
    std::lock_guard<std::mutex> lock(path_mu_);
    return path_;
  }
  void Renamed(std::string path) {
    std::lock_guard<std::mutex> lock(path_mu_);
    path_ = std::move(path);
  }

  // The file was created or truncated through `fs`, which made `writer`:
  // writes from offset 0 stream through it, later calls go through `fs`,
  // and an earlier error is forgotten.
  void Restart(std::unique_ptr<FileWriter> writer, FileSystem* fs);
  // Opened for writing with no stream: later writes patch it.
  Status Patch();

  Status Write(uint64_t offset, const char* bytes, size_t size);
  Status Truncate(uint64_t size);

  // Anything written and not yet published.
  bool dirty() const { return writer_ || (patch_ && patch_->dirty()); }
  // A write under way: its size is size(), not yet committed.
  bool writing() const { return writer_ || patch_; }
  bool streaming() const { return writer_ != nullptr; }
  uint64_t size() const { return patch_ ? patch_->size() : written_; }

  // Sends what was written to both replicas and commits the size, so
  // readers see it; not a durability point.
  Status Publish();
  // Publish, then durable on both replicas (R10). Stays open for writing.
  // The namespace (the committed size) survives a crash of the meta server
  // process; Fsync makes it durable on its disk too.
  Status Flush();
  Status Fsync();
  // The last close: everything durable on both replicas, no more writes.
  // The write lease stays until EndWrite.
  Status Close();
  // Close, then the write lease goes back (soon: FileSystem::EndWriteSoon).
  Status CloseAndRelease();

 private:
  Status Fail(const char* what, Status st);
  // A file held open for writing longer than its capability lasts (a log
  // appended for days through the mount) gets a fresh one before it runs out.
  void RenewCapability();
  Status UsePatch();

  FileSystem* fs_;
  const uint64_t fid_;
  mutable std::mutex path_mu_;
  std::string path_;  // guarded by path_mu_
  std::unique_ptr<FileWriter> writer_;
  uint64_t written_ = 0;  // bytes through writer_
  std::unique_ptr<PatchWriter> patch_;
  bool changed_ = false;     // written or truncated since the last Flush
  uint64_t generation_ = 0;  // of the last open for writing (Restart, UsePatch)
  Status error_;
};

}  // namespace dfs::client
