#include "core/data/block_store.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/common/checksum.h"
#include "core/common/placement.h"

namespace dfs::data {
namespace {

namespace fs = std::filesystem;

constexpr char kIdxMagic[8] = {'D', 'F', 'S', 'I', 'D', 'X', '0', '1'};
constexpr size_t kIdxHeader = 32;
constexpr size_t kIdxRecord = 16;
constexpr size_t kMaxOpenFiles = 256;

struct IdxHeader {
  char magic[8];
  uint64_t fid;
  uint64_t placement_seed;
  uint32_t block_size;
  uint32_t stripe_width;
};
static_assert(sizeof(IdxHeader) == kIdxHeader);

struct IdxRecord {
  uint32_t crc;
  uint32_t length;
  uint64_t version;  // 0: no block in this slot
};
static_assert(sizeof(IdxRecord) == kIdxRecord);

std::string Errno(const std::string& what) { return what + ": " + strerror(errno); }

Status IoError(const std::string& what) {
  if (errno == ENOSPC || errno == EDQUOT) return Status(Code::kResourceExhausted, Errno(what));
  if (errno == EFBIG) return Status(Code::kFileTooLarge, Errno(what) + " (past what this server's file system holds)");
  return Internal(Errno(what));
}

Status PwriteAll(int fd, const char* p, size_t n, off_t off, const std::string& what) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError(what);
    }
    p += w;
    n -= w;
    off += w;
  }
  return Status::Ok();
}

// Reads up to n bytes; bytes past the end of the file read as zeros.
Status PreadAll(int fd, char* p, size_t n, off_t off, const std::string& what) {
  while (n > 0) {
    ssize_t r = pread(fd, p, n, off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError(what);
    }
    if (r == 0) {
      memset(p, 0, n);
      break;
    }
    p += r;
    n -= r;
    off += r;
  }
  return Status::Ok();
}

// Filled slots of an index file. A sparse file's index has holes (slots
// never written): they are skipped, not read, so a block at offset 10^12
// costs no 12 GB read here.
uint64_t CountStoredBlocks(const std::string& idx_path) {
  int fd = open(idx_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  uint64_t count = 0;
  if (fstat(fd, &st) == 0) {
    constexpr size_t kChunk = 1 << 20;  // a multiple of the record size
    std::vector<IdxRecord> recs(kChunk / kIdxRecord);
    off_t off = kIdxHeader;
    while (off < st.st_size) {
      off_t data = lseek(fd, off, SEEK_DATA);
      if (data < 0) break;  // only a hole is left
      // Back to a record boundary.
      off = std::max<off_t>(off, data - (data - static_cast<off_t>(kIdxHeader)) % static_cast<off_t>(kIdxRecord));
      ssize_t got = pread(fd, recs.data(), kChunk, off);
      if (got <= 0) break;
      size_t n = static_cast<size_t>(got) / kIdxRecord;
      for (size_t k = 0; k < n; ++k) count += recs[k].version != 0;
      off += static_cast<off_t>(n * kIdxRecord);
      if (n == 0) break;
    }
  }
  close(fd);
  return count;
}

}  // namespace

Result<std::unique_ptr<BlockStore>> BlockStore::Open(const std::string& dir, const std::string& cluster_id,
                                                     uint32_t index, BlockStoreOptions options) {
  std::error_code ec;
  fs::create_directories(dir + "/blocks", ec);
  if (!ec) fs::create_directories(dir + "/trash", ec);
  if (ec) return InvalidArgument("cannot create data directory " + dir + ": " + ec.message());
  std::string stamp_path = dir + "/STAMP";
  std::string want = cluster_id + " " + std::to_string(index);
  std::ifstream in(stamp_path);
  if (in) {
    std::string have;
    std::getline(in, have);
    if (have != want) {
      return Status(Code::kFailedPrecondition,
                    dir + " belongs to cluster/server '" + have + "', not '" + want +
                        "': refusing to use it (give this server its own directory)");
    }
  } else {
    std::string tmp = stamp_path + ".tmp";
    std::ofstream out(tmp);
    out << want << "\n";
    out.close();
    if (!out || rename(tmp.c_str(), stamp_path.c_str()) != 0) {
      return Internal("cannot write " + stamp_path);
    }
  }
  return std::unique_ptr<BlockStore>(new BlockStore(dir, index, options));
}

