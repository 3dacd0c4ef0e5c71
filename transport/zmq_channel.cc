#include "transport/zmq_channel.h"

#include <atomic>
#include <cstring>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "transport/socket.h"

namespace dfs::transport {

using Clock = std::chrono::steady_clock;

namespace {

std::atomic<uint64_t> next_monitor{0};

}  // namespace

ZmqChannel::ZmqChannel(std::string endpoint, ChannelOptions options) : Channel(std::move(endpoint), options) {
  Reset();
}

ZmqChannel::~ZmqChannel() { CloseSocket(); }

void ZmqChannel::CloseSocket() {
  if (socket_ && monitor_) zmq_socket_monitor(static_cast<void*>(*socket_), nullptr, 0);
  monitor_.reset();
  socket_.reset();
}

void ZmqChannel::Reset() {
  CloseSocket();
  socket_ = std::make_unique<zmq::socket_t>(Context(), zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::immediate, 1);
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 1000);
  socket_->set(zmq::sockopt::sndhwm, 1000);
  socket_->set(zmq::sockopt::rcvhwm, 1000);
  if (options_.curve) {
    socket_->set(zmq::sockopt::curve_serverkey, options_.curve->server_public);
    socket_->set(zmq::sockopt::curve_publickey, options_.curve->own.public_key);
    socket_->set(zmq::sockopt::curve_secretkey, options_.curve->own.secret_key);
  }
  // Connection events tell at once when the server refuses or drops the
  // connection, instead of waiting out a timeout.
  std::string monitor = "inproc://dfs-channel-monitor-" + std::to_string(next_monitor++);
  if (zmq_socket_monitor(static_cast<void*>(*socket_), monitor.c_str(),
                         ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
    monitor_ = std::make_unique<zmq::socket_t>(Context(), zmq::socket_type::pair);
    monitor_->set(zmq::sockopt::linger, 0);
    monitor_->connect(monitor);
  }
  connected_ = refused_ = lost_ = refused_key_ = false;
  try {
    socket_->connect(endpoint_);
  } catch (const zmq::error_t&) {
    // An endpoint that cannot be parsed never connects; Send() reports it.
  }
  in_flight_ = 0;
}

void ZmqChannel::DrainEvents() {
  if (!monitor_) return;
  while (true) {
    std::vector<zmq::message_t> parts;
    try {
      if (!zmq::recv_multipart(*monitor_, std::back_inserter(parts), zmq::recv_flags::dontwait)) return;
    } catch (const zmq::error_t&) {
      return;
    }
    if (parts.empty() || parts[0].size() < 2) continue;
    uint16_t event;
    memcpy(&event, parts[0].data(), sizeof event);
    if (event == ZMQ_EVENT_CONNECTED) {
      connected_ = true;
      refused_ = false;
    } else if (event == ZMQ_EVENT_CONNECT_RETRIED) {
      refused_ = !connected_;
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
      connected_ = false;
      lost_ = true;
    } else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
      refused_key_ = true;  // connected, but the server would not take our key (or we need one)
    }
  }
}

bool ZmqChannel::Connected(int wait_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    // Send may have drained the event that told of a refused handshake
    // already: no event would wake the poll below for it.
    DrainEvents();
    if (refused_key_) return false;  // connected, but the server would not take our key (or we need one)
    zmq::pollitem_t items[2] = {{static_cast<void*>(*socket_), 0, ZMQ_POLLOUT, 0},
                                {monitor_ ? static_cast<void*>(*monitor_) : nullptr, 0, ZMQ_POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    try {
      zmq::poll(items, monitor_ ? 2 : 1, left);
    } catch (const zmq::error_t&) {
      return false;
    }
    if (items[0].revents & ZMQ_POLLOUT) return true;
    DrainEvents();
    if (refused_) return false;  // the server refused: not there
    if (Clock::now() >= deadline) return false;
  }
}

Status ZmqChannel::Send(Message request) {
  // With ZMQ_IMMEDIATE the first frame is refused (EAGAIN) while there is no
  // live connection; only then wait for one. A multipart message is queued
  // whole once its first frame is.
  // Frames are handed to ZeroMQ without a copy: moved, or (the shared
  // tail) kept alive by a reference until ZeroMQ has sent them.
  const size_t parts = request.parts();
  auto send_all = [&](bool wait) -> bool {
    for (size_t i = 0; i < parts + 1; ++i) {
      zmq::message_t frame;
      if (i > 0 && i - 1 < request.frames.size()) {
        auto* owned = new std::string(std::move(request.frames[i - 1]));
        frame = zmq::message_t(
            owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
      } else if (i > 0) {
        auto* kept = new SharedBytes(request.tail);
        frame = zmq::message_t(
            const_cast<char*>(kept->bytes.data()), kept->bytes.size(),
            [](void*, void* hint) { delete static_cast<SharedBytes*>(hint); }, kept);
      }
      int flags = i < parts ? ZMQ_SNDMORE : 0;
      if (i == 0 && !wait) flags |= ZMQ_DONTWAIT;
      auto sent = socket_->send(frame, static_cast<zmq::send_flags>(flags));
      if (!sent) return false;  // only the first frame can be refused
    }
    return true;
  };
  if (in_flight_ == 0) {
    // Nothing in flight can have been lost: forget drops of earlier connections.
    DrainEvents();
    lost_ = false;
  }
  try {
    if (!send_all(false)) {
      if (!Connected(options_.connect_timeout_ms)) {
        if (refused_key_ && !options_.curve) {
          return Status(Code::kPermissionDenied,
                        endpoint_ + " requires a key, and this client has none (give one with --key or DFS_KEY)");
        }
        if (refused_key_) {
          return Status(Code::kPermissionDenied,
                        endpoint_ + " refused our key: is this client's key (--key, DFS_KEY) admitted by the cluster?");
        }
        return Unavailable((refused_ ? "connection refused by " : "cannot connect to ") + endpoint_);
      }
      if (!send_all(false)) return Unavailable("cannot connect to " + endpoint_);
    }
  } catch (const zmq::error_t& e) {
    return Unavailable("sending to " + endpoint_ + ": " + e.what());
  }
  if (in_flight_++ == 0) last_activity_ = Clock::now();
  return Status::Ok();
}

Result<std::optional<Message>> ZmqChannel::TryReceive() {
  if (in_flight_ == 0) return Internal("receive with no request in flight");
  auto reply = ReceiveNow();
  if (!reply.ok()) return reply.status();
  if (reply->frames.size() > 0) return std::optional<Message>(std::move(*reply));
  // Nothing yet. Checking the connection costs a system call: do it at most
  // every 20 ms.
  auto now = Clock::now();
  if (now - last_check_ < std::chrono::milliseconds(20)) return std::optional<Message>();
  last_check_ = now;
  DrainEvents();
  // A dropped connection loses the requests in flight on it, even if it
  // comes back (the server restarted).
  if (lost_) return Unavailable("lost connection to " + endpoint_);
  if (now - last_activity_ > std::chrono::milliseconds(options_.reply_timeout_ms)) {
    return Unavailable("no reply from " + endpoint_ + " in " + std::to_string(options_.reply_timeout_ms / 1000) + " s");
  }
  return std::optional<Message>();
}

// Receives a whole reply if one is queued; an empty Message if none is.
Result<Message> ZmqChannel::ReceiveNow() {
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

void* ZmqChannel::PollHandle() { return static_cast<void*>(*socket_); }

}  // namespace dfs::transport
