#include "transport/channel.h"

#include <chrono>
#include <thread>
#include <zmq.hpp>

#include "transport/zmq_channel.h"

namespace dfs::transport {

std::unique_ptr<Channel> Connect(const std::string& endpoint, const ChannelOptions& options,
                                 const Connector& connector) {
  if (connector) return connector(endpoint, options);
  return std::make_unique<ZmqChannel>(endpoint, options);
}

Connector CurveConnector(std::shared_ptr<const CurveClient> keys) {
  return [keys](const std::string& endpoint, const ChannelOptions& options) -> std::unique_ptr<Channel> {
    ChannelOptions with_keys = options;
    with_keys.curve = keys;
    return std::make_unique<ZmqChannel>(endpoint, with_keys);
  };
}

Result<Message> Channel::Receive() {
  while (true) {
    if (options_.cancel && options_.cancel->load()) return Unavailable("stopping: gave up waiting for " + endpoint_);
    auto got = TryReceive();
    if (!got.ok()) return got.status();
    if (got->has_value()) return std::move(**got);
    WaitReadable({this}, 100);
  }
}

Result<Message> Channel::Call(Message request) {
  Status st = Send(std::move(request));
  if (!st.ok()) {
    Reset();
    return st;
  }
  auto reply = Receive();
  if (!reply.ok()) Reset();
  return reply;
}

int Channel::WaitReadable(const std::vector<Channel*>& channels, int timeout_ms) {
  std::vector<zmq::pollitem_t> items;
  items.reserve(channels.size());
  bool all_sockets = true;
  for (Channel* c : channels) {
    void* socket = c->PollHandle();
    all_sockets &= socket != nullptr;
    // A channel that is no socket is left out of the poll: fd -1 is ignored.
    items.push_back({socket, socket ? 0 : -1, static_cast<short>(socket ? ZMQ_POLLIN : 0), 0});
  }
  // Channels that are no sockets are asked in turn, polling the sockets
  // without waiting, every millisecond until the timeout.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    for (size_t i = 0; !all_sockets && i < channels.size(); ++i) {
      if (!items[i].socket && channels[i]->ReplyReady()) return static_cast<int>(i);
    }
    try {
      if (zmq::poll(items.data(), items.size(), std::chrono::milliseconds(all_sockets ? timeout_ms : 0)) > 0) {
        for (size_t i = 0; i < items.size(); ++i) {
          if (items[i].revents & ZMQ_POLLIN) return static_cast<int>(i);
        }
      }
    } catch (const zmq::error_t&) {
      return -1;
    }
    if (all_sockets || std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace dfs::transport
