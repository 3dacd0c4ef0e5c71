// A request/reply server: binds a ROUTER socket and answers each request with
// the handler's reply, one at a time, in arrival order. Requests larger than
// kMaxMessageBytes make libzmq drop the connection; the loop keeps running.
// No exception leaves Run(): a handler that throws gets its client an empty
// (malformed) reply and a line in the log; a socket error ends the loop.
// Thread-safety: Run() on one thread; RequestStop() from any thread or a
// signal handler.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "transport/curve.h"
#include "transport/message.h"
#include "transport/zap_handler.h"

namespace zmq {
class socket_t;
}

namespace dfs::transport {

class ServerLoop {
 public:
  using Handler = std::function<Message(Message&& request)>;
  using Tick = std::function<void()>;

  ServerLoop();
  ~ServerLoop();

  // Binds `endpoint` (tcp://host:port). With `curve`, every connection is
  // encrypted and only clients whose public key it admits get in (the key
  // check is process-wide: the last list bound holds for every loop).
  Status Bind(const std::string& endpoint, const CurveServer* curve = nullptr);

  // Serves until RequestStop(). `tick` runs about every `tick_ms` between requests.
  void Run(const Handler& handler, const Tick& tick = nullptr, int tick_ms = 200);

  static void RequestStop();
  // Stops this loop only (tests).
  void Stop();
  // Set once a stop was requested (SIGINT, SIGTERM): threads beside the
  // loop watch it to stop too.
  static const std::atomic<bool>& stopping() { return stop_; }

 private:
  std::unique_ptr<zmq::socket_t> socket_;
  bool curve_ = false;
  std::atomic<bool> stop_this_{false};
  static std::atomic<bool> stop_;
};

}  // namespace dfs::transport
