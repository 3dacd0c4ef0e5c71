#define FUSE_USE_VERSION 31

#include "mount/mount.h"

#include <fuse.h>
#include <linux/limits.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "core/client/file_system.h"
#include "core/client/patch_writer.h"
#include "mount/read_ahead.h"

namespace dfs::mount {
namespace {

// An open file. Writes from offset 0 of a new or truncated file stream
// through a FileWriter (fast, sequential); any other write, and truncate, go
// through a PatchWriter (blocks patched in memory, written at flush). A
// streaming handle that gets a write elsewhere is finished and switches.
struct Handle {
  std::string path;
  client::Attr attr;
  std::unique_ptr<client::FileWriter> writer;
  std::unique_ptr<client::PatchWriter> patch;
  uint64_t written = 0;
  Status error;  // a failed write, reported again at flush and close
  // FUSE reads come 128 KiB at a time; the engine is fast with windows of
  // MiBs. `window` holds the bytes being served; while a read goes on
  // sequentially, `next` is the following window on its way (ReadAhead).
  Window window;
  std::shared_future<Window> next;
  uint64_t next_offset = 0;

  void DropReadAhead() {
    window = Window{};
    next = {};
  }
};

constexpr uint64_t kReadAhead = 8 << 20;  // window of a sequential read
constexpr uint64_t kRandomRead = 1 << 20;  // window of any other read

struct Mounted {
  client::ClientOptions options;
  std::unique_ptr<client::FileSystem> fs;
  std::unique_ptr<ReadAhead> read_ahead;
  std::mutex mu;  // the engine is single-threaded; lock order: only this one
  std::map<uint64_t, std::unique_ptr<Handle>> handles;
  uint64_t next_fh = 1;
};

Mounted* M() { return static_cast<Mounted*>(fuse_get_context()->private_data); }

Handle* HandleOf(Mounted* m, const fuse_file_info* fi) {
  if (!fi) return nullptr;
  auto it = m->handles.find(fi->fh);
  return it == m->handles.end() ? nullptr : it->second.get();
}

timespec TimespecOf(int64_t ns) {
  timespec t;
  t.tv_sec = ns / 1000000000;
  t.tv_nsec = ns % 1000000000;
  return t;
}

int64_t NsOf(const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

void FillStat(const client::Attr& a, struct stat* st) {
  memset(st, 0, sizeof *st);
  mode_t type = client::IsDirectory(a) ? S_IFDIR : client::IsSymlink(a) ? S_IFLNK : S_IFREG;
  st->st_mode = type | (a.mode & 07777);
  st->st_nlink = a.nlink;
  st->st_size = static_cast<off_t>(a.size);
  st->st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st->st_blksize = a.block_size ? a.block_size : 4096;
  st->st_uid = a.uid;
  st->st_gid = a.gid;
  st->st_ino = a.fid;
  st->st_atim = TimespecOf(a.atime_ns);
  st->st_mtim = TimespecOf(a.mtime_ns);
  st->st_ctim = TimespecOf(a.ctime_ns);
}

// The caller's identity and the mode bits it asked for (the kernel has
// applied its umask already).
client::NewEntry EntryOf(mode_t mode) {
  const fuse_context* c = fuse_get_context();
  return client::NewEntry{static_cast<uint32_t>(mode & 07777), c->uid, c->gid};
}

// Makes a write handle's data durable on both replicas with its size
// committed (R10); the handle stays writable (a dup'ed descriptor may go on).
Status FlushWrite(Mounted* m, Handle* h) {
  if (!h->error.ok()) return h->error;
  if (!h->writer && !h->patch) return Status::Ok();
  Status st = h->writer ? h->writer->Flush() : h->patch->Flush();
  if (st.ok()) st = m->fs->Sync();
  if (!st.ok()) {
    fprintf(stderr, "dfs mount: flush of %s failed: %s\n", h->path.c_str(), st.message().c_str());
    h->error = st;
  }
  return st;
}

// Finishes a write handle at release: as FlushWrite, then no more writes.
Status FinishWrite(Mounted* m, Handle* h) {
  if (!h->error.ok()) return h->error;
  if (h->patch) return FlushWrite(m, h);
  if (!h->writer) return Status::Ok();
  Status st = h->writer->Close();
  if (st.ok()) st = m->fs->Sync();
  h->writer.reset();
  if (!st.ok()) h->error = st;
  return st;
}

// Moves a handle to a PatchWriter (writes anywhere, truncate), finishing a
// streaming writer first.
Status UsePatch(Mounted* m, Handle* h) {
  if (h->patch) return Status::Ok();
  if (h->writer) DFS_RETURN_IF_ERROR(FinishWrite(m, h));
  auto patch = m->fs->OpenForPatch(h->path);
  if (!patch.ok()) return patch.status();
  h->patch = std::move(*patch);
  return Status::Ok();
}

int OpGetattr(const char* path, struct stat* st, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  auto a = m->fs->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  FillStat(*a, st);
  // An open writer knows the size before it is committed.
  if (Handle* h = HandleOf(m, fi)) {
    if (h->patch) st->st_size = static_cast<off_t>(h->patch->size());
    if (h->writer) st->st_size = std::max<off_t>(st->st_size, static_cast<off_t>(h->written));
  }
  return 0;
}

int OpReaddir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info*, fuse_readdir_flags) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  auto entries = m->fs->ListDir(path);
  if (!entries.ok()) return -ErrnoOf(entries.status());
  filler(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  filler(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const auto& e : *entries) {
    struct stat st;
    FillStat(e, &st);
    if (filler(buf, e.name.c_str(), &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  return 0;
}

int OpMkdir(const char* path, mode_t mode) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return -ErrnoOf(m->fs->Mkdir(path, false, EntryOf(mode)).status());
}

int OpSymlink(const char* target, const char* path) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return -ErrnoOf(m->fs->Symlink(target, path, EntryOf(0777)).status());
}

int OpReadlink(const char* path, char* buf, size_t size) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  auto a = m->fs->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  if (!client::IsSymlink(*a)) return -EINVAL;
  if (size == 0) return -EINVAL;
  size_t n = std::min(size - 1, a->target.size());  // FUSE wants it NUL-terminated
  memcpy(buf, a->target.data(), n);
  buf[n] = '\0';
  return 0;
}

int SetAttr(proto::SetAttrReq req) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return -ErrnoOf(m->fs->SetAttr(std::move(req)).status());
}

int OpChmod(const char* path, mode_t mode, fuse_file_info*) {
  proto::SetAttrReq req;
  req.path = path;
  req.set = proto::SetAttrReq::kMode;
  req.mode = mode & 07777;
  return SetAttr(std::move(req));
}

int OpChown(const char* path, uid_t uid, gid_t gid, fuse_file_info*) {
  proto::SetAttrReq req;
  req.path = path;
  if (uid != static_cast<uid_t>(-1)) {
    req.set |= proto::SetAttrReq::kUid;
    req.uid = uid;
  }
  if (gid != static_cast<gid_t>(-1)) {
    req.set |= proto::SetAttrReq::kGid;
    req.gid = gid;
  }
  return SetAttr(std::move(req));
}

int OpUtimens(const char* path, const timespec tv[2], fuse_file_info*) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  proto::SetAttrReq req;
  req.path = path;
  if (tv[0].tv_nsec != UTIME_OMIT) {
    req.set |= proto::SetAttrReq::kAtime;
    req.atime_ns = NsOf(tv[0].tv_nsec == UTIME_NOW ? now : tv[0]);
  }
  if (tv[1].tv_nsec != UTIME_OMIT) {
    req.set |= proto::SetAttrReq::kMtime;
    req.mtime_ns = NsOf(tv[1].tv_nsec == UTIME_NOW ? now : tv[1]);
  }
  return SetAttr(std::move(req));
}

