// dfs mount: the namespace as a local directory through libfuse3, on the same
// core engine as the subcommands (core/client). Every FUSE callback is a short
// adapter: decode, one core call, one errno conversion (ErrnoOf), reply.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "transport/channel.h"

namespace dfs::mount {

struct MountOptions {
  std::string mountpoint;
  std::string meta;
  bool foreground = false;
  double write_timeout_s = 0;  // 0: close/flush/fsync wait forever (R10)
  // Read-only opens bypass the kernel's page cache (FUSE direct_io): no new
  // page cache to fill, so streaming reads run at the engine's speed; a
  // MAP_SHARED mmap of such an open fails with ENODEV (MAP_PRIVATE and exec
  // work). As MooseFS's mfscachemode=DIRECT.
  bool direct_read = false;
  // How long the kernel keeps names, missing names and attributes the mount
  // told it (-o cache=SECONDS): a stat or a path walk within it costs no
  // meta round trip. Changes by other clients show after at most this long;
  // every open sees them at once (close-to-open). 0: ask every time. As
  // MooseFS's mfsattrcacheto and NFS's actimeo.
  double cache_seconds = 1;
  std::vector<std::string> fuse_opts;  // -o values passed to libfuse
  std::string log;                     // where a background mount writes its messages
  transport::Connector connect;        // channels with the client's key; null: plain
};

// Mounts and serves until unmounted. Goes to the background unless
// `foreground`; the fork happens before any ZeroMQ context exists.
Status RunMount(const MountOptions& options);

// Maps an engine error to the errno FUSE returns.
int ErrnoOf(const Status& status);

}  // namespace dfs::mount
