#include "transport/zap_handler.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "transport/socket.h"

namespace dfs::transport {
namespace {

struct Zap {
  std::mutex mu;
  std::set<std::string> admitted;  // guarded by mu
  std::unique_ptr<zmq::socket_t> socket;
};

// One request: version, request id, domain, address, identity, mechanism,
// credentials (a CURVE client's 32-byte public key). The reply admits it
// (200) or not (400).
void Answer(Zap* zap, const std::vector<zmq::message_t>& request) {
  std::string status = "400", text = "unknown key", user;
  if (request.size() >= 7 && request[5].to_string() == "CURVE" && request[6].size() == 32) {
    char z85[41];
    zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), 32);
    bool admitted;
    {
      std::lock_guard<std::mutex> lock(zap->mu);
      admitted = zap->admitted.count(z85) > 0;
    }
    if (admitted) {
      status = "200";
      text = "OK";
      user = z85;
    } else {
      fprintf(stderr, "dfs: refused a connection from %s: its key %s is not admitted\n", request[3].to_string().c_str(),
              z85);
    }
  } else {
    text = "CURVE keys required";
  }
  std::vector<zmq::message_t> reply;
  reply.emplace_back(std::string("1.0"));
  reply.emplace_back(request.size() > 1 ? request[1].to_string() : std::string());
  reply.emplace_back(status);
  reply.emplace_back(text);
  reply.emplace_back(user);
  reply.emplace_back();
  zmq::send_multipart(*zap->socket, reply);
}

void Serve(Zap* zap) {
  while (true) {
    try {
      std::vector<zmq::message_t> request;
      if (zmq::recv_multipart(*zap->socket, std::back_inserter(request))) Answer(zap, request);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
    }
  }
}

}  // namespace

Status ZapHandler::Admit(std::set<std::string> keys) {
  static std::mutex start_mu;
  static Zap* zap = nullptr;  // never freed: it serves until the process ends
  std::lock_guard<std::mutex> start(start_mu);
  if (!zap) {
    auto fresh = std::make_unique<Zap>();
    try {
      fresh->socket = std::make_unique<zmq::socket_t>(Context(), zmq::socket_type::rep);
      fresh->socket->set(zmq::sockopt::linger, 0);
      fresh->socket->bind("inproc://zeromq.zap.01");
    } catch (const zmq::error_t& e) {
      return Internal(std::string("cannot start the key check (ZAP handler): ") + e.what());
    }
    zap = fresh.release();
    std::thread([z = zap] { Serve(z); }).detach();
  }
  std::lock_guard<std::mutex> lock(zap->mu);
  zap->admitted = std::move(keys);
  return Status::Ok();
}

}  // namespace dfs::transport
