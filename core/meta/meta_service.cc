#include "core/meta/meta_service.h"

#include <csignal>
#include <cstdio>

#include "core/common/path.h"
#include "core/common/protocol.h"
#include "transport/server_loop.h"

namespace dfs::meta {
namespace {

using proto::Op;

// Decodes the request of `op`, calls `fn` and encodes its result, with the
// types the operation table gives `op`.
template <Op op, typename Fn>
transport::Message Serve(const proto::Header& h, Fn&& fn) {
  typename proto::OpSpec<op>::Request req;
  Status st = proto::DecodeRequest<op>(h, &req);
  if (!st.ok()) return proto::EncodeError(h.op, h.id, st);
  auto result = fn(req);
  static_assert(std::is_same_v<decltype(result), Result<typename proto::OpSpec<op>::Reply>>,
                "the handler's result is not the reply type of its operation (op_table.h)");
  if (!result.ok()) return proto::EncodeError(h.op, h.id, result.status());
  return proto::Reply<op>(h.id, *result);
}

// Normalises a path from the wire; the client has done it already, but the
// server trusts no peer.
Result<std::string> WirePath(const std::string& path) { return NormalizePath(path); }

}  // namespace

transport::Message MetaService::Handle(transport::Message&& request) {
  return proto::Guarded("meta server", [&] { return Dispatch(std::move(request)); });
}

transport::Message MetaService::Dispatch(transport::Message&& request) {
  auto header = proto::DecodeHeader(request);
  if (!header.ok()) return proto::EncodeError(Op{0}, 0, header.status());
  const proto::Header& h = *header;
  switch (h.op) {
    case Op::kGetMap:
      return Serve<Op::kGetMap>(h, [&](const proto::Empty&) -> Result<proto::GetMapRsp> {
        const ClusterConfig& c = store_->config();
        return proto::GetMapRsp{c.cluster_id, c.servers, c.block_size, static_cast<uint32_t>(store_->lease_ms())};
      });
    case Op::kLookup:
      return Serve<Op::kLookup>(h, [&](const proto::PathReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        return store_->Lookup(p);
      });
    case Op::kCreate:
      return Serve<Op::kCreate>(h, [&](proto::CreateReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        return store_->Create(r);
      });
    case Op::kMkdir:
      return Serve<Op::kMkdir>(h, [&](proto::MkdirReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        return store_->Mkdir(r);
      });
    case Op::kSymlink:
      return Serve<Op::kSymlink>(h, [&](proto::SymlinkReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        return store_->Symlink(r);
      });
    case Op::kMknod:
      return Serve<Op::kMknod>(h, [&](proto::MknodReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        return store_->Mknod(r);
      });
    case Op::kSetAttr:
      return Serve<Op::kSetAttr>(h, [&](proto::SetAttrReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        return store_->SetAttr(r);
      });
    case Op::kSetXattr:
      return Serve<Op::kSetXattr>(h, [&](proto::XattrReq& r) -> Result<proto::Empty> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(store_->SetXattr(r));
        return proto::Empty{};
      });
    case Op::kGetXattr:
      return Serve<Op::kGetXattr>(h, [&](proto::XattrReq& r) -> Result<proto::XattrRsp> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        proto::XattrRsp rsp;
        DFS_ASSIGN_OR_RETURN(rsp.value, store_->GetXattr(r.path, r.name));
        return rsp;
      });
    case Op::kListXattr:
      return Serve<Op::kListXattr>(h, [&](proto::XattrReq& r) -> Result<proto::XattrRsp> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        proto::XattrRsp rsp;
        DFS_ASSIGN_OR_RETURN(rsp.names, store_->ListXattr(r.path));
        return rsp;
      });
    case Op::kRemoveXattr:
      return Serve<Op::kRemoveXattr>(h, [&](proto::XattrReq& r) -> Result<proto::Empty> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(store_->RemoveXattr(r.path, r.name));
        return proto::Empty{};
      });
    case Op::kReaddir:
      return Serve<Op::kReaddir>(h, [&](const proto::ReaddirReq& r) -> Result<proto::ReaddirRsp> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        return store_->Readdir(p, r.after, r.limit);
      });
    case Op::kUnlink:
      return Serve<Op::kUnlink>(h, [&](const proto::PathReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        return store_->Unlink(p);
      });
    case Op::kRmdir:
      return Serve<Op::kRmdir>(h, [&](const proto::PathReq& r) -> Result<proto::Empty> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        DFS_RETURN_IF_ERROR(store_->Rmdir(p));
        return proto::Empty{};
      });
    case Op::kRename:
      return Serve<Op::kRename>(h, [&](const proto::RenameReq& r) -> Result<proto::Empty> {
        DFS_ASSIGN_OR_RETURN(std::string src, WirePath(r.src));
        DFS_ASSIGN_OR_RETURN(std::string dst, WirePath(r.dst));
        DFS_RETURN_IF_ERROR(store_->Rename(src, dst));
        return proto::Empty{};
      });
    case Op::kLink:
      return Serve<Op::kLink>(h, [&](const proto::LinkReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(std::string src, WirePath(r.src));
        DFS_ASSIGN_OR_RETURN(std::string dst, WirePath(r.dst));
        return store_->Link(src, dst);
      });
    case Op::kOpenWrite:
      return Serve<Op::kOpenWrite>(h, [&](proto::OpenWriteReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        return store_->OpenWrite(r);
      });
    case Op::kCommit:
      return Serve<Op::kCommit>(
          h, [&](const proto::CommitReq& r) -> Result<proto::CommitRsp> { return store_->Commit(r); });
    case Op::kRenewLeases:
      return Serve<Op::kRenewLeases>(
          h, [&](const proto::LeaseReq& r) -> Result<proto::LeaseRsp> { return store_->RenewLeases(r); });
    case Op::kReleaseLeases:
      return Serve<Op::kReleaseLeases>(
          h, [&](const proto::LeaseReq& r) -> Result<proto::LeaseRsp> { return store_->ReleaseLeases(r); });
    case Op::kListDeleted:
      return Serve<Op::kListDeleted>(h, [&](const proto::ListDeletedReq& r) -> Result<proto::ListDeletedRsp> {
        return store_->ListDeleted(r.after, r.limit);
      });
    case Op::kGetExtents:
      return Serve<Op::kGetExtents>(
          h, [&](const proto::ExtentsReq& r) -> Result<proto::ExtentsRsp> { return store_->Extents(r); });
    case Op::kCreateMany:
      return Serve<Op::kCreateMany>(h, [&](const proto::CreateManyReq& r) -> Result<proto::CreateManyRsp> {
        if (r.files.size() > 10000) return InvalidArgument("at most 10000 files per CreateMany");
        proto::CreateManyRsp rsp;
        for (auto& a : store_->CreateMany(r.files)) {
          rsp.files.push_back(a.ok() ? *a : proto::Attr{});
          rsp.codes.push_back(static_cast<int>(a.status().code()));
          rsp.errors.push_back(a.status().message());
        }
        return rsp;
      });
    case Op::kCommitMany:
      return Serve<Op::kCommitMany>(h, [&](const proto::CommitManyReq& r) -> Result<proto::CommitManyRsp> {
        if (r.files.size() > 10000) return InvalidArgument("at most 10000 files per CommitMany");
        return store_->CommitMany(r.files);
      });
    case Op::kListFiles:
      return Serve<Op::kListFiles>(h, [&](const proto::ListFilesReq& r) -> Result<proto::ListFilesRsp> {
        return store_->ListFiles(r.after_fid, r.limit);
      });
    case Op::kSync:
      return Serve<Op::kSync>(h, [&](const proto::Empty&) -> Result<proto::Empty> {
        DFS_RETURN_IF_ERROR(store_->Sync());
        return proto::Empty{};
      });
    default:
      return proto::EncodeError(
          h.op, h.id,
          InvalidArgument("unknown operation " + std::to_string(static_cast<int>(h.op)) + " for the meta server"));
  }
}

