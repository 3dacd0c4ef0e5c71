#include "core/meta/meta_service.h"

#include <cstdio>
#include <functional>

#include "core/common/path.h"
#include "core/common/protocol.h"
#include "core/meta/permissions.h"

namespace dfs::meta {
namespace {

using proto::Op;

// Calls `f` on each Attr a reply carries.
template <typename F>
void EachAttr(proto::Attr& a, F&& f) {
  f(&a);
}
template <typename F>
void EachAttr(proto::CreateManyRsp& r, F&& f) {
  for (proto::Attr& a : r.files) f(&a);
}
template <typename F>
void EachAttr(proto::ReaddirRsp& r, F&& f) {
  for (proto::Attr& a : r.entries) f(&a);
}
template <typename F>
void EachAttr(proto::ListFilesRsp& r, F&& f) {
  for (proto::Attr& a : r.files) f(&a);
}
template <typename F>
void EachAttr(proto::CommitRsp& r, F&& f) {
  f(&r.file);
  f(&r.replaced);
}
template <typename F>
void EachAttr(proto::CommitManyRsp& r, F&& f) {
  for (proto::Attr& a : r.replaced) f(&a);
}
template <typename F>
void EachAttr(proto::LeaseRsp& r, F&& f) {
  for (proto::Attr& a : r.deleted) f(&a);
}
template <typename T, typename F>
void EachAttr(T&, F&&) {}

// What Serve does beyond encoding a reply: gives each file in it its
// capability, and logs a refusal with the key it refused.
struct ReplyRules {
  std::function<void(proto::Attr*)> grant;
  std::function<void(const Status&)> refused;
};

// Decodes the request of `op`, calls `fn` and encodes its result, with the
// types the operation table gives `op`, under `rules`.
template <Op op, typename Fn>
transport::Message Serve(const proto::Header& h, const ReplyRules& rules, Fn&& fn) {
  typename proto::OpSpec<op>::Request req;
  Status st = proto::DecodeRequest<op>(h, &req);
  if (!st.ok()) return proto::EncodeError(h.op, h.id, st);
  auto result = fn(req);
  static_assert(std::is_same_v<decltype(result), Result<typename proto::OpSpec<op>::Reply>>,
                "the handler's result is not the reply type of its operation (op_table.h)");
  if (!result.ok()) {
    if (result.status().code() == Code::kPermissionDenied) rules.refused(result.status());
    return proto::EncodeError(h.op, h.id, result.status());
  }
  EachAttr(*result, rules.grant);
  return proto::Reply<op>(h.id, *result);
}

// Normalises a path from the wire; the client has done it already, but the
// server trusts no peer.
Result<std::string> WirePath(const std::string& path) { return NormalizePath(path); }

// A key that acts as itself creates as itself, whatever uid it names.
template <typename Req>
void Own(Req* r, const Identity& who) {
  if (Checked(who)) {
    r->uid = who.uid;
    r->gid = who.gid;
  }
}

Status NeedAdmin(const Identity& who, const char* what) {
  if (who.admin() || who.insecure) return Status::Ok();
  return Status(Code::kPermissionDenied, std::string(what) + " needs an admin key");
}

}  // namespace

transport::Message MetaService::Handle(transport::Message&& request) {
  return proto::Guarded("meta server", [&] { return Dispatch(std::move(request)); });
}

void MetaService::Grant(proto::Attr* a, const Identity& who, bool opened) const {
  if (!gate_ || !gate_->secure() || a->fid == 0 || a->type != static_cast<int>(proto::FileType::kFile)) return;
  uint32_t rights = kCapRead | kCapWrite;
  if (!opened)
    rights = (May(who, *a, kMayRead) ? uint32_t{kCapRead} : 0u) | (May(who, *a, kMayWrite) ? uint32_t{kCapWrite} : 0u);
  if (rights == 0) return;
  a->cap = gate_->cap_key().Issue(a->fid, rights, a->generation, WallClockNs() + capability_ns_);
}

transport::Message MetaService::Dispatch(transport::Message&& request) {
  auto header = proto::DecodeHeader(request);
  if (!header.ok()) return proto::EncodeError(Op{0}, 0, header.status());
  const proto::Header& h = *header;
  Result<Identity> identity = gate_ ? gate_->Who(request.peer) : Identity::Insecure();
  if (!identity.ok()) {
    LogRefusal("dfs meta", proto::OpName(h.op), request.peer, identity.status());
    return proto::EncodeError(h.op, h.id, identity.status());
  }
  return Namespace(h, *identity, request.peer);
}

proto::CreateManyRsp MetaService::CreateMany(const proto::CreateManyReq& r, const Identity& who) {
  // Each file is checked on its own; the permitted ones are created together.
  std::vector<Status> checks;
  std::vector<proto::CreateReq> permitted;
  for (proto::CreateReq f : r.files) {
    auto path = WirePath(f.path);
    Status st = path.status();
    if (st.ok()) {
      f.path = *path;
      st = Permissions(store_, who).InParent(f.path);
    }
    Own(&f, who);
    checks.push_back(st);
    if (st.ok()) permitted.push_back(f);
  }
  auto created = store_->CreateMany(permitted);
  proto::CreateManyRsp rsp;
  size_t next = 0;
  for (const Status& check : checks) {
    Result<proto::Attr> a = check.ok() ? std::move(created[next++]) : Result<proto::Attr>(check);
    rsp.files.push_back(a.ok() ? *a : proto::Attr{});
    rsp.codes.push_back(static_cast<int>(a.status().code()));
    rsp.errors.push_back(a.status().message());
  }
  return rsp;
}

std::vector<proto::Attr> MetaService::ParentsOf(std::initializer_list<std::string> paths) {
  std::vector<proto::Attr> dirs;
  std::string last;
  for (const std::string& p : paths) {
    std::string parent = ParentPath(p);
    if (!dirs.empty() && parent == last) {  // a rename within one directory
      dirs.push_back(dirs.back());
      continue;
    }
    auto dir = store_->Lookup(parent);
    if (!dir.ok()) return {};
    dirs.push_back(std::move(*dir));
    last = std::move(parent);
  }
  return dirs;
}

Result<proto::Attr> MetaService::WithParent(Result<proto::Attr> a, const std::string& path) {
  if (a.ok() && path != "/") a->dirs = ParentsOf({path});
  return a;
}

transport::Message MetaService::Namespace(const proto::Header& h, const Identity& who, const std::string& peer) {
  Permissions may(store_, who);
  auto refused = [&](const Status& st) { LogRefusal("dfs meta", proto::OpName(h.op), peer, st); };
  const ReplyRules grant{[&](proto::Attr* a) { Grant(a, who, false); }, refused};
  // A writer (a create, an open for writing, a commit under its lease) gets
  // read and write; its commit's replaced file and its abandoned staged
  // files come with write too, for their blocks to be deleted.
  const ReplyRules grant_open{[&](proto::Attr* a) { Grant(a, who, true); }, refused};
  switch (h.op) {
    case Op::kGetMap:
      return Serve<Op::kGetMap>(h, grant, [&](const proto::Empty&) -> Result<proto::GetMapRsp> {
        const ClusterConfig& c = store_->config();
        return proto::GetMapRsp{c.cluster_id, c.servers, c.block_size, static_cast<uint32_t>(store_->lease_ms()),
                                !gate_ || !gate_->secure()};
      });
    case Op::kListKeys:
      return Serve<Op::kListKeys>(h, grant, [&](const proto::Empty&) -> Result<proto::ListKeysRsp> {
        if (who.role != Role::kServer) return Status(Code::kPermissionDenied, "listing keys needs a server key");
        return proto::ListKeysRsp{gate_ ? ToEntries(gate_->keys()) : std::vector<KeyEntry>{}};
      });
    case Op::kLookup:
      return Serve<Op::kLookup>(h, grant, [&](const proto::PathReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.Reach(p));
        return store_->Lookup(p);
      });
    case Op::kCreate:
      return Serve<Op::kCreate>(h, grant_open, [&](proto::CreateReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.Create(r.path, r.replace));
        Own(&r, who);
        // A staged copy (dfs cp) changes its directory only at its commit.
        if (r.replace) return store_->Create(r);
        return WithParent(store_->Create(r), r.path);
      });
    case Op::kMkdir:
      return Serve<Op::kMkdir>(h, grant, [&](proto::MkdirReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.Mkdir(r.path, r.parents));
        Own(&r, who);
        return WithParent(store_->Mkdir(r), r.path);
      });
    case Op::kSymlink:
      return Serve<Op::kSymlink>(h, grant, [&](proto::SymlinkReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.InParent(r.path));
        Own(&r, who);
        return WithParent(store_->Symlink(r), r.path);
      });
    case Op::kMknod:
      return Serve<Op::kMknod>(h, grant, [&](proto::MknodReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.InParent(r.path));
        Own(&r, who);
        return WithParent(store_->Mknod(r), r.path);
      });
    case Op::kSetAttr:
      return Serve<Op::kSetAttr>(h, grant, [&](proto::SetAttrReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.SetAttr(r));
        return store_->SetAttr(r);
      });
    case Op::kSetXattr:
      return Serve<Op::kSetXattr>(h, grant, [&](proto::XattrReq& r) -> Result<proto::Empty> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.On(r.path, kMayWrite));
        DFS_RETURN_IF_ERROR(store_->SetXattr(r));
        return proto::Empty{};
      });
    case Op::kGetXattr:
      return Serve<Op::kGetXattr>(h, grant, [&](proto::XattrReq& r) -> Result<proto::XattrRsp> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.On(r.path, kMayRead));
        proto::XattrRsp rsp;
        DFS_ASSIGN_OR_RETURN(rsp.value, store_->GetXattr(r.path, r.name));
        return rsp;
      });
    case Op::kListXattr:
      return Serve<Op::kListXattr>(h, grant, [&](proto::XattrReq& r) -> Result<proto::XattrRsp> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.On(r.path, kMayRead));
        proto::XattrRsp rsp;
        DFS_ASSIGN_OR_RETURN(rsp.names, store_->ListXattr(r.path));
        return rsp;
      });
    case Op::kRemoveXattr:
      return Serve<Op::kRemoveXattr>(h, grant, [&](proto::XattrReq& r) -> Result<proto::Empty> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.On(r.path, kMayWrite));
        DFS_RETURN_IF_ERROR(store_->RemoveXattr(r.path, r.name));
        return proto::Empty{};
      });
    case Op::kReaddir:
      return Serve<Op::kReaddir>(h, grant, [&](const proto::ReaddirReq& r) -> Result<proto::ReaddirRsp> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.On(p, kMayRead));
        return store_->Readdir(p, r.after, r.limit);
      });
    case Op::kUnlink:
      return Serve<Op::kUnlink>(h, grant, [&](const proto::PathReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.Remove(p));
        return WithParent(store_->Unlink(p), p);
      });
    case Op::kRmdir:
      return Serve<Op::kRmdir>(h, grant, [&](const proto::PathReq& r) -> Result<proto::DirsRsp> {
        DFS_ASSIGN_OR_RETURN(std::string p, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.Remove(p));
        DFS_RETURN_IF_ERROR(store_->Rmdir(p));
        return proto::DirsRsp{ParentsOf({p})};
      });
    case Op::kRename:
      return Serve<Op::kRename>(h, grant, [&](const proto::RenameReq& r) -> Result<proto::DirsRsp> {
        DFS_ASSIGN_OR_RETURN(std::string src, WirePath(r.src));
        DFS_ASSIGN_OR_RETURN(std::string dst, WirePath(r.dst));
        DFS_RETURN_IF_ERROR(may.Rename(src, dst));
        DFS_RETURN_IF_ERROR(store_->Rename(src, dst));
        return proto::DirsRsp{ParentsOf({src, dst})};
      });
    case Op::kLink:
      return Serve<Op::kLink>(h, grant, [&](const proto::LinkReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(std::string src, WirePath(r.src));
        DFS_ASSIGN_OR_RETURN(std::string dst, WirePath(r.dst));
        DFS_RETURN_IF_ERROR(may.Reach(src));
        DFS_RETURN_IF_ERROR(may.InParent(dst));
        return WithParent(store_->Link(src, dst), dst);
      });
    case Op::kOpenWrite:
      return Serve<Op::kOpenWrite>(h, grant_open, [&](proto::OpenWriteReq& r) -> Result<proto::Attr> {
        DFS_ASSIGN_OR_RETURN(r.path, WirePath(r.path));
        DFS_RETURN_IF_ERROR(may.On(r.path, kMayWrite));
        return store_->OpenWrite(r);
      });
    case Op::kCommit:
      return Serve<Op::kCommit>(
          h, grant_open, [&](const proto::CommitReq& r) -> Result<proto::CommitRsp> { return store_->Commit(r); });
    case Op::kRenewLeases:
      return Serve<Op::kRenewLeases>(
          h, grant, [&](const proto::LeaseReq& r) -> Result<proto::LeaseRsp> { return store_->RenewLeases(r); });
    case Op::kReleaseLeases:
      return Serve<Op::kReleaseLeases>(
          h, grant_open, [&](const proto::LeaseReq& r) -> Result<proto::LeaseRsp> { return store_->ReleaseLeases(r); });
    case Op::kListDeleted:
      return Serve<Op::kListDeleted>(h, grant, [&](const proto::ListDeletedReq& r) -> Result<proto::ListDeletedRsp> {
        DFS_RETURN_IF_ERROR(NeedAdmin(who, "listing deleted files"));
        return store_->ListDeleted(r.after, r.limit);
      });
    case Op::kGetExtents:
      return Serve<Op::kGetExtents>(
          h, grant, [&](const proto::ExtentsReq& r) -> Result<proto::ExtentsRsp> { return store_->Extents(r); });
    case Op::kCreateMany:
      return Serve<Op::kCreateMany>(h, grant_open, [&](const proto::CreateManyReq& r) -> Result<proto::CreateManyRsp> {
        if (r.files.size() > 10000) return InvalidArgument("at most 10000 files per CreateMany");
        return CreateMany(r, who);
      });
    case Op::kCommitMany:
      return Serve<Op::kCommitMany>(h, grant_open, [&](const proto::CommitManyReq& r) -> Result<proto::CommitManyRsp> {
        if (r.files.size() > 10000) return InvalidArgument("at most 10000 files per CommitMany");
        return store_->CommitMany(r.files);
      });
    case Op::kListFiles:
      return Serve<Op::kListFiles>(h, grant, [&](const proto::ListFilesReq& r) -> Result<proto::ListFilesRsp> {
        // Every file's path: for admins and trusted mounts (a handle reads
        // its file by id), not for a key that acts as itself.
        if (Checked(who)) return Status(Code::kPermissionDenied, "listing every file needs an admin or trusted key");
        return store_->ListFiles(r.after_fid, r.limit);
      });
    case Op::kStatFile:
      return Serve<Op::kStatFile>(h, grant, [&](const proto::FileReq& r) -> Result<proto::Attr> {
        // An open handle's file by id, wherever its names went. As with an
        // NFS file handle, no directory on a path is searched.
        const std::string gone = "file id " + std::to_string(r.fid) + " is gone";
        if (r.fid == 0) return NotFound(gone);
        DFS_ASSIGN_OR_RETURN(proto::ListFilesRsp page, store_->ListFiles(r.fid - 1, 1));
        if (page.files.empty() || page.files[0].fid != r.fid) return NotFound(gone);
        // Its path is for keys that may list every file.
        if (Checked(who)) page.files[0].name.clear();
        return page.files[0];
      });
    case Op::kSync:
      return Serve<Op::kSync>(h, grant, [&](const proto::Empty&) -> Result<proto::Empty> {
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

}  // namespace dfs::meta
