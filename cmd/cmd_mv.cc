// dfs mv and dfs ln: rename or move, or give a file a second name (a hard
// link). Metadata only: no block moves. As mv(1) and ln(1): several sources
// go into an existing directory, each under its own name.
#include "cmd/cli_common.h"
#include "cmd/operands.h"
#include "core/common/path.h"

namespace dfs::cmd {
namespace {

struct NameFlags {
  std::vector<std::string> args;
};

// Where `src` goes: into `dst` if that is a directory, else `dst` itself.
Result<std::string> TargetFor(const DfsOperand& src, const DfsOperand& dst, bool dst_is_dir) {
  if (dst_is_dir) return JoinPath(dst.path, BaseName(src.path));
  if (dst.dir_only) return Status(Code::kNotADirectory, dst.written + ": not a directory");
  return dst.path;
}

Status Run(Globals& g, const NameFlags& f, bool link) {
  const char* name = link ? "ln" : "mv";
  if (f.args.size() < 2) return InvalidArgument(std::string(name) + " needs a source and a destination");
  DFS_ASSIGN_OR_RETURN(DfsOperand dst, ParseOperand(f.args.back()));
  DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
  OperandErrors errors(g);
  std::vector<std::string> written(f.args.begin(), f.args.end() - 1);
  std::vector<DfsOperand> srcs = ExpandOperands(*fs, written, errors);
  auto target = fs->Stat(dst.path);
  const bool dst_is_dir = target.ok() && client::IsDirectory(*target);
  if (srcs.size() > 1 && !dst_is_dir) {
    return Status(Code::kNotADirectory, std::string(name) + ": target " + dst.written + " is not a directory");
  }
  for (const DfsOperand& src : srcs) {
    Status st = [&]() -> Status {
      DFS_ASSIGN_OR_RETURN(client::Attr a, fs->Stat(src.path));
      DFS_RETURN_IF_ERROR(CheckDirOnly(src, a));
      DFS_ASSIGN_OR_RETURN(std::string to, TargetFor(src, dst, dst_is_dir));
      return link ? fs->Link(src.path, to).status() : fs->Rename(src.path, to);
    }();
    if (!errors.Add(st.WithContext(name))) break;
  }
  return errors.Done();
}

}  // namespace

void RegisterMv(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "mv", "Rename or move files and directories (no data moves)");
  auto f = std::make_shared<NameFlags>();
  sub->add_option("SRC_DST", f->args, "SRC... DST: paths to move, then the new path or an existing directory")
      ->required();
  sub->callback([&run, &g, f] { run = [&g, f]() { return Run(g, *f, /*link=*/false); }; });
}

void RegisterLn(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "ln", "Give files a second name (hard links; no data moves)");
  auto f = std::make_shared<NameFlags>();
  sub->add_option("SRC_DST", f->args, "SRC... DST: existing files, then the new name or an existing directory")
      ->required();
  sub->callback([&run, &g, f] { run = [&g, f]() { return Run(g, *f, /*link=*/true); }; });
}

}  // namespace dfs::cmd
