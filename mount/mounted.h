// The mount's state, shared by its FUSE callbacks (mount/*_ops.cc): short
// adapters from FUSE calls to the engine's open files (client::OpenFile,
// client::ReadStream), keyed by file handle and file id. One mutex
// serialises every callback: the engine (FileSystem) is used by one thread
// at a time. Only the Prefetcher works beside it, on its own connection.
#pragma once

#define FUSE_USE_VERSION 31

#include <fuse.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/client/file_system.h"
#include "core/client/open_file.h"
#include "core/client/prefetcher.h"
#include "core/client/read_stream.h"
#include "mount/mount.h"  // ErrnoOf

namespace dfs::mount {

// A file open for writing (client::OpenFile) and how many handles share it.
struct Writing {
  std::unique_ptr<client::OpenFile> file;
  int handles = 0;
};

// One open() of a file: its reads (by file id), and its file's write state
// if it was opened for writing.
struct Handle {
  std::unique_ptr<client::ReadStream> reader;
  client::OpenFile* file = nullptr;
};

struct Mounted {
  client::ClientOptions options;
  bool direct_read = false;  // MountOptions::direct_read
  std::unique_ptr<client::FileSystem> fs;
  std::unique_ptr<client::Prefetcher> prefetcher;
  // Held by every callback; lock order: only this one.
  std::mutex mu;
  std::map<uint64_t, std::unique_ptr<Handle>> handles;  // by fuse fh
  std::map<uint64_t, Writing> files;                    // by file id
  uint64_t next_fh = 1;

  client::OpenFile* FileOf(uint64_t fid) {
    auto it = files.find(fid);
    return it == files.end() ? nullptr : it->second.file.get();
  }
  // A rename moved `from` (a file or a directory) to `to`.
  void Renamed(const std::string& from, const std::string& to);
};

inline Mounted* M() { return static_cast<Mounted*>(fuse_get_context()->private_data); }

// A handle of file `fid` that writes is gone; the last one finishes the
// write, gives the write lease back and forgets the file.
void Leave(Mounted* m, uint64_t fid);

void FillStat(const client::Attr& a, struct stat* st);
// The caller's identity and the mode bits it asked for (the kernel has
// applied its umask already).
client::NewEntry EntryOf(mode_t mode);

// Fills in the callbacks of each group.
void AddFileOps(fuse_operations* ops);       // mount/file_ops.cc
void AddNamespaceOps(fuse_operations* ops);  // mount/namespace_ops.cc

}  // namespace dfs::mount
