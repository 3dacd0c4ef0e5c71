// Options every client of the engine (CLI, mount) sets.
#pragma once

#include <functional>
#include <string>

namespace dfs::client {

struct ClientOptions {
  std::string meta = "tcp://127.0.0.1:7100";
  // How long a write waits for a data server that is down, in seconds; 0
  // waits forever (R10).
  double write_timeout_s = 0;
  bool verbose = false;
  // Where waits, resumes and repairs are reported (the CLI prints to stderr).
  std::function<void(const std::string&)> notice;
};

}  // namespace dfs::client
