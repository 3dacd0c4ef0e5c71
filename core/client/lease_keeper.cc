#include "core/client/lease_keeper.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <vector>

#include "core/client/meta_client.h"

namespace dfs::client {

LeaseHolderId LeaseHolderId::ForThisProcess() {
  LeaseHolderId h;
  std::random_device rd;
  while (h.id == 0) h.id = (uint64_t{rd()} << 32) ^ rd();
  char host[256] = "unknown-host";
  gethostname(host, sizeof host - 1);
  h.name = std::string(host) + " pid " + std::to_string(getpid());
  return h;
}

LeaseKeeper::LeaseKeeper(std::string meta_endpoint, LeaseHolderId holder, uint32_t lease_ms,
                         transport::Connector connect)
    : meta_endpoint_(std::move(meta_endpoint)),
      connect_(std::move(connect)),
      holder_(std::move(holder)),
      lease_ms_(lease_ms ? lease_ms : 60000) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

proto::CreateReq LeaseKeeper::CreateRequest(const std::string& path, uint32_t block_size,
                                            const NewEntry& entry) const {
  proto::CreateReq req;
  req.path = path;
  req.block_size = block_size;
  req.mode = entry.mode;
  req.uid = entry.uid;
  req.gid = entry.gid;
  req.holder_id = holder_.id;
  req.holder_name = holder_.name;
  return req;
}

proto::LeaseReq LeaseKeeper::LeaseRequest(std::vector<uint64_t> fids, bool abandon) const {
  proto::LeaseReq req;
  req.holder_id = holder_.id;
  req.holder_name = holder_.name;
  req.fids = std::move(fids);
  req.abandon = abandon;
  return req;
}

void LeaseKeeper::Hold(uint64_t fid) {
  std::lock_guard<std::mutex> lock(mu_);
  held_.insert(fid);
  lost_.erase(fid);
  // The thread (and its ZeroMQ socket) starts only when a lease exists: a
  // read-only client never runs it.
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void LeaseKeeper::Drop(uint64_t fid) {
  std::lock_guard<std::mutex> lock(mu_);
  held_.erase(fid);
  lost_.erase(fid);
}

void LeaseKeeper::Release(uint64_t fid, uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(fid);
    lost_.erase(fid);
    releasing_.push_back(fid);
    releasing_generations_.push_back(generation);
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  }
  cv_.notify_all();
}

bool LeaseKeeper::Lost(uint64_t fid) {
  std::lock_guard<std::mutex> lock(mu_);
  return lost_.count(fid) > 0;
}

void LeaseKeeper::Loop() {
  MetaClient meta(meta_endpoint_, connect_);
  const auto period = std::chrono::milliseconds(lease_ms_ / 3);
  auto renew_at = std::chrono::steady_clock::now() + period;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_until(lock, renew_at, [&] { return stop_ || !releasing_.empty(); });
    if (!releasing_.empty()) {
      proto::LeaseReq req = LeaseRequest(std::move(releasing_), false);
      req.generations = std::move(releasing_generations_);
      releasing_.clear();
      releasing_generations_.clear();
      lock.unlock();
      proto::LeaseRsp rsp;
      // Not told, the meta server lets the lease lapse instead.
      (void)meta.Call<proto::Op::kReleaseLeases>(req, &rsp);
      lock.lock();
      continue;
    }
    if (stop_) break;
    if (std::chrono::steady_clock::now() < renew_at) continue;
    renew_at = std::chrono::steady_clock::now() + period;
    if (held_.empty()) continue;
    proto::LeaseReq req = LeaseRequest({held_.begin(), held_.end()}, false);
    lock.unlock();
    proto::LeaseRsp rsp;
    // A meta server that does not answer is tried again next period; the
    // lease lasts three of them.
    Status st = meta.Call<proto::Op::kRenewLeases>(req, &rsp);
    lock.lock();
    if (!st.ok()) continue;
    for (uint64_t fid : rsp.lost) {
      if (held_.count(fid)) lost_.insert(fid);
    }
  }
}

}  // namespace dfs::client
