// LeaseKeeper: keeps this client's write leases alive (docs/leases.md).
//
// The meta server gives a writer a lease on each file it writes and takes it
// back when the writer stops renewing it (lease_ms, 60 s by default), so a
// writer that died never locks a file for long. A writer that is alive may
// wait far longer than that, for a data server that is down (R10): so the
// renewal runs on its own thread and its own meta connection, every third
// of a lease period while any lease is held, whatever the writer is waiting
// for.
// Thread-safety: Hold, Drop and Lost from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/client/options.h"
#include "core/common/protocol.h"

namespace dfs::client {

struct LeaseHolderId {
  uint64_t id = 0;   // random, never 0
  std::string name;  // "host pid N"
  // A new identity for this process.
  static LeaseHolderId ForThisProcess();
};

class LeaseKeeper {
 public:
  LeaseKeeper(std::string meta_endpoint, LeaseHolderId holder, uint32_t lease_ms,
              transport::Connector connect = nullptr);
  ~LeaseKeeper();  // stops renewing
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  const LeaseHolderId& holder() const { return holder_; }

  // A Create of `path` (normalised) by this holder.
  proto::CreateReq CreateRequest(const std::string& path, uint32_t block_size, const NewEntry& entry) const;
  // The lease request (renew, release) for `fids` (abandon: delete the staged ones).
  proto::LeaseReq LeaseRequest(std::vector<uint64_t> fids, bool abandon) const;

  // Renew the lease on `fid` from now on, until Drop(fid).
  void Hold(uint64_t fid);
  void Drop(uint64_t fid);
  // Drop, and the lease goes back to the meta server soon, from the
  // keeper's thread (those of several closes in one request), unless the
  // file was opened for writing again after write generation `generation`
  // (the meta server checks). A close waits for no meta round trip; the
  // keeper's destructor sends what is left.
  void Release(uint64_t fid, uint64_t generation);
  // True if the meta server said the lease on `fid` is gone (another
  // client has the file now, or it was removed).
  bool Lost(uint64_t fid);

 private:
  void Loop();

  const std::string meta_endpoint_;
  const transport::Connector connect_;
  const LeaseHolderId holder_;
  const uint32_t lease_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<uint64_t> held_;                                  // guarded by mu_
  std::set<uint64_t> lost_;                                  // guarded by mu_
  std::vector<uint64_t> releasing_, releasing_generations_;  // guarded by mu_
  bool stop_ = false;                                        // guarded by mu_
  std::thread thread_;                                       // started at the first Hold (or Release)
};

}  // namespace dfs::client
