// POSIX permission checks for the meta server, as the kernel makes them for
// a local disk: search (x) on every directory on the way, write and search
// on a directory to add or remove a name in it (with the sticky bit's
// rule), read, write or ownership on the entry itself. Made only for keys
// that act as themselves (identity.h): a client key that is not trusted and
// not uid 0. Admins, servers, trusted mounts (whose kernels check with
// default_permissions) and --insecure are not checked.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "core/common/identity.h"
#include "core/common/protocol.h"
#include "core/meta/meta_store.h"

namespace dfs::meta {

enum Access : uint32_t { kMayExec = 1, kMayWrite = 2, kMayRead = 4 };

// True when `who` is checked at all.
bool Checked(const Identity& who);
// The POSIX rule for `a`'s mode bits: owner, else group, else other.
bool May(const Identity& who, const proto::Attr& a, uint32_t access);

class Permissions {
 public:
  Permissions(MetaStore* store, const Identity& who) : store_(store), who_(who) {}

  // Search on every directory above `path`.
  Status Reach(const std::string& path);
  // Reach, then `access` on `path` itself.
  Status On(const std::string& path, uint32_t access);
  // Write and search on the directory that holds (or will hold) `path`.
  Status InParent(const std::string& path);
  // InParent, and the sticky bit: in a sticky directory only the owner of
  // the entry or of the directory may remove or rename it.
  Status Remove(const std::string& path);
  // Create: truncating an existing file needs write on it; a new name (or a
  // replace, which publishes a new file) write on its directory.
  Status Create(const std::string& path, bool replace);
  // Mkdir: with `parents`, the deepest directory that exists gets the new ones.
  Status Mkdir(const std::string& path, bool parents);
  // Rename: `src` removed from its directory, `dst` added to (or replacing
  // in) its own.
  Status Rename(const std::string& src, const std::string& dst);
  // Only the owner changes the mode or times; only uid 0 the owner; the
  // group only to the owner's own group.
  Status SetAttr(const proto::SetAttrReq& req);

 private:
  Status Denied(const std::string& what) const;

  MetaStore* store_;
  Identity who_;
};

}  // namespace dfs::meta
