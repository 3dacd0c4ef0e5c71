// MetaClient: typed calls to the meta server. Fails within seconds, naming the
// endpoint, when the meta server cannot be reached.
// Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "core/common/protocol.h"
#include "core/common/status.h"
#include "transport/channel.h"


namespace dfs::client {

class MetaClient {
 public:
  explicit MetaClient(const std::string& endpoint, const transport::Connector& connect = nullptr);
  ~MetaClient();

  const std::string& endpoint() const { return endpoint_; }

  template <typename Req, typename Rsp>
  Status Call(proto::Op op, const Req& req, Rsp* rsp);

 private:
  Result<transport::Message> RoundTrip(transport::Message request);

  std::string endpoint_;
  std::unique_ptr<transport::Channel> channel_;
  uint64_t next_id_ = 1;
};

template <typename Req, typename Rsp>
Status MetaClient::Call(proto::Op op, const Req& req, Rsp* rsp) {
  DFS_ASSIGN_OR_RETURN(auto reply, RoundTrip(proto::Encode(op, next_id_++, req)));
  return proto::DecodeReply(reply, rsp);
}

}  // namespace dfs::client
