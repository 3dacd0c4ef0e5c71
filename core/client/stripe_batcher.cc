#include "core/client/stripe_batcher.h"

#include "core/common/checksum.h"

namespace dfs::client {

StripeBatcher::StripeBatcher(proto::Op op, uint32_t servers, bool retry_while_down)
    : op_(op), retry_while_down_(retry_while_down), by_server_(servers, nullptr) {}

Batch* StripeBatcher::For(const proto::Attr& file, uint32_t server) {
  Batch*& b = by_server_[server];
  if (!b) {
    batches_.push_back(std::make_unique<Batch>());
    b = batches_.back().get();
    b->op = op_;
    b->req = {file.layout(), server, file.cap};
    b->retry_while_down = retry_while_down_;
    if (reserve_) b->data.reserve(reserve_);
  }
  if (op_ == proto::Op::kWriteFiles && (b->files.empty() || b->files.back().file.fid != file.fid)) {
    b->files.push_back({file.layout(), 0, file.cap});
  }
  return b;
}

void StripeBatcher::AddTo(const proto::Attr& file, uint32_t server, const BlockRecord& record, const char* bytes) {
  Batch* b = For(file, server);
  if (op_ == proto::Op::kWriteFiles) ++b->files.back().count;
  b->records.push_back(record);
  b->data.append(bytes, record.length);
}

void StripeBatcher::AddBlock(const proto::Attr& file, BlockIndex index, uint64_t version, const char* bytes,
                             uint32_t length) {
  BlockRecord rec;
  rec.index = index;
  rec.version = version;
  rec.length = length;
  rec.crc = Crc32c(bytes, length);
  ReplicaPair pair = PlaceBlock(file.placement_seed, file.stripe_width, index);
  AddTo(file, pair.first, rec, bytes);
  AddTo(file, pair.second, rec, bytes);
}

std::vector<std::unique_ptr<Batch>> StripeBatcher::Take() {
  std::fill(by_server_.begin(), by_server_.end(), nullptr);
  std::vector<std::unique_ptr<Batch>> out = std::move(batches_);
  batches_.clear();
  return out;
}

std::vector<Batch*> StripeBatcher::List() const {
  std::vector<Batch*> list;
  for (const auto& b : batches_) list.push_back(b.get());
  return list;
}

}  // namespace dfs::client