void MetaService::Tick() {
  for (const Lease& l : store_->ExpireLeases()) {
    fprintf(stderr, "dfs meta: the write lease of %s on file id %llu expired%s\n", l.holder.name.c_str(),
            static_cast<unsigned long long>(l.fid),
            l.staged ? "; its unpublished copy is deleted (the name keeps what it had)" : "");
  }
}

Status RunMetaServer(const MetaServerOptions& options) {
  MetaStoreOptions store_options;
  store_options.lease_ms = static_cast<int64_t>(options.lease_seconds * 1000);
  DFS_ASSIGN_OR_RETURN(auto store, MetaStore::Open(options.dir, store_options));
  if (!options.data_servers.empty()) {
    const auto& stored = store->config().servers;
    if (!stored.empty() && options.data_servers.size() < stored.size()) {
      return InvalidArgument("--data-servers lists " + std::to_string(options.data_servers.size()) +
                             " servers but the cluster has " + std::to_string(stored.size()) +
                             "; servers cannot be removed");
    }
    DFS_RETURN_IF_ERROR(store->SetServers(options.data_servers));
  }
  if (store->config().servers.size() < 2) {
    return InvalidArgument("a cluster needs at least 2 data servers (--data-servers EP0,EP1,...); " +
                           std::to_string(store->config().servers.size()) + " given");
  }
  if (options.block_size) DFS_RETURN_IF_ERROR(store->SetDefaultBlockSize(options.block_size));

  transport::ServerLoop loop;
  DFS_RETURN_IF_ERROR(loop.Bind(options.listen));
  std::signal(SIGTERM, [](int) { transport::ServerLoop::RequestStop(); });
  std::signal(SIGINT, [](int) { transport::ServerLoop::RequestStop(); });
  fprintf(stderr, "dfs meta: cluster %s, %zu data servers, listening on %s\n", store->config().cluster_id.c_str(),
          store->config().servers.size(), options.listen.c_str());
  MetaService service(store.get());
  loop.Run([&](transport::Message&& m) { return service.Handle(std::move(m)); }, [&] { service.Tick(); });
  (void)store->Sync();
  fprintf(stderr, "dfs meta: stopped\n");
  return Status::Ok();
}

}  // namespace dfs::meta
