// dfs status: every data server with its state, blocks and free disk.
#include <cstdio>

#include "cmd/cli_common.h"

namespace dfs::cmd {

void RegisterStatus(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "status", "Show the data servers: up or down, blocks, bytes, free disk");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "One JSON document (docs/json-output.md)");
  sub->callback([&run, &g, json] {
    run = [&g, json]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      auto servers = fs->ServerStatuses();
      size_t down = 0;
      if (*json) {
        std::string out = "{\"meta\": " + JsonString(g.meta) + ", \"cluster_id\": " +
                          JsonString(fs->map().cluster_id) + ", \"data_servers\": [";
        for (size_t i = 0; i < servers.size(); ++i) {
          const auto& s = servers[i];
          bool up = s.status.ok();
          down += !up;
          out += std::string(i ? "," : "") + "\n  {\"index\": " + std::to_string(s.index) +
                 ", \"endpoint\": " + JsonString(s.endpoint) + ", \"state\": \"" + (up ? s.stat.state : "down") +
                 "\"";
          if (up) {
            out += ", \"files\": " + std::to_string(s.stat.files) + ", \"blocks\": " + std::to_string(s.stat.blocks) +
                   ", \"bytes\": " + std::to_string(s.stat.bytes) + ", \"disk_free\": " +
                   std::to_string(s.stat.disk_free) + ", \"disk_total\": " + std::to_string(s.stat.disk_total) +
                   ", \"rebuild_blocks\": " + std::to_string(s.stat.rebuild_blocks) +
                   ", \"rebuild_bytes\": " + std::to_string(s.stat.rebuild_bytes) +
                   ", \"flushes\": " + std::to_string(s.stat.flushes);
          }
          out += "}";
        }
        printf("%s\n]}\n", out.c_str());
      } else {
        printf("meta server %s, cluster %s\n", g.meta.c_str(), fs->map().cluster_id.c_str());
        printf("%-5s %-24s %-11s %10s %10s %10s\n", "index", "endpoint", "state", "blocks", "bytes", "free");
        for (const auto& s : servers) {
          if (s.status.ok()) {
            printf("%-5u %-24s %-11s %10llu %10s %10s\n", s.index, s.endpoint.c_str(), s.stat.state.c_str(),
                   static_cast<unsigned long long>(s.stat.blocks), HumanSize(s.stat.bytes).c_str(),
                   HumanSize(s.stat.disk_free).c_str());
          } else {
            ++down;
            printf("%-5u %-24s %-11s %10s %10s %10s\n", s.index, s.endpoint.c_str(), "down", "-", "-", "-");
          }
        }
      }
      if (down) return Unavailable(std::to_string(down) + " of " + std::to_string(servers.size()) + " data servers down");
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
