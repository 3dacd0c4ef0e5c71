// dfs mount / dfs umount: the namespace as a local directory (FUSE).
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cli_common.h"
#include "mount/mount.h"

namespace dfs::cmd {
namespace {

struct MountFlags {
  std::string mountpoint;
  bool foreground = false;
  std::vector<std::string> options;  // -o a,b -o c
  std::string log;
};

Status RunMountCmd(const Globals& g, const MountFlags& f) {
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
  um->callback([&run, where] {
    run = [where]() -> Status {
      pid_t pid = fork();
      if (pid == 0) {
        execlp("fusermount3", "fusermount3", "-u", where->c_str(), nullptr);
        _exit(127);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return Status(Code::kFailedPrecondition, "umount: fusermount3 -u " + *where + " failed");
      }
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
