// MetaClient: typed calls to the meta server. Fails within seconds, naming the
// endpoint, when the meta server cannot be reached.
// Thread-safety: one thread at a time.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/status.h"
#include "core/common/protocol.h"
#include "transport/channel.h"

namespace dfs::client {

class MetaClient {
 public:
  // `cancel` set (a server stopping): a wait for a reply gives up soon.
  explicit MetaClient(const std::string& endpoint, const transport::Connector& connect = nullptr,
                      const std::atomic<bool>* cancel = nullptr);
  ~MetaClient();

  const std::string& endpoint() const { return endpoint_; }

  // One request of operation `op`, typed by the operation table.
  template <proto::Op op>
  Status Call(const typename proto::OpSpec<op>::Request& req, typename proto::OpSpec<op>::Reply* rsp);

 private:
  Result<transport::Message> RoundTrip(transport::Message request);

  std::string endpoint_;
  std::unique_ptr<transport::Channel> channel_;
  uint64_t next_id_ = 1;
};

// A regular file by id, whatever its name is now (its name field holds its
// full path, empty for a staged file); NotFound once it is deleted.
// `next_fid`, if given, gets the meta server's file id counter (ids below it
// were handed out).
Result<proto::Attr> FileById(MetaClient& meta, uint64_t fid, uint64_t* next_fid = nullptr);

// The page of a file's extent map from block `first` on.
Result<proto::ExtentsRsp> ExtentsFrom(MetaClient& meta, uint64_t fid, uint64_t first);

template <proto::Op op>
Status MetaClient::Call(const typename proto::OpSpec<op>::Request& req, typename proto::OpSpec<op>::Reply* rsp) {
  DFS_ASSIGN_OR_RETURN(auto reply, RoundTrip(proto::Request<op>(next_id_++, req)));
  return proto::DecodeReplyTo<op>(reply, rsp);
}

}  // namespace dfs::client
