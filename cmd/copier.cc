#include "cmd/copier.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "cmd/local_target.h"
#include "cmd/operands.h"
#include "core/common/path.h"

namespace dfs::cmd {

Status WriteAll(int fd, const char* p, size_t n, const std::string& what);  // cmd_cat.cc

namespace {

constexpr off_t kSmallFile = 64 << 10;

std::string LocalBaseName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string LocalDir(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string LocalJoin(const std::string& dir, const std::string& name) {
  return !dir.empty() && dir.back() == '/' ? dir + name : dir + "/" + name;
}

int64_t Ns(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }
struct timespec Timespec(int64_t ns) {
  return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

Node FromStat(const struct stat& st) {
  Node n;
  n.kind = S_ISREG(st.st_mode)   ? Node::kFile
           : S_ISDIR(st.st_mode) ? Node::kDirectory
           : S_ISLNK(st.st_mode) ? Node::kSymlink
                                 : Node::kSpecial;
  n.type = S_ISFIFO(st.st_mode)  ? proto::FileType::kFifo
           : S_ISCHR(st.st_mode) ? proto::FileType::kCharDevice
           : S_ISBLK(st.st_mode) ? proto::FileType::kBlockDevice
                                 : proto::FileType::kSocket;
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.atime_ns = Ns(st.st_atim);
  n.mtime_ns = Ns(st.st_mtim);
  n.rdev = st.st_rdev;
  n.id = {st.st_dev, st.st_ino};
  n.attr.size = static_cast<uint64_t>(st.st_size);
  return n;
}

Node FromAttr(const client::Attr& a) {
  Node n;
  n.kind = client::IsRegular(a)     ? Node::kFile
           : client::IsDirectory(a) ? Node::kDirectory
           : client::IsSymlink(a)   ? Node::kSymlink
                                    : Node::kSpecial;
  n.type = static_cast<proto::FileType>(a.type);
  n.mode = a.mode & 07777;
  n.uid = a.uid;
  n.gid = a.gid;
  n.atime_ns = a.atime_ns;
  n.mtime_ns = a.mtime_ns;
  n.rdev = a.rdev;
  n.target = a.target;
  n.id = {0, a.fid};
  n.attr = a;
  return n;
}

mode_t LocalType(proto::FileType t) {
  switch (t) {
    case proto::FileType::kFifo:
      return S_IFIFO;
    case proto::FileType::kCharDevice:
      return S_IFCHR;
    case proto::FileType::kBlockDevice:
      return S_IFBLK;
    default:
      return S_IFSOCK;
  }
}

}  // namespace

Result<Place> ParsePlace(const std::string& arg) {
  Place p;
  if (arg == "-") {
    p.stdio = true;
    return p;
  }
  p.dir_only = arg.size() > 1 && arg.back() == '/';
  if (IsDfsUri(arg)) {
    p.dfs = true;
    DFS_ASSIGN_OR_RETURN(p.path, NormalizePath(arg));
    p.dir_only &= p.path != "/";
    return p;
  }
  p.path = arg;
  return p;
}

std::string Show(const Place& p) { return p.stdio ? "-" : p.dfs ? "dfs:" + p.path + (p.dir_only ? "/" : "") : p.path; }

Copier::Copier(client::FileSystem& fs, const CpFlags& flags, OperandErrors& errors, Progress& progress)
    : fs_(fs),
      flags_(flags),
      errors_(errors),
      umask_([] {
        mode_t m = umask(0);
        umask(m);
        return m;
      }()),
      progress_(&progress) {}

Copier::~Copier() = default;

bool Copier::Follow(bool top) const {
  if (flags_.dereference) return true;
  if (top && flags_.command_line) return true;
  return !flags_.recursive && !flags_.no_dereference;
}

Result<Node> Copier::Look(const Place& p, bool follow) {
  if (p.stdio) {
    Node n;
    n.kind = Node::kFile;
    n.mode = 0666;
    return n;
  }
  if (!p.dfs) {
    struct stat st;
    if ((follow ? stat(p.path.c_str(), &st) : lstat(p.path.c_str(), &st)) != 0) {
      if (errno == ENOENT) return Node{};
      if (errno == ELOOP) return Status(Code::kFailedPrecondition, p.path + ": too many levels of symbolic links");
      return ErrnoStatus(p.path);
    }
    Node n = FromStat(st);
    if (n.kind == Node::kSymlink) {
      std::string target(PATH_MAX, '\0');
      ssize_t len = readlink(p.path.c_str(), target.data(), target.size());
      if (len < 0) return ErrnoStatus("readlink " + p.path);
      target.resize(static_cast<size_t>(len));
      n.target = std::move(target);
    }
    return n;
  }
  auto a = follow ? StatFollowing(fs_, p.path) : fs_.Stat(p.path);
  if (!a.ok()) return a.status().code() == Code::kNotFound ? Result<Node>(Node{}) : Result<Node>(a.status());
  return FromAttr(*a);
}

Place Copier::Child(const Place& dir, const std::string& name) const {
  Place c = dir;
  c.dir_only = false;
  c.path = dir.dfs ? JoinPath(dir.path, name) : LocalJoin(dir.path, name);
  return c;
}

std::string Copier::NameOf(const Place& p) const { return p.dfs ? BaseName(p.path) : LocalBaseName(p.path); }

uint32_t Copier::NewMode(const Node& src) const {
  return flags_.preserve ? src.mode & 07777 : src.mode & 0777 & ~umask_;
}

Status Copier::Copy(const Place& src, const Place& dst, bool top) {
  if (Interrupted()) return Status(Code::kCancelled, "interrupted");
  DFS_ASSIGN_OR_RETURN(Node node, Look(src, Follow(top)));
  if (node.kind == Node::kMissing) return NotFound(Show(src) + ": no such file or directory");
  if (src.dir_only && node.kind != Node::kDirectory)
    return Status(Code::kNotADirectory, Show(src) + ": not a directory");
  if (node.kind == Node::kDirectory) {
    if (!flags_.recursive) return Status(Code::kIsADirectory, Show(src) + ": is a directory (use -r)");
    return CopyTree(src, node, dst);
  }
  if (node.kind == Node::kSpecial && !flags_.recursive) {
    client::Attr kind;
    kind.type = static_cast<int>(node.type);
    return Status(Code::kFailedPrecondition, Show(src) + ": is a " + client::TypeName(kind) +
                                                 ", not a regular file; not copied (-r copies it as a special file)");
  }
  if (flags_.no_clobber && !dst.stdio) {
    DFS_ASSIGN_OR_RETURN(Node there, Look(dst, false));
    if (there.kind != Node::kMissing) return Status::Ok();  // -n: never overwrite
  }
  if (node.kind == Node::kSymlink) return CopySymlink(node, dst);
  if (node.kind == Node::kSpecial) return CopySpecial(src, node, dst);
  return CopyFile(src, node, dst);
}

Status Copier::CopyTree(const Place& src, const Node& node, const Place& dst) {
  if (dst.stdio) return InvalidArgument("cannot copy directory " + Show(src) + " to standard output");
  if (src.dfs == dst.dfs && (dst.path == src.path || dst.path.rfind(src.path + "/", 0) == 0)) {
    return Status(Code::kFailedPrecondition, "cannot copy " + Show(src) + " into itself (" + Show(dst) + ")");
  }
  if (std::find(ancestors_.begin(), ancestors_.end(), node.id) != ancestors_.end()) {
    return Status(Code::kFailedPrecondition,
                  Show(src) + ": directory loop (a symbolic link leads back to a directory being copied); skipped");
  }
  DFS_ASSIGN_OR_RETURN(Node there, Look(dst, true));
  if (there.kind != Node::kMissing && there.kind != Node::kDirectory) {
    return Status(Code::kNotADirectory,
                  "cannot overwrite " + Show(dst) + ", not a directory, with directory " + Show(src));
  }
  const bool made = there.kind == Node::kMissing;
  if (made) {
    if (dst.dfs) {
      client::NewEntry entry = client::NewEntry::Directory();
      entry.mode = NewMode(node) | 0700;  // until its contents are in
      DFS_RETURN_IF_ERROR(fs_.Mkdir(dst.path, false, entry).status());
    } else if (mkdir(dst.path.c_str(), NewMode(node) | 0700) != 0) {
      return ErrnoStatus("mkdir " + dst.path);
    }
  }
  std::vector<std::string> names;
  if (src.dfs) {
    DFS_ASSIGN_OR_RETURN(auto entries, fs_.ListDir(src.path));
    for (auto& e : entries) names.push_back(e.name);
  } else {
    DIR* d = opendir(src.path.c_str());
    if (!d) return ErrnoStatus(src.path);
    while (struct dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
  }
  ancestors_.push_back(node.id);
  bool stopped = false;
  for (const std::string& n : names) {
    if (!errors_.Add(Copy(Child(src, n), Child(dst, n), false).WithContext("cp"))) {
      stopped = true;
      break;
    }
  }
  ancestors_.pop_back();
  if (stopped) return Status(Code::kCancelled, "interrupted");
  // The directory's own mode last (it may forbid writing into it), and with
  // -p its times after its contents changed them.
  if (!made && !flags_.preserve) return Status::Ok();
  if (dst.dfs) {
    if (flags_.preserve) return PreserveDfs(dst.path, node);
    proto::SetAttrReq req;
    req.path = dst.path;
    req.set = proto::SetAttrReq::kMode;
    req.mode = NewMode(node);
    return fs_.SetAttr(req).status();
  }
  if (flags_.preserve && lchown(dst.path.c_str(), node.uid, node.gid) != 0)
    (void)!lchown(dst.path.c_str(), -1, node.gid);
  if (chmod(dst.path.c_str(), NewMode(node)) != 0) return ErrnoStatus("chmod " + dst.path);
  if (flags_.preserve) {
    struct timespec times[2] = {Timespec(node.atime_ns), Timespec(node.mtime_ns)};
    if (utimensat(AT_FDCWD, dst.path.c_str(), times, 0) != 0) return ErrnoStatus("setting the times of " + dst.path);
  }
  return Status::Ok();
}

Status Copier::CopyFile(const Place& src, const Node& node, const Place& dst) {
  if (src.dfs && dst.dfs) DFS_RETURN_IF_ERROR(CheckNotSame(src, node, dst));
  if (dst.dfs && !src.dfs && !src.stdio && !flags_.wait && static_cast<off_t>(node.attr.size) <= kSmallFile) {
    // Small local files go in groups: a few messages for many files.
    int fd = open(src.path.c_str(), O_RDONLY | O_CLOEXEC | (Follow(false) ? 0 : O_NOFOLLOW));
    if (fd < 0) return ErrnoStatus(src.path);
    std::string bytes;
    char buf[kSmallFile];
    Status st;
    while (true) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) st = ErrnoStatus("reading " + src.path);
      if (r <= 0) break;
      bytes.append(buf, r);
    }
    close(fd);
    DFS_RETURN_IF_ERROR(st);
    if (!small_) small_ = fs_.NewSmallFileWriter(flags_.block_size);
    wrote_dfs_ = true;
    client::NewEntry entry = client::NewEntry::File();
    entry.mode = NewMode(node);
    if (flags_.preserve) preserve_after_finish_.emplace_back(dst.path, node);
    progress_->AddBytes(bytes.size());
    progress_->FileDone();
    return small_->Add(dst.path, std::move(bytes), entry);
  }
  if (dst.dfs) {
    DFS_ASSIGN_OR_RETURN(auto writer, OpenDfsTarget(dst, node));
    wrote_dfs_ = true;
    client::FileWriter& w = *writer;
    if (src.dfs) {
      DFS_RETURN_IF_ERROR(fs_.Read(node.attr, src.path, [&](const char* b, size_t n) {
        progress_->AddBytes(n);
        return w.Write(b, n);
      }));
    } else {
      int fd = src.stdio ? 0 : open(src.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(src.path);
      Status st = ReadLocal(fd, Show(src), &w);
      if (!src.stdio) close(fd);
      DFS_RETURN_IF_ERROR(st);
    }
    // Until Close publishes it, the copy has no name: an error above
    // drops it (the writer's destructor) and the destination stays.
    DFS_RETURN_IF_ERROR(w.Close().WithContext(Show(dst)));
    progress_->FileDone();
    return flags_.preserve ? PreserveDfs(dst.path, node) : Status::Ok();
  }
  // dfs -> local or stdout (a local -> local copy is refused earlier).
  if (dst.stdio) {
    return fs_.Read(node.attr, src.path, [&](const char* b, size_t n) { return WriteAll(1, b, n, "standard output"); });
  }
  DFS_ASSIGN_OR_RETURN(LocalTarget target, LocalTarget::Open(dst.path, NewMode(node)));
  DFS_RETURN_IF_ERROR(fs_.Read(node.attr, src.path, [&](const char* b, size_t n) {
    progress_->AddBytes(n);
    return WriteAll(target.fd(), b, n, dst.path);
  }));
  if (flags_.preserve) {
    if (fchown(target.fd(), node.uid, node.gid) != 0) (void)!fchown(target.fd(), -1, node.gid);
    if (fchmod(target.fd(), node.mode & 07777) != 0) return ErrnoStatus("chmod " + dst.path);
    struct timespec times[2] = {Timespec(node.atime_ns), Timespec(node.mtime_ns)};
    if (futimens(target.fd(), times) != 0) return ErrnoStatus("setting the times of " + dst.path);
  }
  DFS_RETURN_IF_ERROR(target.Commit());
  progress_->FileDone();
  return Status::Ok();
}

Status Copier::CopySymlink(const Node& node, const Place& dst) {
  if (dst.stdio) return InvalidArgument("cannot copy a symbolic link to standard output");
  const std::string& target = node.target;
  return ReplaceWith(dst, [&](const std::string& temp) -> Status {
    if (dst.dfs) return fs_.Symlink(target, temp).status();
    if (symlink(target.c_str(), temp.c_str()) != 0) return ErrnoStatus("symlink " + temp);
    return Status::Ok();
  });
}

Status Copier::CopySpecial(const Place& src, const Node& node, const Place& dst) {
  if (dst.stdio) return InvalidArgument("cannot copy special file " + Show(src) + " to standard output");
  DFS_RETURN_IF_ERROR(ReplaceWith(dst, [&](const std::string& temp) -> Status {
    if (dst.dfs) {
      client::NewEntry entry;
      entry.mode = NewMode(node);
      return fs_.Mknod(temp, node.type, node.rdev, entry).status();
    }
    if (mknod(temp.c_str(), LocalType(node.type) | NewMode(node), static_cast<dev_t>(node.rdev)) != 0) {
      return ErrnoStatus("mknod " + temp);
    }
    return Status::Ok();
  }));
  if (!flags_.preserve) return Status::Ok();
  if (dst.dfs) return PreserveDfs(dst.path, node);
  if (lchown(dst.path.c_str(), node.uid, node.gid) != 0) (void)!lchown(dst.path.c_str(), -1, node.gid);
  struct timespec times[2] = {Timespec(node.atime_ns), Timespec(node.mtime_ns)};
  if (utimensat(AT_FDCWD, dst.path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("setting the times of " + dst.path);
  }
  return Status::Ok();
}

Status Copier::ReplaceWith(const Place& dst, const std::function<Status(const std::string& temp)>& make) {
  DFS_ASSIGN_OR_RETURN(Node there, Look(dst, false));
  if (there.kind == Node::kDirectory) {
    return Status(Code::kIsADirectory, "cannot overwrite directory " + Show(dst) + " with a non-directory");
  }
  if (there.kind == Node::kMissing) return make(dst.path);
  // Made under a hidden name beside it, then renamed over it: the name
  // always holds the old entry or the new one.
  const std::string temp_name = "." + NameOf(dst) + ".dfs-" + std::to_string(getpid());
  const std::string temp =
      dst.dfs ? JoinPath(ParentPath(dst.path), temp_name) : LocalJoin(LocalDir(dst.path), temp_name);
  DFS_RETURN_IF_ERROR(make(temp));
  Status moved = dst.dfs ? fs_.Rename(temp, dst.path)
                         : (rename(temp.c_str(), dst.path.c_str()) == 0 ? Status::Ok() : ErrnoStatus("rename " + temp));
  if (!moved.ok()) {
    if (dst.dfs) {
      (void)fs_.Remove(temp);
    } else {
      unlink(temp.c_str());
    }
  }
  return moved;
}

// cp(1) refuses to copy a file onto itself: the same name, or another
// hard link of it.
Status Copier::CheckNotSame(const Place& src, const Node& node, const Place& dst) {
  auto to = fs_.Stat(dst.path);
  if (src.path == dst.path || (to.ok() && to->fid == node.attr.fid)) {
    return Status(Code::kFailedPrecondition, Show(src) + " and " + Show(dst) + " are the same file");
  }
  return Status::Ok();
}

Status Copier::PreserveDfs(const std::string& path, const Node& src) {
  if (src.uid != getuid() || src.gid != getgid()) {
    // The owner where allowed, else the group, else neither: as cp -p.
    proto::SetAttrReq owner;
    owner.path = path;
    owner.set = proto::SetAttrReq::kUid | proto::SetAttrReq::kGid;
    owner.uid = src.uid;
    owner.gid = src.gid;
    if (!fs_.SetAttr(owner).ok()) {
      owner.set = proto::SetAttrReq::kGid;
      (void)fs_.SetAttr(owner);
    }
  }
  proto::SetAttrReq req;
  req.path = path;
  req.set = proto::SetAttrReq::kMode | proto::SetAttrReq::kAtime | proto::SetAttrReq::kMtime;
  req.mode = src.mode & 07777;
  req.atime_ns = src.atime_ns;
  req.mtime_ns = src.mtime_ns;
  return fs_.SetAttr(req).status().WithContext("keeping mode and times (-p)");
}

Status Copier::Finish() {
  if (!small_) return Status::Ok();
  DFS_RETURN_IF_ERROR(small_->Finish());
  auto pending = std::move(preserve_after_finish_);
  preserve_after_finish_.clear();
  for (const auto& [path, node] : pending) {
    if (!errors_.Add(PreserveDfs(path, node).WithContext("cp: dfs:" + path))) break;
  }
  return Status::Ok();
}

// A staged copy of the destination, waiting for another writer's lease
// with --wait.
Result<std::unique_ptr<client::FileWriter>> Copier::OpenDfsTarget(const Place& dst, const Node& src) {
  client::NewEntry entry = client::NewEntry::File();
  entry.mode = NewMode(src);
  bool said = false;
  while (true) {
    auto w = fs_.CreateReplacing(dst.path, flags_.block_size, entry);
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
Status Copier::ReadLocal(int fd, const std::string& what, client::FileWriter* w) {
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
      if (r < 0) return ErrnoStatus("reading " + what);
      if (r == 0) return Status::Ok();
      DFS_RETURN_IF_ERROR(w->Write(buf.data(), static_cast<size_t>(r)));
      progress_->AddBytes(static_cast<uint64_t>(r));
      at += r;
    }
  }
}

}  // namespace dfs::cmd
