// FaultDisk: an in-memory Disk for unit tests of the block store, with the
// faults a real disk and a real crash have (leveldb's FaultInjectionTestEnv):
// a write that fails (a full disk, an I/O error) or is torn at a byte
// offset, a sync that fails, and a power cut that forgets everything not
// yet made durable: a file's contents since its last Sync, and a
// directory's new names, renames and removals since its last SyncDir (a
// name that was never made durable is gone, whatever its file's syncs).
// Thread-safety: one mutex around everything.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/data/disk.h"

namespace dfs::testing {

class FaultDisk : public data::Disk {
 public:
  explicit FaultDisk(uint64_t capacity = uint64_t{1} << 40) : capacity_(capacity) {}

  // The write `after` writes from now (0: the next one) fails with `why`,
  // writing nothing.
  void FailWrite(int after, Status why);
  // The write `after` writes from now is torn, as a power cut in the middle
  // of it leaves it: the sectors (512 bytes of the file) up to the first
  // sector boundary at or past `keep` bytes of the write are written, the
  // rest is not, and the write fails. (A disk writes a sector whole; a
  // process killed in a write(2) leaves nothing torn at all.)
  void TearWrite(int after, size_t keep);
  // The sync `after` syncs from now fails with `why`.
  void FailSync(int after, Status why);
  // Everything not made durable is lost. Open files stay open on the old
  // contents (Unlinked): reopen the store, as a restarted server would.
  void PowerCut();
  // Overwrites bytes of a file behind the store's back (bit rot, an operator).
  void Scribble(const std::string& path, uint64_t offset, const std::string& bytes);
  std::string Contents(const std::string& path);
  uint64_t used() const;
  int writes() const { return writes_; }
  int syncs() const { return syncs_; }

  // data::Disk
  Result<std::unique_ptr<data::DiskFile>> Open(const std::string& path, data::OpenMode mode) override;
  Status MakeDirs(const std::string&) override { return Status::Ok(); }
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  bool Exists(const std::string& path) override;
  std::vector<data::DiskEntry> List(const std::string& dir, bool recursive) override;
  Status SyncDir(const std::string& dir) override;
  Status SyncAll(const std::string& dir) override;
  data::DiskSpace Space(const std::string& dir) override;
  Result<std::string> ReadWhole(const std::string& path) override;
  Status WriteWhole(const std::string& path, const std::string& bytes) override;

  struct Node {
    std::string data;
    std::string synced;  // data at its last Sync
    int64_t mtime_ns = 0;
  };
  // What a DiskFile's Sync asks.
  Status SyncNode(const std::shared_ptr<Node>& node);
  // What a DiskFile's Write asks: the fault to apply, if any.
  Status WriteAt(const std::shared_ptr<Node>& node, uint64_t offset, const char* bytes, size_t n);
  bool IsLive(const std::string& path, const std::shared_ptr<Node>& node);
  std::mutex& mu() { return mu_; }

 private:
  uint64_t UsedLocked() const;

  mutable std::mutex mu_;
  uint64_t capacity_;
  std::map<std::string, std::shared_ptr<Node>> live_;
  std::map<std::string, std::shared_ptr<Node>> durable_;  // names made durable, and their files
  int writes_ = 0, syncs_ = 0;
  int fail_write_at_ = -1, tear_write_at_ = -1, fail_sync_at_ = -1;
  Status fail_write_why_, fail_sync_why_;
  size_t tear_keep_ = 0;
};

}  // namespace dfs::testing
