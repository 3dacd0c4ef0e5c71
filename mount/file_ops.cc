// FUSE callbacks on file contents: getattr, open, create, read, write,
// truncate, flush, fsync, release.
#include <cerrno>
#include <cstring>

#include "mount/mounted.h"

namespace dfs::mount {
namespace {

Handle* HandleOf(Mounted* m, const fuse_file_info* fi) {
  if (!fi) return nullptr;
  auto it = m->handles.find(fi->fh);
  return it == m->handles.end() ? nullptr : it->second.get();
}

// Every handle's read-ahead of file `fid` is stale after a write.
void DropReadAheadOf(Mounted* m, uint64_t fid) {
  for (auto& [fh, h] : m->handles) {
    if (h->reader->fid() == fid) h->reader->Drop();
  }
}

// A new handle of file `attr`, writing through `file` if not null.
uint64_t AddHandle(Mounted* m, const client::Attr& attr, client::OpenFile* file) {
  auto h = std::make_unique<Handle>();
  h->reader = std::make_unique<client::ReadStream>(m->fs.get(), m->prefetcher.get(), attr);
  h->file = file;
  uint64_t fh = m->next_fh++;
  m->handles[fh] = std::move(h);
  return fh;
}

// The shared write state of file `fid`, made if this is its first writer.
client::OpenFile* Join(Mounted* m, uint64_t fid, const std::string& path) {
  Writing& w = m->files[fid];
  if (!w.file) w.file = std::make_unique<client::OpenFile>(m->fs.get(), fid, path);
  ++w.handles;
  return w.file.get();
}

// Creates or truncates `path` and opens it for streaming writes.
int OpenTruncated(Mounted* m, const char* path, fuse_file_info* fi, const client::NewEntry& entry) {
  if (!m->files.empty()) {
    // Another handle writing this file finishes first, or its later flush
    // would commit bytes from before the truncate.
    if (auto a = m->fs->Stat(path); a.ok()) {
      if (client::OpenFile* f = m->FileOf(a->fid)) {
        Status st = f->Close();
        if (!st.ok()) return -ErrnoOf(st);
      }
    }
  }
  // Another client writing the file (another mount, a dfs cp) holds its
  // write lease: EBUSY, until it closes or its lease lapses.
  auto writer = m->fs->Create(path, 0, entry);
  if (!writer.ok()) return -ErrnoOf(writer.status());
  const client::Attr attr = (*writer)->attr();
  client::OpenFile* f = Join(m, attr.fid, path);
  f->Restart(std::move(*writer));
  DropReadAheadOf(m, attr.fid);
  fi->fh = AddHandle(m, attr, f);
  return 0;
}

int OpGetattr(const char* path, struct stat* st, fuse_file_info*) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  auto a = m->fs->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  FillStat(*a, st);
  // Open writers know the size before it is committed. fstat(2) comes
  // without a file handle, so they are found by file id.
  if (client::OpenFile* f = m->FileOf(a->fid); f && f->writing()) {
    st->st_size = static_cast<off_t>(f->size());
    // A stream is dense; patches count once committed (a grown size is a hole).
    if (f->streaming()) st->st_blocks = static_cast<blkcnt_t>((f->size() + 511) / 512);
  }
  return 0;
}

int OpCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  return OpenTruncated(m, path, fi, EntryOf(mode));
}

int OpOpen(const char* path, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  auto a = m->fs->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  if (client::IsDirectory(*a)) return -EISDIR;
  fi->keep_cache = 0;  // close-to-open: what others wrote is read afresh
  bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
  if (m->direct_read && !writing) fi->direct_io = 1;
  client::OpenFile* open = m->FileOf(a->fid);
  if (writing && ((fi->flags & O_TRUNC) || (a->size == 0 && !open))) {
    return OpenTruncated(m, path, fi, EntryOf(a->mode));
  }
  client::OpenFile* f = nullptr;
  if (writing) {
    f = Join(m, a->fid, path);
    if (Status st = f->Patch(); !st.ok()) {
      Leave(m, a->fid);
      return -ErrnoOf(st);
    }
  }
  fi->fh = AddHandle(m, *a, f);
  return 0;
}

