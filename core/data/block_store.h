// BlockStore: one data server's blocks on local disk (docs/block-format.md).
//
// Per file, two local files under blocks/<fid mod 256>/: <fid>.dat holds this
// server's blocks of the file packed in block order (local slot k at offset
// k * block_size, see LocalSlot), and <fid>.idx holds a 32-byte header and a
// 16-byte record per slot: CRC32C, length and version. A sequential write of
// a file is a sequential write here; overhead is 16 bytes per block.
//
// It reaches the disk only through a Disk (core/data/disk.h), so tests can
// put one that fails, tears writes or loses what was not synced under it.
// Every block is verified against its checksum when it arrives and when it is
// read. A write never replaces a block with an older version. Writes go to the
// page cache (they survive kill -9 of the server); Flush() makes them durable.
// Thread-safety: every method may be called from any thread (the service
// and the rebuild, reclaim and scrub threads); one lock, held for the call.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "core/common/block_records.h"
#include "core/common/file_layout.h"
#include "core/data/disk.h"
#include "core/data/trash.h"

namespace dfs::data {

struct StoreStats {
  uint64_t files = 0;
  uint64_t blocks = 0;
  uint64_t bytes = 0;       // of data files, on disk
  uint64_t live_bytes = 0;  // data and index files, on disk
  uint64_t trash_files = 0;
  uint64_t trash_bytes = 0;
  uint64_t disk_free = 0;
  uint64_t disk_total = 0;
  uint64_t headers_repaired = 0;  // damaged index headers rewritten since start
};

// A file id this server stores something of, and what it takes on disk.
struct StoredFile {
  uint64_t fid = 0;
  uint64_t bytes = 0;
};

struct BlockStoreOptions {
  double trash_grace_s = 24 * 3600;  // deleted blocks stay in the trash this long
  Disk* disk = nullptr;              // null: the real disk (PosixDisk)
};

class BlockStore {
 public:
  // Opens `dir`, stamping it for (cluster_id, index) if new; refuses a
  // directory stamped for another cluster or index.
  static Result<std::unique_ptr<BlockStore>> Open(const std::string& dir, const std::string& cluster_id, uint32_t index,
                                                  BlockStoreOptions options = {});
  ~BlockStore();

  uint32_t index() const { return index_; }

  // Stores blocks: `records` (index, version, crc, length) with their data
  // concatenated in `data`. REQUIRES: every block is held by this server.
  Status Write(const FileLayout& key, const std::vector<BlockRecord>& records, std::string_view data);

  // Fills state, version, crc and length of each record (index and flags
  // set) and appends the data of verified blocks flagged kWantData to `data`.
  // ResourceExhausted if that data would pass kMaxReadBytes (one reply).
  static constexpr size_t kMaxReadBytes = 64 << 20;
  Status Read(const FileLayout& key, std::vector<BlockRecord>* records, std::string* data);

  // The corruption simulator: replaces `length` bytes at `offset` of a stored
  // block with different ones, leaving its checksum as it was. Returns the
  // old and new bytes. NotFound if this server holds no such block.
  Status Corrupt(const FileLayout& key, uint64_t block, uint32_t offset, uint32_t length, std::string* old_bytes,
                 std::string* new_bytes);

  // Moves a file's blocks to the trash area (removes them with no grace).
  Status Delete(uint64_t fid);
  // Whether anything of file `fid` is stored here.
  bool Holds(uint64_t fid) const;

  // Checks the index header of a file against `key`, rewriting it if it was
  // damaged (reads do not look at it again once a file is open).
  Status CheckHeader(const FileLayout& key);

  // Empties the trash of what has waited out its grace period, and more,
  // oldest first, while the disk has less than `reserve_free_bytes` free.
  // Returns the bytes emptied early (before their grace ran out).
  uint64_t PurgeTrash(uint64_t reserve_free_bytes);
  TrashUsage TrashUsed() const;

  // The scrubber's reads (core/data/scrubber.h). Verifies the blocks stored
  // for a file in local slots from `*slot` on, at most `max_bytes` of them
  // read, and moves `*slot` past them (to UINT64_MAX at the end of the
  // file). Each stored block comes back with its index, version, length and
  // state (ok or corrupt); slots never written are skipped, holes of a
  // sparse index unread. `*bytes_read` counts what was read from disk.
  Status ScanSlots(const FileLayout& key, uint64_t* slot, uint64_t max_bytes, std::vector<BlockRecord>* stored,
                   uint64_t* bytes_read);
  // Forgets blocks that no file owns any more (past a file's size, in a
  // hole): their index records go, and their disk space where the file
  // system can punch it.
  Status DropBlocks(const FileLayout& key, const std::vector<uint64_t>& blocks);

  // Makes everything written since the last Flush durable: the files
  // written (fdatasync each) and the directories with new names; or, when
  // many files were written, the whole file system at once (syncfs).
  Status Flush();

  Result<StoreStats> Stats();

  // File ids this server stores blocks of (an index or a data file alone
  // counts), with their bytes on disk, in file id order.
  std::vector<StoredFile> ListFiles();

 private:
  struct OpenFile {
    std::unique_ptr<DiskFile> dat;
    std::unique_ptr<DiskFile> idx;
    uint32_t block_size = 0;
    std::list<uint64_t>::iterator lru;
  };

  BlockStore(Disk* disk, std::string dir, uint32_t index, const BlockStoreOptions& options)
      : disk_(disk), dir_(std::move(dir)), index_(index), trash_(disk, dir_ + "/trash", options.trash_grace_s) {}
  Status EnsureHeader(DiskFile* idx, const FileLayout& key);
  // Write's work once the batch is checked.
  Status WriteRuns(const FileLayout& key, const std::vector<BlockRecord>& records, std::string_view data);
  bool StoredCopyVerifies(OpenFile* f, uint32_t block_size, uint64_t slot, uint32_t crc, uint32_t length);
  std::string FilePath(uint64_t fid, const char* ext) const;
  Result<OpenFile*> Get(const FileLayout& key, bool create);
  void Close(uint64_t fid);
  Status SyncFile(uint64_t fid);
  Status CheckKey(const FileLayout& key) const;

  mutable std::mutex mu_;  // held by every public method
  Disk* disk_;
  std::string dir_;
  uint32_t index_;
  Trash trash_;
  uint64_t headers_repaired_ = 0;
  std::unordered_map<uint64_t, OpenFile> open_;
  std::list<uint64_t> lru_;              // most recently used first
  std::set<uint64_t> unsynced_;          // file ids written since the last Flush()
  std::set<std::string> unsynced_dirs_;  // directories with new names since then
  std::string scratch_;                  // read buffer, reused
  std::vector<uint64_t> slots_;          // slots of the current read run, reused
  // Blocks stored per file, for Stats: counted from the index once, then
  // kept up to date by writes (a drop or a delete forgets the file's count),
  // so a status costs O(files), not a scan of every index.
  std::unordered_map<uint64_t, uint64_t> block_counts_;
};

}  // namespace dfs::data
