// dfs data: run a data server.
#include "cmd/cli_common.h"
#include "core/data/data_server.h"
#include "transport/metrics_http.h"

namespace dfs::cmd {

void RegisterData(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "data", "Run a data server (holds blocks)");
  auto o = std::make_shared<data::DataServerOptions>();
  sub->add_option("--index", o->index, "This server's index in the cluster (0, 1, ...)")->required();
  sub->add_option("--dir", o->dir, "Directory for this server's blocks")->required();
  sub->add_option("--listen", o->listen, "Endpoint to listen on (default: this index's endpoint in the map)");
  sub->add_option("--trash-hours", o->trash_hours,
                  "Keep blocks of deleted files this long (default 24; 0: remove them at once)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--reserve-percent", o->reserve_percent,
                  "Below this much free disk, empty the trash early, oldest first (default 5)")
      ->check(CLI::Range(0.0, 50.0));
  sub->add_option("--scrub-days", o->scrub_days, "Verify every stored block this often (default 7)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--scrub-mbps", o->scrub_mbps, "The scrubber reads at most this many MB/s (default 50)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--key", o->key_file, "The cluster's server key pair (zcert; dfs cluster up makes keys/server.key)");
  sub->add_option("--metrics-listen", o->metrics_listen,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (docs/metrics.md)");
  sub->add_flag("--insecure", o->insecure,
                "Serve without keys: anyone who reaches the port is trusted (loopback endpoints only)");
  sub->callback([&run, &g, o] {
    run = [&g, o]() -> Status {
      o->meta = g.meta;
      DFS_RETURN_IF_ERROR(CheckEndpoint(g.meta, "--meta (or DFS_META)"));
      if (!o->listen.empty()) DFS_RETURN_IF_ERROR(CheckEndpoint(o->listen, "--listen", /*listen=*/true));
      if (!o->metrics_listen.empty()) {
        DFS_RETURN_IF_ERROR(transport::CheckHostPort(o->metrics_listen, "--metrics-listen"));
      }
      ServerProcess self("dfs data " + std::to_string(o->index), o->dir);
      return data::RunDataServer(*o);
    };
  });
}

}  // namespace dfs::cmd