BlockStore::~BlockStore() {
  (void)Flush();
  while (!lru_.empty()) Close(lru_.back());
}

std::string BlockStore::FilePath(uint64_t fid, const char* ext) const {
  char sub[8];
  snprintf(sub, sizeof sub, "%02x", static_cast<unsigned>(fid & 0xff));
  return dir_ + "/blocks/" + sub + "/" + std::to_string(fid) + ext;
}

Status BlockStore::CheckKey(const FileKey& key) const {
  if (key.stripe_width < 2 || key.stripe_width > 65536) {
    return InvalidArgument("stripe width " + std::to_string(key.stripe_width) + " out of range");
  }
  if (index_ >= key.stripe_width) {
    return InvalidArgument("server " + std::to_string(index_) + " is not in a stripe of width " +
                           std::to_string(key.stripe_width));
  }
  if (key.block_size < 64 || key.block_size > (4u << 20)) {
    return InvalidArgument("block size " + std::to_string(key.block_size) + " out of range");
  }
  return Status::Ok();
}

void BlockStore::Close(uint64_t fid) {
  auto it = open_.find(fid);
  if (it == open_.end()) return;
  // Dirty data of a closed file stays in the page cache; Flush() syncs the
  // whole file system, so it is not synced here one file at a time.
  for (int fd : {it->second.dat, it->second.idx}) close(fd);
  lru_.erase(it->second.lru);
  open_.erase(it);
}

Result<BlockStore::OpenFile*> BlockStore::Get(const FileKey& key, bool create) {
  auto it = open_.find(key.fid);
  if (it != open_.end()) {
    // Files removed behind our back (an operator, a wiped disk) must read as
    // missing, not live on through the open descriptors.
    struct stat a, b;
    if (fstat(it->second.idx, &a) != 0 || fstat(it->second.dat, &b) != 0 || a.st_nlink == 0 || b.st_nlink == 0) {
      Close(key.fid);
      it = open_.end();
    }
  }
  if (it != open_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    if (it->second.block_size != key.block_size) {
      DFS_RETURN_IF_ERROR(EnsureHeader(it->second.idx, key, FilePath(key.fid, ".idx")));
      it->second.block_size = key.block_size;
    }
    return &it->second;
  }
  while (open_.size() >= kMaxOpenFiles) Close(lru_.back());

  std::string idx_path = FilePath(key.fid, ".idx");
  std::string dat_path = FilePath(key.fid, ".dat");
  int flags = O_RDWR | O_CLOEXEC;
  int idx = open(idx_path.c_str(), flags);
  if (idx < 0 && errno == ENOENT && create) {
    std::error_code ec;
    fs::create_directories(fs::path(idx_path).parent_path(), ec);
    idx = open(idx_path.c_str(), flags | O_CREAT | O_EXCL, 0644);
    if (idx >= 0) {
      IdxHeader h{};
      memcpy(h.magic, kIdxMagic, sizeof h.magic);
      h.fid = key.fid;
      h.placement_seed = key.placement_seed;
      h.block_size = key.block_size;
      h.stripe_width = key.stripe_width;
      Status st = PwriteAll(idx, reinterpret_cast<const char*>(&h), sizeof h, 0, idx_path);
      if (!st.ok()) {
        close(idx);
        unlink(idx_path.c_str());
        return st;
      }
      dirty_ = true;
    }
  }
  if (idx < 0) {
    if (errno == ENOENT) return NotFound("file id " + std::to_string(key.fid));
    return IoError("open " + idx_path);
  }
  if (Status st = EnsureHeader(idx, key, idx_path); !st.ok()) {
    close(idx);
    return st;
  }
  int dat = open(dat_path.c_str(), flags | (create ? O_CREAT : 0), 0644);
  if (dat < 0) {
    close(idx);
    if (errno == ENOENT) return NotFound("file id " + std::to_string(key.fid) + " has no data file");
    return IoError("open " + dat_path);
  }
  lru_.push_front(key.fid);
  OpenFile& f = open_[key.fid];
  f.dat = dat;
  f.idx = idx;
  f.block_size = key.block_size;
  f.lru = lru_.begin();
  return &f;
}

