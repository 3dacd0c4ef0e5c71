// dfs data: run a data server.
#include "cmd/cli_common.h"
#include "core/data/data_service.h"

namespace dfs::cmd {

void RegisterData(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "data", "Run a data server (holds blocks)");
  auto o = std::make_shared<data::DataServerOptions>();
  sub->add_option("--index", o->index, "This server's index in the cluster (0, 1, ...)")->required();
  sub->add_option("--dir", o->dir, "Directory for this server's blocks")->required();
  sub->add_option("--listen", o->listen, "Endpoint to listen on (default: this index's endpoint in the map)");
  sub->add_option("--trash-hours", o->trash_hours, "Keep blocks of deleted files this long (default 24)")
      ->check(CLI::NonNegativeNumber);
  sub->callback([&run, &g, o] {
    run = [&g, o]() -> Status {
      o->meta = g.meta;
      return data::RunDataServer(*o);
    };
  });
}

}  // namespace dfs::cmd
