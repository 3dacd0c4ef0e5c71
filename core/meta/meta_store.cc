#include "core/meta/meta_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/common/path.h"
#include "core/common/placement.h"
#include "core/meta/meta_store_util.h"
#include "core/meta/sqlite_util.h"

namespace dfs::meta {
namespace {

// Schema version 2 added atime_ns, target, rdev and the xattrs table.
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS config(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS servers(idx INTEGER PRIMARY KEY, endpoint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inodes(
  fid INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  type INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL DEFAULT 0,
  gid INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  nlink INTEGER NOT NULL DEFAULT 1,
  seed INTEGER NOT NULL DEFAULT 0,
  stripe INTEGER NOT NULL DEFAULT 0,
  block_size INTEGER NOT NULL DEFAULT 0,
  generation INTEGER NOT NULL DEFAULT 0,
  truncate_generation INTEGER NOT NULL DEFAULT 0,
  atime_ns INTEGER NOT NULL DEFAULT 0,
  target TEXT NOT NULL DEFAULT '',
  rdev INTEGER NOT NULL DEFAULT 0,
  data_blocks INTEGER NOT NULL DEFAULT 0,
  UNIQUE(parent, name));
CREATE TABLE IF NOT EXISTS deleted(
  fid INTEGER PRIMARY KEY, seed INTEGER, stripe INTEGER, block_size INTEGER, deleted_ns INTEGER);
CREATE TABLE IF NOT EXISTS xattrs(
  fid INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY(fid, name));
CREATE TABLE IF NOT EXISTS dentries(
  parent INTEGER NOT NULL, name TEXT NOT NULL, fid INTEGER NOT NULL, PRIMARY KEY(parent, name));
CREATE INDEX IF NOT EXISTS dentries_by_fid ON dentries(fid);
CREATE TABLE IF NOT EXISTS extents(
  fid INTEGER NOT NULL, first_block INTEGER NOT NULL, end_block INTEGER NOT NULL, PRIMARY KEY(fid, first_block));
CREATE TABLE IF NOT EXISTS staged(
  fid INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name TEXT NOT NULL, holder_id INTEGER NOT NULL,
  holder_name TEXT NOT NULL);
)sql";

// Version 4: extent maps (holes), and staged files of atomic replaces. Every
// file written before was dense: one extent over all its blocks.
const char* kUpgradeToV4 = R"sql(
ALTER TABLE inodes ADD COLUMN data_blocks INTEGER NOT NULL DEFAULT 0;
UPDATE inodes SET data_blocks = (size + block_size - 1) / block_size WHERE type = 1 AND block_size > 0;
CREATE TABLE extents(
  fid INTEGER NOT NULL, first_block INTEGER NOT NULL, end_block INTEGER NOT NULL, PRIMARY KEY(fid, first_block));
INSERT INTO extents(fid, first_block, end_block) SELECT fid, 0, data_blocks FROM inodes WHERE data_blocks > 0;
)sql";

const char* kUpgradeToV2 = R"sql(
ALTER TABLE inodes ADD COLUMN atime_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inodes ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE inodes ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0;
UPDATE inodes SET atime_ns = mtime_ns;
)sql";

// Version 3: names live in dentries, so a file may have several (hard
// links). inodes.parent and inodes.name stay as one of the inode's names.
const char* kUpgradeToV3 = R"sql(
CREATE TABLE dentries(
  parent INTEGER NOT NULL, name TEXT NOT NULL, fid INTEGER NOT NULL, PRIMARY KEY(parent, name));
INSERT INTO dentries(parent, name, fid) SELECT parent, name, fid FROM inodes WHERE fid != 1;
)sql";

const char* kColumns =
    "fid, name, type, mode, uid, gid, size, mtime_ns, ctime_ns, nlink, seed, stripe, block_size, "
    "generation, truncate_generation, atime_ns, target, rdev, data_blocks, "
    "EXISTS(SELECT 1 FROM xattrs x WHERE x.fid = inodes.fid)";
