// A client connection to one server endpoint: the network seam under every
// client of a server (DataClient, MetaClient, a data server's neighbours).
//
// Requests may be pipelined: Send() several, then Receive() their replies in
// the same order (the server answers one connection in order). A dead server
// is noticed quickly: a send with no live connection fails after
// `connect_timeout_ms`, and a receive gives up when the connection has been
// gone for that long or no reply came in `reply_timeout_ms`. After a failure
// the caller Reset()s the channel (the "lazy pirate" pattern), dropping every
// request still in flight.
//
// ZmqChannel (zmq_channel.h) is the real one; tests connect through a fake
// network that can drop, delay and partition (tests/unit/fake_network.h).
// Thread-safety: one thread at a time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "transport/curve.h"
#include "transport/message.h"

namespace dfs::transport {

struct ChannelOptions {
  int connect_timeout_ms = 1000;  // no connection for this long: server is down
  int reply_timeout_ms = 30000;   // connected but silent for this long: give up
  // Set by another thread (a server stopping): a wait for a reply gives up
  // within 100 ms. Null: never.
  const std::atomic<bool>* cancel = nullptr;
  // CURVE keys to present (transport/curve.h); null: a plain connection.
  std::shared_ptr<const CurveClient> curve = nullptr;
};

class Channel {
 public:
  virtual ~Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  virtual int in_flight() const = 0;

  // Queues a request. Unavailable if no connection could be made in time.
  virtual Status Send(Message request) = 0;

  // The reply to the oldest request if it is ready, nullopt if it is not yet,
  // Unavailable if the server is gone or silent past the reply timeout.
  virtual Result<std::optional<Message>> TryReceive() = 0;

  // Closes the connection and opens a new one; replies still in flight are lost.
  virtual void Reset() = 0;

  // Waits for the reply to the oldest request in flight.
  Result<Message> Receive();

  // Send() then Receive(); on failure resets the channel.
  Result<Message> Call(Message request);

  // Waits up to `timeout_ms` until one of `channels` has a reply ready;
  // returns its position, or -1 on timeout.
  static int WaitReadable(const std::vector<Channel*>& channels, int timeout_ms);

 protected:
  Channel(std::string endpoint, ChannelOptions options) : endpoint_(std::move(endpoint)), options_(options) {}

  // For WaitReadable: the ZeroMQ socket to poll, or null for a channel that
  // is no socket, which is asked ReplyReady() instead.
  virtual void* PollHandle() { return nullptr; }
  virtual bool ReplyReady() { return true; }

  std::string endpoint_;
  ChannelOptions options_;
};

// Makes the channel to an endpoint. Null: a ZmqChannel.
using Connector = std::function<std::unique_ptr<Channel>(const std::string& endpoint, const ChannelOptions& options)>;

std::unique_ptr<Channel> Connect(const std::string& endpoint, const ChannelOptions& options,
                                 const Connector& connector = nullptr);

// ZeroMQ channels that present `keys` (CURVE) to every server.
Connector CurveConnector(std::shared_ptr<const CurveClient> keys);

}  // namespace dfs::transport
