// The mount's state, shared by its FUSE callbacks (mount/*_ops.cc). One
// mutex serialises every callback: the engine (FileSystem) is used by one
// thread at a time. Only ReadAhead works beside it, on its own connection.
#pragma once

#define FUSE_USE_VERSION 31

#include <fuse.h>

#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/client/file_system.h"
#include "core/client/patch_writer.h"
#include "mount/mount.h"  // ErrnoOf
#include "mount/read_ahead.h"

namespace dfs::mount {

// A file open for writing, shared by all its handles: the kernel may write,
// flush or read through any of them (and through a handle of another
// process). Writes from offset 0 of a new or truncated file stream through
// a FileWriter (fast, sequential); any other write, and truncate, go through
// a PatchWriter (blocks patched in memory, written at flush). A stream that
// gets a write elsewhere is finished and switches.
struct OpenFile {
  uint64_t fid = 0;
  std::string path;
  std::unique_ptr<client::FileWriter> writer;
  uint64_t written = 0;  // bytes through `writer`
  std::unique_ptr<client::PatchWriter> patch;
  Status error;  // a failed write, reported again at flush and close
  int handles = 0;

  bool dirty() const { return writer || (patch && patch->dirty()); }
  // The size the file has with what is written but not yet committed.
  uint64_t size() const { return patch ? patch->size() : written; }
};

// One open() of a file.
struct Handle {
  std::string path;
  client::Attr attr;
  OpenFile* file = nullptr;  // set when opened for writing
  // FUSE reads come 128 KiB at a time; the engine is fast with windows of
  // MiBs. `window` holds the bytes being served; while a read goes on
  // sequentially, `ahead` are the following windows on their way
  // (ReadAhead), in file order.
  struct Ahead {
    uint64_t offset;
    std::shared_future<Window> window;
  };
  Window window;
  std::deque<Ahead> ahead;

  void DropReadAhead() {
    window = Window{};
    ahead.clear();
  }
};

struct Mounted {
  client::ClientOptions options;
  bool direct_read = false;  // MountOptions::direct_read
  std::unique_ptr<client::FileSystem> fs;
  std::unique_ptr<ReadAhead> read_ahead;
  // Held by every callback; lock order: only this one.
  std::mutex mu;
  std::map<uint64_t, std::unique_ptr<Handle>> handles;  // by fuse fh
  std::map<uint64_t, std::unique_ptr<OpenFile>> files;  // by file id
  uint64_t next_fh = 1;

  OpenFile* FileOf(uint64_t fid) {
    auto it = files.find(fid);
    return it == files.end() ? nullptr : it->second.get();
  }
  // A rename moved `from` (a file or a directory) to `to`.
  void Renamed(const std::string& from, const std::string& to);
};

inline Mounted* M() { return static_cast<Mounted*>(fuse_get_context()->private_data); }

// Sends a file's written data to both replicas and commits its size, so
// reads see it; not yet durable against power loss.
Status Publish(OpenFile* f);
// Makes a file's written data durable on both replicas with its size
// committed (R10). It stays open for writing.
Status FlushWrite(Mounted* m, OpenFile* f);
// As FlushWrite, at the last close: no more writes.
Status FinishWrite(Mounted* m, OpenFile* f);
// A handle of `f` is gone; the last one finishes the write, gives the
// write lease back and forgets the file.
void Leave(Mounted* m, OpenFile* f);

void FillStat(const client::Attr& a, struct stat* st);
// The caller's identity and the mode bits it asked for (the kernel has
// applied its umask already).
client::NewEntry EntryOf(mode_t mode);

// Fills in the callbacks of each group.
void AddFileOps(fuse_operations* ops);       // mount/file_ops.cc
void AddNamespaceOps(fuse_operations* ops);  // mount/namespace_ops.cc

}  // namespace dfs::mount