// The same, for an entry found by name: the name is the dentry's.
const char* kEntryColumns =
    "i.fid, d.name, i.type, i.mode, i.uid, i.gid, i.size, i.mtime_ns, i.ctime_ns, i.nlink, i.seed, i.stripe, "
    "i.block_size, i.generation, i.truncate_generation, i.atime_ns, i.target, i.rdev, i.data_blocks, "
    "EXISTS(SELECT 1 FROM xattrs x WHERE x.fid = i.fid) "
    "FROM dentries d JOIN inodes i ON i.fid = d.fid";

Attr ReadAttr(Stmt& s) {
  sqlite3_stmt* r = s.get();
  Attr a;
  a.fid = sqlite3_column_int64(r, 0);
  a.name = s.Text(1);
  a.type = sqlite3_column_int(r, 2);
  a.mode = sqlite3_column_int(r, 3);
  a.uid = static_cast<uint32_t>(sqlite3_column_int64(r, 4));
  a.gid = static_cast<uint32_t>(sqlite3_column_int64(r, 5));
  a.size = sqlite3_column_int64(r, 6);
  a.mtime_ns = sqlite3_column_int64(r, 7);
  a.ctime_ns = sqlite3_column_int64(r, 8);
  a.nlink = sqlite3_column_int(r, 9);
  a.placement_seed = static_cast<uint64_t>(sqlite3_column_int64(r, 10));
  a.stripe_width = sqlite3_column_int(r, 11);
  a.block_size = sqlite3_column_int(r, 12);
  a.generation = sqlite3_column_int64(r, 13);
  a.truncate_generation = sqlite3_column_int64(r, 14);
  a.atime_ns = sqlite3_column_int64(r, 15);
  a.target = s.Text(16);
  a.rdev = static_cast<uint64_t>(sqlite3_column_int64(r, 17));
  a.data_blocks = static_cast<uint64_t>(sqlite3_column_int64(r, 18));
  a.has_xattrs = sqlite3_column_int(r, 19) != 0;
  return a;
}

}  // namespace

MetaStore::MetaStore(sqlite3* db, MetaStoreOptions options)
    : db_(db), clock_ms_(std::move(options.clock_ms)), leases_(options.lease_ms) {
  if (!clock_ms_) {
    clock_ms_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

Result<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& dir, MetaStoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create meta directory " + dir + ": " + ec.message());
  std::string file = dir + "/meta.db";
  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Internal("cannot open " + file + ": " + msg);
  }
  std::unique_ptr<MetaStore> store(new MetaStore(db, std::move(options)));
  DFS_RETURN_IF_ERROR(store->Init().WithContext(file));
  return store;
}

MetaStore::~MetaStore() {
  for (auto& [sql, s] : statements_) sqlite3_finalize(s);
  sqlite3_close(db_);
}

Status MetaStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Internal("meta store: " + msg);
  }
  return Status::Ok();
}

sqlite3_stmt* MetaStore::Prepare(const char* sql) {
  for (auto& [text, s] : statements_) {
    if (text == sql) return s;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    fprintf(stderr, "meta store: cannot prepare %s: %s\n", sql, sqlite3_errmsg(db_));
    abort();  // a bug in this file, not a runtime condition
  }
  statements_.emplace_back(sql, s);
  return s;
}

