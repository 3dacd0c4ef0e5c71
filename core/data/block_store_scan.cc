// BlockStore: what the scrubber and the reports read: stored slots,
// dropping blocks, the list of stored files, and the store's numbers.
#include <algorithm>
#include <map>

#include "core/common/checksum.h"
#include "core/common/placement.h"
#include "core/data/block_store.h"
#include "core/data/index_format.h"

namespace dfs::data {
namespace {

// Filled slots of an index file. A sparse file's index has holes (slots
// never written): they are skipped, not read, so a block at offset 10^12
// costs no 12 GB read here.
uint64_t CountStoredBlocks(Disk* disk, const std::string& idx_path) {
  auto f = disk->Open(idx_path, OpenMode::kExisting);
  if (!f.ok()) return 0;
  auto size = (*f)->Size();
  if (!size.ok()) return 0;
  constexpr size_t kChunk = 1 << 20;  // a multiple of the record size
  std::vector<IdxRecord> recs(kChunk / kIdxRecord);
  uint64_t count = 0;
  uint64_t off = kIdxHeader;
  while (off < *size) {
    uint64_t data = (*f)->NextData(off);
    if (data >= *size) break;                                      // only a hole is left
    off = std::max(off, data - (data - kIdxHeader) % kIdxRecord);  // back to a record boundary
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, *size - off) / kIdxRecord);
    if (n == 0 || !(*f)->Read(off, reinterpret_cast<char*>(recs.data()), n * kIdxRecord).ok()) break;
    for (size_t k = 0; k < n; ++k) count += recs[k].version != 0;
    off += n * kIdxRecord;
  }
  return count;
}

// The file id of a block store file name ("<fid>.idx" or "<fid>.dat"), or 0.
uint64_t FidOf(const std::string& path, bool* is_index) {
  size_t slash = path.rfind('/');
  std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string::npos) return 0;
  std::string ext = name.substr(dot);
  if (ext != ".idx" && ext != ".dat") return 0;
  *is_index = ext == ".idx";
  char* end = nullptr;
  std::string stem = name.substr(0, dot);
  uint64_t fid = strtoull(stem.c_str(), &end, 10);
  return end && *end == '\0' && !stem.empty() ? fid : 0;
}

}  // namespace

Status BlockStore::ScanSlots(const FileLayout& key, uint64_t* slot, uint64_t max_bytes,
                             std::vector<BlockRecord>* stored, uint64_t* bytes_read) {
  std::lock_guard<std::mutex> lock(mu_);
  DFS_RETURN_IF_ERROR(CheckKey(key));
  auto opened = Get(key, false);
  if (!opened.ok()) {
    *slot = UINT64_MAX;
    return opened.status().code() == Code::kNotFound ? Status::Ok() : opened.status();
  }
  OpenFile* f = *opened;
  DFS_ASSIGN_OR_RETURN(uint64_t idx_size, f->idx->Size());
  const uint64_t slots = idx_size > kIdxHeader ? (idx_size - kIdxHeader) / kIdxRecord : 0;
  // Skip a hole of a sparse index: nothing was ever stored there.
  const uint64_t at = kIdxHeader + *slot * kIdxRecord;
  const uint64_t data = *slot < slots ? f->idx->NextData(at) : idx_size;
  if (data >= idx_size) {
    *slot = UINT64_MAX;
    return Status::Ok();
  }
  if (data > at) *slot = (data - kIdxHeader) / kIdxRecord;
  const uint64_t count = std::min<uint64_t>(slots - *slot, std::max<uint64_t>(1, max_bytes / key.block_size));
  std::vector<IdxRecord> idx(count);
  DFS_RETURN_IF_ERROR(
      f->idx->Read(kIdxHeader + *slot * kIdxRecord, reinterpret_cast<char*>(idx.data()), count * kIdxRecord));
  const size_t bytes = count * key.block_size;
  if (scratch_.size() < bytes) scratch_.resize(bytes);
  DFS_RETURN_IF_ERROR(f->dat->Read(static_cast<uint64_t>(*slot * key.block_size), scratch_.data(), bytes));
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

Status BlockStore::DropBlocks(const FileLayout& key, const std::vector<uint64_t>& blocks) {
  std::lock_guard<std::mutex> lock(mu_);
  DFS_RETURN_IF_ERROR(CheckKey(key));
  auto opened = Get(key, false);
  if (!opened.ok()) return opened.status().code() == Code::kNotFound ? Status::Ok() : opened.status();
  OpenFile* f = *opened;
  block_counts_.erase(key.fid);  // counted again at the next Stats
  const IdxRecord empty{};
  for (uint64_t block : blocks) {
    if (!HoldsBlock(key.placement_seed, key.stripe_width, index_, block)) continue;
    uint64_t slot = LocalSlot(key.placement_seed, key.stripe_width, index_, block);
    DFS_RETURN_IF_ERROR(
        f->idx->Write(kIdxHeader + slot * kIdxRecord, reinterpret_cast<const char*>(&empty), sizeof empty));
    // Space comes back only for whole file system blocks; what is left is
    // zeros, unread.
    f->dat->Punch(slot * key.block_size, key.block_size);
  }
  unsynced_.insert(key.fid);
  return Status::Ok();
}

std::vector<StoredFile> BlockStore::ListFiles() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<uint64_t, uint64_t> bytes;  // an index or a data file alone counts too
  for (const DiskEntry& e : disk_->List(dir_ + "/blocks", true)) {
    bool is_index = false;
    if (uint64_t fid = FidOf(e.path, &is_index)) bytes[fid] += e.bytes;
  }
  std::vector<StoredFile> out;
  for (const auto& [fid, b] : bytes) out.push_back({fid, b});
  return out;
}

Result<StoreStats> BlockStore::Stats() {
  // The listings (a stat of every file) run unlocked: a store of many files
  // must not hold up requests while it is measured.
  const std::vector<DiskEntry> entries = disk_->List(dir_ + "/blocks", true);
  const TrashUsage trash = trash_.Usage();
  const DiskSpace space = disk_->Space(dir_);
  std::lock_guard<std::mutex> lock(mu_);
  StoreStats s;
  for (const DiskEntry& e : entries) {
    bool is_index = false;
    const uint64_t fid = FidOf(e.path, &is_index);
    if (!fid) continue;
    // What the disk holds, not the files' lengths: holes cost nothing.
    s.live_bytes += e.bytes;
    if (is_index) {
      auto counted = block_counts_.find(fid);
      if (counted == block_counts_.end()) counted = block_counts_.emplace(fid, CountStoredBlocks(disk_, e.path)).first;
      s.blocks += counted->second;
    } else {
      ++s.files;
      s.bytes += e.bytes;
    }
  }
  s.trash_files = trash.files;
  s.trash_bytes = trash.bytes;
  s.disk_free = space.free;
  s.disk_total = space.total;
  s.headers_repaired = headers_repaired_;
  return s;
}

}  // namespace dfs::data
