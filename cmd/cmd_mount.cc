// dfs mount / dfs umount: the namespace as a local directory (FUSE).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "cmd/cli_common.h"
#include "mount/mount.h"
#include "mount/mountinfo.h"

namespace dfs::cmd {
namespace {

struct MountFlags {
  std::string mountpoint;
  bool foreground = false;
  std::vector<std::string> options;  // -o a,b -o c
  std::string log;
};

// The file system type mounted at `dir` ("fuse.dfs", "ext4"), or "" if
// `dir` is not a mount point.
std::string MountTypeAt(const std::string& dir) {
  char real[PATH_MAX];
  mount::MountEntry found;
  if (!realpath(dir.c_str(), real) || !mount::MountAt(real, &found)) return "";
  return found.type;
}

// An existing, empty directory that nothing is mounted on yet.
Status CheckMountpoint(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return Status(errno == ENOENT ? Code::kNotFound : Code::kFailedPrecondition,
                  "mount: " + dir + ": " + strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return Status(Code::kNotADirectory, "mount: " + dir + ": not a directory");
  const std::string type = MountTypeAt(dir);
  if (!type.empty()) {
    return Status(Code::kFailedPrecondition, "mount: " + dir + " is already a mount point (" + type +
                                                 "); unmount it first (dfs umount " + dir + ")");
  }
  DIR* d = opendir(dir.c_str());
  if (!d) return Status(Code::kPermissionDenied, "mount: " + dir + ": " + strerror(errno));
  bool empty = true;
  while (struct dirent* e = readdir(d)) empty &= !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
  closedir(d);
  if (!empty) return Status(Code::kFailedPrecondition, "mount: " + dir + " is not empty (the mount would hide it)");
  return Status::Ok();
}

// fusermount3 -u, its complaint (if any) folded into one line.
Status Unmount(const std::string& where) {
  const std::string type = MountTypeAt(where);
  if (type.empty()) return Status(Code::kFailedPrecondition, "umount: " + where + ": not mounted");
  if (type != "fuse.dfs")
    return Status(Code::kFailedPrecondition, "umount: " + where + " is a " + type + " mount, not dfs");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Internal("umount: pipe: " + std::string(strerror(errno)));
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    execlp("fusermount3", "fusermount3", "-u", where.c_str(), nullptr);
    fprintf(stderr, "cannot run fusermount3: %s", strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  std::string said;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) said.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  for (char& c : said) c = c == '\n' ? ' ' : c;
  if (said.rfind("fusermount3: ", 0) == 0) said = said.substr(13);
  return Status(Code::kFailedPrecondition, "umount: " + where + ": " + (said.empty() ? "fusermount3 -u failed" : said));
}

Status RunMountCmd(const Globals& g, const MountFlags& f) {
  DFS_RETURN_IF_ERROR(CheckEndpoint(g.meta, "--meta (or DFS_META)"));
  DFS_RETURN_IF_ERROR(CheckMountpoint(f.mountpoint));
  mount::MountOptions o;
  o.mountpoint = f.mountpoint;
  o.meta = g.meta;
  o.foreground = f.foreground;
  o.write_timeout_s = g.timeout;
  o.log = f.log;
  DFS_ASSIGN_OR_RETURN(o.connect, ClientKey(g));
  for (const std::string& group : f.options) {
    size_t i = 0;
    while (i <= group.size()) {
      size_t j = group.find(',', i);
      if (j == std::string::npos) j = group.size();
      std::string opt = group.substr(i, j - i);
      i = j + 1;
      if (opt.empty()) continue;
      if (opt.rfind("timeout=", 0) == 0) {
        try {
          o.write_timeout_s = std::stod(opt.substr(8));
        } catch (...) {
          return InvalidArgument("mount: -o timeout needs a number of seconds, not '" + opt.substr(8) + "'");
        }
        continue;
      }
      if (opt.rfind("cache=", 0) == 0) {
        try {
          o.cache_seconds = std::stod(opt.substr(6));
        } catch (...) {
          o.cache_seconds = -1;
        }
        if (!(o.cache_seconds >= 0)) {
          return InvalidArgument("mount: -o cache needs a number of seconds >= 0, not '" + opt.substr(6) + "'");
        }
        continue;
      }
      if (opt == "direct_read") {
        o.direct_read = true;
        continue;
      }
      o.fuse_opts.push_back(opt);
    }
  }
  return mount::RunMount(o).WithContext("mount " + f.mountpoint);
}

}  // namespace

void RegisterMount(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "mount", "Mount the namespace on a local directory (FUSE)");
  auto f = std::make_shared<MountFlags>();
  sub->add_option("MOUNTPOINT", f->mountpoint, "An existing empty directory")->required();
  sub->add_flag("-f,--foreground", f->foreground, "Stay in the foreground");
  sub->add_option("--log", f->log, "File for a background mount's messages (waits, repairs, errors)");
  sub->add_option("-o", f->options,
                  "Mount options, comma separated (timeout=SECONDS, cache=SECONDS, direct_read, allow_other, ...)");
  sub->callback([&run, &g, f] { run = [&g, f]() { return RunMountCmd(g, *f); }; });

  auto* um = AddSubcommand(app, "umount", "Unmount a dfs mount (dirty data is flushed first)");
  auto where = std::make_shared<std::string>();
  um->add_option("MOUNTPOINT", *where, "Where it is mounted")->required();
  um->callback([&run, where] { run = [where]() { return Unmount(*where); }; });
}

}  // namespace dfs::cmd
