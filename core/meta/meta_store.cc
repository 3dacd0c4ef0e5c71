#include "core/meta/meta_store.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "core/common/path.h"
#include "core/common/placement.h"

namespace dfs::meta {
namespace {

constexpr uint64_t kRootFid = 1;

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
  UNIQUE(parent, name));
CREATE TABLE IF NOT EXISTS deleted(
  fid INTEGER PRIMARY KEY, seed INTEGER, stripe INTEGER, block_size INTEGER, deleted_ns INTEGER);
)sql";

const char* kColumns =
    "fid, name, type, mode, uid, gid, size, mtime_ns, ctime_ns, nlink, seed, stripe, block_size, "
    "generation, truncate_generation";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Attr ReadAttr(sqlite3_stmt* s) {
  Attr a;
  a.fid = sqlite3_column_int64(s, 0);
  a.name = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
  a.type = sqlite3_column_int(s, 2);
  a.mode = sqlite3_column_int(s, 3);
  a.uid = sqlite3_column_int(s, 4);
  a.gid = sqlite3_column_int(s, 5);
  a.size = sqlite3_column_int64(s, 6);
  a.mtime_ns = sqlite3_column_int64(s, 7);
  a.ctime_ns = sqlite3_column_int64(s, 8);
  a.nlink = sqlite3_column_int(s, 9);
  a.placement_seed = static_cast<uint64_t>(sqlite3_column_int64(s, 10));
  a.stripe_width = sqlite3_column_int(s, 11);
  a.block_size = sqlite3_column_int(s, 12);
  a.generation = sqlite3_column_int64(s, 13);
  a.truncate_generation = sqlite3_column_int64(s, 14);
  return a;
}

bool IsDir(const Attr& a) { return a.type == static_cast<int>(proto::FileType::kDirectory); }

// Runs a statement to completion; resets it for the next use either way.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3_stmt* s_;
};

}  // namespace

// A transaction that rolls back unless committed.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) { sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr); }
  ~Txn() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status Commit() {
    done_ = true;
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      Status st = Internal(std::string("meta store commit failed: ") + sqlite3_errmsg(db_));
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return st;
    }
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