// The header says which file the index belongs to; every field is known
// from the request too. A damaged header is written again from the request,
// and the index kept: each block is still checked against its own checksum,
// so the copies that verify are saved and the others read as corrupt (and
// are repaired from the other holder), instead of the whole file being lost.
Status BlockStore::EnsureHeader(int idx, const FileKey& key, const std::string& idx_path) {
  IdxHeader want{};
  memcpy(want.magic, kIdxMagic, sizeof want.magic);
  want.fid = key.fid;
  want.placement_seed = key.placement_seed;
  want.block_size = key.block_size;
  want.stripe_width = key.stripe_width;
  IdxHeader have{};
  DFS_RETURN_IF_ERROR(PreadAll(idx, reinterpret_cast<char*>(&have), sizeof have, 0, idx_path));
  if (memcmp(&have, &want, sizeof want) == 0) return Status::Ok();
  DFS_RETURN_IF_ERROR(PwriteAll(idx, reinterpret_cast<const char*>(&want), sizeof want, 0, idx_path));
  dirty_ = true;
  ++headers_repaired_;
  fprintf(stderr, "dfs data %u: the index header of file id %llu was damaged; rewrote it (each block is still "
          "checked against its checksum)\n", index_, static_cast<unsigned long long>(key.fid));
  return Status::Ok();
}

Status BlockStore::CheckHeader(const FileKey& key) {
  DFS_RETURN_IF_ERROR(CheckKey(key));
  auto opened = Get(key, false);
  if (!opened.ok()) return opened.status().code() == Code::kNotFound ? Status::Ok() : opened.status();
  return EnsureHeader((*opened)->idx, key, FilePath(key.fid, ".idx"));
}

Status BlockStore::Write(const FileKey& key, const std::vector<BlockRecord>& records, const std::string& data) {
  DFS_RETURN_IF_ERROR(CheckKey(key));
  // Validate the whole batch before touching the disk.
  uint64_t total = 0;
  for (const BlockRecord& r : records) {
    if (r.length > key.block_size) {
      return InvalidArgument("block " + std::to_string(r.index) + " is longer than the block size");
    }
    if (r.version == 0) return InvalidArgument("block " + std::to_string(r.index) + " has version 0");
    if (r.index >= BlockCount(kMaxFileSize, key.block_size)) {
      return InvalidArgument("block " + std::to_string(r.index) + " is past the largest file size");
    }
    if (!HoldsBlock(key.placement_seed, key.stripe_width, index_, r.index)) {
      return InvalidArgument("block " + std::to_string(r.index) + " of file id " + std::to_string(key.fid) +
                             " does not belong on server " + std::to_string(index_));
    }
    total += r.length;
  }
  if (total != data.size()) {
    return InvalidArgument("batch data is " + std::to_string(data.size()) + " bytes, records say " +
                           std::to_string(total));
  }
  uint64_t offset = 0;
  for (const BlockRecord& r : records) {
    if (Crc32c(data.data() + offset, r.length) != r.crc) {
      return DataLoss("block " + std::to_string(r.index) + " of file id " + std::to_string(key.fid) +
                      " arrived with a bad checksum");
    }
    offset += r.length;
  }
  Status st = WriteRuns(key, records, data);
  if (st.code() == Code::kResourceExhausted && trash_.Usage().files > 0) {
    // The trash yields to live data: all of it goes, and the write is tried
    // again (rewriting what the first try wrote is harmless: same versions).
    uint64_t freed = trash_.PurgeUntilFree(UINT64_MAX);
    fprintf(stderr, "dfs data %u: disk full: emptied the trash (%llu bytes) to write\n", index_,
            static_cast<unsigned long long>(freed));
    st = WriteRuns(key, records, data);
  }
  return st;
}

