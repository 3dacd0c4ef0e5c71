#include "mount/mounted.h"

#include "core/common/path.h"

namespace dfs::mount {

std::shared_ptr<Handle> Mounted::HandleOf(const fuse_file_info* fi) {
  if (!fi) return nullptr;
  std::lock_guard<std::mutex> lock(index_mu);
  auto it = handles.find(fi->fh);
  return it == handles.end() ? nullptr : it->second;
}

void Mounted::Forget(uint64_t fh) {
  std::lock_guard<std::mutex> lock(index_mu);
  auto it = handles.find(fh);
  if (it == handles.end()) return;
  auto m = marks.find(it->second->fid);
  handles.erase(it);
  if (m != marks.end() && --m->second.handles <= 0) marks.erase(m);  // no handle is left to read stale bytes
}

bool Mounted::TakeCreated(const fuse_file_info* fi, client::Attr* out) {
  if (!fi) return false;
  std::lock_guard<std::mutex> lock(index_mu);
  auto it = handles.find(fi->fh);
  if (it == handles.end() || !it->second->created) return false;
  *out = std::move(*it->second->created);
  it->second->created.reset();
  return true;
}

bool Mounted::ViewOf(uint64_t fid, WriterView* view) {
  std::lock_guard<std::mutex> lock(index_mu);
  auto it = views.find(fid);
  if (it == views.end()) return false;
  *view = it->second;
  return true;
}

void Mounted::ShowView(const Writing& w) {
  const client::OpenFile& f = *w.file;
  std::lock_guard<std::mutex> lock(index_mu);
  if (f.writing()) {
    views[f.fid()] = WriterView{f.size(), f.streaming(), f.dirty()};
  } else {
    views.erase(f.fid());
  }
}

WriteEngine* Mounted::LeastBusyWriter() {
  // One that no call holds now (a close may be waiting on it for a down
  // data server), then the one with the fewest files.
  WriteEngine* best = nullptr;
  bool best_free = false;
  for (const auto& e : writers) {
    bool free = e->mu.try_lock();
    if (free) e->mu.unlock();
    if (!best || (free && !best_free) || (free == best_free && e->files < best->files)) {
      best = e.get();
      best_free = free;
    }
  }
  return best;
}

void FileCall::Restart(std::unique_ptr<client::FileWriter> writer, WriteEngine* engine) {
  // The old writer, if any, goes on the engine this call holds.
  w_->file->Restart(std::move(writer), engine->fs.get());
  if (w_->engine != engine) {
    --w_->engine->files;
    ++engine->files;
    w_->engine = engine;
  }
}

void Mounted::Changed(uint64_t fid) {
  std::lock_guard<std::mutex> lock(index_mu);
  auto it = marks.find(fid);
  if (it != marks.end()) it->second.changed_at = ++clock;  // no handle open: nothing fetched to drop
}

void Mounted::DropIfStale(Handle* h) {
  bool stale;
  {
    std::lock_guard<std::mutex> lock(index_mu);
    auto it = marks.find(h->fid);
    stale = it != marks.end() && it->second.changed_at > h->fetched_at;
    h->fetched_at = clock;
  }
  if (stale) h->reader->Drop();
}

void Mounted::NoteNames(const std::string& path, const client::Attr& a) {
  if (a.nlink < 2 || client::IsDirectory(a)) return;
  std::lock_guard<std::mutex> lock(index_mu);
  names[a.fid].insert(path);
  name_fid[path] = a.fid;
}

void Mounted::OtherNamesChanged(uint64_t fid, const std::string& except) {
  std::vector<std::string> others;
  {
    std::lock_guard<std::mutex> lock(index_mu);
    auto it = names.find(fid);
    if (it == names.end()) return;
    for (const auto& p : it->second) {
      if (p != except) others.push_back(p);
    }
  }
  // A name gone since (renamed, removed elsewhere) is not found: harmless.
  for (const auto& p : others) invalidator->Invalidate(p);
}

void Mounted::Unlinked(const std::string& path) {
  uint64_t fid;
  {
    std::lock_guard<std::mutex> lock(index_mu);
    auto it = name_fid.find(path);
    if (it == name_fid.end()) return;
    fid = it->second;
    name_fid.erase(it);
    auto n = names.find(fid);
    if (n != names.end()) {
      n->second.erase(path);
      if (n->second.empty()) names.erase(n);
    }
  }
  OtherNamesChanged(fid, path);
}

namespace {
std::chrono::steady_clock::time_point After(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}
}  // namespace

void Mounted::DirChanged(const std::string& path, const client::Attr& a) {
  if (cache_seconds <= 0 || !client::IsDirectory(a)) return;
  std::lock_guard<std::mutex> lock(index_mu);
  if (auto k = known_dirs.find(path); k != known_dirs.end()) {
    // One change past what the mount knew: its own. A rename within the
    // directory reports it twice, with one change.
    if (a.fid == k->second.fid && a.generation == k->second.generation + 1) {
      k->second.generation = a.generation;
      k->second.until = After(cache_seconds);
    } else if (a.fid != k->second.fid || a.generation != k->second.generation) {
      known_dirs.erase(k);  // another client's change came between (or replies crossed)
    }
  }
  if (fresh_dirs.size() >= 10000) fresh_dirs.clear();  // bounded; a miss is only a round trip
  auto [it, added] = fresh_dirs.try_emplace(path);
  // Replies to changes made at once may come back in any order.
  if (!added && it->second.attr.fid == a.fid && it->second.attr.ctime_ns > a.ctime_ns) return;
  it->second.attr = a;
  it->second.attr.dirs.clear();
  it->second.until = After(cache_seconds);
}

void Mounted::MadeDir(const std::string& path, const client::Attr& a) {
  if (cache_seconds <= 0) return;
  std::lock_guard<std::mutex> lock(index_mu);
  if (known_dirs.size() >= 1000) known_dirs.clear();  // bounded; a miss is only a round trip
  known_dirs[path] = KnownDir{{}, a.fid, a.generation, After(cache_seconds)};
}

void Mounted::NameAdded(const std::string& path) {
  std::lock_guard<std::mutex> lock(index_mu);
  auto k = known_dirs.find(ParentPath(path));
  if (k != known_dirs.end()) k->second.names.insert(BaseName(path));
}

void Mounted::NameRemoved(const std::string& path) {
  std::lock_guard<std::mutex> lock(index_mu);
  auto k = known_dirs.find(ParentPath(path));
  if (k != known_dirs.end()) k->second.names.erase(BaseName(path));
}

void Mounted::NameUnknown(const std::string& path) {
  std::lock_guard<std::mutex> lock(index_mu);
  known_dirs.erase(ParentPath(path));
}

bool Mounted::KnownMissing(const std::string& path) {
  if (path == "/") return false;
  std::lock_guard<std::mutex> lock(index_mu);
  auto k = known_dirs.find(ParentPath(path));
  if (k == known_dirs.end()) return false;
  if (std::chrono::steady_clock::now() >= k->second.until) {
    known_dirs.erase(k);
    return false;
  }
  return k->second.names.count(BaseName(path)) == 0;
}

bool Mounted::FreshDirOf(const std::string& path, client::Attr* a) {
  std::lock_guard<std::mutex> lock(index_mu);
  auto it = fresh_dirs.find(path);
  if (it == fresh_dirs.end()) return false;
  if (std::chrono::steady_clock::now() >= it->second.until) {
    fresh_dirs.erase(it);
    return false;
  }
  *a = it->second.attr;
  return true;
}

void Mounted::ForgetDirs(const std::string& path) {
  std::lock_guard<std::mutex> lock(index_mu);
  const std::string under = path == "/" ? "/" : path + "/";
  auto forget = [&](auto& dirs) {
    dirs.erase(path);
    for (auto it = dirs.lower_bound(under); it != dirs.end() && it->first.compare(0, under.size(), under) == 0;) {
      it = dirs.erase(it);
    }
  };
  forget(fresh_dirs);
  forget(known_dirs);
}

namespace {
std::string XattrKey(const std::string& path, const char* name) { return path + '\0' + name; }
}  // namespace

bool Mounted::KnownMissingXattr(const std::string& path, const char* name) {
  std::lock_guard<std::mutex> lock(index_mu);
  for (const std::string& key : {XattrKey(path, name), XattrKey(path, "")}) {  // "": none at all
    auto it = xattr_misses.find(key);
    if (it == xattr_misses.end()) continue;
    if (std::chrono::steady_clock::now() < it->second) return true;
    xattr_misses.erase(it);
  }
  return false;
}

void Mounted::NoteXattrs(const std::string& path, const client::Attr& a) {
  if (!a.has_xattrs) NoteMissingXattr(path, "");
}

void Mounted::NoteMissingXattr(const std::string& path, const char* name) {
  if (cache_seconds <= 0) return;
  std::lock_guard<std::mutex> lock(index_mu);
  if (xattr_misses.size() >= 100000) xattr_misses.clear();  // bounded; a miss is only a round trip
  xattr_misses[XattrKey(path, name)] =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(cache_seconds));
}

void Mounted::ForgetXattrs() {
  std::lock_guard<std::mutex> lock(index_mu);
  xattr_misses.clear();
}

}  // namespace dfs::mount
