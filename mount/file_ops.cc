// FUSE callbacks on file contents: getattr, open, create, read, write,
// truncate, flush, fsync, release.
#include <cerrno>
#include <cstring>
#include <optional>

#include "mount/mounted.h"

namespace dfs::mount {
namespace {

// Every handle's read-ahead of file `fid` is stale after a write.
void DropReadAheadOf(Mounted* m, uint64_t fid) { m->Changed(fid); }

// A new handle of file `attr`, writing `writing` if not null.
uint64_t AddHandle(Mounted* m, const client::Attr& attr, std::shared_ptr<Writing> writing) {
  auto h = std::make_shared<Handle>();
  h->reader = std::make_unique<client::ReadStream>(nullptr, m->prefetcher.get(), attr, m->cache_seconds);
  h->fid = attr.fid;
  h->writing = std::move(writing);
  std::lock_guard<std::mutex> lock(m->index_mu);
  h->fetched_at = m->clock;
  ++m->marks[attr.fid].handles;
  uint64_t fh = m->next_fh++;
  m->handles[fh] = std::move(h);
  return fh;
}

// Sends what this mount wrote to `fid` and did not publish yet, so that a
// read sees it (not a durability point: no sync).
Status PublishIfDirty(Mounted* m, uint64_t fid) {
  WriterView v;
  if (!m->ViewOf(fid, &v) || !v.dirty) return Status::Ok();
  std::shared_ptr<Writing> w;
  {
    std::lock_guard<std::mutex> lock(m->index_mu);
    w = m->FileOf(fid);
  }
  if (!w) return Status::Ok();
  FileCall call(m, w);
  if (!call->dirty()) return Status::Ok();
  DFS_RETURN_IF_ERROR(call->Publish());
  DropReadAheadOf(m, fid);
  return Status::Ok();
}

// The shared write state of file `fid`, made if this is its first writer,
// bound to `engine` then. REQUIRES: m->mu held.
std::shared_ptr<Writing> Join(Mounted* m, uint64_t fid, const std::string& path, WriteEngine* engine) {
  std::shared_ptr<Writing> w = m->FileOf(fid);
  if (!w) {
    w = std::make_shared<Writing>();
    w->file = std::make_unique<client::OpenFile>(engine->fs.get(), fid, path);
    w->engine = engine;
    ++engine->files;
    std::lock_guard<std::mutex> lock(m->index_mu);
    m->files[fid] = w;
  }
  ++w->handles;
  return w;
}

// A handle of `w`, a file just created or truncated as `attr`.
int Opened(Mounted* m, fuse_file_info* fi, const client::Attr& attr, std::shared_ptr<Writing> w) {
  DropReadAheadOf(m, attr.fid);
  fi->fh = AddHandle(m, attr, std::move(w));
  return 0;
}

// Opens the file `writer` created, through `engine`, for streaming writes.
// REQUIRES: m->mu held, and no file or engine.
int OpenStream(Mounted* m, const char* path, fuse_file_info* fi, Result<std::unique_ptr<client::FileWriter>> writer,
               WriteEngine* engine) {
  if (!writer.ok()) return -ErrnoOf(writer.status());
  const client::Attr attr = (*writer)->attr();
  std::shared_ptr<Writing> w = Join(m, attr.fid, path, engine);
  {
    FileCall call(m, w);
    call.Restart(std::move(*writer), engine);
  }
  return Opened(m, fi, attr, std::move(w));
}

// OpenTruncated of a file this mount writes already (`w`): its other
// handles' writes finish first (or a later flush would commit bytes from
// before the truncate), and wait until it is restarted, on its engine.
// REQUIRES: m->mu held, and no file or engine.
int TruncateWriting(Mounted* m, const char* path, fuse_file_info* fi, const client::NewEntry& entry,
                    std::shared_ptr<Writing> w) {
  WriteEngine* engine = w->engine;
  std::optional<Result<std::unique_ptr<client::FileWriter>>> writer;
  {
    FileCall call(m, w);
    if (Status st = call->Close(); !st.ok()) return -ErrnoOf(st);
    writer = call.fs()->Create(path, 0, entry);
    if (writer->ok() && (**writer)->attr().fid == call->fid()) {
      const client::Attr attr = (**writer)->attr();
      call.Restart(std::move(**writer), engine);
      return Opened(m, fi, attr, Join(m, attr.fid, path, engine));
    }
  }
  // It failed, or the name is another file by now (a rename by another
  // client came between).
  return OpenStream(m, path, fi, std::move(*writer), engine);
}

// Creates or truncates `path` and opens it for streaming writes.
// REQUIRES: m->mu held.
int OpenTruncated(Mounted* m, const char* path, fuse_file_info* fi, const client::NewEntry& entry) {
  if (!m->files.empty()) {
    if (auto a = m->engines->Borrow()->Stat(path); a.ok()) {
      if (std::shared_ptr<Writing> w = m->FileOf(a->fid)) return TruncateWriting(m, path, fi, entry, std::move(w));
    }
  }
  WriteEngine* engine = m->LeastBusyWriter();
  // Another client writing the file (another mount, a dfs cp) holds its
  // write lease: EBUSY, until it closes or its lease lapses.
  auto writer = EngineCall(engine)->Create(path, 0, entry);
  return OpenStream(m, path, fi, std::move(writer), engine);
}

int OpGetattr(const char* path, struct stat* st, fuse_file_info* fi) {
  Mounted* m = M();
  client::Attr created;
  if (m->TakeCreated(fi, &created)) {
    // libfuse asks right after a create: what Create answered is current.
    StatOf(m, created, st);
    m->NoteXattrs(path, created);
    return 0;
  }
  if (m->FreshDirOf(path, &created)) {
    // The kernel asks after each change in a directory: this mount's
    // change told what it is now.
    FillStat(created, st);
    return 0;
  }
  if (m->KnownMissing(path)) return -ENOENT;  // in a directory whose every name the mount knows
  auto a = m->engines->Borrow()->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  StatOf(m, *a, st);
  m->NoteNames(path, *a);
  m->NoteXattrs(path, *a);
  return 0;
}

int OpenForWritingLocked(Mounted* m, const char* path, fuse_file_info* fi);

// Whether the caller may write `a` by its mode bits, as the kernel checks
// (default_permissions) before an open of a name it knows.
bool CallerMayWrite(const client::Attr& a) {
  const fuse_context* c = fuse_get_context();
  if (c->uid == 0) return true;
  if (c->uid == a.uid) return a.mode & S_IWUSR;
  bool in_group = c->gid == a.gid;
  gid_t groups[64];
  int n = fuse_getgroups(64, groups);
  for (int i = 0; i < n && i < 64 && !in_group; ++i) in_group = groups[i] == a.gid;
  return a.mode & (in_group ? S_IWGRP : S_IWOTH);
}

// An existing file that a create found: opened as it is, if the caller
// may write it (the kernel, which thought the name free, did not check).
int OpenExisting(Mounted* m, const char* path, fuse_file_info* fi) {
  auto a = m->engines->Borrow()->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  if (client::IsRegular(*a) && !CallerMayWrite(*a)) return -EACCES;
  return OpenForWritingLocked(m, path, fi);
}

int OpCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  int rc;
  if (fi->flags & O_TRUNC) {
    rc = OpenTruncated(m, path, fi, EntryOf(mode));
  } else {
    // The kernel thinks the name is free, but it may have learned that up
    // to cache= seconds ago and another client may have made it since:
    // only a new file is created. An existing one opens as it is (O_CREAT
    // without O_TRUNC truncates nothing), or EEXIST with O_EXCL.
    WriteEngine* engine = m->LeastBusyWriter();
    auto writer = EngineCall(engine)->CreateNew(path, EntryOf(mode));
    rc = OpenStream(m, path, fi, std::move(writer), engine);
    if (rc == -EEXIST && !(fi->flags & O_EXCL)) rc = OpenExisting(m, path, fi);
  }
  // What the directory holds is known again, or no longer.
  if (rc == 0) m->NameAdded(path);
  if (rc != 0) m->NameUnknown(path);
  if (rc == 0) {
    std::lock_guard<std::mutex> index_lock(m->index_mu);
    auto& h = m->handles.at(fi->fh);
    h->created = std::make_unique<client::Attr>(h->reader->attr());
  }
  return rc;
}

// An open for writing: joins the file's writers, or truncates it.
// REQUIRES: m->mu held.
int OpenForWritingLocked(Mounted* m, const char* path, fuse_file_info* fi) {
  auto a = m->engines->Borrow()->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  if (client::IsDirectory(*a)) return -EISDIR;
  if ((fi->flags & O_TRUNC) || (a->size == 0 && !m->FileOf(a->fid))) {
    return OpenTruncated(m, path, fi, EntryOf(a->mode));
  }
  std::shared_ptr<Writing> w = Join(m, a->fid, path, m->LeastBusyWriter());
  Status st;
  {
    FileCall call(m, w);
    st = call->Patch();
  }
  if (!st.ok()) {
    Leave(m, a->fid);
    return -ErrnoOf(st);
  }
  fi->fh = AddHandle(m, *a, std::move(w));
  return 0;
}

int OpOpen(const char* path, fuse_file_info* fi) {
  Mounted* m = M();
  std::call_once(m->kernel_read_ahead, RaiseKernelReadAhead, m->mountpoint);
  int rc = 0;
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    std::lock_guard<std::mutex> lock(m->mu);
    rc = OpenForWritingLocked(m, path, fi);
  } else {
    auto a = m->engines->Borrow()->Stat(path);
    if (!a.ok()) return -ErrnoOf(a.status());
    if (client::IsDirectory(*a)) return -EISDIR;
    if (m->direct_read) fi->direct_io = 1;
    fi->fh = AddHandle(m, *a, nullptr);
  }
  if (rc != 0) return rc;
  // Close-to-open: what others wrote is read afresh. The kernel drops the
  // file's pages (keep_cache = 0) and its cached size (so a read past it
  // asks getattr): the name may even stand for a new file now. Not under
  // the write path's locks: dropping pages dirtied through a shared mmap
  // writes them first, through this mount; and from the Invalidator's
  // thread, which this call waits for only a while (mount/invalidator.h).
  fi->keep_cache = 0;
  m->invalidator->Invalidate(path);
  return 0;
}

