#include "core/data/neighbours.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/common/placement.h"
#include "transport/zmq_channel.h"

namespace dfs::data {

Neighbours::Neighbours(std::string meta, std::vector<std::string> servers, const std::atomic<bool>* stop)
    : meta_(std::move(meta)) {
  meta_channel_ = std::make_unique<transport::ZmqChannel>(meta_, transport::ChannelOptions{1000, 15000, stop});
  for (const auto& ep : servers) {
    peers_.push_back(std::make_unique<transport::ZmqChannel>(ep, transport::ChannelOptions{1000, 30000, stop}));
  }
}

Neighbours::~Neighbours() = default;

template <proto::Op op>
Status Neighbours::CallMeta(const typename proto::OpSpec<op>::Request& req, typename proto::OpSpec<op>::Reply* rsp) {
  auto reply = meta_channel_->Call(proto::Request<op>(1, req));
  if (!reply.ok()) return Unavailable("meta server " + meta_ + ": " + reply.status().message());
  return proto::DecodeReplyTo<op>(*reply, rsp);
}

Result<proto::ListFilesRsp> Neighbours::ListFiles(uint64_t after_fid, uint32_t limit) {
  proto::ListFilesReq req;
  req.after_fid = after_fid;
  req.limit = limit;
  proto::ListFilesRsp page;
  DFS_RETURN_IF_ERROR(CallMeta<proto::Op::kListFiles>(req, &page));
  return page;
}

Result<proto::Attr> Neighbours::File(uint64_t fid, uint64_t* next_fid) {
  DFS_ASSIGN_OR_RETURN(proto::ListFilesRsp page, ListFiles(fid - 1, 1));
  *next_fid = page.next_fid;
  if (page.files.empty() || page.files[0].fid != fid) return NotFound("file id " + std::to_string(fid));
  return page.files[0];
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> Neighbours::DataRanges(const proto::Attr& file) {
  const uint64_t count = BlockCount(file.size, file.block_size);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  if (proto::Dense(file)) {
    if (count > 0) ranges.emplace_back(0, count);
    return ranges;
  }
  proto::ExtentsReq req;
  req.fid = file.fid;
  while (true) {
    proto::ExtentsRsp page;
    DFS_RETURN_IF_ERROR(CallMeta<proto::Op::kGetExtents>(req, &page));
    for (size_t k = 0; k + 1 < page.ranges.size(); k += 2) {
      uint64_t end = std::min(page.ranges[k + 1], count);
      if (page.ranges[k] < end) ranges.emplace_back(page.ranges[k], end);
    }
    if (!page.more || page.ranges.empty()) return ranges;
    req.first = page.ranges.back();
  }
}

Result<proto::ListDeletedRsp> Neighbours::ListDeleted(uint64_t after) {
  proto::ListDeletedReq req;
  req.after = after;
  proto::ListDeletedRsp rsp;
  DFS_RETURN_IF_ERROR(CallMeta<proto::Op::kListDeleted>(req, &rsp));
  return rsp;
}

Status Neighbours::SendRead(uint32_t server, const FileKey& key, const std::vector<BlockRecord>& ask) {
  if (server >= peers_.size()) return InvalidArgument("no data server " + std::to_string(server));
  proto::BlockBatchReq req{key.fid, key.placement_seed, key.stripe_width, key.block_size, server};
  Status st = peers_[server]->Send(proto::Request<proto::Op::kReadBlocks>(1, req, {PackRecords(ask)}));
  if (!st.ok()) peers_[server]->Reset();
  return st;
}

Result<Copies> Neighbours::ReceiveRead(uint32_t server, size_t asked) {
  auto reply = peers_[server]->Receive();
  if (!reply.ok()) {
    peers_[server]->Reset();
    return Unavailable("data server " + std::to_string(server) + ": " + reply.status().message());
  }
  DFS_ASSIGN_OR_RETURN(proto::Header header, proto::DecodeHeader(*reply));
  if (header.code != Code::kOk)
    return Status(header.code, "data server " + std::to_string(server) + ": " + header.error);
  if (reply->frames.size() != 3) return Internal("malformed read reply from data server " + std::to_string(server));
  DFS_ASSIGN_OR_RETURN(std::vector<BlockRecord> records, UnpackRecords(reply->frames[1], asked));
  if (records.size() != asked)
    return Internal("read reply from data server " + std::to_string(server) + " does not match");
  return Copies{std::move(records), std::move(reply->frames[2])};
}

bool SleepUnlessStopped(double seconds, const std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (!stop.load()) {
    Clock::duration left = until - Clock::now();
    if (left <= Clock::duration::zero()) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(50)));
  }
  return false;
}

}  // namespace dfs::data
