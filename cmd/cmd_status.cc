// dfs status: every data server with its state, what its disk holds (live
// data, trash, free), and what its scrubber and rebuild found.
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cmd/cli_common.h"

namespace dfs::cmd {
namespace {

using Json = nlohmann::ordered_json;

Json ServerJson(const client::ServerStatus& s) {
  Json j{{"index", s.index}, {"endpoint", s.endpoint}, {"state", s.status.ok() ? s.stat.state : "down"}};
  if (!s.status.ok()) {
    j["error"] = s.status.message();
    return j;
  }
  const proto::ServerStatRsp& t = s.stat;
  j["files"] = t.files;
  j["blocks"] = t.blocks;
  j["bytes"] = t.bytes;
  j["live_bytes"] = t.live_bytes;
  j["trash_bytes"] = t.trash_bytes;
  j["trash_files"] = t.trash_files;
  j["disk_free"] = t.disk_free;
  j["disk_total"] = t.disk_total;
  j["reserve_bytes"] = t.reserve_bytes;
  j["rebuild_blocks"] = t.rebuild_blocks;
  j["rebuild_bytes"] = t.rebuild_bytes;
  j["rebuild_lost_blocks"] = t.rebuild_lost;
  j["reclaimed_files"] = t.reclaimed_files;
  j["flushes"] = t.flushes;
  j["insecure"] = t.insecure;
  j["scrub"] = Json{{"last_pass_ns", t.scrub_last_pass_ns},
                    {"pass_blocks", t.scrub_pass_blocks},
                    {"found", t.scrub_found},
                    {"repaired", t.scrub_repaired},
                    {"unrepaired", t.scrub_unrepaired}};
  return j;
}

std::string LastPass(int64_t ns) {
  if (ns == 0) return "none yet";
  return FormatTime(ns);
}

}  // namespace

void RegisterStatus(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "status", "Show the data servers: up or down, live data, trash, free disk, scrub");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "One JSON document (docs/json-output.md)");
  sub->callback([&run, &g, json] {
    run = [&g, json]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      auto servers = fs->ServerStatuses();
      size_t down = 0;
      for (const auto& s : servers) down += !s.status.ok();
      if (*json) {
        Json list = Json::array();
        for (const auto& s : servers) list.push_back(ServerJson(s));
        Json doc{{"meta", g.meta},
                 {"cluster_id", fs->map().cluster_id},
                 {"insecure", fs->map().insecure},
                 {"data_servers", list}};
        printf("%s\n", doc.dump(2).c_str());
      } else {
        printf("meta server %s, cluster %s\n", g.meta.c_str(), fs->map().cluster_id.c_str());
        // Servers without keys are said loudly, first.
        std::string insecure = fs->map().insecure ? "meta" : "";
        for (const auto& s : servers) {
          if (s.status.ok() && s.stat.insecure)
            insecure += (insecure.empty() ? "data " : ", data ") + std::to_string(s.index);
        }
        if (!insecure.empty()) {
          printf("INSECURE: %s started with --insecure: no keys, anyone who reaches the ports is trusted\n",
                 insecure.c_str());
        }
        printf("%-5s %-24s %-10s %12s %8s %8s %8s  %s\n", "index", "endpoint", "state", "blocks", "live", "trash",
               "free", "scrub: last full pass, bad copies found/repaired");
        for (const auto& s : servers) {
          if (!s.status.ok()) {
            printf("%-5u %-24s %-10s %12s %8s %8s %8s\n", s.index, s.endpoint.c_str(), "down", "-", "-", "-", "-");
            continue;
          }
          const proto::ServerStatRsp& t = s.stat;
          printf("%-5u %-24s %-10s %12llu %8s %8s %8s  %s, %llu/%llu", s.index, s.endpoint.c_str(), t.state.c_str(),
                 static_cast<unsigned long long>(t.blocks), HumanSize(t.live_bytes).c_str(),
                 HumanSize(t.trash_bytes).c_str(), HumanSize(t.disk_free).c_str(),
                 LastPass(t.scrub_last_pass_ns).c_str(), static_cast<unsigned long long>(t.scrub_found),
                 static_cast<unsigned long long>(t.scrub_repaired));
          if (t.scrub_unrepaired)
            printf(", %llu without a good copy", static_cast<unsigned long long>(t.scrub_unrepaired));
          if (t.rebuild_lost) printf(", rebuild lost %llu blocks", static_cast<unsigned long long>(t.rebuild_lost));
          printf("\n");
        }
      }
      if (down)
        return Unavailable(std::to_string(down) + " of " + std::to_string(servers.size()) + " data servers down");
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
