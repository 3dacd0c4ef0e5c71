#include "core/client/file_writer.h"

#include <algorithm>
#include <cstring>

#include "core/client/stripe_batcher.h"
#include "core/common/placement.h"

namespace dfs::client {
namespace {

constexpr size_t kServerShareBytes = 512 << 10;  // per server and window: 2 x this

// Adds [first, end) to sorted, merged ranges that all end at or before `first`.
void AddRange(std::vector<uint64_t>* ranges, uint64_t first, uint64_t end) {
  if (first >= end) return;
  if (!ranges->empty() && ranges->back() >= first) {
    ranges->back() = std::max(ranges->back(), end);
    return;
  }
  ranges->push_back(first);
  ranges->push_back(end);
}

}  // namespace

FileWriter::FileWriter(DataClient* data, MetaClient* meta, LeaseKeeper* leases, proto::Attr attr, bool staged)
    : data_(data), meta_(meta), leases_(leases), attr_(std::move(attr)), staged_(staged) {
  size_t per_stripe = std::max<size_t>(1, kServerShareBytes / attr_.block_size);
  window_bytes_ = per_stripe * attr_.block_size * attr_.stripe_width;
  buffer_.reserve(window_bytes_);
}

FileWriter::~FileWriter() {
  if (!in_flight_.empty()) data_->Abort();
  if (staged_ && !published_) Abandon();
}

void AbandonCopies(MetaClient* meta, DataClient* data, LeaseKeeper* leases, const std::vector<uint64_t>& fids) {
  if (fids.empty()) return;
  proto::LeaseRsp rsp;
  // If the meta server cannot be told, the leases lapse and it deletes the
  // copies itself; their names never saw them either way.
  if (meta->Call<proto::Op::kReleaseLeases>(leases->LeaseRequest(fids, /*abandon=*/true), &rsp).ok()) {
    for (const proto::Attr& gone : rsp.deleted) data->DeleteBlocks(gone, /*uncommitted=*/true);
  }
  for (uint64_t fid : fids) leases->Drop(fid);
}

void FileWriter::Abandon() { AbandonCopies(meta_, data_, leases_, {attr_.fid}); }

Status FileWriter::Write(const char* bytes, size_t length) {
  while (length > 0) {
    if (buffer_.empty() && length >= window_bytes_) {
      // A whole window: cut into batches straight from the caller's bytes.
      DFS_RETURN_IF_ERROR(Dispatch(bytes, window_bytes_));
      bytes += window_bytes_;
      length -= window_bytes_;
      continue;
    }
    size_t take = std::min(length, window_bytes_ - buffer_.size());
    buffer_.append(bytes, take);
    bytes += take;
    length -= take;
    if (buffer_.size() == window_bytes_) DFS_RETURN_IF_ERROR(DispatchBuffer());
  }
  return Status::Ok();
}

Status FileWriter::Skip(uint64_t length) {
  const uint32_t bs = attr_.block_size;
  static const std::string zeros(4u << 20, '\0');
  while (length > 0) {
    uint64_t total = buffer_offset_ + buffer_.size();
    if (total % bs != 0 || length < bs) {
      // Part of a block: stored as zeros.
      size_t n = static_cast<size_t>(std::min<uint64_t>(length, bs - total % bs));
      DFS_RETURN_IF_ERROR(Write(zeros.data(), n));
      length -= n;
      continue;
    }
    // Whole blocks: nothing is stored for them.
    if (!buffer_.empty()) DFS_RETURN_IF_ERROR(DispatchBuffer());
    uint64_t whole = length / bs * bs;
    buffer_offset_ += whole;
    length -= whole;
  }
  return Status::Ok();
}

Status FileWriter::DispatchBuffer() {
  Status st = Dispatch(buffer_.data(), buffer_.size());
  buffer_.clear();
  return st;
}

Status FileWriter::Dispatch(const char* bytes, size_t length) {
  const uint32_t bs = attr_.block_size;
  const uint32_t n = attr_.stripe_width;
  if (n > data_->size()) {
    return Status(Code::kFailedPrecondition, "file has stripe width " + std::to_string(n) + " but the cluster has " +
                                                 std::to_string(data_->size()) + " data servers");
  }
  StripeBatcher batcher(proto::Op::kWriteBlocks, n);
  batcher.Reserve(2 * (length / n + bs));
  const uint64_t version = MakeVersion(attr_.generation, seq_);
  uint64_t first_block = buffer_offset_ / bs;
  for (size_t off = 0; off < length; off += bs) {
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(bs, length - off));
    batcher.AddBlock(attr_, first_block + off / bs, version, bytes + off, len);
  }
  Window w;
  w.batches = batcher.Take();
  AddRange(&ranges_, first_block, first_block + BlockCount(length, bs));
  for (auto& b : w.batches) data_->Submit(b.get());
  in_flight_.push_back(std::move(w));
  buffer_offset_ += length;
  return WaitWindows(static_cast<size_t>(std::max(1, data_->options().write_windows)) - 1);
}

Status FileWriter::WaitWindows(size_t max_in_flight) {
  while (in_flight_.size() > max_in_flight) {
    Window& w = in_flight_.front();
    DFS_RETURN_IF_ERROR(data_->RunUntil([&] {
      for (auto& b : w.batches) {
        if (!b->done) return false;
      }
      return true;
    }));
    for (auto& b : w.batches) {
      if (!b->status.ok()) return b->status;
    }
    in_flight_.pop_front();
  }
  return Status::Ok();
}

Status FileWriter::Commit(uint64_t size, bool publish) {
  proto::CommitReq req;
  req.fid = attr_.fid;
  req.generation = attr_.generation;
  req.size = size;
  req.ranges = std::move(ranges_);
  ranges_.clear();
  req.publish = publish;
  req.holder_id = leases_->holder().id;
  proto::CommitRsp rsp;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kCommit>(req, &rsp));
  attr_ = std::move(rsp.file);
  if (publish) {
    published_ = true;
    leases_->Drop(attr_.fid);
    // The file this one replaced lost its last name: its blocks can go.
    if (rsp.replaced.fid) data_->DeleteBlocks(rsp.replaced);
  }
  return Status::Ok();
}

Status FileWriter::Flush() {
  if (closed_) return Status::Ok();
  if (staged_) return Status(Code::kFailedPrecondition, "a staged copy is committed only when it closes");
  const uint64_t total = buffer_offset_ + buffer_.size();
  const size_t partial = buffer_.size() % attr_.block_size;
  std::string tail = buffer_.substr(buffer_.size() - partial);
  if (!buffer_.empty()) DFS_RETURN_IF_ERROR(DispatchBuffer());
  DFS_RETURN_IF_ERROR(WaitWindows(0));
  if (partial) {
    // The last block is not full: keep it, and send it again whole later
    // under a newer version.
    buffer_offset_ -= partial;
    buffer_ = std::move(tail);
    ++seq_;
  }
  return Commit(total, false);
}

Status FileWriter::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  const uint64_t total = buffer_offset_ + buffer_.size();
  if (!buffer_.empty()) DFS_RETURN_IF_ERROR(DispatchBuffer());
  DFS_RETURN_IF_ERROR(WaitWindows(0));
  return Commit(total, staged_);
}

}  // namespace dfs::client
