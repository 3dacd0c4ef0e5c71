#include "core/client/file_writer.h"

#include <cstring>

#include "core/common/checksum.h"
#include "core/common/placement.h"

namespace dfs::client {
namespace {

constexpr size_t kServerShareBytes = 512 << 10;  // per server and window: 2 x this
constexpr size_t kWindowsInFlight = 3;

}  // namespace

FileWriter::FileWriter(DataClient* data, MetaClient* meta, proto::Attr attr)
    : data_(data), meta_(meta), attr_(std::move(attr)) {
  size_t per_stripe = std::max<size_t>(1, kServerShareBytes / attr_.block_size);
  window_bytes_ = per_stripe * attr_.block_size * attr_.stripe_width;
  buffer_.reserve(window_bytes_);
}

FileWriter::~FileWriter() {
  if (!in_flight_.empty()) data_->Abort();
}

Status FileWriter::Write(const char* bytes, size_t length) {
  while (length > 0) {
    size_t take = std::min(length, window_bytes_ - buffer_.size());
    buffer_.append(bytes, take);
    bytes += take;
    length -= take;
    if (buffer_.size() == window_bytes_) DFS_RETURN_IF_ERROR(Dispatch(buffer_.size()));
  }
  return Status::Ok();
}

Status FileWriter::Dispatch(size_t length) {
  const uint32_t bs = attr_.block_size;
  const uint32_t n = attr_.stripe_width;
  if (n > data_->size()) {
    return Status(Code::kFailedPrecondition, "file has stripe width " + std::to_string(n) + " but the cluster has " +
                                                 std::to_string(data_->size()) + " data servers");
  }
  Window w;
  std::vector<Batch*> by_server(n, nullptr);
  const uint64_t version = MakeVersion(attr_.generation, seq_);
  uint64_t first_block = buffer_offset_ / bs;
  for (size_t off = 0; off < length; off += bs) {
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(bs, length - off));
    BlockIndex index = first_block + off / bs;
    BlockRecord rec;
    rec.index = index;
    rec.version = version;
    rec.length = len;
    rec.crc = Crc32c(buffer_.data() + off, len);
    ReplicaPair pair = PlaceBlock(attr_.placement_seed, n, index);
    for (uint32_t s : {pair.first, pair.second}) {
      if (!by_server[s]) {
        auto b = std::make_unique<Batch>();
        b->op = proto::Op::kWriteBlocks;
        b->req = {attr_.fid, attr_.placement_seed, n, bs, s};
        b->retry_while_down = true;
        b->data.reserve(2 * (length / n + bs));
        by_server[s] = b.get();
        w.batches.push_back(std::move(b));
      }
      by_server[s]->records.push_back(rec);
      by_server[s]->data.append(buffer_.data() + off, len);
    }
  }
  for (auto& b : w.batches) data_->Submit(b.get());
  in_flight_.push_back(std::move(w));
  buffer_offset_ += length;
  buffer_.erase(0, length);
  return WaitWindows(kWindowsInFlight - 1);
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

Status FileWriter::Flush() {
  if (closed_) return Status::Ok();
  const uint64_t total = buffer_offset_ + buffer_.size();
  const size_t partial = buffer_.size() % attr_.block_size;
  std::string tail = buffer_.substr(buffer_.size() - partial);
  if (!buffer_.empty()) DFS_RETURN_IF_ERROR(Dispatch(buffer_.size()));
  DFS_RETURN_IF_ERROR(WaitWindows(0));
  if (partial) {
    // The last block is not full: keep it, and send it again whole later
    // under a newer version.
    buffer_offset_ -= partial;
    buffer_ = std::move(tail);
    ++seq_;
  }
  proto::CommitReq req{attr_.fid, attr_.generation, total};
  return meta_->Call(proto::Op::kCommit, req, &attr_);
}

Status FileWriter::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  if (!buffer_.empty()) DFS_RETURN_IF_ERROR(Dispatch(buffer_.size()));
  DFS_RETURN_IF_ERROR(WaitWindows(0));
  proto::CommitReq req{attr_.fid, attr_.generation, buffer_offset_};
  return meta_->Call(proto::Op::kCommit, req, &attr_);
}

}  // namespace dfs::client
