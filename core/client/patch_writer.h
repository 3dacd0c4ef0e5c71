// PatchWriter: writes at any offset of an existing file, and truncates.
//
// Touched blocks are loaded (what the file holds there, zeros past its end
// and in holes) unless a write covers them whole, patched in memory and
// written whole, under a write generation of their own (OpenWrite) and a
// sequence bumped at every flush, so a newer copy always wins. Growing a
// file only moves its size: the gap is a hole, which costs nothing and reads
// as zeros. A shrink cuts the file's extent map at the new end (at the next
// commit), so blocks from before it never show through a later grow.
// Flush() returns when both replicas hold every patched block (R10) and
// the size and the extent map are committed. Memory is bounded: past
// kMaxDirtyBytes, writes flush.
// Thread-safety: one thread at a time.
#pragma once

#include <map>
#include <string>

#include "core/client/file_system.h"

namespace dfs::client {

class PatchWriter {
 public:
  static constexpr size_t kMaxDirtyBytes = 32 << 20;

  // REQUIRES: attr comes from OpenWrite (a fresh generation) and `holder`
  // holds its write lease.
  PatchWriter(FileSystem* fs, DataClient* data, MetaClient* meta, uint64_t holder, Attr attr, std::string path);

  Status Write(uint64_t offset, const char* bytes, size_t length);
  Status Truncate(uint64_t size);
  Status Flush();

  uint64_t size() const { return size_; }
  bool dirty() const { return !blocks_.empty() || size_ != attr_.size || valid_ < attr_.size || truncated_; }
  const Attr& attr() const { return attr_; }
  // As FileWriter::RenewCapability.
  void RenewCapability(const Capability& cap) {
    if (cap.fid == attr_.fid && cap.generation == attr_.generation) attr_.cap = cap;
  }

 private:
  // The block at `index`, loaded unless `whole` (it will be overwritten).
  Result<std::string*> Block(uint64_t index, bool whole = false);

  FileSystem* fs_;
  DataClient* data_;
  MetaClient* meta_;
  uint64_t holder_;
  Attr attr_;  // size: what the servers hold and the meta server says
  std::string path_;
  uint64_t size_;   // the size with the pending changes
  uint64_t valid_;  // bytes of the stored file still valid (a shrink lowers it)
  uint64_t seq_ = 0;
  bool truncated_ = false;                  // since the last flush: mtime moves even if the size did not
  std::map<uint64_t, std::string> blocks_;  // patched blocks, each block_size bytes
};

}  // namespace dfs::client
