// dfs meta: run the meta server.
#include "cmd/cli_common.h"
#include "core/meta/meta_service.h"

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
  sub->callback([&run, o, servers] {
    run = [o, servers]() -> Status {
      o->data_servers.clear();
      std::string s = *servers;
      size_t i = 0;
      while (!s.empty() && i <= s.size()) {
        size_t j = s.find(',', i);
        if (j == std::string::npos) j = s.size();
        std::string ep = s.substr(i, j - i);
        if (ep.empty()) return InvalidArgument("--data-servers has an empty endpoint");
        o->data_servers.push_back(ep);
        i = j + 1;
      }
      if (!servers->empty() && o->data_servers.size() < 2) {
        return InvalidArgument("a cluster needs at least 2 data servers; --data-servers lists " +
                               std::to_string(o->data_servers.size()));
      }
      return meta::RunMetaServer(*o);
    };
  });
}

}  // namespace dfs::cmd
