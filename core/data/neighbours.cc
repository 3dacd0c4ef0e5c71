#include "core/data/neighbours.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/client/extent_cursor.h"

namespace dfs::data {
namespace {

client::ClientOptions PeerOptions(const Peers& peers, const std::atomic<bool>* stop) {
  client::ClientOptions options;
  options.cancel = stop;
  options.connect = peers.connect;
  return options;
}

}  // namespace

Neighbours::Neighbours(const Peers& peers, const std::atomic<bool>* stop)
    : meta_(peers.meta, peers.connect, stop), peers_(peers.servers, PeerOptions(peers, stop)) {}

Neighbours::~Neighbours() = default;

Result<proto::ListFilesRsp> Neighbours::ListFiles(uint64_t after_fid, uint32_t limit) {
  proto::ListFilesReq req;
  req.after_fid = after_fid;
  req.limit = limit;
  proto::ListFilesRsp page;
  DFS_RETURN_IF_ERROR(meta_.Call<proto::Op::kListFiles>(req, &page));
  return page;
}

Result<proto::Attr> Neighbours::File(uint64_t fid, uint64_t* next_fid) {
  return client::FileById(meta_, fid, next_fid);
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> Neighbours::DataRanges(const proto::Attr& file) {
  client::ExtentCursor cursor(file,
                              [this](uint64_t fid, uint64_t first) { return client::ExtentsFrom(meta_, fid, first); });
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t at = 0;
  while (true) {
    DFS_ASSIGN_OR_RETURN(auto range, cursor.Next(at));
    if (range.first >= range.second) return ranges;
    ranges.push_back(range);
    at = range.second;
  }
}

Result<proto::ListDeletedRsp> Neighbours::ListDeleted(uint64_t after) {
  proto::ListDeletedReq req;
  req.after = after;
  proto::ListDeletedRsp rsp;
  DFS_RETURN_IF_ERROR(meta_.Call<proto::Op::kListDeleted>(req, &rsp));
  return rsp;
}

client::Batch Neighbours::ReadBatch(const FileLayout& key, uint32_t server, std::vector<BlockRecord> ask) {
  client::Batch b;
  b.op = proto::Op::kReadBlocks;
  b.req = proto::BlockBatchReq{key, server, {}};  // a server needs no capability
  b.records = std::move(ask);
  return b;
}

Status Neighbours::Read(std::vector<client::Batch>* batches) {
  std::vector<client::Batch*> run;
  for (client::Batch& b : *batches) {
    if (b.req.server >= peers_.size()) {
      b.done = true;
      b.status = InvalidArgument("no data server " + std::to_string(b.req.server));
      continue;
    }
    run.push_back(&b);
  }
  return peers_.RunAll(run);
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
