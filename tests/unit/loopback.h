// A ServerLoop on a free loopback port, for tests of the real transport.
#pragma once

#include <unistd.h>

#include <string>

#include "transport/server_loop.h"

namespace dfs::testing {

// Binds `loop` (with `curve` keys, if given) to a free port of 127.0.0.1
// from `base` on; its endpoint, or "" if none of 50 ports was free.
inline std::string BindLoopback(transport::ServerLoop& loop, int base, const transport::CurveServer* curve = nullptr) {
  for (int port = base + getpid() % 5000, tries = 0; tries < 50; ++port, ++tries) {
    std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
    if (loop.Bind(endpoint, curve).ok()) return endpoint;
  }
  return "";
}

}  // namespace dfs::testing
