// dfs rm: remove files, and directories with -r.
#include "cmd/cli_common.h"
#include "core/common/path.h"

namespace dfs::cmd {
namespace {

Status RemoveTree(client::FileSystem& fs, const std::string& path) {
  DFS_ASSIGN_OR_RETURN(auto entries, fs.ListDir(path));
  for (const auto& e : entries) {
    std::string child = JoinPath(path, e.name);
    if (client::IsDirectory(e)) {
      DFS_RETURN_IF_ERROR(RemoveTree(fs, child));
    } else {
      DFS_RETURN_IF_ERROR(fs.Remove(child));
    }
  }
  return fs.Rmdir(path);
}

}  // namespace

void RegisterRm(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "rm", "Remove files (and directories with -r)");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto recursive = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  sub->add_flag("-r,-R,--recursive", *recursive, "Remove directories and their contents");
  sub->add_flag("-f,--force", *force, "Ignore missing files");
  sub->add_option("PATH", *paths, "Paths to remove")->required();
  sub->callback([&run, &g, paths, recursive, force] {
    run = [&g, paths, recursive, force]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      for (const std::string& raw : *paths) {
        DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(raw));
        auto a = fs->Stat(p);
        if (!a.ok()) {
          if (*force && a.status().code() == Code::kNotFound) continue;
          return a.status().WithContext("rm");
        }
        if (client::IsDirectory(*a)) {
          if (!*recursive) return Status(Code::kIsADirectory, "rm: " + p + ": is a directory (use -r)");
          if (p == "/") return InvalidArgument("rm: refusing to remove /");
          DFS_RETURN_IF_ERROR(RemoveTree(*fs, p).WithContext("rm"));
        } else {
          DFS_RETURN_IF_ERROR(fs->Remove(p).WithContext("rm"));
        }
      }
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
