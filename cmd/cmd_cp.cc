// dfs cp: copy local -> dfs, dfs -> local, dfs -> dfs. dfs paths are written
// dfs:/path; "-" is standard input or output. Copying into an existing
// directory keeps the source's name, as cp(1) does.
//
// Every copy replaces its destination atomically (docs/leases.md): a dfs
// destination is written as a new file that takes the name when it is
// complete, a local one as a temporary file renamed over it, so a copy that
// fails or is interrupted (Ctrl-C, kill -9, a --timeout) leaves the
// destination as it was. Holes in a sparse local source stay holes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "cmd/cli_common.h"
#include "cmd/local_target.h"
#include "core/common/path.h"

namespace dfs::cmd {

Status WriteAll(int fd, const char* p, size_t n, const std::string& what);  // cmd_cat.cc

namespace {

struct CpFlags {
  std::vector<std::string> args;
  bool recursive = false;
  bool wait = false;  // for another writer's lease instead of failing
  uint32_t block_size = 0;
};

// One end of a copy.
struct Place {
  bool dfs = false;
  bool stdio = false;  // "-"
  std::string path;    // normalised dfs path, or local path
};

Result<Place> ParsePlace(const std::string& arg) {
  Place p;
  if (arg == "-") {
    p.stdio = true;
    return p;
  }
  if (IsDfsUri(arg)) {
    p.dfs = true;
    DFS_ASSIGN_OR_RETURN(p.path, NormalizePath(arg));
    return p;
  }
  p.path = arg;
  return p;
}

std::string Show(const Place& p) { return p.stdio ? "-" : p.dfs ? "dfs:" + p.path : p.path; }

std::string LocalBaseName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string LocalJoin(const std::string& dir, const std::string& name) {
  return !dir.empty() && dir.back() == '/' ? dir + name : dir + "/" + name;
}

Status Errno(const std::string& what) {
  Code code = errno == ENOENT    ? Code::kNotFound
              : errno == ENOTDIR ? Code::kNotADirectory
              : errno == EISDIR  ? Code::kIsADirectory
              : errno == EACCES  ? Code::kPermissionDenied
                                 : Code::kInternal;
  return Status(code, what + ": " + strerror(errno));
}

class Copier {
 public:
  Copier(client::FileSystem& fs, const CpFlags& flags) : fs_(fs), flags_(flags) {}

  bool wrote_dfs() const { return wrote_dfs_; }

  // Writes the small files still queued.
  Status Finish() { return small_ ? small_->Finish().WithContext("cp") : Status::Ok(); }

  // What `p` is: 0 missing, 1 file, 2 directory.
  Result<int> Kind(const Place& p) {
    if (p.stdio) return 1;
    if (p.dfs) {
      auto a = fs_.Stat(p.path);
      if (!a.ok()) return a.status().code() == Code::kNotFound ? Result<int>(0) : Result<int>(a.status());
      return client::IsDirectory(*a) ? 2 : 1;
    }
    struct stat st;
    if (stat(p.path.c_str(), &st) != 0) return errno == ENOENT ? Result<int>(0) : Result<int>(Errno(p.path));
    return S_ISDIR(st.st_mode) ? 2 : 1;
  }

  Place Child(const Place& dir, const std::string& name) {
    Place c = dir;
    c.path = dir.dfs ? JoinPath(dir.path, name) : LocalJoin(dir.path, name);
    return c;
  }

  std::string NameOf(const Place& p) { return p.dfs ? BaseName(p.path) : LocalBaseName(p.path); }

  Status Copy(const Place& src, const Place& dst) {
    DFS_ASSIGN_OR_RETURN(int kind, Kind(src));
    if (kind == 0) return NotFound(Show(src) + ": no such file or directory");
    if (kind == 2) {
      if (!flags_.recursive) return Status(Code::kIsADirectory, Show(src) + ": is a directory (use -r)");
      return CopyTree(src, dst);
    }
    return CopyFile(src, dst);
  }

 private:
  Status CopyTree(const Place& src, const Place& dst) {
    if (dst.stdio) return InvalidArgument("cannot copy directory " + Show(src) + " to standard output");
    if (src.dfs == dst.dfs && (dst.path == src.path || dst.path.rfind(src.path + "/", 0) == 0)) {
      return Status(Code::kFailedPrecondition, "cannot copy " + Show(src) + " into itself (" + Show(dst) + ")");
    }
    DFS_ASSIGN_OR_RETURN(int kind, Kind(dst));
    if (kind == 1) return Status(Code::kNotADirectory, Show(dst) + ": not a directory");
    if (kind == 0) {
      if (dst.dfs) {
        DFS_RETURN_IF_ERROR(fs_.Mkdir(dst.path, false).status());
      } else if (mkdir(dst.path.c_str(), 0755) != 0) {
        return Errno("mkdir " + dst.path);
      }
    }
    std::vector<std::string> names;
    if (src.dfs) {
      DFS_ASSIGN_OR_RETURN(auto entries, fs_.ListDir(src.path));
      for (auto& e : entries) names.push_back(e.name);
    } else {
      DIR* d = opendir(src.path.c_str());
      if (!d) return Errno(src.path);
      while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
      std::sort(names.begin(), names.end());
    }
    for (const std::string& n : names) DFS_RETURN_IF_ERROR(Copy(Child(src, n), Child(dst, n)));
    return Status::Ok();
  }

