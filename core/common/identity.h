// Who a request comes from: the role and POSIX identity the cluster gives a
// CURVE public key. The meta server keeps the list (an authorized_keys
// file, one key a line):
//
//   # public key (Z85)                        role   uid   gid   [trusted]
//   rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  admin  0     0
//   Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID  client 1000  1000
//
// Lines that start with '#' are comments ('#' is also a Z85 digit).
// Roles: `server` (the data servers, and the cluster's own server key),
// `admin` (dfs corrupt, fsck --repair, listings of every file), `client`.
// A trusted key (a mount) may act for the uid and gid its requests name, as
// an NFS server trusts its clients' kernels; any other acts as its own uid.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/common/fields.h"

namespace dfs {

enum class Role { kClient = 0, kAdmin = 1, kServer = 2 };

const char* RoleName(Role role);

struct Identity {
  Role role = Role::kClient;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool trusted = false;
  // A plain connection to a server started with --insecure: anyone who can
  // reach the port, trusted as before keys existed.
  bool insecure = false;

  static Identity Insecure() { return Identity{Role::kAdmin, 0, 0, true, true}; }
  static Identity Server() { return Identity{Role::kServer, 0, 0, true, false}; }
  bool admin() const { return role != Role::kClient; }
};

// One admitted key, as the meta server lists it to the data servers.
struct KeyEntry {
  std::string key;
  int role = 0;  // Role
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool trusted = false;
  DFS_FIELDS(key, role, uid, gid, trusted);
};

using KeyTable = std::map<std::string, Identity>;

// Parses an authorized_keys text; `origin` names it in errors ("FILE line N").
Result<KeyTable> ParseAuthorizedKeys(const std::string& text, const std::string& origin);
Result<KeyTable> ReadAuthorizedKeys(const std::string& path);
// One line of such a file.
std::string AuthorizedKeyLine(const std::string& key, const Identity& id);

// The keys of a table, as a server's key check (ZAP) admits them.
std::set<std::string> PublicKeys(const KeyTable& table);
std::vector<KeyEntry> ToEntries(const KeyTable& table);
KeyTable FromEntries(const std::vector<KeyEntry>& entries);

}  // namespace dfs
