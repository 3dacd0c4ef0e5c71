#include "core/client/patch_writer.h"

#include <cstring>
#include <memory>

#include "core/common/checksum.h"
#include "core/common/placement.h"

namespace dfs::client {

PatchWriter::PatchWriter(FileSystem* fs, DataClient* data, MetaClient* meta, Attr attr, std::string path)
    : fs_(fs), data_(data), meta_(meta), attr_(std::move(attr)), path_(std::move(path)), size_(attr_.size),
      valid_(attr_.size) {}

Result<std::string*> PatchWriter::Block(uint64_t index) {
  auto it = blocks_.find(index);
  if (it != blocks_.end()) return &it->second;
  const uint32_t bs = attr_.block_size;
  std::string block(bs, '\0');
  uint64_t start = index * bs;
  if (start < valid_) {
    size_t got = 0;
    uint64_t length = std::min<uint64_t>(bs, valid_ - start);
    DFS_RETURN_IF_ERROR(fs_->Read(attr_, path_, [&](const char* b, size_t n) {
      memcpy(block.data() + got, b, std::min<size_t>(n, bs - got));
      got += n;
      return Status::Ok();
    }, start, length));
  }
  return &blocks_.emplace(index, std::move(block)).first->second;
}

Status PatchWriter::Write(uint64_t offset, const char* bytes, size_t length) {
  if (length == 0) return Status::Ok();
  const uint32_t bs = attr_.block_size;
  // Growing past the end: the gap becomes zero blocks on the servers.
  if (offset > size_) DFS_RETURN_IF_ERROR(Truncate(offset));
  uint64_t end = offset + length;
  for (uint64_t i = offset / bs; i * bs < end; ++i) {
    DFS_ASSIGN_OR_RETURN(std::string* block, Block(i));
    uint64_t from = std::max<uint64_t>(offset, i * bs);
    uint64_t to = std::min<uint64_t>(end, (i + 1) * bs);
    memcpy(block->data() + (from - i * bs), bytes + (from - offset), to - from);
  }
  size_ = std::max(size_, end);
  if (blocks_.size() * bs > kMaxDirtyBytes) return Flush();
  return Status::Ok();
}

Status PatchWriter::Truncate(uint64_t size) {
  const uint32_t bs = attr_.block_size;
  if (size < size_) {
    // Bytes past the new end are gone, also from blocks not yet written.
    blocks_.erase(blocks_.lower_bound((size + bs - 1) / bs), blocks_.end());
    if (size % bs) {
      DFS_ASSIGN_OR_RETURN(std::string* block, Block(size / bs));
      memset(block->data() + size % bs, 0, bs - size % bs);
    }
    valid_ = std::min(valid_, size);
    size_ = size;
    return Status::Ok();
  }
  // Growing: every block from the old end to the new one is written, zeros
  // past the old end, so nothing from before a shrink can show through.
  for (uint64_t i = size_ / bs; i * bs < size; ++i) {
    DFS_RETURN_IF_ERROR(Block(i).status());
    size_ = std::min<uint64_t>(size, (i + 1) * bs);
    if (blocks_.size() * bs > kMaxDirtyBytes) DFS_RETURN_IF_ERROR(Flush());
  }
  size_ = size;
  return Status::Ok();
}

Status PatchWriter::Flush() {
  if (!dirty()) return Status::Ok();
  const uint32_t bs = attr_.block_size;
  const uint32_t n = attr_.stripe_width;
  const uint64_t version = MakeVersion(attr_.generation, ++seq_);
  std::vector<std::unique_ptr<Batch>> by_server(n);
  for (const auto& [index, block] : blocks_) {
    uint32_t len = BlockLength(size_, bs, index);
    if (len == 0) continue;
    BlockRecord rec;
    rec.index = index;
    rec.version = version;
    rec.length = len;
    rec.crc = Crc32c(block.data(), len);
    ReplicaPair pair = PlaceBlock(attr_.placement_seed, n, index);
    for (uint32_t s : {pair.first, pair.second}) {
      auto& b = by_server[s];
      if (!b) {
        b = std::make_unique<Batch>();
        b->op = proto::Op::kWriteBlocks;
        b->req = {attr_.fid, attr_.placement_seed, n, bs, s};
        b->retry_while_down = true;
      }
      b->records.push_back(rec);
      b->data.append(block.data(), len);
    }
  }
  std::vector<Batch*> list;
  for (auto& b : by_server) {
    if (b) list.push_back(b.get());
  }
  DFS_RETURN_IF_ERROR(data_->RunWrites(list));
  proto::CommitReq req{attr_.fid, attr_.generation, size_};
  uint64_t generation = attr_.generation;
  DFS_RETURN_IF_ERROR(meta_->Call(proto::Op::kCommit, req, &attr_));
  attr_.generation = generation;  // keep writing under our own generation
  blocks_.clear();
  valid_ = size_;
  return Status::Ok();
}

}  // namespace dfs::client
