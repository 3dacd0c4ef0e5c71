// FUSE callbacks on file contents: getattr, open, create, read, write,
// truncate, flush, fsync, release.
#include <cerrno>
#include <cstring>

#include "mount/mounted.h"

namespace dfs::mount {
namespace {

constexpr uint64_t kReadAhead = 8 << 20;   // window of a sequential read
constexpr uint64_t kRandomRead = 1 << 20;  // window of any other read
constexpr size_t kAheadWindows = 2;        // windows fetched ahead of a sequential read

Handle* HandleOf(Mounted* m, const fuse_file_info* fi) {
  if (!fi) return nullptr;
  auto it = m->handles.find(fi->fh);
  return it == m->handles.end() ? nullptr : it->second.get();
}

// Every handle's read-ahead of file `fid` is stale after a write.
void DropReadAheadOf(Mounted* m, uint64_t fid) {
  for (auto& [fh, h] : m->handles) {
    if (h->attr.fid == fid) h->DropReadAhead();
  }
}

// Moves a file to a PatchWriter (writes anywhere, truncate), finishing a
// streaming writer first.
Status UsePatch(Mounted* m, OpenFile* f) {
  if (f->patch) return Status::Ok();
  if (f->writer) DFS_RETURN_IF_ERROR(FinishWrite(m, f));
  DFS_ASSIGN_OR_RETURN(f->patch, m->fs->OpenForPatch(f->path));
  return Status::Ok();
}

uint64_t AddHandle(Mounted* m, std::unique_ptr<Handle> h) {
  uint64_t fh = m->next_fh++;
  m->handles[fh] = std::move(h);
  return fh;
}

// The shared write state of file `attr`, made if this is its first writer.
OpenFile* Join(Mounted* m, const client::Attr& attr, const std::string& path) {
  auto& slot = m->files[attr.fid];
  if (!slot) {
    slot = std::make_unique<OpenFile>();
    slot->fid = attr.fid;
    slot->path = path;
  }
  ++slot->handles;
  return slot.get();
}

// Creates or truncates `path` and opens it for streaming writes.
int OpenTruncated(Mounted* m, const char* path, fuse_file_info* fi, const client::NewEntry& entry) {
  if (!m->files.empty()) {
    // Another handle writing this file finishes first, or its later flush
    // would commit bytes from before the truncate.
    if (auto a = m->fs->Stat(path); a.ok()) {
      if (OpenFile* f = m->FileOf(a->fid)) {
        Status st = FinishWrite(m, f);
        if (!st.ok()) return -ErrnoOf(st);
      }
    }
  }
  // Another client writing the file (another mount, a dfs cp) holds its
  // write lease: EBUSY, until it closes or its lease lapses.
  auto writer = m->fs->Create(path, 0, entry);
  if (!writer.ok()) return -ErrnoOf(writer.status());
  auto h = std::make_unique<Handle>();
  h->path = path;
  h->attr = (*writer)->attr();
  OpenFile* f = Join(m, h->attr, path);
  f->patch.reset();
  f->error = Status::Ok();
  f->writer = std::move(*writer);
  f->written = 0;
  h->file = f;
  DropReadAheadOf(m, h->attr.fid);
  fi->fh = AddHandle(m, std::move(h));
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
  if (OpenFile* f = m->FileOf(a->fid); f && (f->writer || f->patch)) {
    st->st_size = static_cast<off_t>(f->size());
    // A stream is dense; patches count once committed (a grown size is a hole).
    if (f->writer) st->st_blocks = static_cast<blkcnt_t>((f->size() + 511) / 512);
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
  OpenFile* open = m->FileOf(a->fid);
  if (writing && ((fi->flags & O_TRUNC) || (a->size == 0 && !open))) {
    return OpenTruncated(m, path, fi, EntryOf(a->mode));
  }
  auto h = std::make_unique<Handle>();
  h->path = path;
  h->attr = *a;
  if (writing) {
    OpenFile* f = Join(m, *a, path);
    if (!f->writer && !f->patch) {
      Status st = UsePatch(m, f);
      if (!st.ok()) {
        Leave(m, f);
        return -ErrnoOf(st);
      }
    }
    h->file = f;
  }
  fi->fh = AddHandle(m, std::move(h));
  return 0;
}

bool Contains(const Window& w, uint64_t offset) { return offset >= w.offset && offset < w.offset + w.bytes.size(); }

// Makes h->window hold `offset` and as much as it can of the `size` bytes
// from it, unless that is past the end of the file. Keeps the following
// windows of a sequential read on their way.
Status FillWindow(Mounted* m, Handle* h, uint64_t offset, uint64_t size) {
  DFS_ASSIGN_OR_RETURN(h->attr, m->fs->Stat(h->path));  // the size may have moved since open
  if (offset >= h->attr.size) {
    h->DropReadAhead();
    return Status::Ok();
  }
  size = std::min(size, h->attr.size - offset);
  bool sequential = offset == 0 || offset == h->window.offset + h->window.bytes.size();
  Window w;
  while (!h->ahead.empty() && h->ahead.front().offset + kReadAhead <= offset) h->ahead.pop_front();
  if (!h->ahead.empty() && offset >= h->ahead.front().offset) {
    w = h->ahead.front().window.get();  // usually ready: fetched while earlier windows were served
    h->ahead.pop_front();
  } else {
    h->ahead.clear();
  }
  if (!w.status.ok() || !Contains(w, offset)) {
    h->ahead.clear();
    uint64_t length = std::max(size, sequential ? kReadAhead : kRandomRead);
    w = m->read_ahead->Fetch(h->attr, h->path, offset, length).get();
    // A block lost beyond the bytes asked for fails only the reads of it.
    if (!w.status.ok() && length > size) w = m->read_ahead->Fetch(h->attr, h->path, offset, size).get();
    DFS_RETURN_IF_ERROR(w.status);
  }
  h->window = std::move(w);
  if (sequential) {
    // Keep kAheadWindows on their way, so the fetching thread never idles.
    uint64_t next = h->ahead.empty() ? h->window.offset + h->window.bytes.size() : h->ahead.back().offset + kReadAhead;
    while (h->ahead.size() < kAheadWindows && next < h->attr.size) {
      h->ahead.push_back({next, m->read_ahead->Fetch(h->attr, h->path, next, kReadAhead)});
      next += kReadAhead;
    }
  }
  return Status::Ok();
}

int OpRead(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h) return -EBADF;
  if (OpenFile* f = m->FileOf(h->attr.fid); f && f->dirty()) {
    // Reading what was written through the mount: send it to the data
    // servers first (not a durability point: no sync).
    Status st = Publish(f);
    if (!st.ok()) return -ErrnoOf(st);
    DropReadAheadOf(m, f->fid);
  }
  // A read may span two windows. It is whole or an error: the kernel takes
  // a short read for the end of the file.
  size_t done = 0;
  while (done < size) {
    uint64_t pos = static_cast<uint64_t>(offset) + done;
    if (!Contains(h->window, pos)) {
      Status st = FillWindow(m, h, pos, size - done);
      if (!st.ok()) {
        h->DropReadAhead();
        return -ErrnoOf(st);
      }
      if (!Contains(h->window, pos)) break;  // at the end of the file
    }
    const Window& w = h->window;
    size_t n = std::min<uint64_t>(size - done, w.offset + w.bytes.size() - pos);
    memcpy(buf + done, w.bytes.data() + (pos - w.offset), n);
    done += n;
  }
  return static_cast<int>(done);
}

int OpWrite(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h || !h->file) return -EBADF;
  OpenFile* f = h->file;
  if (!f->error.ok()) return -ErrnoOf(f->error);
  DropReadAheadOf(m, f->fid);
  Status st;
  if (f->writer && static_cast<uint64_t>(offset) != f->written) st = UsePatch(m, f);
  if (st.ok() && f->patch) {
    st = f->patch->Write(static_cast<uint64_t>(offset), buf, size);
  } else if (st.ok()) {
    st = f->writer->Write(buf, size);
  }
  if (!st.ok()) {
    fprintf(stderr, "dfs mount: write to %s failed: %s\n", f->path.c_str(), st.message().c_str());
    f->error = st;
    return -ErrnoOf(st);
  }
  if (f->writer) f->written += size;
  return static_cast<int>(size);
}

int OpTruncate(const char* path, off_t size, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  if (size < 0) return -EINVAL;
  OpenFile* f = nullptr;
  if (Handle* h = HandleOf(m, fi)) f = h->file;
  if (!f) {
    auto a = m->fs->Stat(path);
    if (!a.ok()) return -ErrnoOf(a.status());
    f = m->FileOf(a->fid);
  }
  if (f) {
    if (f->writer && static_cast<uint64_t>(size) == f->written) return 0;  // e.g. O_TRUNC then ftruncate(0)
    Status st = UsePatch(m, f);
    if (st.ok()) st = f->patch->Truncate(static_cast<uint64_t>(size));
    DropReadAheadOf(m, f->fid);
    if (st.ok() && !fi) st = FlushWrite(m, f);  // truncate(2) is done when it returns
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

int OpFlush(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h || !h->file) return 0;
  return -ErrnoOf(FlushWrite(m, h->file));
}

int OpFsync(const char*, int, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (!h || !h->file) return 0;
  return -ErrnoOf(FlushWrite(m, h->file));
}

int OpRelease(const char*, fuse_file_info* fi) {
  Mounted* m = M();
  std::lock_guard<std::mutex> lock(m->mu);
  Handle* h = HandleOf(m, fi);
  if (h && h->file) Leave(m, h->file);
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
  if (OpenFile* f = m->FileOf(h->attr.fid); f && f->dirty()) {
    if (Status st = Publish(f); !st.ok()) return -ErrnoOf(st);
  }
  auto a = m->fs->Stat(h->path);
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

void Leave(Mounted* m, OpenFile* f) {
  if (--f->handles > 0) return;
  (void)FinishWrite(m, f);  // its error went to the flush before
  m->fs->EndWrite(f->fid);
  m->files.erase(f->fid);
}

Status Publish(OpenFile* f) {
  if (!f->error.ok()) return f->error;
  if (!f->writer && !f->patch) return Status::Ok();
  Status st = f->writer ? f->writer->Flush() : f->patch->Flush();
  if (!st.ok()) {
    fprintf(stderr, "dfs mount: write of %s failed: %s\n", f->path.c_str(), st.message().c_str());
    f->error = st;
  }
  return st;
}

Status FlushWrite(Mounted* m, OpenFile* f) {
  if (!f->writer && !f->patch) return f->error;
  Status st = Publish(f);
  if (st.ok()) st = m->fs->Sync();
  if (!st.ok()) {
    fprintf(stderr, "dfs mount: flush of %s failed: %s\n", f->path.c_str(), st.message().c_str());
    f->error = st;
  }
  return st;
}

Status FinishWrite(Mounted* m, OpenFile* f) {
  if (!f->error.ok()) return f->error;
  if (f->patch) {
    Status st = FlushWrite(m, f);
    f->patch.reset();
    return st;
  }
  if (!f->writer) return Status::Ok();
  Status st = f->writer->Close();
  if (st.ok()) st = m->fs->Sync();
  f->writer.reset();
  if (!st.ok()) f->error = st;
  return st;
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
