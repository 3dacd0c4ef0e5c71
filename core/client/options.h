// Options every client of the engine (CLI, mount) sets.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/common/protocol.h"
#include "transport/channel.h"

namespace dfs::client {

// Who owns a new file, directory or link, and its permission bits.
struct NewEntry {
  uint32_t mode = 0;
  uint32_t uid = ::getuid();
  uint32_t gid = ::getgid();
  static NewEntry File() { return NewEntry{0644}; }
  static NewEntry Directory() { return NewEntry{0755}; }
};

struct ClientOptions {
  std::string meta = "tcp://127.0.0.1:7100";
  // How long a write waits for a data server that is down, in seconds; 0
  // waits forever (R10).
  double write_timeout_s = 0;
  // Windows a writer keeps in flight (each 512 KiB per data server, sent
  // to two): about 8.5 MiB of memory each with five servers. The mount,
  // whose files may stream at once, keeps fewer.
  int write_windows = 3;
  bool verbose = false;
  // Where waits, resumes and repairs are reported (the CLI prints to stderr).
  std::function<void(const std::string&)> notice;
  // Set (by a signal handler, say) to make block transfers stop with
  // Cancelled; null: never. Simple calls (the cleanup after an interrupt:
  // deleting a copy's blocks) still run.
  const std::atomic<bool>* cancel = nullptr;
  // How to reach a server; null: ZeroMQ. Tests put a fake network here.
  transport::Connector connect;
  // Told a directory's path and attributes as a change through this client
  // just left them: the parents of what it created, removed or renamed, a
  // new directory, a directory whose attributes it set. The mount answers
  // its kernel's next getattr of the directory with them. Null: not told.
  std::function<void(const std::string& path, const proto::Attr&)> on_dir_changed;
};

}  // namespace dfs::client