int OpRead(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h) return -EBADF;
  if (client::OpenFile* f = m->FileOf(h->reader->fid()); f && f->dirty()) {
    // Reading what was written through the mount: send it to the data
    // servers first (not a durability point: no sync).
    if (Status st = f->Publish(); !st.ok()) return -ErrnoOf(st);
    DropReadAheadOf(m, f->fid());
  }
  // Whole or an error: the kernel takes a short read for the end of the file.
  auto done = h->reader->Read(static_cast<uint64_t>(offset), buf, size);
  if (!done.ok()) return -ErrnoOf(done.status());
  return static_cast<int>(*done);
}

int OpWrite(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h || !h->file) return -EBADF;
  DropReadAheadOf(m, h->file->fid());
  Status st = h->file->Write(static_cast<uint64_t>(offset), buf, size);
  return st.ok() ? static_cast<int>(size) : -ErrnoOf(st);
}

int OpTruncate(const char* path, off_t size, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  if (size < 0) return -EINVAL;
  client::OpenFile* f = nullptr;
  if (Handle* h = HandleOf(m, fi)) f = h->file;
  if (!f) {
    auto a = m->fs->Stat(path);
    if (!a.ok()) return -ErrnoOf(a.status());
    f = m->FileOf(a->fid);
  }
  if (f) {
    Status st = f->Truncate(static_cast<uint64_t>(size));
    DropReadAheadOf(m, f->fid());
    if (st.ok() && !fi) st = f->Flush();  // truncate(2) is done when it returns
    return -ErrnoOf(st);
  }
  // truncate(2) of a file no one has open for writing: a short-lived
  // writer, durable before it returns. Growing only moves the size (a
  // hole): `truncate -s 1P` returns at once and stores nothing.
  auto patch = m->fs->OpenForPatch(path);
  if (!patch.ok()) return -ErrnoOf(patch.status());
  Status st = (*patch)->Truncate(static_cast<uint64_t>(size));
  if (st.ok()) st = (*patch)->Flush();
  if (st.ok()) st = m->fs->Sync();
  m->fs->EndWrite((*patch)->attr().fid);
  return -ErrnoOf(st);
}

// flush (each close of a handle) and fsync: durable on both replicas (R10).
int OpFlush(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h || !h->file) return 0;
  return -ErrnoOf(h->file->Flush());
}

int OpFsync(const char* path, int, fuse_file_info* fi) { return OpFlush(path, fi); }

int OpRelease(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (h && h->file) Leave(m, h->file->fid());
  m->handles.erase(fi->fh);
  return 0;
}

// SEEK_DATA and SEEK_HOLE, from the file's extent map (the kernel serves
// the other whences itself).
off_t OpLseek(const char*, off_t offset, int whence, fuse_file_info* fi) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return -EINVAL;
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h) return -EBADF;
  if (client::OpenFile* f = m->FileOf(h->reader->fid()); f && f->dirty()) {
    if (Status st = f->Publish(); !st.ok()) return -ErrnoOf(st);
  }
  auto a = m->fs->StatFile(h->reader->fid());
  if (!a.ok()) return -ErrnoOf(a.status());
  const uint64_t off = static_cast<uint64_t>(offset), size = a->size, bs = a->block_size;
  if (offset < 0 || off >= size) return -ENXIO;
  auto page = m->fs->Extents(a->fid, off / bs);
  if (!page.ok()) return -ErrnoOf(page.status());
  // The first range that ends after `off`, if any (ranges never touch).
  uint64_t first = size, end = size;
  for (size_t k = 0; k + 1 < page->ranges.size(); k += 2) {
    if (page->ranges[k + 1] * bs > off) {
      first = std::min(size, page->ranges[k] * bs);
      end = std::min(size, page->ranges[k + 1] * bs);
      break;
    }
  }
  bool in_data = first <= off;
  if (whence == SEEK_DATA) return in_data ? offset : first < size ? static_cast<off_t>(first) : -ENXIO;
  return static_cast<off_t>(in_data ? end : off);
}

}  // namespace

void Leave(Mounted* m, uint64_t fid) {
  auto it = m->files.find(fid);
  if (it == m->files.end() || --it->second.handles > 0) return;
  (void)it->second.file->CloseAndRelease();  // its error went to the flush before
  m->files.erase(it);
}

void AddFileOps(fuse_operations* ops) {
  ops->getattr = OpGetattr;
  ops->create = OpCreate;
  ops->open = OpOpen;
  ops->read = OpRead;
  ops->write = OpWrite;
  ops->truncate = OpTruncate;
  ops->flush = OpFlush;
  ops->fsync = OpFsync;
  ops->release = OpRelease;
  ops->lseek = OpLseek;
}

}  // namespace dfs::mount