int OpRead(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::shared_ptr<Handle> h = m->HandleOf(fi);
  if (!h) return -EBADF;
  std::lock_guard<std::mutex> lock(h->mu);
  // Reading what was written through the mount: it goes out first.
  if (Status st = PublishIfDirty(m, h->fid); !st.ok()) return -ErrnoOf(st);
  m->DropIfStale(h.get());
  auto engine = m->engines->Borrow();
  h->reader->Use(engine.get());
  // Whole or an error: the kernel takes a short read for the end of the file.
  auto done = h->reader->Read(static_cast<uint64_t>(offset), buf, size);
  if (!done.ok()) return -ErrnoOf(done.status());
  return static_cast<int>(*done);
}

int OpWrite(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::shared_ptr<Handle> h = m->HandleOf(fi);
  if (!h || !h->writing) return -EBADF;
  FileCall call(m, h->writing);
  DropReadAheadOf(m, h->fid);
  Status st = call->Write(static_cast<uint64_t>(offset), buf, size);
  return st.ok() ? static_cast<int>(size) : -ErrnoOf(st);
}

// A truncate of a file open for writing here, durable before it returns if
// `durable` (truncate(2); ftruncate(2) is durable at the next flush).
int TruncateOpen(Mounted* m, std::shared_ptr<Writing> w, uint64_t size, bool durable) {
  FileCall call(m, std::move(w));
  Status st = call->Truncate(size);
  DropReadAheadOf(m, call->fid());
  if (st.ok() && durable) st = call->Flush();
  return -ErrnoOf(st);
}