Status MetaStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  // The meta server is the database's only user: it locks it once, now,
  // and holds the lock (not one per transaction), keeping the log's index
  // in its own memory. Two meta servers on one directory would each hand
  // out file ids and names: the second is refused.
  DFS_RETURN_IF_ERROR(Exec("PRAGMA locking_mode=EXCLUSIVE"));
  if (Status st = Exec("BEGIN EXCLUSIVE; COMMIT"); !st.ok()) {
    if (sqlite3_errcode(db_) == SQLITE_BUSY || sqlite3_errcode(db_) == SQLITE_LOCKED) {
      return Status(Code::kFailedPrecondition, "another meta server is using it (the database is locked)");
    }
    return st;
  }
  DFS_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
  // NORMAL in WAL mode: a commit survives a crash of this process (kill -9);
  // Sync() makes them durable against power loss too.
  DFS_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
  int version = 0;
  {
    Stmt s(Prepare("PRAGMA user_version"));
    if (s.Step() == SQLITE_ROW) version = sqlite3_column_int(s.get(), 0);
  }
  {
    Stmt s(Prepare("SELECT 1 FROM sqlite_master WHERE name = 'inodes'"));
    bool existing = s.Step() == SQLITE_ROW;
    if (existing && version < 2) DFS_RETURN_IF_ERROR(Exec(kUpgradeToV2));
    if (existing && version < 3) DFS_RETURN_IF_ERROR(Exec(kUpgradeToV3));
    if (existing && version < 4) DFS_RETURN_IF_ERROR(Exec(kUpgradeToV4));
  }
  DFS_RETURN_IF_ERROR(Exec(kSchema));
  DFS_RETURN_IF_ERROR(Exec("PRAGMA user_version = 4"));

  auto get = [&](const std::string& key) -> std::string {
    Stmt s(Prepare("SELECT value FROM config WHERE key = ?"));
    s.Bind(1, key);
    if (s.Step() == SQLITE_ROW) return s.Text(0);
    return "";
  };
  config_.cluster_id = get("cluster_id");
  if (config_.cluster_id.empty()) {
    std::random_device rd;
    char id[40];
    snprintf(id, sizeof id, "%08x-%08x-%08x", rd(), rd(), rd());
    config_.cluster_id = id;
    Txn txn(db_);
    Stmt s(Prepare("INSERT INTO config(key, value) VALUES ('cluster_id', ?)"));
    s.Bind(1, config_.cluster_id);
    if (s.Step() != SQLITE_DONE) return Internal("cannot store cluster id");
    Attr root;
    root.fid = kRootFid;
    root.type = static_cast<int>(proto::FileType::kDirectory);
    root.mode = 0755;
    root.atime_ns = root.mtime_ns = root.ctime_ns = NowNs();
    root.nlink = 2;
    DFS_RETURN_IF_ERROR(Insert(0, "", root));
    DFS_RETURN_IF_ERROR(SaveCounters());
    DFS_RETURN_IF_ERROR(txn.Commit());
  }
  if (std::string v = get("next_fid"); !v.empty()) next_fid_ = std::stoull(v);
  if (std::string v = get("next_generation"); !v.empty()) next_generation_ = std::stoull(v);
  if (std::string v = get("block_size"); !v.empty()) config_.block_size = std::stoul(v);

  sqlite3_stmt* s = Prepare("SELECT idx, endpoint FROM servers ORDER BY idx");
  while (sqlite3_step(s) == SQLITE_ROW) {
    config_.servers.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
  }
  sqlite3_reset(s);
  return RestoreStagedLeases();
}

