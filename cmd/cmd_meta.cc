// dfs meta: run the meta server.
#include "cmd/cli_common.h"
#include "core/meta/meta_service.h"
#include "transport/metrics_http.h"

namespace dfs::cmd {

void RegisterMeta(CLI::App& app, Globals& /*g: the meta server takes no client options*/, Runner& run) {
  auto* sub = AddSubcommand(app, "meta", "Run the meta server (holds the namespace)");
  auto o = std::make_shared<meta::MetaServerOptions>();
  auto servers = std::make_shared<std::string>();
  sub->add_option("--dir", o->dir, "Directory for the namespace database")->required();
  sub->add_option("--listen", o->listen, "Endpoint to listen on, e.g. tcp://127.0.0.1:7100")->required();
  sub->add_option("--data-servers", *servers,
                  "Data server endpoints in index order, comma separated (stored; may be omitted on restart)");
  sub->add_option("--block-size", o->block_size, "Default block size in bytes for new files (default 512)")
      ->check(CLI::Range(64u, 4u << 20));
  sub->add_option("--lease-seconds", o->lease_seconds,
                  "A writer that stops renewing its write lease loses it after this many seconds (default 60)")
      ->check(CLI::Range(1.0, 86400.0));
  sub->add_option("--key", o->key_file, "The cluster's server key pair (zcert; dfs cluster up makes keys/server.key)");
  sub->add_option("--authorized-keys", o->authorized_keys,
                  "The keys admitted, with role and identity (docs/security.md); re-read when it changes");
  sub->add_option("--metrics-listen", o->metrics_listen,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (docs/metrics.md)");
  sub->add_flag("--insecure", o->insecure,
                "Serve without keys: anyone who reaches the port is trusted (loopback endpoints only)");
  auto cap_hours = std::make_shared<double>(24);
  sub->add_option("--capability-hours", *cap_hours, "Capabilities for file blocks last this long (default 24)")
      ->check(CLI::Range(0.001, 8760.0));
  sub->callback([&run, o, servers, cap_hours] {
    run = [o, servers, cap_hours]() -> Status {
      o->capability_seconds = *cap_hours * 3600;
      o->data_servers.clear();
      std::string s = *servers;
      size_t i = 0;
      while (!s.empty() && i <= s.size()) {
        size_t j = s.find(',', i);
        if (j == std::string::npos) j = s.size();
        std::string ep = s.substr(i, j - i);
        if (ep.empty()) return InvalidArgument("--data-servers has an empty endpoint");
        DFS_RETURN_IF_ERROR(CheckEndpoint(ep, "--data-servers"));
        o->data_servers.push_back(ep);
        i = j + 1;
      }
      if (!servers->empty() && o->data_servers.size() < 2) {
        return InvalidArgument("a cluster needs at least 2 data servers; --data-servers lists " +
                               std::to_string(o->data_servers.size()));
      }
      DFS_RETURN_IF_ERROR(CheckEndpoint(o->listen, "--listen", /*listen=*/true));
      if (!o->metrics_listen.empty()) {
        DFS_RETURN_IF_ERROR(transport::CheckHostPort(o->metrics_listen, "--metrics-listen"));
      }
      ServerProcess self("dfs meta", o->dir);
      return meta::RunMetaServer(*o);
    };
  });
}

}  // namespace dfs::cmd
