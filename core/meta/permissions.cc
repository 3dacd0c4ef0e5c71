#include "core/meta/permissions.h"

#include <sys/stat.h>

#include <vector>

#include "core/common/path.h"

namespace dfs::meta {

bool Checked(const Identity& who) { return !who.insecure && !who.trusted && who.role == Role::kClient && who.uid != 0; }

bool May(const Identity& who, const proto::Attr& a, uint32_t access) {
  if (!Checked(who)) return true;
  uint32_t bits = who.uid == a.uid ? (a.mode >> 6) : who.gid == a.gid ? (a.mode >> 3) : a.mode;
  return (bits & access & 7) == (access & 7);
}

Status Permissions::Denied(const std::string& what) const {
  return Status(Code::kPermissionDenied, what + ": permission denied (uid " + std::to_string(who_.uid) + ")");
}

Status Permissions::Reach(const std::string& path) {
  if (!Checked(who_) || path == "/") return Status::Ok();
  std::vector<std::string> dirs{"/"};
  for (size_t i = path.find('/', 1); i != std::string::npos; i = path.find('/', i + 1)) {
    dirs.push_back(path.substr(0, i));
  }
  for (const std::string& dir : dirs) {
    auto a = store_->Lookup(dir);
    if (!a.ok()) return a.status();
    if (!May(who_, *a, kMayExec)) return Denied(dir);
  }
  return Status::Ok();
}

Status Permissions::On(const std::string& path, uint32_t access) {
  if (!Checked(who_)) return Status::Ok();
  DFS_RETURN_IF_ERROR(Reach(path));
  DFS_ASSIGN_OR_RETURN(proto::Attr a, store_->Lookup(path));
  return May(who_, a, access) ? Status::Ok() : Denied(path);
}

Status Permissions::InParent(const std::string& path) {
  if (!Checked(who_)) return Status::Ok();
  if (path == "/") return Denied(path);
  return On(ParentPath(path), kMayWrite | kMayExec);
}

Status Permissions::Remove(const std::string& path) {
  if (!Checked(who_)) return Status::Ok();
  DFS_RETURN_IF_ERROR(InParent(path));
  DFS_ASSIGN_OR_RETURN(proto::Attr dir, store_->Lookup(ParentPath(path)));
  if (!(dir.mode & S_ISVTX)) return Status::Ok();
  DFS_ASSIGN_OR_RETURN(proto::Attr entry, store_->Lookup(path));
  return entry.uid == who_.uid || dir.uid == who_.uid ? Status::Ok() : Denied(path + " (sticky directory)");
}

Status Permissions::Create(const std::string& path, bool replace) {
  if (!Checked(who_)) return Status::Ok();
  return !replace && store_->Lookup(path).ok() ? On(path, kMayWrite) : InParent(path);
}

Status Permissions::Mkdir(const std::string& path, bool parents) {
  if (!Checked(who_)) return Status::Ok();
  if (!parents) return InParent(path);
  std::string at = path;
  while (at != "/" && !store_->Lookup(at).ok()) at = ParentPath(at);
  return at == path ? Status::Ok() : On(at, kMayWrite | kMayExec);
}

Status Permissions::Rename(const std::string& src, const std::string& dst) {
  if (!Checked(who_)) return Status::Ok();
  DFS_RETURN_IF_ERROR(Remove(src));
  return store_->Lookup(dst).ok() ? Remove(dst) : InParent(dst);
}

Status Permissions::SetAttr(const proto::SetAttrReq& req) {
  if (!Checked(who_)) return Status::Ok();
  DFS_RETURN_IF_ERROR(Reach(req.path));
  DFS_ASSIGN_OR_RETURN(proto::Attr a, store_->Lookup(req.path));
  const bool owner = a.uid == who_.uid;
  if ((req.set & proto::SetAttrReq::kUid) && req.uid != a.uid) return Denied("changing the owner of " + req.path);
  if ((req.set & proto::SetAttrReq::kGid) && req.gid != a.gid && (!owner || req.gid != who_.gid)) {
    return Denied("changing the group of " + req.path);
  }
  if ((req.set & proto::SetAttrReq::kMode) && !owner) return Denied("changing the mode of " + req.path);
  if ((req.set & (proto::SetAttrReq::kAtime | proto::SetAttrReq::kMtime)) && !owner && !May(who_, a, kMayWrite)) {
    return Denied("changing the times of " + req.path);
  }
  return Status::Ok();
}

}  // namespace dfs::meta
