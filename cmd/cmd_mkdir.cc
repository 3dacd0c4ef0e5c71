// dfs mkdir: create directories.
#include "cmd/cli_common.h"
#include "cmd/operands.h"

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
      OperandErrors errors(g);
      for (const std::string& p : *paths) {
        auto op = ParseOperand(p);
        Status st = op.ok() ? fs->Mkdir(op->path, *parents).status() : op.status();
        if (!errors.Add(st.WithContext("mkdir"))) break;
      }
      return errors.Done();
    };
  });
}

}  // namespace dfs::cmd
