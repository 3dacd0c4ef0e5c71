// The real Channel: a ZeroMQ DEALER socket to one server endpoint.
//
// With ZMQ_IMMEDIATE a send to an endpoint with no live connection fails
// after `connect_timeout_ms`; a socket monitor reports refused and dropped
// connections as they happen.
// Thread-safety: one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "transport/channel.h"

namespace zmq {
class socket_t;
}

namespace dfs::transport {

class ZmqChannel final : public Channel {
 public:
  explicit ZmqChannel(std::string endpoint, ChannelOptions options = {});
  ~ZmqChannel() override;

  int in_flight() const override { return in_flight_; }
  Status Send(Message request) override;
  Result<std::optional<Message>> TryReceive() override;
  void Reset() override;

 private:
  void* PollHandle() override;
  // Waits until a connection is up; false at once if the server refused.
  bool Connected(int wait_ms);
  void DrainEvents();
  void CloseSocket();
  Result<Message> ReceiveNow();

  std::unique_ptr<zmq::socket_t> socket_;
  int in_flight_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point last_check_;
  std::unique_ptr<zmq::socket_t> monitor_;  // connection events of socket_
  bool connected_ = false;                  // a connection is up
  bool refused_ = false;                    // the last connect attempt failed, none is up
  bool lost_ = false;                       // a connection dropped since Reset()
  bool refused_key_ = false;                // a handshake failed: the server refused our key
};

}  // namespace dfs::transport
