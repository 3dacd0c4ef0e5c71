#include "core/client/meta_client.h"

#include "transport/channel.h"

namespace dfs::client {

MetaClient::MetaClient(const std::string& endpoint, const transport::Connector& connect,
                       const std::atomic<bool>* cancel)
    : endpoint_(endpoint), channel_(transport::Connect(endpoint, {2000, 15000, cancel}, connect)) {}

MetaClient::~MetaClient() = default;

Result<transport::Message> MetaClient::RoundTrip(transport::Message request) {
  auto reply = channel_->Call(std::move(request));
  if (!reply.ok() && reply.status().code() == Code::kPermissionDenied) {
    return Status(Code::kPermissionDenied, "meta server: " + reply.status().message());
  }
  if (!reply.ok()) {
    return Unavailable("cannot reach the meta server at " + endpoint_ + " (" + reply.status().message() +
                       "); is it running? set --meta or DFS_META");
  }
  return reply;
}

Result<proto::Attr> FileById(MetaClient& meta, uint64_t fid, uint64_t* next_fid) {
  proto::ListFilesReq req;
  req.after_fid = fid - 1;
  req.limit = 1;
  proto::ListFilesRsp page;
  DFS_RETURN_IF_ERROR(meta.Call<proto::Op::kListFiles>(req, &page));
  if (next_fid) *next_fid = page.next_fid;
  if (page.files.empty() || page.files[0].fid != fid) return NotFound("file id " + std::to_string(fid) + " is gone");
  return page.files[0];
}

Result<proto::ExtentsRsp> ExtentsFrom(MetaClient& meta, uint64_t fid, uint64_t first) {
  proto::ExtentsReq req;
  req.fid = fid;
  req.first = first;
  proto::ExtentsRsp page;
  DFS_RETURN_IF_ERROR(meta.Call<proto::Op::kGetExtents>(req, &page));
  return page;
}

}  // namespace dfs::client
