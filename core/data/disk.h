// Disk: how a data server touches its local disk (leveldb's Env). The block
// store and the trash use nothing else, so a test can put a disk that
// fails, tears writes or loses what was not synced under them
// (tests/unit/fault_disk.h). PosixDisk() is the real one.
// Thread-safety: PosixDisk is safe from any thread; a DiskFile is used by
// one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace dfs::data {

// An open file. Errors are Status values: ResourceExhausted for a full
// disk, FileTooLarge past what the file system holds, Internal otherwise.
class DiskFile {
 public:
  virtual ~DiskFile() = default;
  // Writes all `n` bytes at `offset`.
  virtual Status Write(uint64_t offset, const char* bytes, size_t n) = 0;
  // Reads `n` bytes at `offset`; bytes past the end read as zeros.
  virtual Status Read(uint64_t offset, char* bytes, size_t n) = 0;
  virtual Result<uint64_t> Size() = 0;
  // The first offset at or after `offset` that may hold data: holes of a
  // sparse file are skipped; the size if only a hole is left.
  virtual uint64_t NextData(uint64_t offset) = 0;
  // Gives back the space of [offset, offset + length) where the file
  // system can; what is left there reads as zeros. Best effort.
  virtual void Punch(uint64_t offset, uint64_t length) = 0;
  // True once the file was removed (or renamed away) behind this handle.
  virtual bool Unlinked() = 0;
  // Makes its contents durable (fdatasync).
  virtual Status Sync() = 0;
};

enum class OpenMode {
  kExisting,   // NotFound if it does not exist
  kCreate,     // created empty if it does not exist
  kCreateNew,  // AlreadyExists if it exists
};

// A regular file found by List.
struct DiskEntry {
  std::string path;
  uint64_t bytes = 0;    // on disk (holes cost nothing)
  int64_t mtime_ns = 0;  // wall clock
};

struct DiskSpace {
  uint64_t free = 0;
  uint64_t total = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;
  virtual Result<std::unique_ptr<DiskFile>> Open(const std::string& path, OpenMode mode) = 0;
  virtual Status MakeDirs(const std::string& dir) = 0;
  // Renames and sets the modification time to now (the trash counts its
  // grace period from it). NotFound if `from` does not exist.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // NotFound if it does not exist.
  virtual Status Remove(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // The regular files under `dir` (and its subdirectories if `recursive`).
  virtual std::vector<DiskEntry> List(const std::string& dir, bool recursive) = 0;
  // Makes the names in `dir` (new, renamed, removed) durable (fsync).
  virtual Status SyncDir(const std::string& dir) = 0;
  // Makes everything written to the file system holding `dir` durable.
  virtual Status SyncAll(const std::string& dir) = 0;
  virtual DiskSpace Space(const std::string& dir) = 0;
  // A small file whole (NotFound if absent), and one written whole or not
  // at all (a temporary file renamed over it).
  virtual Result<std::string> ReadWhole(const std::string& path) = 0;
  virtual Status WriteWhole(const std::string& path, const std::string& bytes) = 0;
};

// The real disk, through POSIX calls.
Disk* PosixDisk();

}  // namespace dfs::data
