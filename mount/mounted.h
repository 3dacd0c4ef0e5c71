// The mount's state, shared by its FUSE callbacks (mount/*_ops.cc): short
// adapters from FUSE calls to the engine's open files (client::OpenFile,
// client::ReadStream), keyed by file handle and file id.
//
// FUSE calls come on several threads. Writes go through a few write
// engines (WriteEngine); each file open for writing (Writing) is bound to
// one, the least busy when it was opened, so that writes, flushes and
// closes of different files proceed in parallel, and a close waiting for a
// down data server (R10) holds up its own file and its engine only. A call
// on a file's writes holds the file and its engine (FileCall). `mu` guards
// the table of files open for writing: opens for writing, creates,
// truncates by path, renames and last closes hold it. Everything else
// (stat, readdir, reads, the other namespace calls) borrows an engine from
// `engines` and waits for neither. `index_mu` guards the handle table and
// what writers show to the rest; it is held only briefly.
// Lock order: Handle::mu, then mu, then Writing::mu, then WriteEngine::mu,
// then index_mu; an engine from `engines` is borrowed last.
#pragma once

#define FUSE_USE_VERSION 31

#include <fuse.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "core/client/open_file.h"
#include "core/client/prefetcher.h"
#include "core/client/read_stream.h"
#include "mount/engine_pool.h"
#include "mount/invalidator.h"
#include "mount/mount.h"  // ErrnoOf

namespace dfs::mount {

// An engine that writes, shared by the files bound to it: one call at a time.
struct WriteEngine {
  std::mutex mu;
  std::unique_ptr<client::FileSystem> fs;  // guarded by mu
  int files = 0;                           // bound to it; guarded by Mounted::mu
};

// A file open for writing (client::OpenFile), the engine its writes go
// through, and how many handles share it.
struct Writing {
  std::mutex mu;                           // one call at a time on the file
  std::unique_ptr<client::OpenFile> file;  // calls guarded by mu (but path and Renamed)
  // Changed under Mounted::mu and mu both (FileCall::Rebind): read under either.
  WriteEngine* engine = nullptr;
  int handles = 0;  // guarded by Mounted::mu
};

// One open() of a file: its reads (by file id), and its file's write state
// if it was opened for writing.
struct Handle {
  std::mutex mu;  // one read at a time
  std::unique_ptr<client::ReadStream> reader;
  uint64_t fid = 0;
  std::shared_ptr<Writing> writing;  // opened for writing: its file
  uint64_t fetched_at = 0;           // Mounted::clock when reader's bytes were fetched
  // What Create answered, for the getattr libfuse asks right after it;
  // guarded by Mounted::index_mu.
  std::unique_ptr<client::Attr> created;
};

// What an open writer shows to calls that do not take Mounted::mu.
struct WriterView {
  uint64_t size = 0;
  bool streaming = false;
  bool dirty = false;  // written and not yet published
};

// The kernel reads a FUSE file ahead 128 KiB at a time, one request each:
// the default of a new mount's backing device, which its answer to INIT
// can only lower. This raises it to 1 MiB (an eighth of the requests, each
// served from the same read-ahead windows) through
// /sys/class/bdi/MAJ:MIN/read_ahead_kb, after INIT (the first open does).
// Writable by root only: others keep 128 KiB, and the log says so.
void RaiseKernelReadAhead(const std::string& mountpoint);

struct Mounted {
  std::string mountpoint;  // resolved (realpath)
  // Raised once the kernel has its answer to INIT (RaiseKernelReadAhead).
  std::once_flag kernel_read_ahead;
  client::ClientOptions options;
  bool direct_read = false;  // MountOptions::direct_read
  std::unique_ptr<client::Prefetcher> prefetcher;
  std::unique_ptr<EnginePool> engines;
  std::unique_ptr<Invalidator> invalidator;  // the kernel's caches of a path dropped

