// dfs ln: a hard link, a second name for a file (metadata only).
#include "cmd/cli_common.h"
#include "core/common/path.h"

namespace dfs::cmd {

void RegisterLn(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "ln", "Give a file a second name (a hard link; no data moves)");
  auto src = std::make_shared<std::string>();
  auto dst = std::make_shared<std::string>();
  sub->add_option("SRC", *src, "Existing file")->required();
  sub->add_option("DST", *dst, "New name, or an existing directory to link into")->required();
  sub->callback([&run, &g, src, dst] {
    run = [&g, src, dst]() -> Status {
      DFS_ASSIGN_OR_RETURN(std::string from, NormalizePath(*src));
      DFS_ASSIGN_OR_RETURN(std::string to, NormalizePath(*dst));
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      auto target = fs->Stat(to);
      if (target.ok() && client::IsDirectory(*target)) to = JoinPath(to, BaseName(from));
      return fs->Link(from, to).status().WithContext("ln");
    };
  });
}

}  // namespace dfs::cmd