// POSIX ACLs (system.posix_acl_*) are not kept: the kernel would not
// enforce them through this mount, so storing them would mislead.
bool Unsupported(const char* name) { return strncmp(name, "system.", 7) == 0; }

int OpSetxattr(const char* path, const char* name, const char* value, size_t size, int flags) {
  if (Unsupported(name)) return -EOPNOTSUPP;
  if (size > XATTR_SIZE_MAX) return -E2BIG;
  if (strlen(name) > XATTR_NAME_MAX) return -ERANGE;
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  uint32_t f = (flags & XATTR_CREATE ? uint32_t{proto::XattrReq::kCreate} : 0u) |
               (flags & XATTR_REPLACE ? uint32_t{proto::XattrReq::kReplace} : 0u);
  return -ErrnoOf(m->fs->SetXattr(path, name, std::string(value, size), f));
}

// Answers a getxattr/listxattr buffer as the kernel wants: size 0 asks for
// the length, a buffer too small is ERANGE.
int CopyOut(const std::string& bytes, char* buf, size_t size) {
  if (bytes.size() > XATTR_SIZE_MAX) return -E2BIG;
  if (size == 0) return static_cast<int>(bytes.size());
  if (size < bytes.size()) return -ERANGE;
  memcpy(buf, bytes.data(), bytes.size());
  return static_cast<int>(bytes.size());
}