Result<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& dir) {
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
  std::unique_ptr<MetaStore> store(new MetaStore(db));
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
  DFS_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
  // NORMAL in WAL mode: a commit survives a crash of this process (kill -9);
  // Sync() checkpoints for durability against power loss.
  DFS_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
  DFS_RETURN_IF_ERROR(Exec(kSchema));

  auto get = [&](const std::string& key) -> std::string {
    Stmt s(Prepare("SELECT value FROM config WHERE key = ?"));
    s.Bind(1, key);
    if (s.Step() == SQLITE_ROW) return reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
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
    root.mtime_ns = root.ctime_ns = NowNs();
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
  return Status::Ok();
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

Status MetaStore::Insert(uint64_t parent, const std::string& name, const Attr& a) {
  Stmt s(Prepare(
      "INSERT INTO inodes(fid, parent, name, type, mode, uid, gid, size, mtime_ns, ctime_ns, nlink, "
      "seed, stripe, block_size, generation, truncate_generation) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  s.Bind(1, a.fid).Bind(2, parent).Bind(3, name).Bind(4, a.type).Bind(5, a.mode).Bind(6, a.uid);
  s.Bind(7, a.gid).Bind(8, a.size).Bind(9, a.mtime_ns).Bind(10, a.ctime_ns).Bind(11, a.nlink);
  s.Bind(12, static_cast<int64_t>(a.placement_seed)).Bind(13, a.stripe_width).Bind(14, a.block_size);
  s.Bind(15, a.generation).Bind(16, a.truncate_generation);
  if (s.Step() != SQLITE_DONE) return Internal(std::string("cannot insert inode: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Result<Attr> MetaStore::Child(uint64_t parent, const std::string& name) {
  static const std::string sql = std::string("SELECT ") + kColumns + " FROM inodes WHERE parent = ? AND name = ?";
  Stmt s(Prepare(sql.c_str()));
  s.Bind(1, parent).Bind(2, name);
  if (s.Step() != SQLITE_ROW) return NotFound(name);
  return ReadAttr(s.get());
}

Result<Attr> MetaStore::ByFid(uint64_t fid) {
  static const std::string sql = std::string("SELECT ") + kColumns + " FROM inodes WHERE fid = ?";
  Stmt s(Prepare(sql.c_str()));
  s.Bind(1, fid);
  if (s.Step() != SQLITE_ROW) return NotFound("file id " + std::to_string(fid));
  return ReadAttr(s.get());
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

Result<Attr> MetaStore::Create(const std::string& path, uint32_t block_size, uint32_t mode, bool exclusive) {
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr a, CreateInTxn(path, block_size, mode, exclusive));
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

std::vector<Result<Attr>> MetaStore::CreateMany(const std::vector<proto::CreateReq>& files) {
  std::vector<Result<Attr>> out;
  Txn txn(db_);
  for (const auto& f : files) {
    auto path = NormalizePath(f.path);
    out.push_back(path.ok() ? CreateInTxn(*path, f.block_size, f.mode, f.exclusive) : Result<Attr>(path.status()));
  }
  Status st = SaveCounters();
  if (st.ok()) st = txn.Commit();
  if (!st.ok()) out.assign(files.size(), st);
  return out;
}

Status MetaStore::CommitMany(const std::vector<proto::CommitReq>& files) {
  Txn txn(db_);
  for (const auto& f : files) DFS_RETURN_IF_ERROR(CommitInTxn(f.fid, f.size).status());
  return txn.Commit();
}

// REQUIRES: a transaction is open.
Result<Attr> MetaStore::CreateInTxn(const std::string& path, uint32_t block_size, uint32_t mode, bool exclusive) {
  if (path == "/") return Status(Code::kIsADirectory, "/: is a directory");
  if (block_size == 0) block_size = config_.block_size;
  if (block_size < 64 || block_size > (4u << 20)) {
    return InvalidArgument("block size " + std::to_string(block_size) + " out of range (64 B to 4 MiB)");
  }
  DFS_ASSIGN_OR_RETURN(Attr parent, Resolve(ParentPath(path)));
  if (!IsDir(parent)) return Status(Code::kNotADirectory, ParentPath(path) + ": not a directory");
  std::string name = BaseName(path);
  auto existing = Child(parent.fid, name);
  int64_t now = NowNs();
  Attr a;
  if (existing.ok()) {
    a = std::move(*existing);
    if (IsDir(a)) return Status(Code::kIsADirectory, path + ": is a directory");
    if (exclusive) return Status(Code::kAlreadyExists, path + ": file exists");
    a.generation = NextGeneration();
    a.truncate_generation = a.generation;
    a.size = 0;
    a.mtime_ns = a.ctime_ns = now;
    Stmt s(Prepare("UPDATE inodes SET size = 0, generation = ?, truncate_generation = ?, mtime_ns = ?, "
                   "ctime_ns = ? WHERE fid = ?"));
    s.Bind(1, a.generation).Bind(2, a.truncate_generation).Bind(3, now).Bind(4, now).Bind(5, a.fid);
    if (s.Step() != SQLITE_DONE) return Internal("cannot truncate " + path);
  } else {
    if (config_.servers.size() < 2) return Status(Code::kFailedPrecondition, "the meta server has no data server map");
    a.fid = next_fid_++;
    a.type = static_cast<int>(proto::FileType::kFile);
    a.mode = mode & 07777;
    a.mtime_ns = a.ctime_ns = now;
    a.placement_seed = Fnv1a64(path);
    a.stripe_width = static_cast<uint32_t>(config_.servers.size());
    a.block_size = block_size;
    a.generation = NextGeneration();
    a.truncate_generation = a.generation;
    DFS_RETURN_IF_ERROR(Insert(parent.fid, name, a));
  }
  a.name = name;
  return a;
}

Result<Attr> MetaStore::Mkdir(const std::string& path, bool parents, uint32_t mode) {
  if (path == "/") {
    if (parents) return Resolve("/");
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
        if (parents && IsDir(*child)) return *child;
        return Status(Code::kAlreadyExists, walked + ": file exists");
      }
      cur = std::move(*child);
      continue;
    }
    if (!last && !parents) return NotFound(walked + ": no such file or directory");
    Attr d;
    d.fid = next_fid_++;
    d.type = static_cast<int>(proto::FileType::kDirectory);
    d.mode = mode & 07777;
    d.mtime_ns = d.ctime_ns = NowNs();
    d.nlink = 2;
    DFS_RETURN_IF_ERROR(Insert(cur.fid, parts[i], d));
    d.name = parts[i];
    cur = d;
  }
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  return cur;
}

Result<proto::ReaddirRsp> MetaStore::Readdir(const std::string& path, const std::string& after, uint32_t limit) {
  DFS_ASSIGN_OR_RETURN(Attr dir, Resolve(path));
  proto::ReaddirRsp rsp;
  if (!IsDir(dir)) {
    rsp.entries.push_back(dir);
    return rsp;
  }
  limit = std::min<uint32_t>(std::max<uint32_t>(limit, 1), 10000);
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM inodes WHERE parent = ? AND name > ? ORDER BY name LIMIT ?";
  Stmt s(Prepare(sql.c_str()));
  s.Bind(1, dir.fid).Bind(2, after).Bind(3, limit + 1);
  while (s.Step() == SQLITE_ROW) rsp.entries.push_back(ReadAttr(s.get()));
  if (rsp.entries.size() > limit) {
    rsp.entries.pop_back();
    rsp.more = true;
  }
  return rsp;
}

Result<Attr> MetaStore::Unlink(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  if (IsDir(a)) return Status(Code::kIsADirectory, path + ": is a directory");
  Txn txn(db_);
  Stmt del(Prepare("DELETE FROM inodes WHERE fid = ?"));
  del.Bind(1, a.fid);
  if (del.Step() != SQLITE_DONE) return Internal("cannot delete " + path);
  Stmt rec(Prepare("INSERT OR REPLACE INTO deleted(fid, seed, stripe, block_size, deleted_ns) VALUES (?, ?, ?, ?, ?)"));
  rec.Bind(1, a.fid).Bind(2, static_cast<int64_t>(a.placement_seed)).Bind(3, a.stripe_width);
  rec.Bind(4, a.block_size).Bind(5, NowNs());
  if (rec.Step() != SQLITE_DONE) return Internal("cannot record deletion of " + path);
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

Status MetaStore::Rmdir(const std::string& path) {
  if (path == "/") return InvalidArgument("/: cannot remove the root directory");
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  if (!IsDir(a)) return Status(Code::kNotADirectory, path + ": not a directory");
  Txn txn(db_);
  {
    Stmt s(Prepare("SELECT 1 FROM inodes WHERE parent = ? LIMIT 1"));
    s.Bind(1, a.fid);
    if (s.Step() == SQLITE_ROW) return Status(Code::kNotEmpty, path + ": directory not empty");
  }
  Stmt del(Prepare("DELETE FROM inodes WHERE fid = ?"));
  del.Bind(1, a.fid);
  if (del.Step() != SQLITE_DONE) return Internal("cannot delete " + path);
  return txn.Commit();
}

Status MetaStore::Rename(const std::string& src, const std::string& dst) {
  if (src == "/" || dst == "/") return InvalidArgument("cannot rename the root directory");
  if (src == dst) return Status::Ok();
  if (dst.size() > src.size() && dst.compare(0, src.size(), src) == 0 && dst[src.size()] == '/') {
    return InvalidArgument("cannot move " + src + " into itself (" + dst + ")");
  }
  DFS_ASSIGN_OR_RETURN(Attr from, Resolve(src));
  DFS_ASSIGN_OR_RETURN(Attr to_parent, Resolve(ParentPath(dst)));
  if (!IsDir(to_parent)) return Status(Code::kNotADirectory, ParentPath(dst) + ": not a directory");
  Txn txn(db_);
  auto existing = Child(to_parent.fid, BaseName(dst));
  if (existing.ok()) {
    if (IsDir(*existing)) {
      if (!IsDir(from)) return Status(Code::kIsADirectory, dst + ": is a directory");
      Stmt s(Prepare("SELECT 1 FROM inodes WHERE parent = ? LIMIT 1"));
      s.Bind(1, existing->fid);
      if (s.Step() == SQLITE_ROW) return Status(Code::kNotEmpty, dst + ": directory not empty");
    } else if (IsDir(from)) {
      return Status(Code::kNotADirectory, dst + ": not a directory");
    }
    Stmt del(Prepare("DELETE FROM inodes WHERE fid = ?"));
    del.Bind(1, existing->fid);
    if (del.Step() != SQLITE_DONE) return Internal("cannot replace " + dst);
    if (!IsDir(*existing)) {
      Stmt rec(Prepare("INSERT OR REPLACE INTO deleted(fid, seed, stripe, block_size, deleted_ns) VALUES (?, ?, ?, ?, ?)"));
      rec.Bind(1, existing->fid).Bind(2, static_cast<int64_t>(existing->placement_seed));
      rec.Bind(3, existing->stripe_width).Bind(4, existing->block_size).Bind(5, NowNs());
      if (rec.Step() != SQLITE_DONE) return Internal("cannot record deletion of " + dst);
    }
  }
  Stmt mv(Prepare("UPDATE inodes SET parent = ?, name = ?, ctime_ns = ? WHERE fid = ?"));
  mv.Bind(1, to_parent.fid).Bind(2, BaseName(dst)).Bind(3, NowNs()).Bind(4, from.fid);
  if (mv.Step() != SQLITE_DONE) return Internal("cannot rename " + src);
  return txn.Commit();
}

Result<Attr> MetaStore::Commit(uint64_t fid, uint64_t generation, uint64_t size) {
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr a, CommitInTxn(fid, size));
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

Result<Attr> MetaStore::OpenWrite(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(path));
  if (IsDir(a)) return Status(Code::kIsADirectory, path + ": is a directory");
  Txn txn(db_);
  a.generation = NextGeneration();
  Stmt s(Prepare("UPDATE inodes SET generation = ? WHERE fid = ?"));
  s.Bind(1, a.generation).Bind(2, a.fid);
  if (s.Step() != SQLITE_DONE) return Internal("cannot open " + path + " for writing");
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  return a;
}

Result<Attr> MetaStore::CommitInTxn(uint64_t fid, uint64_t size) {
  DFS_ASSIGN_OR_RETURN(Attr a, ByFid(fid));
  if (IsDir(a)) return Status(Code::kIsADirectory, "file id " + std::to_string(fid) + " is a directory");
  a.size = size;
  a.mtime_ns = NowNs();
  Stmt s(Prepare("UPDATE inodes SET size = ?, mtime_ns = ? WHERE fid = ?"));
  s.Bind(1, size).Bind(2, a.mtime_ns).Bind(3, fid);
  if (s.Step() != SQLITE_DONE) return Internal("cannot commit file id " + std::to_string(fid));
  return a;
}

Result<std::string> MetaStore::PathOf(uint64_t fid) {
  std::string path;
  Stmt s(Prepare("SELECT parent, name FROM inodes WHERE fid = ?"));
  for (int depth = 0; fid != kRootFid && depth < 4096; ++depth) {
    sqlite3_bind_int64(s.get(), 1, fid);
    if (s.Step() != SQLITE_ROW) return NotFound("file id " + std::to_string(fid));
    uint64_t parent = sqlite3_column_int64(s.get(), 0);
    path = "/" + std::string(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1))) + path;
    sqlite3_reset(s.get());
    fid = parent;
  }
  return path.empty() ? "/" : path;
}

Result<proto::ListFilesRsp> MetaStore::ListFiles(uint64_t after_fid, uint32_t limit) {
  limit = std::min<uint32_t>(std::max<uint32_t>(limit, 1), 10000);
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM inodes WHERE fid > ? AND type = 1 ORDER BY fid LIMIT ?";
  proto::ListFilesRsp rsp;
  rsp.next_fid = next_fid_;
  {
    Stmt s(Prepare(sql.c_str()));
    s.Bind(1, after_fid).Bind(2, limit + 1);
    while (s.Step() == SQLITE_ROW) rsp.files.push_back(ReadAttr(s.get()));
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

Status MetaStore::Sync() { return Exec("PRAGMA wal_checkpoint(FULL)"); }

}  // namespace dfs::meta
