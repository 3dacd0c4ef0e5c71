// DataService: a data server's request handler. Decodes a block batch, calls
// the BlockStore, encodes the reply; malformed requests get an error reply.
#pragma once

#include <mutex>
#include <string>

#include "core/common/status.h"
#include "core/data/block_store.h"
#include "core/data/rebuilder.h"
#include "transport/message.h"

namespace dfs::data {

class DataService {
 public:
  // `store_mu` guards the store against the rebuilder's thread; `rebuild`
  // (may be null) tells ServerStat whether a rebuild runs.
  DataService(BlockStore* store, std::mutex* store_mu, const RebuildProgress* rebuild, std::string cluster_id)
      : store_(store), store_mu_(store_mu), rebuild_(rebuild), cluster_id_(std::move(cluster_id)) {}
  transport::Message Handle(transport::Message&& request);

 private:
  transport::Message HandleLocked(transport::Message&& request);

  BlockStore* store_;
  std::mutex* store_mu_;
  const RebuildProgress* rebuild_;
  std::string cluster_id_;
  uint64_t flushes_ = 0;  // Flush requests served (durability points)
};

struct DataServerOptions {
  uint32_t index = 0;
  std::string dir;
  std::string meta;    // meta server endpoint
  std::string listen;  // empty: this server's endpoint in the meta server's map
  double trash_hours = 24;  // blocks of deleted files are kept this long
};

// Runs data server `index` until SIGINT/SIGTERM. Returns why it could not start.
Status RunDataServer(const DataServerOptions& options);

}  // namespace dfs::data