int OpGetxattr(const char* path, const char* name, char* buf, size_t size) {
  if (Unsupported(name)) return -ENODATA;
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  auto v = m->fs->GetXattr(path, name);
  if (!v.ok()) return -ErrnoOf(v.status());
  return CopyOut(*v, buf, size);
}

int OpListxattr(const char* path, char* buf, size_t size) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  auto names = m->fs->ListXattr(path);
  if (!names.ok()) return -ErrnoOf(names.status());
  std::string list;
  for (const auto& n : *names) list.append(n).push_back('\0');
  return CopyOut(list, buf, size);
}

int OpRemovexattr(const char* path, const char* name) {
  if (Unsupported(name)) return -EOPNOTSUPP;
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return -ErrnoOf(m->fs->RemoveXattr(path, name));
}

int OpRmdir(const char* path) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return -ErrnoOf(m->fs->Rmdir(path));
}

int OpUnlink(const char* path) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return -ErrnoOf(m->fs->Remove(path));
}

int OpRename(const char* from, const char* to, unsigned int flags) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  if (flags & RENAME_EXCHANGE) return -EINVAL;
  if ((flags & RENAME_NOREPLACE) && m->fs->Stat(to).ok()) return -EEXIST;
  return -ErrnoOf(m->fs->Rename(from, to));
}

int OpenForWrite(Mounted* m, const char* path, fuse_file_info* fi, const client::NewEntry& entry) {
  auto writer = m->fs->Create(path, 0, entry);
  if (!writer.ok()) return -ErrnoOf(writer.status());
  auto h = std::make_unique<Handle>();
  h->path = path;
  h->attr = (*writer)->attr();
  h->writer = std::move(*writer);
  fi->fh = m->next_fh++;
  m->handles[fi->fh] = std::move(h);
  return 0;
}

int OpCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return OpenForWrite(m, path, fi, EntryOf(mode));
}

int OpOpen(const char* path, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  int mode = fi->flags & O_ACCMODE;
  auto a = m->fs->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  if (client::IsDirectory(*a)) return -EISDIR;
  if (mode != O_RDONLY) {
    if ((fi->flags & O_TRUNC) || a->size == 0) return OpenForWrite(m, path, fi, EntryOf(a->mode));
    auto h = std::make_unique<Handle>();
    h->path = path;
    h->attr = *a;
    Status st = UsePatch(m, h.get());
    if (!st.ok()) return -ErrnoOf(st);
    fi->fh = m->next_fh++;
    m->handles[fi->fh] = std::move(h);
    return 0;
  }
  auto h = std::make_unique<Handle>();
  h->path = path;
  h->attr = *a;
  fi->fh = m->next_fh++;
  fi->keep_cache = 0;
  m->handles[fi->fh] = std::move(h);
  return 0;
}

bool Covers(const Window& w, uint64_t offset, uint64_t size) {
  return offset >= w.offset && offset + size <= w.offset + w.bytes.size();
}