Status MetaStore::SaveCounters() {
  Stmt s(Prepare("INSERT OR REPLACE INTO config(key, value) VALUES ('next_fid', ?), ('next_generation', ?)"));
  s.Bind(1, std::to_string(next_fid_)).Bind(2, std::to_string(next_generation_));
  if (s.Step() != SQLITE_DONE) return Internal(std::string("cannot save counters: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Status MetaStore::SetServers(const std::vector<std::string>& servers) {
  Txn txn(db_);
  DFS_RETURN_IF_ERROR(Exec("DELETE FROM servers"));
  for (size_t i = 0; i < servers.size(); ++i) {
    Stmt s(Prepare("INSERT INTO servers(idx, endpoint) VALUES (?, ?)"));
    s.Bind(1, static_cast<int64_t>(i)).Bind(2, servers[i]);
    if (s.Step() != SQLITE_DONE) return Internal("cannot store the data server map");
  }
  DFS_RETURN_IF_ERROR(txn.Commit());
  config_.servers = servers;
  return Status::Ok();
}

Status MetaStore::SetDefaultBlockSize(uint32_t block_size) {
  Stmt s(Prepare("INSERT OR REPLACE INTO config(key, value) VALUES ('block_size', ?)"));
  s.Bind(1, std::to_string(block_size));
  if (s.Step() != SQLITE_DONE) return Internal("cannot store the block size");
  config_.block_size = block_size;
  return Status::Ok();
}

Status MetaStore::Insert(uint64_t parent, const std::string& name, const Attr& a, bool named) {
  Stmt s(
      Prepare("INSERT INTO inodes(fid, parent, name, type, mode, uid, gid, size, mtime_ns, ctime_ns, nlink, "
              "seed, stripe, block_size, generation, truncate_generation, atime_ns, target, rdev) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  s.Bind(1, a.fid).Bind(2, parent).Bind(3, name).Bind(4, a.type).Bind(5, a.mode).Bind(6, a.uid);
  s.Bind(7, a.gid).Bind(8, a.size).Bind(9, a.mtime_ns).Bind(10, a.ctime_ns).Bind(11, a.nlink);
  s.Bind(12, static_cast<int64_t>(a.placement_seed)).Bind(13, a.stripe_width).Bind(14, a.block_size);
  s.Bind(15, a.generation).Bind(16, a.truncate_generation).Bind(17, a.atime_ns).Bind(18, a.target);
  s.Bind(19, static_cast<int64_t>(a.rdev));
  DFS_RETURN_IF_ERROR(s.Run("insert inode " + name));
  if (a.fid == kRootFid || !named) return Status::Ok();  // the root has no name
  return InsertName(parent, name, a.fid);
}

Status MetaStore::InsertName(uint64_t parent, const std::string& name, uint64_t fid) {
  Stmt d(Prepare("INSERT INTO dentries(parent, name, fid) VALUES (?, ?, ?)"));
  d.Bind(1, parent).Bind(2, name).Bind(3, fid);
  return d.Run("insert entry " + name);
}

// A directory's generation counts the changes of its entries: a client
// that made the last change knows whether another came between.
Status MetaStore::TouchDir(uint64_t fid, int links) {
  Stmt s(Prepare(
      "UPDATE inodes SET mtime_ns = ?1, ctime_ns = ?1, nlink = nlink + ?2, generation = generation + 1 WHERE fid = ?3"));
  s.Bind(1, NowNs()).Bind(2, links).Bind(3, fid);
  return s.Run("update directory " + std::to_string(fid));
}

Result<Attr> MetaStore::ParentForNew(const std::string& path) {
  if (path == "/") return Status(Code::kAlreadyExists, "/: file exists");
  DFS_ASSIGN_OR_RETURN(Attr parent, Resolve(ParentPath(path)));
  if (!IsDir(parent)) return Status(Code::kNotADirectory, ParentPath(path) + ": not a directory");
  if (Child(parent.fid, BaseName(path)).ok()) return Status(Code::kAlreadyExists, path + ": file exists");
  return parent;
}

// As Linux: a set-group-ID directory gives new entries its group, and new
// directories its set-group-ID bit.
Status MetaStore::InsertChild(const Attr& parent, const std::string& name, Attr* a) {
  a->fid = next_fid_++;
  a->atime_ns = a->mtime_ns = a->ctime_ns = NowNs();
  if (parent.mode & S_ISGID) {
    a->gid = parent.gid;
    if (IsDir(*a)) a->mode |= S_ISGID;
  }
  DFS_RETURN_IF_ERROR(Insert(parent.fid, name, *a));
  a->name = name;
  return TouchDir(parent.fid, IsDir(*a) ? 1 : 0);
}

Status MetaStore::RemoveName(uint64_t parent, const std::string& name, Attr* a) {
  Stmt d(Prepare("DELETE FROM dentries WHERE parent = ? AND name = ?"));
  d.Bind(1, parent).Bind(2, name);
  DFS_RETURN_IF_ERROR(d.Run("remove entry " + name));
  if (IsDir(*a) || a->nlink <= 1) {
    a->nlink = 0;
    return DeleteInode(*a);
  }
  // Other names are left: one fewer link, and the inode's own name is
  // one of those left.
  a->nlink -= 1;
  a->ctime_ns = NowNs();
  Stmt s(
      Prepare("UPDATE inodes SET nlink = nlink - 1, ctime_ns = ?1, "
              "parent = (SELECT parent FROM dentries WHERE fid = ?2 ORDER BY parent, name LIMIT 1), "
              "name = (SELECT name FROM dentries WHERE fid = ?2 ORDER BY parent, name LIMIT 1) WHERE fid = ?2"));
  s.Bind(1, a->ctime_ns).Bind(2, a->fid);
  return s.Run("unlink " + name);
}

Status MetaStore::DeleteInode(const Attr& a) {
  Stmt del(Prepare("DELETE FROM inodes WHERE fid = ?"));
  del.Bind(1, a.fid);
  DFS_RETURN_IF_ERROR(del.Run("delete " + a.name));
  Stmt names(Prepare("DELETE FROM dentries WHERE fid = ?"));
  names.Bind(1, a.fid);
  DFS_RETURN_IF_ERROR(names.Run("delete the entries of " + a.name));
  Stmt xattrs(Prepare("DELETE FROM xattrs WHERE fid = ?"));
  xattrs.Bind(1, a.fid);
  DFS_RETURN_IF_ERROR(xattrs.Run("delete the attributes of " + a.name));
  if (!IsFile(a)) return Status::Ok();
  DFS_RETURN_IF_ERROR(DeleteExtents(a.fid));
  Stmt rec(Prepare("INSERT OR REPLACE INTO deleted(fid, seed, stripe, block_size, deleted_ns) VALUES (?, ?, ?, ?, ?)"));
  rec.Bind(1, a.fid).Bind(2, static_cast<int64_t>(a.placement_seed)).Bind(3, a.stripe_width);
  rec.Bind(4, a.block_size).Bind(5, NowNs());
  return rec.Run("record the deletion of " + a.name);
}

Result<Attr> MetaStore::Child(uint64_t parent, const std::string& name) {
  static const std::string sql = std::string("SELECT ") + kEntryColumns + " WHERE d.parent = ? AND d.name = ?";
  Stmt s(Prepare(sql.c_str()));
  s.Bind(1, parent).Bind(2, name);
  if (s.Step() != SQLITE_ROW) return NotFound(name);
  return ReadAttr(s);
}

Result<Attr> MetaStore::ByFid(uint64_t fid) {
  static const std::string sql = std::string("SELECT ") + kColumns + " FROM inodes WHERE fid = ?";
  Stmt s(Prepare(sql.c_str()));
  s.Bind(1, fid);
  if (s.Step() != SQLITE_ROW) return NotFound("file id " + std::to_string(fid));
  return ReadAttr(s);
}

Result<Attr> MetaStore::Resolve(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(Attr cur, ByFid(kRootFid));
  std::string walked;
  for (const std::string& name : SplitPath(path)) {
    if (!IsDir(cur)) return Status(Code::kNotADirectory, (walked.empty() ? "/" : walked) + ": not a directory");
    walked += "/" + name;
    auto child = Child(cur.fid, name);
    if (!child.ok()) return NotFound(walked + ": no such file or directory");
    cur = std::move(*child);
  }
  cur.name = BaseName(path);
  return cur;
}

Result<Attr> MetaStore::Lookup(const std::string& path) { return Resolve(path); }

Result<Attr> MetaStore::Mkdir(const proto::MkdirReq& req) {
  const std::string& path = req.path;
  if (path == "/") {
    if (req.parents) return Resolve("/");
    return Status(Code::kAlreadyExists, "/: file exists");
  }
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr cur, ByFid(kRootFid));
  std::string walked;
  auto parts = SplitPath(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    if (!IsDir(cur)) return Status(Code::kNotADirectory, (walked.empty() ? "/" : walked) + ": not a directory");
    walked += "/" + parts[i];
    auto child = Child(cur.fid, parts[i]);
    if (child.ok()) {
      if (last) {
        if (req.parents && IsDir(*child)) return *child;
        return Status(Code::kAlreadyExists, walked + ": file exists");
      }
      cur = std::move(*child);
      continue;
    }
    if (!last && !req.parents) return NotFound(walked + ": no such file or directory");
    Attr d;
    d.type = static_cast<int>(proto::FileType::kDirectory);
    d.mode = req.mode & 07777;
    d.uid = req.uid;
    d.gid = req.gid;
    d.nlink = 2;
    DFS_RETURN_IF_ERROR(InsertChild(cur, parts[i], &d));
    cur = d;
  }
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  return cur;
}

Result<Attr> MetaStore::Symlink(const proto::SymlinkReq& req) {
  if (req.target.empty()) return Status(Code::kNotFound, req.path + ": empty symbolic link target");
  if (req.target.size() >= kMaxPathLength || req.target.find('\0') != std::string::npos) {
    return Status(Code::kNameTooLong, req.path + ": symbolic link target too long");
  }
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr parent, ParentForNew(req.path));
  Attr a;
  a.type = static_cast<int>(proto::FileType::kSymlink);
  a.mode = 0777;
  a.uid = req.uid;
  a.gid = req.gid;
  a.size = req.target.size();
  a.target = req.target;
  DFS_RETURN_IF_ERROR(InsertChild(parent, BaseName(req.path), &a));
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

Result<Attr> MetaStore::Mknod(const proto::MknodReq& req) {
  if (req.type < static_cast<int>(proto::FileType::kFifo) || req.type > static_cast<int>(proto::FileType::kSocket)) {
    return InvalidArgument(req.path + ": mknod makes FIFOs, devices and sockets only");
  }
  // As mknod(2): a device node only for the superuser (CAP_MKNOD).
  const bool device = req.type == static_cast<int>(proto::FileType::kCharDevice) ||
                      req.type == static_cast<int>(proto::FileType::kBlockDevice);
  if (device && req.uid != 0) return Status(Code::kNotPermitted, req.path + ": only root makes device nodes");
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr parent, ParentForNew(req.path));
  Attr a;
  a.type = req.type;
  a.mode = req.mode & 07777;
  a.uid = req.uid;
  a.gid = req.gid;
  a.rdev = req.rdev;
  DFS_RETURN_IF_ERROR(InsertChild(parent, BaseName(req.path), &a));
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

Result<proto::ReaddirRsp> MetaStore::Readdir(const std::string& path, const std::string& after, uint32_t limit) {
  DFS_ASSIGN_OR_RETURN(Attr dir, Resolve(path));
  proto::ReaddirRsp rsp;
  if (!IsDir(dir)) {
    rsp.entries.push_back(dir);
    return rsp;
  }
  limit = std::min<uint32_t>(std::max<uint32_t>(limit, 1), 10000);
  static const std::string sql =
      std::string("SELECT ") + kEntryColumns + " WHERE d.parent = ? AND d.name > ? ORDER BY d.name LIMIT ?";
  Stmt s(Prepare(sql.c_str()));
  s.Bind(1, dir.fid).Bind(2, after).Bind(3, limit + 1);
  while (s.Step() == SQLITE_ROW) rsp.entries.push_back(ReadAttr(s));
  if (rsp.entries.size() > limit) {
    rsp.entries.pop_back();
    rsp.more = true;
  }
  return rsp;
}

Result<Attr> MetaStore::Link(const std::string& src, const std::string& dst) {
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(src));
  if (IsDir(a)) return Status(Code::kNotPermitted, src + ": is a directory (no hard links to directories)");
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr parent, ParentForNew(dst));
  DFS_RETURN_IF_ERROR(InsertName(parent.fid, BaseName(dst), a.fid));
  a.nlink += 1;
  a.ctime_ns = NowNs();
  Stmt s(Prepare("UPDATE inodes SET nlink = nlink + 1, ctime_ns = ? WHERE fid = ?"));
  s.Bind(1, a.ctime_ns).Bind(2, a.fid);
  DFS_RETURN_IF_ERROR(s.Run("link " + src));
  DFS_RETURN_IF_ERROR(TouchDir(parent.fid));
  DFS_RETURN_IF_ERROR(txn.Commit());
  a.name = BaseName(dst);
  return a;
}

Result<Attr> MetaStore::Unlink(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  if (IsDir(a)) return Status(Code::kIsADirectory, path + ": is a directory");
  DFS_ASSIGN_OR_RETURN(Attr parent, Resolve(ParentPath(path)));
  Txn txn(db_);
  DFS_RETURN_IF_ERROR(RemoveName(parent.fid, BaseName(path), &a));
  DFS_RETURN_IF_ERROR(TouchDir(parent.fid));
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

Status MetaStore::Rmdir(const std::string& path) {
  if (path == "/") return InvalidArgument("/: cannot remove the root directory");
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  if (!IsDir(a)) return Status(Code::kNotADirectory, path + ": not a directory");
  DFS_ASSIGN_OR_RETURN(Attr parent, Resolve(ParentPath(path)));
  Txn txn(db_);
  {
    Stmt s(Prepare("SELECT 1 FROM dentries WHERE parent = ? LIMIT 1"));
    s.Bind(1, a.fid);
    if (s.Step() == SQLITE_ROW) return Status(Code::kNotEmpty, path + ": directory not empty");
  }
  DFS_RETURN_IF_ERROR(RemoveName(parent.fid, BaseName(path), &a));
  DFS_RETURN_IF_ERROR(TouchDir(parent.fid, -1));
  return txn.Commit();
}

Status MetaStore::Rename(const std::string& src, const std::string& dst) {
  if (src == "/" || dst == "/") return InvalidArgument("cannot rename the root directory");
  if (dst.size() > src.size() && dst.compare(0, src.size(), src) == 0 && dst[src.size()] == '/') {
    return InvalidArgument("cannot move " + src + " into itself (" + dst + ")");
  }
  DFS_ASSIGN_OR_RETURN(Attr from, Resolve(src));
  if (src == dst) return Status::Ok();
  DFS_ASSIGN_OR_RETURN(Attr from_parent, Resolve(ParentPath(src)));
  DFS_ASSIGN_OR_RETURN(Attr to_parent, Resolve(ParentPath(dst)));
  if (!IsDir(to_parent)) return Status(Code::kNotADirectory, ParentPath(dst) + ": not a directory");
  Txn txn(db_);
  int moved_dir = IsDir(from) ? 1 : 0;
  int replaced_dir = 0;
  auto existing = Child(to_parent.fid, BaseName(dst));
  if (existing.ok() && existing->fid == from.fid) return Status::Ok();  // two links to one file: nothing to do
  if (existing.ok()) {
    if (IsDir(*existing)) {
      if (!IsDir(from)) return Status(Code::kIsADirectory, dst + ": is a directory");
      Stmt s(Prepare("SELECT 1 FROM dentries WHERE parent = ? LIMIT 1"));
      s.Bind(1, existing->fid);
      if (s.Step() == SQLITE_ROW) return Status(Code::kNotEmpty, dst + ": directory not empty");
      replaced_dir = 1;
    } else if (IsDir(from)) {
      return Status(Code::kNotADirectory, dst + ": not a directory");
    }
    DFS_RETURN_IF_ERROR(RemoveName(to_parent.fid, BaseName(dst), &*existing));
  }
  Stmt mv(Prepare("UPDATE dentries SET parent = ?, name = ? WHERE parent = ? AND name = ?"));
  mv.Bind(1, to_parent.fid).Bind(2, BaseName(dst)).Bind(3, from_parent.fid).Bind(4, BaseName(src));
  DFS_RETURN_IF_ERROR(mv.Run("rename " + src));
  // The inode's own name follows if it was this one.
  Stmt own(
      Prepare("UPDATE inodes SET parent = CASE WHEN parent = ?1 AND name = ?2 THEN ?3 ELSE parent END, "
              "name = CASE WHEN parent = ?1 AND name = ?2 THEN ?4 ELSE name END, ctime_ns = ?5 WHERE fid = ?6"));
  own.Bind(1, from_parent.fid).Bind(2, BaseName(src)).Bind(3, to_parent.fid).Bind(4, BaseName(dst));
  own.Bind(5, NowNs()).Bind(6, from.fid);
  DFS_RETURN_IF_ERROR(own.Run("rename " + src));
  if (from_parent.fid == to_parent.fid) {
    DFS_RETURN_IF_ERROR(TouchDir(to_parent.fid, -replaced_dir));
  } else {
    DFS_RETURN_IF_ERROR(TouchDir(from_parent.fid, -moved_dir));
    DFS_RETURN_IF_ERROR(TouchDir(to_parent.fid, moved_dir - replaced_dir));
  }
  return txn.Commit();
}

Result<std::string> MetaStore::PathOf(uint64_t fid) {
  std::string path;
  Stmt s(Prepare("SELECT parent, name FROM inodes WHERE fid = ?"));
  for (int depth = 0; fid != kRootFid && depth < 4096; ++depth) {
    sqlite3_bind_int64(s.get(), 1, fid);
    if (s.Step() != SQLITE_ROW) return NotFound("file id " + std::to_string(fid));
    uint64_t parent = sqlite3_column_int64(s.get(), 0);
    path = "/" + s.Text(1) + path;
    sqlite3_reset(s.get());
    fid = parent;
  }
  return path.empty() ? "/" : path;
}

Result<proto::ListFilesRsp> MetaStore::ListFiles(uint64_t after_fid, uint32_t limit) {
  limit = std::min<uint32_t>(std::max<uint32_t>(limit, 1), 10000);
  static const std::string sql =
      std::string("SELECT ") + kColumns + " FROM inodes WHERE fid > ? AND type = 1 ORDER BY fid LIMIT ?";
  proto::ListFilesRsp rsp;
  rsp.next_fid = next_fid_;
  {
    Stmt s(Prepare(sql.c_str()));
    s.Bind(1, after_fid).Bind(2, limit + 1);
    while (s.Step() == SQLITE_ROW) rsp.files.push_back(ReadAttr(s));
  }
  if (rsp.files.size() > limit) {
    rsp.files.pop_back();
    rsp.more = true;
  }
  for (Attr& a : rsp.files) {
    auto path = PathOf(a.fid);
    if (path.ok()) a.name = *path;
  }
  return rsp;
}

Result<proto::ListDeletedRsp> MetaStore::ListDeleted(uint64_t after, uint32_t limit) {
  limit = std::min<uint32_t>(std::max<uint32_t>(limit, 1), 100000);
  proto::ListDeletedRsp rsp;
  rsp.cluster_id = config_.cluster_id;
  rsp.next = after;
  Stmt s(Prepare("SELECT rowid, fid FROM deleted WHERE rowid > ? ORDER BY rowid LIMIT ?"));
  s.Bind(1, after).Bind(2, static_cast<int64_t>(limit) + 1);
  while (s.Step() == SQLITE_ROW) {
    if (rsp.fids.size() == limit) {
      rsp.more = true;
      break;
    }
    rsp.next = sqlite3_column_int64(s.get(), 0);
    rsp.fids.push_back(sqlite3_column_int64(s.get(), 1));
  }
  return rsp;
}

Status MetaStore::Sync() {
  // Every commit is in the write-ahead log or, after a checkpoint (which
  // syncs in NORMAL mode), in the database: an fdatasync of the log makes
  // them all durable, without copying the log into the database.
  const std::string wal = std::string(sqlite3_db_filename(db_, "main")) + "-wal";
  int fd = open(wal.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : Internal("cannot open " + wal + ": " + strerror(errno));
  int rc = fdatasync(fd);
  int err = errno;
  close(fd);
  return rc == 0 ? Status::Ok() : Internal("fdatasync " + wal + ": " + strerror(err));
}

}  // namespace dfs::meta
