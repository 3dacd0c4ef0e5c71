// MetricsHttp: answers GET /metrics over plain HTTP on its own thread, for
// Prometheus and curl (--metrics-listen HOST:PORT). One connection at a
// time, each closed after its reply; a client that sends nothing for 2 s is
// dropped. Anything but GET /metrics gets 404.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "base/status.h"

namespace dfs::transport {

class MetricsHttp {
 public:
  using Render = std::function<std::string()>;

  MetricsHttp() = default;
  ~MetricsHttp();  // stops the thread
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Binds `host_port` ("127.0.0.1:9100", "0.0.0.0:9100") and serves
  // `render`'s text from now on.
  Status Start(const std::string& host_port, Render render);

 private:
  void Serve();
  void Answer(int fd);

  int listen_fd_ = -1;
  Render render_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Checks "HOST:PORT" (an IPv4 address or a name, and a port): InvalidArgument
// naming `flag` otherwise.
Status CheckHostPort(const std::string& host_port, const std::string& flag);

}  // namespace dfs::transport
