// dfs rm: remove files, and directories with -r.
#include "cmd/cli_common.h"
#include "cmd/operands.h"
#include "core/common/path.h"

namespace dfs::cmd {
namespace {

Status RemoveTree(client::FileSystem& fs, const std::string& path) {
  DFS_ASSIGN_OR_RETURN(auto entries, fs.ListDir(path));
  for (const auto& e : entries) {
    if (Interrupted()) return Status(Code::kCancelled, "interrupted");
    std::string child = JoinPath(path, e.name);
    if (client::IsDirectory(e)) {
      DFS_RETURN_IF_ERROR(RemoveTree(fs, child));
    } else {
      DFS_RETURN_IF_ERROR(fs.Remove(child));
    }
  }
  return fs.Rmdir(path);
}

struct RmFlags {
  std::vector<std::string> paths;
  bool recursive = false;
  bool force = false;
};

Status RemoveOne(client::FileSystem& fs, const RmFlags& f, const DfsOperand& op) {
  auto a = fs.Stat(op.path);
  if (!a.ok()) {
    // -f: what is not there is already removed (also below a file, ENOTDIR).
    Code c = a.status().code();
    if (f.force && (c == Code::kNotFound || c == Code::kNotADirectory)) return Status::Ok();
    return a.status();
  }
  DFS_RETURN_IF_ERROR(CheckDirOnly(op, *a));
  if (!client::IsDirectory(*a)) return fs.Remove(op.path);
  if (!f.recursive) return Status(Code::kIsADirectory, op.written + ": is a directory (use -r)");
  if (op.path == "/") return InvalidArgument("refusing to remove /");
  return RemoveTree(fs, op.path);
}

}  // namespace

void RegisterRm(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "rm", "Remove files (and directories with -r)");
  auto f = std::make_shared<RmFlags>();
  sub->add_flag("-r,-R,--recursive", f->recursive, "Remove directories and their contents");
  sub->add_flag("-f,--force", f->force, "Ignore missing files; no operand is no error");
  sub->add_option("PATH", f->paths, "Paths to remove");
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      if (f->paths.empty()) return f->force ? Status::Ok() : InvalidArgument("rm: missing operand");
      CatchInterrupts();
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      OperandErrors errors(g);
      for (const DfsOperand& op : ExpandOperands(*fs, f->paths, errors)) {
        if (!errors.Add(RemoveOne(*fs, *f, op).WithContext("rm"))) break;
      }
      return errors.Done();
    };
  });
}

}  // namespace dfs::cmd
