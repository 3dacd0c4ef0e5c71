// dfs cp: copy local -> dfs, dfs -> local, dfs -> dfs, as cp(1) copies
// (cmd/copier.h says how). dfs paths are written dfs:/path, globs in them
// expanded by dfs; "-" is standard input or output. Copying into an
// existing directory keeps the source's name.
#include <dirent.h>
#include <sys/stat.h>

#include <cstring>

#include "cmd/cli_common.h"
#include "cmd/copier.h"
#include "cmd/operands.h"

namespace dfs::cmd {
namespace {

// The sources, dfs globs expanded (a pattern that matches nothing stays as
// written, to be reported missing).
Result<std::vector<Place>> Sources(client::FileSystem& fs, const std::vector<Place>& written) {
  std::vector<Place> out;
  for (const Place& p : written) {
    if (!p.dfs || !HasGlob(p.path)) {
      out.push_back(p);
      continue;
    }
    DFS_ASSIGN_OR_RETURN(auto paths, ExpandGlob(fs, p.path));
    for (std::string& path : paths) {
      Place one = p;
      one.path = std::move(path);
      out.push_back(std::move(one));
    }
  }
  return out;
}

// What a local source holds (regular files, bytes), for the progress
// line's total.
void LocalTotal(const std::string& path, bool follow, bool recursive, uint64_t* bytes, uint64_t* files) {
  struct stat st;
  if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) != 0) return;
  if (S_ISREG(st.st_mode)) {
    *bytes += static_cast<uint64_t>(st.st_size);
    ++*files;
  } else if (S_ISDIR(st.st_mode) && recursive) {
    DIR* d = opendir(path.c_str());
    if (!d) return;
    while (struct dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        LocalTotal(path + "/" + e->d_name, follow, recursive, bytes, files);
      }
    }
    closedir(d);
  }
}

// The whole copy's size, when it can be known without walking a dfs tree.
void SetTotal(Copier& copier, const CpFlags& f, const std::vector<Place>& srcs, Progress* progress) {
  uint64_t bytes = 0, files = 0;
  for (const Place& s : srcs) {
    if (s.stdio) return;
    if (!s.dfs) {
      LocalTotal(s.path, f.dereference || f.command_line || !f.recursive, f.recursive, &bytes, &files);
      continue;
    }
    auto node = copier.Look(s, !f.recursive || f.dereference || f.command_line);
    if (!node.ok() || node->kind == Node::kDirectory) return;  // a dfs tree: not walked twice
    if (node->kind == Node::kFile) {
      bytes += node->attr.size;
      ++files;
    }
  }
  progress->SetTotal(bytes, files);
}

Status RunCp(Globals& g, const CpFlags& f) {
  if (f.args.size() < 2) return InvalidArgument("cp needs a source and a destination");
  std::vector<Place> written;
  for (size_t i = 0; i + 1 < f.args.size(); ++i) {
    DFS_ASSIGN_OR_RETURN(Place p, ParsePlace(f.args[i]));
    written.push_back(p);
  }
  DFS_ASSIGN_OR_RETURN(Place dst, ParsePlace(f.args.back()));
  bool any_dfs = dst.dfs;
  for (const Place& s : written) {
    any_dfs |= s.dfs;
    if (!s.dfs && !dst.dfs) {
      return InvalidArgument("cp: neither " + Show(s) + " nor " + Show(dst) +
                             " is a dfs path; write dfs paths as dfs:/path");
    }
    if (s.stdio && dst.stdio) return InvalidArgument("cp: '-' cannot be both source and destination");
  }
  if (!any_dfs) return InvalidArgument("cp: no dfs path given");
  CatchInterrupts();
  DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
  OperandErrors errors(g);
  // Not to a terminal that also shows the data (cp to -).
  Progress progress("cp", ProgressWanted(g.quiet) && !dst.stdio);
  Copier copier(*fs, f, errors, progress);
  DFS_ASSIGN_OR_RETURN(std::vector<Place> srcs, Sources(*fs, written));
  DFS_ASSIGN_OR_RETURN(Node there, copier.Look(dst, true));
  const bool into_dir = there.kind == Node::kDirectory && !dst.stdio;
  if (progress.enabled()) SetTotal(copier, f, srcs, &progress);
  if (dst.dir_only && there.kind != Node::kMissing && !into_dir) {
    return Status(Code::kNotADirectory, "cp: " + Show(dst) + ": not a directory");
  }
  if (srcs.size() > 1 && !into_dir && !dst.stdio) {
    return Status(Code::kNotADirectory, "cp: target " + Show(dst) + " is not a directory");
  }
  for (const Place& s : srcs) {
    Status st = [&]() -> Status {
      if (!into_dir) {
        if (dst.dir_only) {
          // As cp(1): "cp f new/" cannot make a file named new/.
          DFS_ASSIGN_OR_RETURN(Node src, copier.Look(s, true));
          if (src.kind != Node::kDirectory && src.kind != Node::kMissing) {
            return Status(Code::kNotADirectory, "cannot create " + Show(dst) + ": not a directory");
          }
        }
        return copier.Copy(s, dst, true);
      }
      if (s.stdio) return InvalidArgument("'-' needs a file name as destination, not a directory");
      return copier.Copy(s, copier.Child(dst, copier.NameOf(s)), true);
    }();
    if (!errors.Add(st.WithContext("cp"))) break;
  }
  if (!Interrupted()) (void)errors.Add(copier.Finish().WithContext("cp"));
  // Durable when the command returns: one flush round for everything written.
  if (copier.wrote_dfs()) (void)errors.Add(fs->Sync().WithContext("cp: flushing"));
  if (Interrupted()) return Status(Code::kCancelled, "cp: interrupted; what was not copied whole was left as it was");
  return errors.Done();
}

}  // namespace

void RegisterCp(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "cp", "Copy files into, out of and within dfs (dfs paths: dfs:/path)");
  auto f = std::make_shared<CpFlags>();
  sub->add_flag("-r,-R,--recursive", f->recursive,
                "Copy directories recursively; symlinks and special files are copied as such");
  sub->add_flag("-p,--preserve", f->preserve, "Keep mode, owner (where allowed) and times");
  sub->add_flag("-n,--no-clobber", f->no_clobber, "Never overwrite an existing destination");
  sub->add_flag("-L,--dereference", f->dereference, "Follow every symlink in the sources");
  sub->add_flag("-P,--no-dereference", f->no_dereference, "Copy symlinks as symlinks (the default with -r)");
  sub->add_flag("-H", f->command_line, "Follow symlinks named on the command line only");
  sub->add_flag("--wait", f->wait, "If another client is writing a destination, wait for it instead of failing");
  sub->add_option("--block-size", f->block_size, "Block size in bytes for new dfs files (default: the cluster's)")
      ->check(CLI::Range(64u, 4u << 20));
  sub->add_option("SRC_DST", f->args, "SRC... DST: sources, then the destination; - for stdin/stdout")->required();
  sub->callback([&run, &g, f] { run = [&g, f]() { return RunCp(g, *f); }; });
}

}  // namespace dfs::cmd