  // The write path.
  std::vector<std::unique_ptr<WriteEngine>> writers;  // fixed once mounted
  std::mutex mu;
  // Files open for writing, by file id; changed under mu and index_mu
  // both, read under either.
  std::map<uint64_t, std::shared_ptr<Writing>> files;

  std::mutex index_mu;
  std::map<uint64_t, std::shared_ptr<Handle>> handles;  // by fuse fh; guarded by index_mu
  std::map<uint64_t, WriterView> views;                 // by file id; guarded by index_mu
  // Per file id with open handles: how many, and the clock at its last
  // write through the mount; guarded by index_mu.
  struct OpenMarks {
    int handles = 0;
    uint64_t changed_at = 0;
  };
  std::map<uint64_t, OpenMarks> marks;
  uint64_t clock = 0;    // guarded by index_mu
  uint64_t next_fh = 1;  // guarded by index_mu
  // The names the kernel was given for files with more than one (hard
  // links), each of which it caches as an inode of its own.
  std::map<uint64_t, std::set<std::string>> names;  // by file id; guarded by index_mu
  std::map<std::string, uint64_t> name_fid;         // guarded by index_mu
  double cache_seconds = 0;                         // MountOptions::cache_seconds
  // path + '\0' + name -> until when it is known missing; guarded by index_mu
  std::map<std::string, std::chrono::steady_clock::time_point> xattr_misses;
  // Directories as this mount's last change of them left them (the meta
  // server's reply), by path, until when they may be served; guarded by
  // index_mu. The kernel drops a directory's attributes at every change
  // in it and asks getattr before the next call there (it checks the
  // caller may search it): one meta round trip saved per create, unlink,
  // rename, mkdir. Kept for cache_seconds, as the kernel would have kept
  // them; a change elsewhere shows within that time, as in the kernel's
  // caches.
  struct FreshDir {
    client::Attr attr;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, FreshDir> fresh_dirs;
  // Directories whose every name this mount knows: made by it (empty),
  // then changed only by it, as each change's reply shows (the directory's
  // generation one past what it knew). A lookup of another name there is
  // answered "no such file" without asking (create and rename ask the
  // kernel to look their new name up first: one round trip each), until
  // cache_seconds after the last change the mount saw: as the kernel keeps
  // a missing name. Guarded by index_mu.
  struct KnownDir {
    std::set<std::string> names;
    uint64_t fid = 0;
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, KnownDir> known_dirs;

  // The file `fid` open for writing, if it is. REQUIRES: mu or index_mu held.
  std::shared_ptr<Writing> FileOf(uint64_t fid) {
    auto it = files.find(fid);
    return it == files.end() ? nullptr : it->second;
  }
  // The write engine with the fewest files bound to it. REQUIRES: mu held.
  WriteEngine* LeastBusyWriter();
  // A rename moved `from` (a file or a directory) to `to`. REQUIRES: mu held.
  void Renamed(const std::string& from, const std::string& to);

  std::shared_ptr<Handle> HandleOf(const fuse_file_info* fi);
  // Handle `fh` is gone (released).
  void Forget(uint64_t fh);
  // The attributes a create of `fi` answered, once: true if there were.
  bool TakeCreated(const fuse_file_info* fi, client::Attr* out);
  // What an open writer of `fid` shows, if there is one.
  bool ViewOf(uint64_t fid, WriterView* view);
  // What `w` shows made current, after a call on its writes.
  // REQUIRES: w.mu held.
  void ShowView(const Writing& w);
  // File `fid` was written: read-ahead fetched before now is stale.
  void Changed(uint64_t fid);
  // Whether `h`'s read-ahead is stale; if so, it is dropped.
  void DropIfStale(Handle* h);

  // The kernel caches attributes for a while (MountOptions::cache_seconds)
  // per name. A change through one name of a file with several (link
  // count, ctime, mode) must reach the others at once, as on a local file
  // system: their cached attributes are invalidated.
  void NoteNames(const std::string& path, const client::Attr& a);
  void OtherNamesChanged(uint64_t fid, const std::string& except);
  void Unlinked(const std::string& path);

