#include "fake_network.h"

#include <chrono>
#include <deque>
#include <optional>

namespace dfs::testing {
namespace {

using Clock = std::chrono::steady_clock;

class FakeChannel final : public transport::Channel {
 public:
  FakeChannel(FakeNetwork* network, const std::string& endpoint, const transport::ChannelOptions& options)
      : Channel(endpoint, options), network_(network) {}

  int in_flight() const override { return static_cast<int>(pending_.size()); }

  Status Send(transport::Message request) override {
    auto server = network_->Find(endpoint_);
    if (!server || network_->IsCut(endpoint_)) return Unavailable("connection refused by " + endpoint_);
    Pending p;
    auto now = Clock::now();
    std::lock_guard<std::mutex> lock(server->serving);
    if (server->drop_requests > 0) {
      --server->drop_requests;
      p.ready = now + std::chrono::milliseconds(network_->reply_timeout_ms);
    } else {
      transport::Message reply = server->handler(std::move(request));
      if (server->drop_replies > 0) {
        --server->drop_replies;
        p.ready = now + std::chrono::milliseconds(network_->reply_timeout_ms);
      } else {
        p.reply = std::move(reply);
        p.ready = now + std::chrono::milliseconds(server->delay_ms);
      }
    }
    pending_.push_back(std::move(p));
    return Status::Ok();
  }

  Result<std::optional<transport::Message>> TryReceive() override {
    if (pending_.empty()) return Internal("receive with no request in flight");
    if (network_->IsCut(endpoint_)) return Unavailable("lost connection to " + endpoint_);
    Pending& p = pending_.front();
    if (Clock::now() < p.ready) return std::optional<transport::Message>();
    if (!p.reply) return Unavailable("no reply from " + endpoint_);
    std::optional<transport::Message> reply = std::move(p.reply);
    pending_.pop_front();
    return reply;
  }

  void Reset() override { pending_.clear(); }

 private:
  bool ReplyReady() override {
    return !pending_.empty() && (Clock::now() >= pending_.front().ready || network_->IsCut(endpoint_));
  }

  struct Pending {
    Clock::time_point ready;
    std::optional<transport::Message> reply;  // none: lost
  };
  FakeNetwork* network_;
  std::deque<Pending> pending_;
};

}  // namespace

void FakeNetwork::Serve(const std::string& endpoint, Handler handler) {
  auto server = std::make_shared<Server>();
  server->handler = std::move(handler);
  std::lock_guard<std::mutex> lock(mu_);
  servers_[endpoint] = std::move(server);
}

std::shared_ptr<FakeNetwork::Server> FakeNetwork::Find(const std::string& endpoint) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(endpoint);
  return it == servers_.end() ? nullptr : it->second;
}

bool FakeNetwork::IsCut(const std::string& endpoint) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(endpoint);
  return it == servers_.end() || it->second->cut;
}

void FakeNetwork::Cut(const std::string& endpoint, bool cut) {
  std::lock_guard<std::mutex> lock(mu_);
  servers_.at(endpoint)->cut = cut;
}

void FakeNetwork::DropRequests(const std::string& endpoint, int count) {
  auto server = Find(endpoint);
  std::lock_guard<std::mutex> lock(server->serving);
  server->drop_requests = count;
}

void FakeNetwork::DropReplies(const std::string& endpoint, int count) {
  auto server = Find(endpoint);
  std::lock_guard<std::mutex> lock(server->serving);
  server->drop_replies = count;
}

void FakeNetwork::Delay(const std::string& endpoint, int ms) {
  auto server = Find(endpoint);
  std::lock_guard<std::mutex> lock(server->serving);
  server->delay_ms = ms;
}

transport::Connector FakeNetwork::connector() {
  return [this](const std::string& endpoint, const transport::ChannelOptions& options) {
    return std::make_unique<FakeChannel>(this, endpoint, options);
  };
}

}  // namespace dfs::testing
