// MetaService: the meta server's request handler. It only decodes a request,
// calls the MetaStore, and encodes the reply; malformed requests get an error
// reply. It never throws.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "core/meta/meta_store.h"
#include "transport/message.h"

namespace dfs::meta {

class MetaService {
 public:
  explicit MetaService(MetaStore* store) : store_(store) {}
  transport::Message Handle(transport::Message&& request);
  // Between requests: ends the write leases nobody renewed.
  void Tick();

 private:
  transport::Message Dispatch(transport::Message&& request);

  MetaStore* store_;
};

struct MetaServerOptions {
  std::string dir;
  std::string listen;
  std::vector<std::string> data_servers;  // empty: use the stored map
  uint32_t block_size = 0;                // 0: keep the stored default (512)
  double lease_seconds = 60;              // a writer that stops renewing loses its lease after this
};

// Runs the meta server until SIGINT/SIGTERM. Returns why it could not start.
Status RunMetaServer(const MetaServerOptions& options);

}  // namespace dfs::meta
