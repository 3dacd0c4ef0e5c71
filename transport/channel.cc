#include "transport/channel.h"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "transport/socket.h"

namespace dfs::transport {

using Clock = std::chrono::steady_clock;

Channel::Channel(std::string endpoint, ChannelOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {
  Reset();
}

Channel::~Channel() = default;

void Channel::Reset() {
  socket_ = std::make_unique<zmq::socket_t>(Context(), zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::immediate, 1);
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 1000);
  socket_->set(zmq::sockopt::sndhwm, 1000);
  socket_->set(zmq::sockopt::rcvhwm, 1000);
  try {
    socket_->connect(endpoint_);
  } catch (const zmq::error_t&) {
    // An endpoint that cannot be parsed never connects; Send() reports it.
  }
  in_flight_ = 0;
  disconnected_ = false;
}

bool Channel::Connected(int wait_ms) {
  zmq::pollitem_t item{static_cast<void*>(*socket_), 0, ZMQ_POLLOUT, 0};
  try {
    return zmq::poll(&item, 1, std::chrono::milliseconds(wait_ms)) > 0;
  } catch (const zmq::error_t&) {
    return false;
  }
}

Status Channel::Send(Message request) {
  // With ZMQ_IMMEDIATE the first frame is refused (EAGAIN) while there is no
  // live connection; only then wait for one. A multipart message is queued
  // whole once its first frame is.
  auto send_all = [&](bool wait) -> bool {
    for (size_t i = 0; i < request.frames.size() + 1; ++i) {
      zmq::message_t frame;
      if (i > 0) {
        auto* owned = new std::string(std::move(request.frames[i - 1]));
        frame = zmq::message_t(
            owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
      }
      int flags = i < request.frames.size() ? ZMQ_SNDMORE : 0;
      if (i == 0 && !wait) flags |= ZMQ_DONTWAIT;
      auto sent = socket_->send(frame, static_cast<zmq::send_flags>(flags));
      if (!sent) return false;  // only the first frame can be refused
    }
    return true;
  };
  try {
    if (!send_all(false)) {
      if (!Connected(options_.connect_timeout_ms)) return Unavailable("cannot connect to " + endpoint_);
      if (!send_all(false)) return Unavailable("cannot connect to " + endpoint_);
    }
  } catch (const zmq::error_t& e) {
    return Unavailable("sending to " + endpoint_ + ": " + e.what());
  }
  if (in_flight_++ == 0) last_activity_ = Clock::now();
  return Status::Ok();
}

Result<std::optional<Message>> Channel::TryReceive() {
  if (in_flight_ == 0) return Internal("receive with no request in flight");
  auto reply = ReceiveNow();
  if (!reply.ok()) return reply.status();
  if (reply->frames.size() > 0) return std::optional<Message>(std::move(*reply));
  // Nothing yet. Checking the connection costs a system call: do it at most
  // every 50 ms.
  auto now = Clock::now();
  if (now - last_check_ < std::chrono::milliseconds(50)) return std::optional<Message>();
  last_check_ = now;
  // POLLOUT under ZMQ_IMMEDIATE means a live connection exists.
  if (Connected(0)) {
    disconnected_ = false;
  } else if (!disconnected_) {
    disconnected_ = true;
    disconnected_since_ = now;
  } else if (now - disconnected_since_ > std::chrono::milliseconds(options_.connect_timeout_ms)) {
    return Unavailable("lost connection to " + endpoint_);
  }
  if (now - last_activity_ > std::chrono::milliseconds(options_.reply_timeout_ms)) {
    return Unavailable("no reply from " + endpoint_ + " in " + std::to_string(options_.reply_timeout_ms / 1000) +
                       " s");
  }
  return std::optional<Message>();
}

Result<Message> Channel::Receive() {
  while (true) {
    auto got = TryReceive();
    if (!got.ok()) return got.status();
    if (got->has_value()) return std::move(**got);
    WaitReadable({this}, 100);
  }
}

// Receives a whole reply if one is queued; an empty Message if none is.
Result<Message> Channel::ReceiveNow() {
  std::vector<zmq::message_t> parts;
  try {
    auto got = zmq::recv_multipart(*socket_, std::back_inserter(parts), zmq::recv_flags::dontwait);
    if (!got) return Message();
  } catch (const zmq::error_t& e) {
    return Unavailable("receiving from " + endpoint_ + ": " + e.what());
  }
  --in_flight_;
  last_activity_ = Clock::now();
  if (parts.size() < 2 || parts[0].size() != 0) {
    return Internal("malformed reply from " + endpoint_);
  }
  Message reply;
  reply.frames.reserve(parts.size() - 1);
  for (size_t i = 1; i < parts.size(); ++i) reply.frames.emplace_back(parts[i].to_string());
  return reply;
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
  for (Channel* c : channels) items.push_back({static_cast<void*>(*c->socket_), 0, ZMQ_POLLIN, 0});
  try {
    if (zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeout_ms)) <= 0) return -1;
  } catch (const zmq::error_t&) {
    return -1;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].revents & ZMQ_POLLIN) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace dfs::transport
