#include "mount/mount.h"

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>

#include "mount/mounted.h"
#include "mount/mountinfo.h"

namespace dfs::mount {
namespace {

// Engines for the calls off the write path: stat, readdir, reads and the
// namespace calls; and engines that write, each shared by the files bound
// to it (mount/mounted.h).
constexpr int kEngines = 4;
constexpr int kWriteEngines = 4;
// What the kernel reads ahead of a sequential reader, and so the largest
// read request it sends (conn->max_readahead and max_write allow it).
constexpr int kKernelReadAheadKiB = 1024;

void* OpInit(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;
  // The kernel's entry and attribute caches keep what the mount said for
  // attr_timeout etc. (MountOptions::cache_seconds, or -o attr_timeout=...).
  // Each open learns the file afresh and invalidates what the kernel kept
  // (OpOpen): close-to-open, as NFS gives.
  conn->max_write = 1 << 20;
  conn->max_readahead = kKernelReadAheadKiB << 10;
  // Without this the kernel asks getattr (a meta round trip) before every
  // read. Page caches are dropped at each open instead (keep_cache = 0):
  // close-to-open consistency, as NFS gives.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  return fuse_get_context()->private_data;
}

fuse_operations MakeOperations() {
  fuse_operations ops{};
  ops.init = OpInit;
  AddFileOps(&ops);
  AddNamespaceOps(&ops);
  return ops;
}

// Connects once in a child process, so the parent can still fork into the
// background before it creates any ZeroMQ context (DESIGN.md section 10).
Status CheckCluster(const client::ClientOptions& options) {
  int fds[2];
  if (pipe(fds) != 0) return Internal("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return Internal("fork failed");
  if (pid == 0) {
    close(fds[0]);
    auto fs = client::FileSystem::Connect(options);
    std::string msg = fs.ok() ? "" : fs.status().message();
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(fs.ok() ? 0 : 1);
  }
  close(fds[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  return Unavailable(msg.empty() ? "cannot reach the meta server at " + options.meta : msg);
}

}  // namespace

void RaiseKernelReadAhead(const std::string& mountpoint) {
  MountEntry mounted;
  if (!MountAt(mountpoint, &mounted) || mounted.type != "fuse.dfs") return;
  const std::string knob = "/sys/class/bdi/" + mounted.device + "/read_ahead_kb";
  std::ofstream out(knob);
  out << kKernelReadAheadKiB << "\n";
  out.flush();
  if (!out) fprintf(stderr, "dfs mount: kernel read-ahead stays at its default: cannot write %s\n", knob.c_str());
}

int ErrnoOf(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kNotADirectory:
      return ENOTDIR;
    case Code::kIsADirectory:
      return EISDIR;
    case Code::kNotEmpty:
      return ENOTEMPTY;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kPermissionDenied:
      return EACCES;
    case Code::kNameTooLong:
      return ENAMETOOLONG;
    case Code::kNoAttribute:
      return ENODATA;
    case Code::kNotPermitted:
      return EPERM;
    case Code::kResourceExhausted:
      return ENOSPC;
    case Code::kDeadlineExceeded:
      return EIO;
    case Code::kDataLoss:
      return EIO;
    case Code::kUnavailable:
      return EIO;
    case Code::kBusy:
      return EBUSY;
    case Code::kFileTooLarge:
      return EFBIG;
    case Code::kCancelled:
      return EINTR;
    default:
      return EIO;
  }
}

Status RunMount(const MountOptions& options) {
  Mounted m;
  // Resolved now: once mounted, the path's last step is this daemon's own.
  char real[PATH_MAX];
  m.mountpoint = realpath(options.mountpoint.c_str(), real) ? real : options.mountpoint;
  m.options.meta = options.meta;
  m.options.connect = options.connect;
  m.options.write_timeout_s = options.write_timeout_s;
  // Four files may stream at once (kWriteEngines): with two windows each
  // the daemon stays near 100 MiB; one file streams as fast with two as
  // with three through the mount (measured: 111-180 MB/s either way).
  m.options.write_windows = 2;
  m.direct_read = options.direct_read;
  m.cache_seconds = options.cache_seconds;
  m.options.notice = [](const std::string& msg) { fprintf(stderr, "dfs mount: %s\n", msg.c_str()); };
  DFS_RETURN_IF_ERROR(CheckCluster(m.options));

  std::vector<std::string> args = {"dfs-mount"};
  // default_permissions: the kernel checks mode bits and owners, as on a
  // local file system (the stored modes would mean nothing otherwise).
  std::string opts = "fsname=dfs,subtype=dfs,default_permissions";
  // Before the user's options, so that theirs win.
  const std::string t = std::to_string(options.cache_seconds);
  opts += ",attr_timeout=" + t + ",entry_timeout=" + t + ",negative_timeout=" + t;
  for (const auto& o : options.fuse_opts) opts += "," + o;
  args.push_back("-o");
  args.push_back(opts);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_operations ops = MakeOperations();
  fuse* f = fuse_new(&fargs, &ops, sizeof ops, &m);
  if (!f) return InvalidArgument("fuse: bad mount options: " + opts);
  if (fuse_mount(f, options.mountpoint.c_str()) != 0) {
    fuse_destroy(f);
    return Status(Code::kFailedPrecondition,
                  "cannot mount on " + options.mountpoint + " (does it exist, and is /dev/fuse usable?)");
  }
  if (fuse_daemonize(options.foreground ? 1 : 0) != 0) {
    fuse_unmount(f);
    fuse_destroy(f);
    return Internal("cannot go to the background");
  }
  if (!options.log.empty()) {
    // fuse_daemonize sent stderr to /dev/null; waits, resumes and errors go here.
    if (FILE* log = fopen(options.log.c_str(), "a")) {
      dup2(fileno(log), 2);
      fclose(log);
    }
  }
  // Buffers of MiBs (read windows, replies, libfuse's request buffers) are
  // allocated and freed all the time, on several threads. Served by mmap,
  // or from per-thread arenas whose heaps go away when empty, each use
  // page-faults its memory anew: 54,000 faults per GiB read through the
  // mount were measured, a quarter of its CPU. One arena that keeps up to
  // 128 MiB free serves them from memory already mapped (about 12,000
  // faults: the working set's first touch). The peak stays the peak in use:
  // 73 MiB through a whole scripts/bench run.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  mallopt(M_ARENA_MAX, 1);
  // After the fork: now the engine (and its ZeroMQ threads) may start.
  m.options.on_dir_changed = [&m](const std::string& path, const client::Attr& a) { m.DirChanged(path, a); };
  auto fs = client::FileSystem::Connect(m.options);
  if (!fs.ok()) {
    fuse_unmount(f);
    fuse_destroy(f);
    return fs.status();
  }
  for (int i = 0; i < kWriteEngines; ++i) {
    auto e = std::make_unique<WriteEngine>();
    if (i == 0) {
      e->fs = std::move(*fs);
    } else {
      auto another = m.writers.front()->fs->ConnectAnother();
      if (!another.ok()) {
        fuse_unmount(f);
        fuse_destroy(f);
        return another.status();
      }
      e->fs = std::move(*another);
    }
    m.writers.push_back(std::move(e));
  }
  auto prefetcher = client::Prefetcher::Start(m.options);
  if (!prefetcher.ok()) {
    fuse_unmount(f);
    fuse_destroy(f);
    return prefetcher.status();
  }
  m.prefetcher = std::move(*prefetcher);
  auto engines = EnginePool::Connect(*m.writers.front()->fs, kEngines);
  if (!engines.ok()) {
    fuse_unmount(f);
    fuse_destroy(f);
    return engines.status();
  }
  m.engines = std::move(*engines);
  m.invalidator = std::make_unique<Invalidator>(f);
  fuse_set_signal_handlers(fuse_get_session(f));
  // Several FUSE threads (mount/mounted.h says who waits for whom).
  int rc = fuse_loop_mt(f, /*clone_fd=*/0);
  fuse_remove_signal_handlers(fuse_get_session(f));
  // Unmounted: whatever is still open is finished, as close would.
  CloseAll(&m);
  m.invalidator.reset();  // before the fuse it calls goes
  fuse_unmount(f);
  fuse_destroy(f);
  fuse_opt_free_args(&fargs);
  return rc == 0 ? Status::Ok() : Internal("fuse loop ended with error " + std::to_string(rc));
}

}  // namespace dfs::mount
