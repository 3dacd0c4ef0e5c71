// A client connection to one server endpoint (a DEALER socket).
//
// Requests may be pipelined: Send() several, then Receive() their replies in
// the same order (the server answers one connection in order). A dead server
// is noticed quickly: with ZMQ_IMMEDIATE a send to an endpoint with no live
// connection fails after `connect_timeout_ms`, and a receive gives up when the
// connection has been gone for that long or no reply came in
// `reply_timeout_ms`. After a failure the caller Reset()s the channel (the
// "lazy pirate" pattern), dropping every request still in flight. A socket
// monitor reports refused and dropped connections as they happen.
// Thread-safety: one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "transport/message.h"

namespace zmq {
class socket_t;
}

namespace dfs::transport {

struct ChannelOptions {
  int connect_timeout_ms = 1000;  // no connection for this long: server is down
  int reply_timeout_ms = 30000;   // connected but silent for this long: give up
  // Set by another thread (a server stopping): a wait for a reply gives up
  // within 100 ms. Null: never.
  const std::atomic<bool>* cancel = nullptr;
};

class Channel {
 public:
  explicit Channel(std::string endpoint, ChannelOptions options = {});
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  int in_flight() const { return in_flight_; }

  // Queues a request. Unavailable if no connection could be made in time.
  Status Send(Message request);

  // Waits for the reply to the oldest request in flight.
  Result<Message> Receive();

  // The reply to the oldest request if it is ready, nullopt if it is not yet,
  // Unavailable if the server is gone or silent past the reply timeout.
  Result<std::optional<Message>> TryReceive();

  // Send() then Receive(); on failure resets the channel.
  Result<Message> Call(Message request);

  // Closes the socket and opens a new one; replies still in flight are lost.
  void Reset();

  // Waits up to `timeout_ms` until one of `channels` has a reply ready;
  // returns its position, or -1 on timeout.
  static int WaitReadable(const std::vector<Channel*>& channels, int timeout_ms);

 private:
  // Waits until a connection is up; false at once if the server refused.
  bool Connected(int wait_ms);
  void DrainEvents();
  void CloseSocket();
  Result<Message> ReceiveNow();

  std::string endpoint_;
  ChannelOptions options_;
  std::unique_ptr<zmq::socket_t> socket_;
  int in_flight_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point last_check_;
  std::unique_ptr<zmq::socket_t> monitor_;  // connection events of socket_
  bool connected_ = false;  // a connection is up
  bool refused_ = false;    // the last connect attempt failed, none is up
  bool lost_ = false;       // a connection dropped since Reset()
};

}  // namespace dfs::transport