Status BlockStore::WriteRuns(const FileKey& key, const std::vector<BlockRecord>& records, const std::string& data) {
  DFS_ASSIGN_OR_RETURN(OpenFile * f, Get(key, true));
  uint64_t offset = 0;

  // Runs of consecutive slots become one data write and one index write.
  size_t i = 0;
  while (i < records.size()) {
    uint64_t first_slot = LocalSlot(key.placement_seed, key.stripe_width, index_, records[i].index);
    size_t j = i + 1;
    uint64_t run_bytes = records[i].length;
    while (j < records.size() && records[j - 1].length == key.block_size &&
           LocalSlot(key.placement_seed, key.stripe_width, index_, records[j].index) == first_slot + (j - i)) {
      run_bytes += records[j].length;
      ++j;
    }
    size_t n = j - i;
    std::vector<IdxRecord> old(n);
    DFS_RETURN_IF_ERROR(PreadAll(f->idx, reinterpret_cast<char*>(old.data()), n * kIdxRecord,
                                 kIdxHeader + first_slot * kIdxRecord, "read index"));
    bool any_newer = false;
    for (size_t k = 0; k < n; ++k) any_newer |= old[k].version > records[i + k].version;
    std::vector<IdxRecord> fresh(n);
    for (size_t k = 0; k < n; ++k) fresh[k] = {records[i + k].crc, records[i + k].length, records[i + k].version};
    if (!any_newer) {
      DFS_RETURN_IF_ERROR(PwriteAll(f->dat, data.data() + offset, run_bytes,
                                    static_cast<off_t>(first_slot * key.block_size), "write blocks"));
      DFS_RETURN_IF_ERROR(PwriteAll(f->idx, reinterpret_cast<const char*>(fresh.data()), n * kIdxRecord,
                                    kIdxHeader + first_slot * kIdxRecord, "write index"));
    } else {
      // A newer version is already here: keep it, write only the others;
      // a repair replaces a newer-looking copy that does not verify (a
      // damaged index record).
      uint64_t off = offset;
      for (size_t k = 0; k < n; ++k) {
        bool replace = old[k].version <= fresh[k].version;
        if (!replace && (records[i + k].flags & kRepairWrite)) {
          replace = !StoredCopyVerifies(f, key.block_size, first_slot + k, old[k].crc, old[k].length);
        }
        if (replace) {
          DFS_RETURN_IF_ERROR(PwriteAll(f->dat, data.data() + off, fresh[k].length,
                                        static_cast<off_t>((first_slot + k) * key.block_size), "write block"));
          DFS_RETURN_IF_ERROR(PwriteAll(f->idx, reinterpret_cast<const char*>(&fresh[k]), kIdxRecord,
                                        kIdxHeader + (first_slot + k) * kIdxRecord, "write index"));
        }
        off += fresh[k].length;
      }
    }
    offset += run_bytes;
    i = j;
  }
  dirty_ = true;
  return Status::Ok();
}

bool BlockStore::StoredCopyVerifies(OpenFile* f, uint32_t block_size, uint64_t slot, uint32_t crc, uint32_t length) {
  if (length > block_size) return false;
  std::string bytes(length, '\0');
  if (!PreadAll(f->dat, bytes.data(), length, static_cast<off_t>(slot * block_size), "read block").ok()) return false;
  return Crc32c(bytes.data(), length) == crc;
}

