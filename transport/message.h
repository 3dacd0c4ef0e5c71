// A transport message: a list of byte frames. Frame 0 is the msgpack header,
// further frames carry raw payloads (block data) that are never re-encoded.
// The transport layer knows nothing of what the frames mean.
#pragma once

#include <string>
#include <vector>

namespace dfs::transport {

struct Message {
  std::vector<std::string> frames;
};

// Largest message a server accepts (ZMQ_MAXMSGSIZE): above it libzmq drops
// the connection. Batches are kept well below (a few MiB).
inline constexpr long long kMaxMessageBytes = 64LL << 20;

}  // namespace dfs::transport
