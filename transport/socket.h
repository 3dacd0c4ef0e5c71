// Process-wide ZeroMQ context. Created lazily on first use, so a process that
// forks (the FUSE mount going to the background) can fork before any ZeroMQ
// thread exists.
#pragma once

namespace zmq {
class context_t;
}

namespace dfs::transport {

zmq::context_t& Context();

}  // namespace dfs::transport