int OpTruncate(const char* path, off_t size, fuse_file_info* fi) {
  Mounted* m = M();
  if (size < 0) return -EINVAL;
  std::shared_ptr<Handle> h = m->HandleOf(fi);
  if (h && h->writing) return TruncateOpen(m, h->writing, static_cast<uint64_t>(size), false);
  std::lock_guard<std::mutex> lock(m->mu);
  auto a = m->engines->Borrow()->Stat(path);
  if (!a.ok()) return -ErrnoOf(a.status());
  if (std::shared_ptr<Writing> w = m->FileOf(a->fid)) {
    return TruncateOpen(m, std::move(w), static_cast<uint64_t>(size), !fi);
  }
  // truncate(2) of a file no one has open for writing: a short-lived
  // writer, durable before it returns. Growing only moves the size (a
  // hole): `truncate -s 1P` returns at once and stores nothing.
  EngineCall fs(m->LeastBusyWriter());
  auto patch = fs->OpenForPatch(path);
  if (!patch.ok()) return -ErrnoOf(patch.status());
  Status st = (*patch)->Truncate(static_cast<uint64_t>(size));
  if (st.ok()) st = (*patch)->Flush();
  if (st.ok()) st = fs->Sync();
  DropReadAheadOf(m, (*patch)->attr().fid);
  fs->EndWrite((*patch)->attr().fid);
  return -ErrnoOf(st);
}

