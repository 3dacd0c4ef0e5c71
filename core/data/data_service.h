// DataService: a data server's request handler. Decodes a block batch, calls
// the BlockStore, encodes the reply; malformed requests get an error reply.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "core/common/protocol.h"
#include "base/status.h"
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
  DataService(BlockStore* store, ServiceParts parts, std::string cluster_id)
      : store_(store), parts_(parts), cluster_id_(std::move(cluster_id)) {}
  transport::Message Handle(transport::Message&& request);

 private:
  transport::Message Dispatch(transport::Message&& request);
  proto::ServerStatRsp ServerStat(const StoreStats& stats) const;

  BlockStore* store_;
  ServiceParts parts_;
  std::string cluster_id_;
  uint64_t flushes_ = 0;  // Flush requests served (durability points)
};

}  // namespace dfs::data
