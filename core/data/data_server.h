// A data server: the block service, and beside it the rebuild at start
// (R6, R7), the reclaimer (deleted files, the trash) and the scrubber.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace dfs::data {

struct DataServerOptions {
  uint32_t index = 0;
  std::string dir;
  std::string meta;                // meta server endpoint
  std::string listen;              // empty: this server's endpoint in the meta server's map
  double trash_hours = 24;         // blocks of deleted files are kept this long
  double reserve_percent = 5;      // below this much free disk, the trash is emptied early
  double scrub_days = 7;           // a full scrub pass this often
  double scrub_mbps = 50;          // the scrubber reads at most this fast
  double reclaim_seconds = 2;      // how often deleted files are looked for
  std::string key_file;            // the cluster's server key pair (zcert); required unless insecure
  bool insecure = false;           // no keys: every request trusted (loopback endpoints only)
  double key_refresh_seconds = 5;  // how often the admitted keys are fetched from the meta server
  std::string metrics_listen;      // HOST:PORT for Prometheus metrics over HTTP; empty: none
};

// Runs data server `index` until SIGINT/SIGTERM, which stop it within two
// seconds whatever it is doing. Returns why it could not start.
Status RunDataServer(const DataServerOptions& options);

}  // namespace dfs::data
