// dfs mv: rename or move (metadata only: no block moves).
#include "cmd/cli_common.h"
#include "core/common/path.h"

namespace dfs::cmd {

void RegisterMv(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "mv", "Rename or move a file or directory (no data moves)");
  auto src = std::make_shared<std::string>();
  auto dst = std::make_shared<std::string>();
  sub->add_option("SRC", *src, "Path to move")->required();
  sub->add_option("DST", *dst, "New path, or an existing directory to move into")->required();
  sub->callback([&run, &g, src, dst] {
    run = [&g, src, dst]() -> Status {
      DFS_ASSIGN_OR_RETURN(std::string from, NormalizePath(*src));
      DFS_ASSIGN_OR_RETURN(std::string to, NormalizePath(*dst));
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      DFS_RETURN_IF_ERROR(fs->Stat(from).status().WithContext("mv"));
      auto target = fs->Stat(to);
      if (target.ok() && client::IsDirectory(*target)) to = JoinPath(to, BaseName(from));
      return fs->Rename(from, to).WithContext("mv");
    };
  });
}

}  // namespace dfs::cmd