// Makes h->window hold [offset, offset + size) or the part of it before the
// end of the file; starts fetching the next window if the read is sequential.
Status FillWindow(Mounted* m, Handle* h, uint64_t offset, uint64_t size) {
  DFS_ASSIGN_OR_RETURN(h->attr, m->fs->Stat(h->path));  // the size may have moved since open
  if (offset >= h->attr.size) {
    h->DropReadAhead();
    return Status::Ok();
  }
  size = std::min(size, h->attr.size - offset);
  bool sequential = offset == 0 || offset == h->window.offset + h->window.bytes.size();
  Window w;
  if (h->next.valid() && offset >= h->next_offset && offset + size <= h->next_offset + kReadAhead) {
    w = h->next.get();  // usually ready: fetched while the last window was served
  }
  h->next = {};
  if (!w.status.ok() || !Covers(w, offset, size)) {
    uint64_t length = std::max(size, sequential ? kReadAhead : kRandomRead);
    w = m->read_ahead->Fetch(h->attr, h->path, offset, length).get();
    DFS_RETURN_IF_ERROR(w.status);
  }
  h->window = std::move(w);
  uint64_t end = h->window.offset + h->window.bytes.size();
  if (sequential && end < h->attr.size) {
    h->next_offset = end;
    h->next = m->read_ahead->Fetch(h->attr, h->path, end, kReadAhead);
  }
  return Status::Ok();
}

int OpRead(const char* path, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h) return -EBADF;
  if (h->writer || (h->patch && h->patch->dirty())) {
    // Reading what this handle wrote: make it stored first.
    Status st = FlushWrite(m, h);
    if (!st.ok()) return -ErrnoOf(st);
    h->DropReadAhead();
  }
  uint64_t off = static_cast<uint64_t>(offset);
  if (!Covers(h->window, off, size)) {
    Status st = FillWindow(m, h, off, size);
    if (!st.ok()) {
      h->DropReadAhead();
      return -ErrnoOf(st);
    }
  }
  const Window& w = h->window;
  if (off < w.offset || off >= w.offset + w.bytes.size()) return 0;  // at or past the end
  size_t got = std::min<uint64_t>(size, w.offset + w.bytes.size() - off);
  memcpy(buf, w.bytes.data() + (off - w.offset), got);
  return static_cast<int>(got);
}

int OpWrite(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h || (!h->writer && !h->patch)) return -EBADF;
  if (!h->error.ok()) return -ErrnoOf(h->error);
  h->DropReadAhead();
  if (h->writer && static_cast<uint64_t>(offset) != h->written) {
    Status st = UsePatch(m, h);
    if (!st.ok()) return -ErrnoOf(st);
  }
  if (h->patch) {
    Status st = h->patch->Write(static_cast<uint64_t>(offset), buf, size);
    if (!st.ok()) {
      fprintf(stderr, "dfs mount: write to %s failed: %s\n", h->path.c_str(), st.message().c_str());
      h->error = st;
      return -ErrnoOf(st);
    }
    return static_cast<int>(size);
  }
  Status st = h->writer->Write(buf, size);
  if (!st.ok()) {
    fprintf(stderr, "dfs mount: write to %s failed: %s\n", h->path.c_str(), st.message().c_str());
    h->error = st;
    return -ErrnoOf(st);
  }
  h->written += size;
  return static_cast<int>(size);
}

int OpFlush(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h) return 0;
  return -ErrnoOf(FlushWrite(m, h));
}

int OpFsync(const char* path, int, fuse_file_info* fi) { return OpFlush(path, fi); }

int OpRelease(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (h) (void)FinishWrite(m, h);
  m->handles.erase(fi->fh);
  return 0;
}

int OpTruncate(const char* path, off_t size, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  if (size < 0) return -EINVAL;
  Handle* h = HandleOf(m, fi);
  if (h && h->writer && static_cast<uint64_t>(size) == h->written) return 0;  // e.g. O_TRUNC then ftruncate(0)
  if (h && (h->writer || h->patch)) {
    Status st = UsePatch(m, h);
    if (st.ok()) st = h->patch->Truncate(static_cast<uint64_t>(size));
    h->DropReadAhead();
    return -ErrnoOf(st);
  }
  // truncate(2) on a path: a short-lived writer, durable before it returns.
  auto patch = m->fs->OpenForPatch(path);
  if (!patch.ok()) return -ErrnoOf(patch.status());
  Status st = (*patch)->Truncate(static_cast<uint64_t>(size));
  if (st.ok()) st = (*patch)->Flush();
  if (st.ok()) st = m->fs->Sync();
  return -ErrnoOf(st);
}