Status BlockStore::Read(const FileKey& key, std::vector<BlockRecord>* records, std::string* data) {
  DFS_RETURN_IF_ERROR(CheckKey(key));
  auto opened = Get(key, false);
  if (!opened.ok()) {
    if (opened.status().code() != Code::kNotFound) return opened.status();
    for (BlockRecord& r : *records) {
      r.state = static_cast<uint32_t>(BlockState::kMissing);
      r.version = r.crc = r.length = 0;
    }
    return Status::Ok();
  }
  OpenFile* f = *opened;
  size_t i = 0;
  while (i < records->size()) {
    auto& recs = *records;
    if (!HoldsBlock(key.placement_seed, key.stripe_width, index_, recs[i].index)) {
      return InvalidArgument("block " + std::to_string(recs[i].index) + " of file id " +
                             std::to_string(key.fid) + " does not belong on server " + std::to_string(index_));
    }
    // A run: records in increasing slot order within a span of max_span
    // slots, read with one pread of the index and one of the data (the gaps
    // cost less than a system call per block).
    const uint64_t first_slot = LocalSlot(key.placement_seed, key.stripe_width, index_, recs[i].index);
    const size_t max_span = std::max<size_t>(1, (4u << 20) / key.block_size);
    slots_.assign(1, first_slot);
    size_t j = i + 1;
    while (j < recs.size() && HoldsBlock(key.placement_seed, key.stripe_width, index_, recs[j].index)) {
      uint64_t slot = LocalSlot(key.placement_seed, key.stripe_width, index_, recs[j].index);
      if (slot <= slots_.back() || slot - first_slot >= max_span) break;
      slots_.push_back(slot);
      ++j;
    }
    const size_t span = slots_.back() - first_slot + 1;
    std::vector<IdxRecord> idx(span);
    DFS_RETURN_IF_ERROR(PreadAll(f->idx, reinterpret_cast<char*>(idx.data()), span * kIdxRecord,
                                 kIdxHeader + first_slot * kIdxRecord, "read index"));
    size_t bytes = span * key.block_size;
    if (scratch_.size() < bytes) scratch_.resize(bytes);  // kept: no zero-fill per read
    DFS_RETURN_IF_ERROR(PreadAll(f->dat, scratch_.data(), bytes, static_cast<off_t>(first_slot * key.block_size),
                                 "read blocks"));
    for (size_t k = 0; k < j - i; ++k) {
      BlockRecord& r = recs[i + k];
      const size_t at = slots_[k] - first_slot;
      const IdxRecord& x = idx[at];
      r.version = x.version;
      r.crc = x.crc;
      r.length = x.length;
      const char* p = scratch_.data() + at * key.block_size;
      if (x.version == 0 || x.length > key.block_size) {
        r.state = static_cast<uint32_t>(BlockState::kMissing);
        r.version = r.crc = r.length = 0;
      } else if (Crc32c(p, x.length) != x.crc) {
        r.state = static_cast<uint32_t>(BlockState::kCorrupt);
      } else {
        r.state = static_cast<uint32_t>(BlockState::kOk);
        if (r.flags & kWantData) data->append(p, x.length);
      }
    }
    i = j;
  }
  return Status::Ok();
}

