// DataService: a data server's request handler. Decodes a block batch, calls
// the BlockStore, encodes the reply; malformed requests get an error reply.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "base/status.h"
#include "core/common/gate.h"
#include "core/common/protocol.h"
#include "core/data/block_store.h"
#include "core/data/rebuilder.h"
#include "core/data/reclaimer.h"
#include "core/data/scrubber.h"
#include "transport/message.h"

namespace dfs::data {

// The background work beside the service, each part may be null: what
// ServerStat reports of them, and where the service notes client activity.
struct ServiceParts {
  const RebuildProgress* rebuild = nullptr;
  const ScrubProgress* scrub = nullptr;
  const Reclaimer* reclaimer = nullptr;
  std::atomic<int64_t>* last_request_ns = nullptr;  // steady clock
};

class DataService {
 public:
  // `gate` null: every request is trusted (--insecure, tests).
  DataService(BlockStore* store, ServiceParts parts, std::string cluster_id, const Gate* gate = nullptr)
      : store_(store), parts_(parts), cluster_id_(std::move(cluster_id)), gate_(gate) {}
  transport::Message Handle(transport::Message&& request);
  // What ServerStat answers, for this server's own metrics.
  Result<proto::ServerStatRsp> Stat() const;

 private:
  transport::Message Dispatch(transport::Message&& request);
  // Ok if `who` may do `right` on file `fid` with `cap`: a server key
  // always may, any other needs a capability; writes may not carry block
  // versions of a later generation than the capability's.
  Status Allow(const Identity& who, const Capability& cap, uint64_t fid, uint32_t right,
               const std::vector<BlockRecord>* writes = nullptr) const;
  proto::ServerStatRsp ServerStat(const StoreStats& stats) const;

  BlockStore* store_;
  ServiceParts parts_;
  std::string cluster_id_;
  const Gate* gate_;
  std::atomic<uint64_t> flushes_{0};  // Flush requests served (durability points)
};

}  // namespace dfs::data
