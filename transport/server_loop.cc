#include "transport/server_loop.h"

#include <cstdio>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "transport/socket.h"

namespace dfs::transport {
namespace {

// A last frame this large (block data) is handed to the handler where it
// arrived, not copied.
constexpr size_t kShareFrameBytes = 64 << 10;

// The public key the key check (ZAP) admitted the sender of `frame` with.
std::string PeerKey(zmq::message_t& frame) {
  const char* user = zmq_msg_gets(frame.handle(), "User-Id");
  return user ? user : "";
}

}  // namespace

std::atomic<bool> ServerLoop::stop_{false};

ServerLoop::ServerLoop() = default;
ServerLoop::~ServerLoop() = default;

void ServerLoop::RequestStop() { stop_ = true; }

void ServerLoop::Stop() { stop_this_ = true; }

Status ServerLoop::Bind(const std::string& endpoint, const CurveServer* curve) {
  if (curve) DFS_RETURN_IF_ERROR(ZapHandler::Admit(curve->admitted));
  try {
    socket_ = std::make_unique<zmq::socket_t>(Context(), zmq::socket_type::router);
    if (curve) {
      socket_->set(zmq::sockopt::curve_server, 1);
      socket_->set(zmq::sockopt::curve_secretkey, curve->own.secret_key);
      socket_->set(zmq::sockopt::zap_domain, "dfs");
    }
    socket_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxMessageBytes));
    socket_->set(zmq::sockopt::linger, 0);
    socket_->set(zmq::sockopt::router_mandatory, 0);
    socket_->bind(endpoint);
    curve_ = curve != nullptr;
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot listen on " + endpoint + ": " + e.what());
  }
  return Status::Ok();
}

void ServerLoop::Run(const Handler& handler, const Tick& tick, int tick_ms) {
  zmq::pollitem_t item{static_cast<void*>(*socket_), 0, ZMQ_POLLIN, 0};
  while (!stop_ && !stop_this_) {
    int n = 0;
    try {
      n = zmq::poll(&item, 1, std::chrono::milliseconds(tick_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      fprintf(stderr, "dfs: the server socket failed (%s); stopping\n", e.what());
      return;
    }
    if (n == 0) {
      if (tick) tick();
      continue;
    }
    // Drain what is queued, then run the tick once.
    for (int budget = 0; budget < 64 && !stop_ && !stop_this_; ++budget) {
      std::vector<zmq::message_t> parts;
      try {
        auto got = zmq::recv_multipart(*socket_, std::back_inserter(parts), zmq::recv_flags::dontwait);
        if (!got) break;
      } catch (const zmq::error_t& e) {
        break;
      }
      // Envelope: [identity][empty][frame0][frame1]...
      if (parts.size() < 3 || parts[1].size() != 0) continue;  // not ours: ignore
      // A handler that throws (std::bad_alloc, a library's error) costs the
      // client its request, not the server its life: the empty reply makes
      // the client fail at once ("malformed reply") instead of timing out.
      Message reply;
      try {
        Message request;
        request.frames.reserve(parts.size() - 2);
        // A large last frame (block data) stays in the buffer it arrived in.
        size_t copied = parts.size();
        if (parts.size() > 2 && parts.back().size() >= kShareFrameBytes) {
          auto kept = std::make_shared<zmq::message_t>(std::move(parts.back()));
          std::string_view bytes(static_cast<const char*>(kept->data()), kept->size());
          request.tail = SharedBytes{std::move(kept), bytes};
          --copied;
        }
        for (size_t i = 2; i < copied; ++i) request.frames.emplace_back(parts[i].to_string());
        if (curve_) request.peer = PeerKey(parts[2]);
        reply = handler(std::move(request));
        if (reply.tail) reply.frames.emplace_back(reply.tail.bytes);  // replies rarely share
        reply.tail = {};
      } catch (const std::exception& e) {
        fprintf(stderr, "dfs: a request failed: %s\n", e.what());
        reply.frames.clear();
      }
      try {
        socket_->send(std::move(parts[0]), zmq::send_flags::sndmore);
        socket_->send(zmq::message_t(), reply.frames.empty() ? zmq::send_flags::none : zmq::send_flags::sndmore);
        for (size_t i = 0; i < reply.frames.size(); ++i) {
          auto* owned = new std::string(std::move(reply.frames[i]));
          zmq::message_t frame(
              owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
          socket_->send(std::move(frame),
                        i + 1 < reply.frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
      } catch (const zmq::error_t&) {
        // The peer went away; nothing to do.
      }
    }
    if (tick) tick();
  }
}

}  // namespace dfs::transport