Status BlockStore::Corrupt(const FileKey& key, uint64_t block, uint32_t offset, uint32_t length,
                           std::string* old_bytes, std::string* new_bytes) {
  DFS_RETURN_IF_ERROR(CheckKey(key));
  std::string what = "block " + std::to_string(block) + " of file id " + std::to_string(key.fid);
  if (!HoldsBlock(key.placement_seed, key.stripe_width, index_, block)) {
    return NotFound(what + " is not placed on server " + std::to_string(index_));
  }
  auto opened = Get(key, false);
  if (!opened.ok()) {
    if (opened.status().code() == Code::kNotFound) return NotFound("server " + std::to_string(index_) + " holds no " + what);
    return opened.status();
  }
  OpenFile* f = *opened;
  uint64_t slot = LocalSlot(key.placement_seed, key.stripe_width, index_, block);
  IdxRecord rec{};
  DFS_RETURN_IF_ERROR(PreadAll(f->idx, reinterpret_cast<char*>(&rec), sizeof rec, kIdxHeader + slot * kIdxRecord,
                               "read index"));
  if (rec.version == 0) return NotFound("server " + std::to_string(index_) + " holds no " + what);
  if (length == 0 || offset >= rec.length || length > rec.length - offset) {
    return InvalidArgument(what + " is " + std::to_string(rec.length) + " bytes: cannot change " +
                           std::to_string(length) + " at offset " + std::to_string(offset));
  }
  off_t at = static_cast<off_t>(slot * key.block_size + offset);
  old_bytes->assign(length, '\0');
  DFS_RETURN_IF_ERROR(PreadAll(f->dat, old_bytes->data(), length, at, "read block"));
  *new_bytes = *old_bytes;
  uint32_t seed = static_cast<uint32_t>(at * 2654435761u) ^ static_cast<uint32_t>(rec.crc);
  for (char& c : *new_bytes) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(c ^ (1 + (seed >> 16) % 255));  // never 0: every byte changes
  }
  DFS_RETURN_IF_ERROR(PwriteAll(f->dat, new_bytes->data(), length, at, "write block"));
  dirty_ = true;
  return Status::Ok();
}

Status BlockStore::ScanSlots(const FileKey& key, uint64_t* slot, uint64_t max_bytes, std::vector<BlockRecord>* stored,
                             uint64_t* bytes_read) {
  DFS_RETURN_IF_ERROR(CheckKey(key));
  auto opened = Get(key, false);
  if (!opened.ok()) {
    *slot = UINT64_MAX;
    return opened.status().code() == Code::kNotFound ? Status::Ok() : opened.status();
  }
  OpenFile* f = *opened;
  struct stat st;
  if (fstat(f->idx, &st) != 0) return IoError("stat the index of file id " + std::to_string(key.fid));
  const uint64_t slots = st.st_size > static_cast<off_t>(kIdxHeader) ? (st.st_size - kIdxHeader) / kIdxRecord : 0;
  // Skip a hole of a sparse index: nothing was ever stored there.
  off_t at = static_cast<off_t>(kIdxHeader + *slot * kIdxRecord);
  off_t data = *slot < slots ? lseek(f->idx, at, SEEK_DATA) : -1;
  if (data < 0) {
    *slot = UINT64_MAX;
    return Status::Ok();
  }
  if (data > at) *slot = (data - kIdxHeader) / kIdxRecord;
  const uint64_t count = std::min<uint64_t>(slots - *slot, std::max<uint64_t>(1, max_bytes / key.block_size));
  std::vector<IdxRecord> idx(count);
  DFS_RETURN_IF_ERROR(PreadAll(f->idx, reinterpret_cast<char*>(idx.data()), count * kIdxRecord,
                               kIdxHeader + *slot * kIdxRecord, "read index"));
  const size_t bytes = count * key.block_size;
  if (scratch_.size() < bytes) scratch_.resize(bytes);
  DFS_RETURN_IF_ERROR(PreadAll(f->dat, scratch_.data(), bytes, static_cast<off_t>(*slot * key.block_size), "read blocks"));
  *bytes_read += bytes + count * kIdxRecord;
  for (uint64_t k = 0; k < count; ++k) {
    const IdxRecord& x = idx[k];
    if (x.version == 0) continue;
    BlockRecord r;
    r.index = BlockOfSlot(key.placement_seed, key.stripe_width, index_, *slot + k);
    r.version = x.version;
    r.crc = x.crc;
    r.length = x.length;
    bool good = x.length <= key.block_size && Crc32c(scratch_.data() + k * key.block_size, x.length) == x.crc;
    r.state = static_cast<uint32_t>(good ? BlockState::kOk : BlockState::kCorrupt);
    stored->push_back(r);
  }
  *slot += count;
  if (*slot >= slots) *slot = UINT64_MAX;
  return Status::Ok();
}

