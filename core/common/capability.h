// Capabilities: the meta server's word that the holder may read or write
// one file's blocks, until an expiry. Data servers serve block reads,
// writes and deletes of a client only with one for that file, and refuse a
// write whose block versions are of a later write generation than the one
// the capability was issued for. Signed with HMAC-SHA256 under the
// cluster's capability key, which only the meta and data servers hold (it
// is derived from the servers' secret CURVE key), so a client can neither
// forge one nor stretch one to another file, right or time.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "core/common/fields.h"

namespace dfs {

enum CapabilityRight : uint32_t {
  kCapRead = 1,
  kCapWrite = 2,  // also deletes the file's blocks (the cleanup of an interrupted copy)
};

struct Capability {
  uint64_t fid = 0;
  uint32_t rights = 0;      // CapabilityRight bits
  uint64_t generation = 0;  // the highest write generation its writes may carry
  int64_t expires_ns = 0;   // wall clock (CLOCK_REALTIME) of the servers
  std::string mac;          // HMAC-SHA256 of the fields above (32 bytes)
  DFS_FIELDS(fid, rights, generation, expires_ns, mac);
};

// 32 secret bytes shared by the meta and data servers.
class CapabilityKey {
 public:
  CapabilityKey() = default;
  // Derived from the servers' secret CURVE key (Z85).
  static CapabilityKey FromServerSecret(const std::string& server_secret);
  bool empty() const { return key_.empty(); }

  Capability Issue(uint64_t fid, uint32_t rights, uint64_t generation, int64_t expires_ns) const;
  // Ok if `cap` is genuine, names `fid`, grants `right` and has not expired
  // at `now_ns`; PermissionDenied saying which of these failed otherwise.
  Status Check(const Capability& cap, uint64_t fid, uint32_t right, int64_t now_ns) const;

 private:
  std::string Mac(const Capability& cap) const;
  std::string key_;
};

int64_t WallClockNs();

}  // namespace dfs
