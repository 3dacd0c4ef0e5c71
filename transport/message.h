// A transport message: a list of byte frames. Frame 0 is the msgpack header,
// further frames carry raw payloads (block data) that are never re-encoded.
// The transport layer knows nothing of what the frames mean.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dfs::transport {

// Bytes left where they are, alive as long as `owner` is.
struct SharedBytes {
  std::shared_ptr<const void> owner;
  std::string_view bytes;

  static SharedBytes Of(std::shared_ptr<const std::string> s) {
    std::string_view view(*s);
    return SharedBytes{std::move(s), view};
  }
  explicit operator bool() const { return owner != nullptr; }
};

struct Message {
  std::vector<std::string> frames;
  // A last frame after `frames` that is not copied into them: on sending,
  // the block data of a write, which its sender keeps to send again if the
  // server was down; on receiving, a large block batch left in the buffer
  // it arrived in. Read the parts with part(), which sees both.
  SharedBytes tail;
  // On a server: the CURVE public key (Z85) the request came with, as its
  // key check admitted it; empty on a plain (--insecure) connection.
  std::string peer;

  size_t parts() const { return frames.size() + (tail ? 1 : 0); }
  std::string_view part(size_t i) const { return i < frames.size() ? std::string_view(frames[i]) : tail.bytes; }
};

// Largest message a server accepts (ZMQ_MAXMSGSIZE): above it libzmq drops
// the connection. Batches are kept well below (a few MiB).
inline constexpr long long kMaxMessageBytes = 64LL << 20;

}  // namespace dfs::transport
