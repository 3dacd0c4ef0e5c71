#include "core/client/meta_client.h"

#include "transport/channel.h"

namespace dfs::client {

MetaClient::MetaClient(const std::string& endpoint, const transport::Connector& connect,
                       const std::atomic<bool>* cancel)
    : endpoint_(endpoint), channel_(transport::Connect(endpoint, {2000, 15000, cancel}, connect)) {}

MetaClient::~MetaClient() = default;

Result<transport::Message> MetaClient::RoundTrip(transport::Message request) {
  auto reply = channel_->Call(std::move(request));
  if (!reply.ok()) {
    return Unavailable("cannot reach the meta server at " + endpoint_ + " (" + reply.status().message() +
                       "); is it running? set --meta or DFS_META");
  }
  return reply;
}

}  // namespace dfs::client
