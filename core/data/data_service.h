// DataService: a data server's request handler. Decodes a block batch, calls
// the BlockStore, encodes the reply; malformed requests get an error reply.
#pragma once

#include <string>

#include "core/common/status.h"
#include "core/data/block_store.h"
#include "transport/message.h"

namespace dfs::data {

class DataService {
 public:
  DataService(BlockStore* store, std::string cluster_id) : store_(store), cluster_id_(std::move(cluster_id)) {}
  transport::Message Handle(transport::Message&& request);

 private:
  BlockStore* store_;
  std::string cluster_id_;
};

struct DataServerOptions {
  uint32_t index = 0;
  std::string dir;
  std::string meta;    // meta server endpoint
  std::string listen;  // empty: this server's endpoint in the meta server's map
};

// Runs data server `index` until SIGINT/SIGTERM. Returns why it could not start.
Status RunDataServer(const DataServerOptions& options);

}  // namespace dfs::data