  // A change through this mount left directory `path` as `a`
  // (ClientOptions::on_dir_changed): the newest of what changes tell.
  void DirChanged(const std::string& path, const client::Attr& a);
  // What DirChanged kept for `path`, if it is still fresh.
  bool FreshDirOf(const std::string& path, client::Attr* a);
  // `path` and what is under it moved or went (rename, rmdir), or its
  // extended attributes changed: what was kept of them is forgotten.
  void ForgetDirs(const std::string& path);
  // This mount made directory `path` as `a`: it has no names.
  void MadeDir(const std::string& path, const client::Attr& a);
  // A name this mount made, or removed, or a change of the directory
  // holding `path` that failed (what it holds is unknown then).
  void NameAdded(const std::string& path);
  void NameRemoved(const std::string& path);
  void NameUnknown(const std::string& path);
  // Whether `path` is known not to exist (KnownDir).
  bool KnownMissing(const std::string& path);

  // "No such attribute" answers of getxattr, kept for cache_seconds as the
  // kernel keeps attributes: the kernel asks for security.capability before
  // every write(2). Forgotten, all of them, at any change through the mount
  // that could make one wrong (setxattr, removexattr, rename, unlink, link).
  bool KnownMissingXattr(const std::string& path, const char* name);
  void NoteMissingXattr(const std::string& path, const char* name);
  // What a getattr, readdir or create answered for `path`: a file with no
  // extended attributes at all has none of any name.
  void NoteXattrs(const std::string& path, const client::Attr& a);
  void ForgetXattrs();
};

// One call on a file's writes: holds the file and its engine; what the
// file shows to the rest (WriterView) is made current when it ends.
class FileCall {
 public:
  FileCall(Mounted* m, std::shared_ptr<Writing> w)
      : m_(m), w_(std::move(w)), file_lock_(w_->mu), engine_lock_(w_->engine->mu) {}
  ~FileCall() { m_->ShowView(*w_); }
  FileCall(const FileCall&) = delete;
  FileCall& operator=(const FileCall&) = delete;

  client::OpenFile* operator->() const { return w_->file.get(); }
  client::FileSystem* fs() const { return w_->engine->fs.get(); }
  // The file was created or truncated through `engine`, which made
  // `writer`: its writes go through that engine from now on.
  // REQUIRES: Mounted::mu held.
  void Restart(std::unique_ptr<client::FileWriter> writer, WriteEngine* engine);

 private:
  Mounted* m_;
  std::shared_ptr<Writing> w_;
  std::unique_lock<std::mutex> file_lock_;
  std::unique_lock<std::mutex> engine_lock_;  // of the engine bound when the call began
};

// One call on a write engine of no open file (a create, a truncate of a
// file no one writes).
class EngineCall {
 public:
  explicit EngineCall(WriteEngine* e) : e_(e), lock_(e->mu) {}
  client::FileSystem* operator->() const { return e_->fs.get(); }

 private:
  WriteEngine* e_;
  std::lock_guard<std::mutex> lock_;
};

inline Mounted* M() { return static_cast<Mounted*>(fuse_get_context()->private_data); }

// A handle of file `fid` that writes is gone; the last one finishes the
// write, gives the write lease back and forgets the file. REQUIRES: mu held.
void Leave(Mounted* m, uint64_t fid);
// Every file still open for writing finished, as close would (at unmount).
void CloseAll(Mounted* m);

void FillStat(const client::Attr& a, struct stat* st);
// FillStat, with the size an open writer of this mount knows.
void StatOf(Mounted* m, const client::Attr& a, struct stat* st);
// The caller's identity and the mode bits it asked for (the kernel has
// applied its umask already).
client::NewEntry EntryOf(mode_t mode);

// Fills in the callbacks of each group.
void AddFileOps(fuse_operations* ops);       // mount/file_ops.cc
void AddNamespaceOps(fuse_operations* ops);  // mount/namespace_ops.cc

}  // namespace dfs::mount