int OpStatfs(const char*, struct statvfs* st) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  uint64_t total = 0, free = 0;
  for (const auto& s : m->fs->ServerStatuses()) {
    if (!s.status.ok()) continue;
    total += s.stat.disk_total;
    free += s.stat.disk_free;
  }
  memset(st, 0, sizeof *st);
  st->f_bsize = st->f_frsize = 4096;
  st->f_blocks = total / 2 / 4096;  // every byte is stored twice
  st->f_bfree = st->f_bavail = free / 2 / 4096;
  st->f_namemax = 255;
  return 0;
}

void* OpInit(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->attr_timeout = 0;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  // Without this the kernel asks getattr (a meta round trip) before every
  // read. Page caches are dropped at each open instead (keep_cache = 0):
  // close-to-open consistency, as NFS gives.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  return fuse_get_context()->private_data;
}

fuse_operations MakeOperations() {
  fuse_operations ops{};
  ops.init = OpInit;
  ops.getattr = OpGetattr;
  ops.readdir = OpReaddir;
  ops.mkdir = OpMkdir;
  ops.rmdir = OpRmdir;
  ops.unlink = OpUnlink;
  ops.rename = OpRename;
  ops.create = OpCreate;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.fsync = OpFsync;
  ops.release = OpRelease;
  ops.truncate = OpTruncate;
  ops.statfs = OpStatfs;
  ops.symlink = OpSymlink;
  ops.readlink = OpReadlink;
  ops.chmod = OpChmod;
  ops.chown = OpChown;
  ops.utimens = OpUtimens;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
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

int ErrnoOf(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return 0;
    case Code::kNotFound: return ENOENT;
    case Code::kAlreadyExists: return EEXIST;
    case Code::kNotADirectory: return ENOTDIR;
    case Code::kIsADirectory: return EISDIR;
    case Code::kNotEmpty: return ENOTEMPTY;
    case Code::kInvalidArgument: return EINVAL;
    case Code::kPermissionDenied: return EACCES;
    case Code::kNameTooLong: return ENAMETOOLONG;
    case Code::kNoAttribute: return ENODATA;
    case Code::kResourceExhausted: return ENOSPC;
    case Code::kDeadlineExceeded: return EIO;
    case Code::kDataLoss: return EIO;
    case Code::kUnavailable: return EIO;
    default: return EIO;
  }
}

Status RunMount(const MountOptions& options) {
  Mounted m;
  m.options.meta = options.meta;
  m.options.write_timeout_s = options.write_timeout_s;
  m.options.notice = [](const std::string& msg) { fprintf(stderr, "dfs mount: %s\n", msg.c_str()); };
  DFS_RETURN_IF_ERROR(CheckCluster(m.options));

  // fuse_loop (not fuse_loop_mt) below: one thread, as the engine wants.
  std::vector<std::string> args = {"dfs-mount"};
  // default_permissions: the kernel checks mode bits and owners, as on a
  // local file system (the stored modes would mean nothing otherwise).
  std::string opts = "fsname=dfs,subtype=dfs,default_permissions";
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
    return Status(Code::kFailedPrecondition, "cannot mount on " + options.mountpoint +
                                                 " (does it exist, and is /dev/fuse usable?)");
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
  // After the fork: now the engine (and its ZeroMQ threads) may start.
  auto fs = client::FileSystem::Connect(m.options);
  if (!fs.ok()) {
    fuse_unmount(f);
    fuse_destroy(f);
    return fs.status();
  }
  m.fs = std::move(*fs);
  auto read_ahead = ReadAhead::Start(m.options);
  if (!read_ahead.ok()) {
    fuse_unmount(f);
    fuse_destroy(f);
    return read_ahead.status();
  }
  m.read_ahead = std::move(*read_ahead);
  fuse_set_signal_handlers(fuse_get_session(f));
  int rc = fuse_loop(f);
  fuse_remove_signal_handlers(fuse_get_session(f));
  // Unmounted: whatever is still open is finished, as close would.
  {
    std::lock_guard<std::mutex> lock(m.mu);
    for (auto& [fh, h] : m.handles) (void)FinishWrite(&m, h.get());
  }
  fuse_unmount(f);
  fuse_destroy(f);
  fuse_opt_free_args(&fargs);
  return rc == 0 ? Status::Ok() : Internal("fuse loop ended with error " + std::to_string(rc));
}

}  // namespace dfs::mount