// flush (each close of a handle) and fsync: durable on both replicas (R10).
int OpFlush(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::shared_ptr<Handle> h = m->HandleOf(fi);
  if (!h || !h->writing) return 0;  // a reader's close: nothing to wait for
  return -ErrnoOf(FileCall(m, h->writing)->Flush());
}

// fsync: the same, and the committed size durable on the meta server's disk.
int OpFsync(const char*, int, fuse_file_info* fi) {
  Mounted* m = M();
  std::shared_ptr<Handle> h = m->HandleOf(fi);
  if (!h || !h->writing) return 0;
  return -ErrnoOf(FileCall(m, h->writing)->Fsync());
}

int OpRelease(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::shared_ptr<Handle> h = m->HandleOf(fi);
  if (!h) return 0;
  if (h->writing) {
    std::lock_guard<std::mutex> lock(m->mu);
    Leave(m, h->fid);
  }
  m->Forget(fi->fh);
  return 0;
}

// SEEK_DATA and SEEK_HOLE, from the file's extent map (the kernel serves
// the other whences itself).
off_t OpLseek(const char*, off_t offset, int whence, fuse_file_info* fi) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return -EINVAL;
  Mounted* m = M();
  std::shared_ptr<Handle> h = m->HandleOf(fi);
  if (!h) return -EBADF;
  if (Status st = PublishIfDirty(m, h->fid); !st.ok()) return -ErrnoOf(st);
  auto engine = m->engines->Borrow();
  auto a = engine->StatFile(h->fid);
  if (!a.ok()) return -ErrnoOf(a.status());
  const uint64_t off = static_cast<uint64_t>(offset), size = a->size, bs = a->block_size;
  if (offset < 0 || off >= size) return -ENXIO;
  auto page = engine->Extents(a->fid, off / bs);
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

void StatOf(Mounted* m, const client::Attr& a, struct stat* st) {
  FillStat(a, st);
  // Open writers know the size before it is committed. fstat(2) comes
  // without a file handle, so they are found by file id.
  WriterView v;
  if (m->ViewOf(a.fid, &v)) {
    st->st_size = static_cast<off_t>(v.size);
    // A stream is dense; patches count once committed (a grown size is a hole).
    if (v.streaming) st->st_blocks = static_cast<blkcnt_t>((v.size + 511) / 512);
  }
}

void Leave(Mounted* m, uint64_t fid) {
  std::shared_ptr<Writing> w = m->FileOf(fid);
  if (!w || --w->handles > 0) return;
  {
    FileCall call(m, w);
    (void)call->CloseAndRelease();  // its error went to the flush before
  }
  --w->engine->files;
  std::lock_guard<std::mutex> lock(m->index_mu);
  m->files.erase(fid);
}

void CloseAll(Mounted* m) {
  std::lock_guard<std::mutex> lock(m->mu);
  for (auto& [fid, w] : m->files) (void)FileCall(m, w)->CloseAndRelease();
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