Status BlockStore::DropBlocks(const FileKey& key, const std::vector<uint64_t>& blocks) {
  DFS_RETURN_IF_ERROR(CheckKey(key));
  auto opened = Get(key, false);
  if (!opened.ok()) return opened.status().code() == Code::kNotFound ? Status::Ok() : opened.status();
  OpenFile* f = *opened;
  const IdxRecord empty{};
  for (uint64_t block : blocks) {
    if (!HoldsBlock(key.placement_seed, key.stripe_width, index_, block)) continue;
    uint64_t slot = LocalSlot(key.placement_seed, key.stripe_width, index_, block);
    DFS_RETURN_IF_ERROR(PwriteAll(f->idx, reinterpret_cast<const char*>(&empty), sizeof empty,
                                  kIdxHeader + slot * kIdxRecord, "drop a block"));
    // Space comes back only for whole file system blocks; what is left is
    // zeros, unread.
    (void)fallocate(f->dat, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(slot * key.block_size),
                    key.block_size);
  }
  dirty_ = true;
  return Status::Ok();
}

bool BlockStore::Holds(uint64_t fid) const {
  return access(FilePath(fid, ".idx").c_str(), F_OK) == 0 || access(FilePath(fid, ".dat").c_str(), F_OK) == 0;
}

Status BlockStore::Delete(uint64_t fid) {
  Close(fid);
  for (const char* ext : {".dat", ".idx"}) {
    DFS_RETURN_IF_ERROR(trash_.Put(FilePath(fid, ext), std::to_string(fid) + ext));
  }
  return Status::Ok();
}

Status BlockStore::Flush() {
  if (!dirty_) return Status::Ok();
  // One syncfs for everything written since the last flush: many small files
  // cost one round of disk flushes, not one fdatasync each.
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open " + dir_);
  int rc = syncfs(fd);
  close(fd);
  if (rc != 0) return IoError("syncfs " + dir_);
  dirty_ = false;
  return Status::Ok();
}

std::vector<StoredFile> BlockStore::ListFiles() {
  std::map<uint64_t, uint64_t> bytes;  // an index or a data file alone counts too
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_ + "/blocks", ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    auto ext = it->path().extension();
    if (ext != ".idx" && ext != ".dat") continue;
    std::string stem = it->path().stem();
    char* end = nullptr;
    uint64_t fid = strtoull(stem.c_str(), &end, 10);
    if (!end || *end != '\0' || !fid) continue;
    struct stat st;
    uint64_t on_disk = ::stat(it->path().c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
    bytes[fid] += on_disk;
  }
  std::vector<StoredFile> out;
  for (const auto& [fid, b] : bytes) out.push_back({fid, b});
  return out;
}

Result<StoreStats> BlockStore::Stats() {
  StoreStats s;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_ + "/blocks", ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto path = it->path();
    // What the disk holds, not the files' lengths: holes cost nothing.
    struct stat st;
    uint64_t on_disk = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
    if (path.extension() == ".dat") {
      ++s.files;
      s.bytes += on_disk;
      s.live_bytes += on_disk;
    } else if (path.extension() == ".idx") {
      s.blocks += CountStoredBlocks(path);
      s.live_bytes += on_disk;
    }
  }
  TrashUsage trash = trash_.Usage();
  s.trash_files = trash.files;
  s.trash_bytes = trash.bytes;
  DiskSpace space = SpaceOf(dir_);
  s.disk_free = space.free;
  s.disk_total = space.total;
  s.headers_repaired = headers_repaired_;
  return s;
}

}  // namespace dfs::data
