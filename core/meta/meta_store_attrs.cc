// MetaStore: attribute changes (chmod, chown, utimens) and extended
// attributes. Permission checks are the client's (the FUSE mount runs with
// default_permissions, so the kernel checks them); the store keeps values.
#include <sqlite3.h>

#include "core/meta/meta_store.h"
#include "core/meta/sqlite_util.h"

namespace dfs::meta {
namespace {

constexpr size_t kMaxXattrName = 255;          // XATTR_NAME_MAX
constexpr size_t kMaxXattrValue = 64 << 10;    // XATTR_SIZE_MAX
constexpr size_t kMaxXattrsPerInode = 1024;

}  // namespace

Result<Attr> MetaStore::SetAttr(const proto::SetAttrReq& req) {
  using R = proto::SetAttrReq;
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(req.path));
  if (req.set & R::kMode) a.mode = req.mode & 07777;
  if (req.set & R::kUid) a.uid = req.uid;
  if (req.set & R::kGid) a.gid = req.gid;
  if (req.set & R::kAtime) a.atime_ns = req.atime_ns;
  if (req.set & R::kMtime) a.mtime_ns = req.mtime_ns;
  a.ctime_ns = NowNs();
  Stmt s(Prepare("UPDATE inodes SET mode = ?, uid = ?, gid = ?, atime_ns = ?, mtime_ns = ?, ctime_ns = ? "
                 "WHERE fid = ?"));
  s.Bind(1, a.mode).Bind(2, a.uid).Bind(3, a.gid).Bind(4, a.atime_ns).Bind(5, a.mtime_ns);
  s.Bind(6, a.ctime_ns).Bind(7, a.fid);
  DFS_RETURN_IF_ERROR(s.Run("change the attributes of " + req.path));
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

Status MetaStore::SetXattr(const proto::XattrReq& req) {
  if (req.name.empty() || req.name.size() > kMaxXattrName) {
    return Status(Code::kNameTooLong, req.path + ": attribute name must be 1 to 255 bytes");
  }
  if (req.value.size() > kMaxXattrValue) {
    return Status(Code::kResourceExhausted, req.path + ": attribute value over 64 KiB");
  }
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(req.path));
  bool exists = false;
  {
    Stmt s(Prepare("SELECT 1 FROM xattrs WHERE fid = ? AND name = ?"));
    s.Bind(1, a.fid).Bind(2, req.name);
    exists = s.Step() == SQLITE_ROW;
  }
  if (exists && (req.flags & proto::XattrReq::kCreate)) {
    return Status(Code::kAlreadyExists, req.path + ": attribute " + req.name + " exists");
  }
  if (!exists && (req.flags & proto::XattrReq::kReplace)) {
    return Status(Code::kNoAttribute, req.path + ": no attribute " + req.name);
  }
  if (!exists) {
    Stmt s(Prepare("SELECT COUNT(*) FROM xattrs WHERE fid = ?"));
    s.Bind(1, a.fid);
    if (s.Step() == SQLITE_ROW && static_cast<size_t>(sqlite3_column_int64(s.get(), 0)) >= kMaxXattrsPerInode) {
      return Status(Code::kResourceExhausted, req.path + ": too many attributes");
    }
  }
  Stmt put(Prepare("INSERT OR REPLACE INTO xattrs(fid, name, value) VALUES (?, ?, ?)"));
  put.Bind(1, a.fid).Bind(2, req.name).BindBlob(3, req.value);
  DFS_RETURN_IF_ERROR(put.Run("set attribute " + req.name + " of " + req.path));
  Stmt touch(Prepare("UPDATE inodes SET ctime_ns = ? WHERE fid = ?"));
  touch.Bind(1, NowNs()).Bind(2, a.fid);
  DFS_RETURN_IF_ERROR(touch.Run("update " + req.path));
  return txn.Commit();
}

Result<std::string> MetaStore::GetXattr(const std::string& path, const std::string& name) {
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  Stmt s(Prepare("SELECT value FROM xattrs WHERE fid = ? AND name = ?"));
  s.Bind(1, a.fid).Bind(2, name);
  if (s.Step() != SQLITE_ROW) return Status(Code::kNoAttribute, path + ": no attribute " + name);
  return s.Blob(0);
}

Result<std::vector<std::string>> MetaStore::ListXattr(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  Stmt s(Prepare("SELECT name FROM xattrs WHERE fid = ? ORDER BY name"));
  s.Bind(1, a.fid);
  std::vector<std::string> names;
  while (s.Step() == SQLITE_ROW) names.push_back(s.Text(0));
  return names;
}

Status MetaStore::RemoveXattr(const std::string& path, const std::string& name) {
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  Stmt s(Prepare("DELETE FROM xattrs WHERE fid = ? AND name = ?"));
  s.Bind(1, a.fid).Bind(2, name);
  DFS_RETURN_IF_ERROR(s.Run("remove attribute " + name + " of " + path));
  if (sqlite3_changes(db_) == 0) return Status(Code::kNoAttribute, path + ": no attribute " + name);
  Stmt touch(Prepare("UPDATE inodes SET ctime_ns = ? WHERE fid = ?"));
  touch.Bind(1, NowNs()).Bind(2, a.fid);
  DFS_RETURN_IF_ERROR(touch.Run("update " + path));
  return txn.Commit();
}

}  // namespace dfs::meta