  Status CopyFile(const Place& src, const Place& dst) {
    if (src.dfs && dst.dfs) DFS_RETURN_IF_ERROR(CheckNotSame(src, dst));
    if (dst.dfs && !src.dfs && !src.stdio && !flags_.wait) {
      // Small local files go in groups: a few messages for many files.
      struct stat st;
      if (stat(src.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kSmallFile) {
        std::string bytes;
        DFS_RETURN_IF_ERROR(ReadSmall(src.path, &bytes));
        if (!small_) small_ = fs_.NewSmallFileWriter(flags_.block_size);
        wrote_dfs_ = true;
        return small_->Add(dst.path, std::move(bytes));
      }
    }
    if (dst.dfs) {
      DFS_ASSIGN_OR_RETURN(auto writer, OpenDfsTarget(dst));
      wrote_dfs_ = true;
      client::FileWriter& w = *writer;
      if (src.dfs) {
        DFS_RETURN_IF_ERROR(fs_.Read(src.path, [&](const char* b, size_t n) { return w.Write(b, n); }));
      } else {
        int fd = src.stdio ? 0 : open(src.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Errno(src.path);
        Status st = ReadLocal(fd, Show(src), &w);
        if (!src.stdio) close(fd);
        DFS_RETURN_IF_ERROR(st);
      }
      // Until Close publishes it, the copy has no name: an error above
      // drops it (the writer's destructor) and the destination stays.
      return w.Close().WithContext(Show(dst));
    }
    // dfs -> local or stdout (a local -> local copy is refused earlier).
    if (dst.stdio) {
      return fs_.Read(src.path, [&](const char* b, size_t n) { return WriteAll(1, b, n, "standard output"); });
    }
    DFS_ASSIGN_OR_RETURN(auto attr, fs_.Stat(src.path));
    if (!client::IsRegular(attr)) return fs_.Read(src.path, [](const char*, size_t) { return Status::Ok(); });
    DFS_ASSIGN_OR_RETURN(LocalTarget target, LocalTarget::Open(dst.path));
    DFS_RETURN_IF_ERROR(
        fs_.Read(attr, src.path, [&](const char* b, size_t n) { return WriteAll(target.fd(), b, n, dst.path); }));
    return target.Commit();
  }

  // cp(1) refuses to copy a file onto itself: the same name, or another
  // hard link of it.
  Status CheckNotSame(const Place& src, const Place& dst) {
    if (src.path == dst.path) return SameFile(src, dst);
    auto from = fs_.Stat(src.path);
    auto to = fs_.Stat(dst.path);
    if (from.ok() && to.ok() && from->fid == to->fid) return SameFile(src, dst);
    return Status::Ok();
  }

  static Status SameFile(const Place& src, const Place& dst) {
    return Status(Code::kFailedPrecondition, Show(src) + " and " + Show(dst) + " are the same file");
  }

  // A staged copy of the destination, waiting for another writer's lease
  // with --wait.
  Result<std::unique_ptr<client::FileWriter>> OpenDfsTarget(const Place& dst) {
    bool said = false;
    while (true) {
      auto w = fs_.CreateReplacing(dst.path, flags_.block_size);
      if (w.ok() || w.status().code() != Code::kBusy) return w;
      if (!flags_.wait) return Status(Code::kBusy, w.status().message() + "; dfs cp --wait waits for it");
      if (!said && fs_.options().notice) fs_.options().notice("waiting: " + w.status().message());
      said = true;
      if (Interrupted()) return Status(Code::kCancelled, "interrupted while waiting for " + Show(dst));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // Streams a local file (or stdin) into `w`. The holes of a sparse file
  // (fewer blocks on disk than its size) stay holes.
  Status ReadLocal(int fd, const std::string& what, client::FileWriter* w) {
    struct stat st;
    bool sparse = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_blocks * 512 < st.st_size;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    // Whole windows: the writer batches them without copying them first.
    std::string buf(w->window_bytes(), '\0');
    off_t at = 0;
    while (true) {
      off_t data_end = -1;  // -1: read to the end
      if (sparse) {
        off_t data = lseek(fd, at, SEEK_DATA);
        if (data < 0) data = st.st_size;  // ENXIO: only a hole is left
        if (data > at) DFS_RETURN_IF_ERROR(w->Skip(static_cast<uint64_t>(data - at)));
        if (data >= st.st_size) return Status::Ok();
        data_end = lseek(fd, data, SEEK_HOLE);
        at = data;
      }
      while (data_end < 0 || at < data_end) {
        if (Interrupted()) return Status(Code::kCancelled, "interrupted");
        size_t want = data_end < 0 ? buf.size() : std::min<size_t>(buf.size(), data_end - at);
        ssize_t r = pread(fd, buf.data(), want, at);
        if (r < 0 && errno == ESPIPE) r = read(fd, buf.data(), want);  // stdin, a pipe
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return Errno("reading " + what);
        if (r == 0) return Status::Ok();
        DFS_RETURN_IF_ERROR(w->Write(buf.data(), static_cast<size_t>(r)));
        at += r;
      }
    }
  }

  static constexpr off_t kSmallFile = 64 << 10;

  Status ReadSmall(const std::string& path, std::string* out) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno(path);
    char buf[kSmallFile];
    Status st;
    while (true) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) st = Errno("reading " + path);
      if (r <= 0) break;
      out->append(buf, r);
    }
    close(fd);
    return st;
  }

  client::FileSystem& fs_;
  const CpFlags& flags_;
  bool wrote_dfs_ = false;
  std::unique_ptr<client::SmallFileWriter> small_;
};

Status RunCp(const Globals& g, const CpFlags& f) {
  if (f.args.size() < 2) return InvalidArgument("cp needs a source and a destination");
  std::vector<Place> srcs;
  for (size_t i = 0; i + 1 < f.args.size(); ++i) {
    DFS_ASSIGN_OR_RETURN(Place p, ParsePlace(f.args[i]));
    srcs.push_back(p);
  }
  DFS_ASSIGN_OR_RETURN(Place dst, ParsePlace(f.args.back()));
  bool any_dfs = dst.dfs;
  for (const Place& s : srcs) {
    any_dfs |= s.dfs;
    if (!s.dfs && !dst.dfs) {
      return InvalidArgument("cp: neither " + Show(s) + " nor " + Show(dst) +
                             " is a dfs path; write dfs paths as dfs:/path");
    }
  }
  if (!any_dfs) return InvalidArgument("cp: no dfs path given");
  if (srcs.size() > 1 && dst.stdio) {
    for (const Place& s : srcs) {
      if (s.stdio) return InvalidArgument("cp: '-' cannot be both source and destination");
    }
  }
  CatchInterrupts();
  DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
  Copier copier(*fs, f);
  DFS_ASSIGN_OR_RETURN(int dst_kind, copier.Kind(dst));
  if (srcs.size() > 1 && dst_kind != 2 && !dst.stdio) {
    return Status(Code::kNotADirectory, "cp: target " + Show(dst) + " is not a directory");
  }
  Status result;
  for (const Place& s : srcs) {
    Place target = dst;
    if (dst_kind == 2 && !dst.stdio) {
      if (s.stdio) return InvalidArgument("cp: '-' needs a file name as destination, not a directory");
      target = copier.Child(dst, copier.NameOf(s));
    }
    result = copier.Copy(s, target).WithContext("cp");
    if (!result.ok()) break;
  }
  if (result.ok()) result = copier.Finish();
  if (Interrupted() && (result.ok() || result.code() != Code::kCancelled)) {
    result = Status(Code::kCancelled, "cp: interrupted; what was not copied whole was left as it was");
  }
  // Durable when the command returns: one flush round for everything written.
  if (copier.wrote_dfs()) {
    Status st = fs->Sync();
    if (result.ok()) result = st.WithContext("cp: flushing");
  }
  return result;
}

}  // namespace

void RegisterCp(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "cp", "Copy files into, out of and within dfs (dfs paths: dfs:/path)");
  auto f = std::make_shared<CpFlags>();
  sub->add_flag("-r,-R,--recursive", f->recursive, "Copy directories recursively");
  sub->add_flag("--wait", f->wait, "If another client is writing a destination, wait for it instead of failing");
  sub->add_option("--block-size", f->block_size, "Block size in bytes for new dfs files (default: the cluster's)")
      ->check(CLI::Range(64u, 4u << 20));
  sub->add_option("SRC_DST", f->args, "SRC... DST: sources, then the destination; - for stdin/stdout")->required();
  sub->callback([&run, &g, f] { run = [&g, f]() { return RunCp(g, *f); }; });
}

}  // namespace dfs::cmd
