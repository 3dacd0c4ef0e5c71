#include "core/client/patch_writer.h"

#include <cstring>

#include "core/client/stripe_batcher.h"
#include "core/common/placement.h"

namespace dfs::client {

PatchWriter::PatchWriter(FileSystem* fs, DataClient* data, MetaClient* meta, uint64_t holder, Attr attr,
                         std::string path)
    : fs_(fs),
      data_(data),
      meta_(meta),
      holder_(holder),
      attr_(std::move(attr)),
      path_(std::move(path)),
      size_(attr_.size),
      valid_(attr_.size) {}

Result<std::string*> PatchWriter::Block(uint64_t index, bool whole) {
  auto it = blocks_.find(index);
  if (it != blocks_.end()) return &it->second;
  const uint32_t bs = attr_.block_size;
  std::string block(bs, '\0');
  uint64_t start = index * bs;
  if (start < valid_ && !whole) {
    size_t got = 0;
    uint64_t length = std::min<uint64_t>(bs, valid_ - start);
    DFS_RETURN_IF_ERROR(fs_->Read(
        attr_, path_,
        [&](const char* b, size_t n) {
          memcpy(block.data() + got, b, std::min<size_t>(n, bs - got));
          got += n;
          return Status::Ok();
        },
        start, length));
  }
  return &blocks_.emplace(index, std::move(block)).first->second;
}

Status PatchWriter::Write(uint64_t offset, const char* bytes, size_t length) {
  if (length == 0) return Status::Ok();
  const uint32_t bs = attr_.block_size;
  uint64_t end = offset + length;
  if (end > kMaxFileSize || end < offset) {
    return Status(Code::kFileTooLarge, path_ + ": a write past the largest file size (1 EiB)");
  }
  // Growing past the end: the gap is a hole.
  if (offset > size_) DFS_RETURN_IF_ERROR(Truncate(offset));
  for (uint64_t i = offset / bs; i * bs < end; ++i) {
    uint64_t from = std::max<uint64_t>(offset, i * bs);
    uint64_t to = std::min<uint64_t>(end, (i + 1) * bs);
    DFS_ASSIGN_OR_RETURN(std::string * block, Block(i, from == i * bs && to == (i + 1) * bs));
    memcpy(block->data() + (from - i * bs), bytes + (from - offset), to - from);
  }
  size_ = std::max(size_, end);
  if (blocks_.size() * bs > kMaxDirtyBytes) return Flush();
  return Status::Ok();
}

Status PatchWriter::Truncate(uint64_t size) {
  const uint32_t bs = attr_.block_size;
  if (size > kMaxFileSize) return Status(Code::kFileTooLarge, path_ + ": past the largest file size (1 EiB)");
  truncated_ = true;
  if (size < size_) {
    // Bytes past the new end are gone, also from blocks not yet written.
    blocks_.erase(blocks_.lower_bound((size + bs - 1) / bs), blocks_.end());
    if (size % bs) {
      DFS_ASSIGN_OR_RETURN(std::string * block, Block(size / bs));
      memset(block->data() + size % bs, 0, bs - size % bs);
    }
    valid_ = std::min(valid_, size);
    size_ = size;
    return Status::Ok();
  }
  // Growing: a hole from the old end on. The old last block, if partial,
  // holds zeros past the old end already (a short block reads zero-padded,
  // and a shrink rewrote it zero-filled).
  size_ = size;
  return Status::Ok();
}

Status PatchWriter::Flush() {
  if (!dirty()) return Status::Ok();
  const uint32_t bs = attr_.block_size;
  const uint32_t n = attr_.stripe_width;
  const uint64_t version = MakeVersion(attr_.generation, ++seq_);
  StripeBatcher batcher(proto::Op::kWriteBlocks, n);
  for (const auto& [index, block] : blocks_) {
    uint32_t len = BlockLength(size_, bs, index);
    if (len > 0) batcher.AddBlock(attr_, index, version, block.data(), len);
  }
  DFS_RETURN_IF_ERROR(data_->RunWrites(batcher.List()));
  proto::CommitReq req;
  req.fid = attr_.fid;
  req.generation = attr_.generation;
  req.size = size_;
  req.holder_id = holder_;
  if (valid_ < attr_.size) {
    // Shrunk since the last commit: blocks past that point are gone, even
    // if the file grew again since.
    req.cut = true;
    req.cut_size = valid_;
  }
  for (const auto& [index, block] : blocks_) {
    if (!req.ranges.empty() && req.ranges.back() == index) {
      ++req.ranges.back();
    } else {
      req.ranges.push_back(index);
      req.ranges.push_back(index + 1);
    }
  }
  proto::CommitRsp rsp;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kCommit>(req, &rsp));
  attr_ = std::move(rsp.file);
  blocks_.clear();
  valid_ = size_;
  truncated_ = false;
  return Status::Ok();
}

}  // namespace dfs::client
