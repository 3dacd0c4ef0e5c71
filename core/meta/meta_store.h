// MetaStore: the namespace (inodes, directories), the data server map and the
// cluster-wide counters, kept in SQLite (WAL) under the meta server's
// directory. It survives kill -9: every mutation is one SQLite transaction.
// Paths given to it are already normalised (core/common/path.h).
// Thread-safety: none; the meta server calls it from its one loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/common/protocol.h"
#include "core/common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace dfs::meta {

using proto::Attr;

struct ClusterConfig {
  std::string cluster_id;
  std::vector<std::string> servers;
  uint32_t block_size = 512;
};

class MetaStore {
 public:
  // Opens or creates the store in `dir`/meta.db.
  static Result<std::unique_ptr<MetaStore>> Open(const std::string& dir);
  ~MetaStore();

  const ClusterConfig& config() const { return config_; }
  // Stores the data server map (endpoint of server i at position i).
  Status SetServers(const std::vector<std::string>& servers);
  Status SetDefaultBlockSize(uint32_t block_size);

  Result<Attr> Lookup(const std::string& path);
  // Creates a file, or truncates an existing one (a new write generation).
  // Requests carry normalised paths.
  Result<Attr> Create(const proto::CreateReq& req);
  // Creates many files in one transaction; each succeeds or fails alone.
  std::vector<Result<Attr>> CreateMany(const std::vector<proto::CreateReq>& files);
  Result<Attr> Mkdir(const proto::MkdirReq& req);
  Result<Attr> Symlink(const proto::SymlinkReq& req);
  Result<Attr> Mknod(const proto::MknodReq& req);
  // chmod, chown, utimens (core/meta/meta_store_attrs.cc).
  Result<Attr> SetAttr(const proto::SetAttrReq& req);
  Status SetXattr(const proto::XattrReq& req);
  Result<std::string> GetXattr(const std::string& path, const std::string& name);
  Result<std::vector<std::string>> ListXattr(const std::string& path);
  Status RemoveXattr(const std::string& path, const std::string& name);
  Result<proto::ReaddirRsp> Readdir(const std::string& path, const std::string& after, uint32_t limit);
  // A hard link: `dst` names the file at `src` too.
  Result<Attr> Link(const std::string& src, const std::string& dst);
  // Removes a name; the Attr returned has the links left in nlink (0: the
  // file is gone and its blocks may be deleted).
  Result<Attr> Unlink(const std::string& path);
  Status Rmdir(const std::string& path);
  Status Rename(const std::string& src, const std::string& dst);
  Result<Attr> Commit(uint64_t fid, uint64_t generation, uint64_t size);
  // A new write generation for an existing file, keeping its bytes.
  Result<Attr> OpenWrite(const std::string& path);
  Status CommitMany(const std::vector<proto::CommitReq>& files);
  // Files in fid order after `after_fid`, each with its full path in `name`.
  Result<proto::ListFilesRsp> ListFiles(uint64_t after_fid, uint32_t limit);
  // Makes every committed change durable on disk (a WAL checkpoint).
  Status Sync();

 private:
  explicit MetaStore(sqlite3* db) : db_(db) {}
  Status Init();
  Status Exec(const char* sql);
  sqlite3_stmt* Prepare(const char* sql);
  Result<Attr> Resolve(const std::string& path);
  Result<Attr> Child(uint64_t parent, const std::string& name);
  Result<Attr> ByFid(uint64_t fid);
  Result<Attr> CreateInTxn(const proto::CreateReq& req);
  Result<Attr> CommitInTxn(uint64_t fid, uint64_t size);
  // The directory a new entry at `path` goes into; fails if the entry exists.
  Result<Attr> ParentForNew(const std::string& path);
  // Inserts a new inode under `parent` and updates the parent's times (and
  // link count, for a directory). Sets fid, times and inherited group.
  Status InsertChild(const Attr& parent, const std::string& name, Attr* attr);
  Status Insert(uint64_t parent, const std::string& name, const Attr& attr);
  Status InsertName(uint64_t parent, const std::string& name, uint64_t fid);
  // Removes the entry `name` of `parent`, which names `attr`: the inode goes
  // with its last name (attr->nlink is then 0), else loses one link.
  Status RemoveName(uint64_t parent, const std::string& name, Attr* attr);
  // Removes an inode and its xattrs; a file's blocks are recorded as deleted.
  Status DeleteInode(const Attr& attr);
  // A directory's entries changed: mtime and ctime move, nlink by `links`.
  Status TouchDir(uint64_t fid, int links = 0);
  Status SaveCounters();
  Result<std::string> PathOf(uint64_t fid);
  uint64_t NextGeneration() { return next_generation_++; }

  sqlite3* db_;
  ClusterConfig config_;
  uint64_t next_fid_ = 2;  // fid 1 is the root
  uint64_t next_generation_ = 1;
  std::vector<std::pair<std::string, sqlite3_stmt*>> statements_;
};

}  // namespace dfs::meta
