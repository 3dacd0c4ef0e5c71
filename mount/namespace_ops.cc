// FUSE callbacks on the namespace and on attributes: readdir, mkdir, rmdir,
// unlink, rename, link, symlink, readlink, chmod, chown, utimens, xattrs, statfs.
#include <linux/limits.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "mount/mounted.h"

namespace dfs::mount {
namespace {

timespec TimespecOf(int64_t ns) {
  timespec t;
  t.tv_sec = ns / 1000000000;
  t.tv_nsec = ns % 1000000000;
  return t;
}

int64_t NsOf(const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

// A listing of a directory, fetched at its first readdir (or a rewind)
// and served in the pieces the kernel asks for (fuse_file_info::fh).
struct Listing {
  bool fetched = false;
  std::vector<client::Attr> entries;
};

int OpOpendir(const char*, fuse_file_info* fi) {
  fi->fh = reinterpret_cast<uint64_t>(new Listing());
  return 0;
}

int OpReleasedir(const char*, fuse_file_info* fi) {
  delete reinterpret_cast<Listing*>(fi->fh);
  return 0;
}

// With readdirplus (`ls -l`) each entry's attributes go to the kernel's
// caches with its name: no lookup or getattr per entry after it. The
// entries carry their offsets (1 and 2 are "." and "..", 3 on the
// listing's): libfuse 3.14 links an entry to the kernel's caches only
// then.
int OpReaddir(const char* path, void* buf, fuse_fill_dir_t filler, off_t offset, fuse_file_info* fi,
              fuse_readdir_flags flags) {
  Mounted* m = M();
  Listing* listing = reinterpret_cast<Listing*>(fi->fh);
  // Also a first readdir past the start (seekdir to a position another
  // handle of the directory told).
  if (offset == 0 || !listing->fetched) {
    auto entries = m->engines->Borrow()->ListDir(path);
    if (!entries.ok()) return -ErrnoOf(entries.status());
    listing->entries = std::move(*entries);
    listing->fetched = true;
    const std::string dir = path;
    for (const auto& e : listing->entries) {
      const std::string entry = dir == "/" ? "/" + e.name : dir + "/" + e.name;
      m->NoteNames(entry, e);
      m->NoteXattrs(entry, e);
    }
  }
  const auto plus = static_cast<fuse_fill_dir_flags>((flags & FUSE_READDIR_PLUS) ? FUSE_FILL_DIR_PLUS : 0);
  const auto none = static_cast<fuse_fill_dir_flags>(0);
  for (off_t next = offset + 1;; ++next) {
    if (next == 1 || next == 2) {
      if (filler(buf, next == 1 ? "." : "..", nullptr, next, none)) break;
      continue;
    }
    const size_t k = static_cast<size_t>(next - 3);
    if (k >= listing->entries.size()) break;
    const client::Attr& e = listing->entries[k];
    struct stat st;
    StatOf(m, e, &st);
    if (filler(buf, e.name.c_str(), &st, next, plus)) break;
  }
  return 0;
}

// What a change made of the directory holding `path`: a name added, or
// (it failed) what the directory holds is not known any more.
int Added(Mounted* m, const char* path, const Status& st) {
  if (st.ok()) {
    m->NameAdded(path);
  } else {
    m->NameUnknown(path);
  }
  return -ErrnoOf(st);
}

int Removed(Mounted* m, const char* path, const Status& st) {
  if (st.ok()) {
    m->NameRemoved(path);
  } else {
    m->NameUnknown(path);
  }
  return -ErrnoOf(st);
}

int OpMkdir(const char* path, mode_t mode) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  auto a = fs->Mkdir(path, false, EntryOf(mode));
  if (a.ok()) m->MadeDir(path, *a);
  return Added(m, path, a.status());
}

int OpMknod(const char* path, mode_t mode, dev_t rdev) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  using proto::FileType;
  FileType type;
  switch (mode & S_IFMT) {
    case S_IFREG: {  // an empty regular file, as creat(2) and close
      auto writer = fs->CreateNew(path, EntryOf(mode));
      if (!writer.ok()) return Added(m, path, writer.status());
      Status st = (*writer)->Close();
      fs->EndWrite((*writer)->attr().fid);
      return Added(m, path, st);
    }
    case S_IFIFO:
      type = FileType::kFifo;
      break;
    case S_IFCHR:
      type = FileType::kCharDevice;
      break;
    case S_IFBLK:
      type = FileType::kBlockDevice;
      break;
    case S_IFSOCK:
      type = FileType::kSocket;
      break;
    default:
      return -EINVAL;
  }
  return Added(m, path, fs->Mknod(path, type, rdev, EntryOf(mode)).status());
}

int OpSymlink(const char* target, const char* path) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  return Added(m, path, fs->Symlink(target, path, EntryOf(0777)).status());
}

