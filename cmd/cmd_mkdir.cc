// dfs mkdir: create directories.
#include "cmd/cli_common.h"

namespace dfs::cmd {

void RegisterMkdir(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "mkdir", "Create directories");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto parents = std::make_shared<bool>(false);
  sub->add_flag("-p,--parents", *parents, "Create parents as needed; no error if it exists");
  sub->add_option("PATH", *paths, "Directories to create")->required();
  sub->callback([&run, &g, paths, parents] {
    run = [&g, paths, parents]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      for (const std::string& p : *paths) {
        auto made = fs->Mkdir(p, *parents);
        if (!made.ok()) return made.status().WithContext("mkdir");
      }
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
