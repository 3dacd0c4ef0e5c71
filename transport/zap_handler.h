// ZapHandler: admits CURVE clients whose public key is on its list, refusing
// the others during the handshake (ZeroMQ's ZAP protocol, RFC 27). One per
// process, serving every CURVE server socket of it on its own thread; like
// the ZeroMQ context, it lives until the process ends.
// Thread-safety: Admit from any thread.
#pragma once

#include <set>
#include <string>

#include "base/status.h"

namespace dfs::transport {

class ZapHandler {
 public:
  // From now on admits exactly `keys` (Z85 public keys); starts the
  // process's handler on first use.
  static Status Admit(std::set<std::string> keys);
};

}  // namespace dfs::transport