int OpReadlink(const char* path, char* buf, size_t size) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  auto a = fs->Stat(path);
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
  auto fs = m->engines->Borrow();
  auto a = fs->SetAttr(req);
  if (a.ok()) m->OtherNamesChanged(a->fid, req.path);
  return -ErrnoOf(a.status());
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
  auto fs = m->engines->Borrow();
  uint32_t f = (flags & XATTR_CREATE ? uint32_t{proto::XattrReq::kCreate} : 0u) |
               (flags & XATTR_REPLACE ? uint32_t{proto::XattrReq::kReplace} : 0u);
  Status st = fs->SetXattr(path, name, std::string(value, size), f);
  m->ForgetXattrs();
  m->ForgetDirs(path);  // has_xattrs
  return -ErrnoOf(st);
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
  if (m->KnownMissingXattr(path, name)) return -ENODATA;
  auto v = m->engines->Borrow()->GetXattr(path, name);
  if (v.status().code() == Code::kNoAttribute) m->NoteMissingXattr(path, name);
  if (!v.ok()) return -ErrnoOf(v.status());
  return CopyOut(*v, buf, size);
}

int OpListxattr(const char* path, char* buf, size_t size) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  auto names = fs->ListXattr(path);
  if (!names.ok()) return -ErrnoOf(names.status());
  std::string list;
  for (const auto& n : *names) list.append(n).push_back('\0');
  return CopyOut(list, buf, size);
}

int OpRemovexattr(const char* path, const char* name) {
  if (Unsupported(name)) return -EOPNOTSUPP;
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  Status st = fs->RemoveXattr(path, name);
  m->ForgetXattrs();
  m->ForgetDirs(path);  // has_xattrs
  return -ErrnoOf(st);
}

int OpRmdir(const char* path) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  Status st = fs->Rmdir(path);
  m->ForgetDirs(path);
  return Removed(m, path, st);
}

int OpUnlink(const char* path) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  // Waits for the meta server only, as an rm on HDFS or MooseFS does: the
  // data servers' reclaimers delete the blocks within seconds (a data
  // server that is down or stalled holds up no rm).
  Status st = fs->Remove(path, /*delete_blocks=*/false);
  m->ForgetXattrs();
  if (st.ok()) m->Unlinked(path);
  return Removed(m, path, st);
}

int OpLink(const char* from, const char* to) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  auto a = fs->Link(from, to);
  m->ForgetXattrs();
  if (a.ok()) {
    m->NoteNames(from, *a);
    m->OtherNamesChanged(a->fid, to);
  }
  return Added(m, to, a.status());
}

int OpRename(const char* from, const char* to, unsigned int flags) {
  Mounted* m = M();
  if (flags & RENAME_EXCHANGE) return -EINVAL;
  // With the table of open writers held: they learn the new name of what
  // moves before another call opens it for writing.
  std::lock_guard<std::mutex> lock(m->mu);
  auto fs = m->engines->Borrow();
  if ((flags & RENAME_NOREPLACE) && fs->Stat(to).ok()) return -EEXIST;
  Status st = fs->Rename(from, to);
  m->ForgetXattrs();
  m->ForgetDirs(from);
  m->ForgetDirs(to);
  if (st.ok()) m->Renamed(from, to);
  // `from` stays among the names that may exist: a rename of one hard link
  // onto another of the same file changes nothing.
  if (!st.ok()) m->NameUnknown(from);
  return Added(m, to, st);
}

int OpStatfs(const char*, struct statvfs* st) {
  Mounted* m = M();
  auto fs = m->engines->Borrow();
  uint64_t total = 0, free = 0;
  for (const auto& s : fs->ServerStatuses()) {
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

}  // namespace

void FillStat(const client::Attr& a, struct stat* st) {
  memset(st, 0, sizeof *st);
  static const mode_t kTypes[] = {S_IFREG, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK};
  st->st_mode = (a.type >= 1 && a.type <= 7 ? kTypes[a.type] : S_IFREG) | (a.mode & 07777);
  st->st_rdev = static_cast<dev_t>(a.rdev);
  st->st_nlink = a.nlink;
  st->st_size = static_cast<off_t>(a.size);
  // What is stored: holes cost nothing (du of a sparse file is small).
  uint64_t stored = proto::Dense(a) ? a.size : std::min<uint64_t>(a.size, a.data_blocks * a.block_size);
  st->st_blocks = static_cast<blkcnt_t>((stored + 511) / 512);
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

void Mounted::Renamed(const std::string& from, const std::string& to) {
  auto moved = [&](std::string* path) {
    if (*path == from) {
      *path = to;
    } else if (path->size() > from.size() && path->compare(0, from.size(), from) == 0 && (*path)[from.size()] == '/') {
      *path = to + path->substr(from.size());
    }
  };
  // Handles read by file id: only writers' paths (for patches) move.
  for (auto& [fid, w] : files) {
    std::string path = w->file->path();
    moved(&path);
    w->file->Renamed(path);
  }
}

void AddNamespaceOps(fuse_operations* ops) {
  ops->opendir = OpOpendir;
  ops->readdir = OpReaddir;
  ops->releasedir = OpReleasedir;
  ops->mkdir = OpMkdir;
  ops->rmdir = OpRmdir;
  ops->unlink = OpUnlink;
  ops->rename = OpRename;
  ops->link = OpLink;
  ops->symlink = OpSymlink;
  ops->mknod = OpMknod;
  ops->readlink = OpReadlink;
  ops->chmod = OpChmod;
  ops->chown = OpChown;
  ops->utimens = OpUtimens;
  ops->setxattr = OpSetxattr;
  ops->getxattr = OpGetxattr;
  ops->listxattr = OpListxattr;
  ops->removexattr = OpRemovexattr;
  ops->statfs = OpStatfs;
}

}  // namespace dfs::mount
