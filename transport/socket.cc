#include "transport/socket.h"

#include <zmq.hpp>

namespace dfs::transport {

zmq::context_t& Context() {
  static zmq::context_t* context = new zmq::context_t(1);
  return *context;
}

}  // namespace dfs::transport
