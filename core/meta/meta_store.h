// MetaStore: the namespace (inodes, directories), the data server map, the
// cluster-wide counters and each file's extent map, kept in SQLite (WAL)
// under the meta server's directory, and the write leases, kept in memory
// (docs/leases.md). It survives kill -9: every mutation is one SQLite
// transaction; staged files (atomic replace in progress) are stored, and
// their leases given back to their holders for one lease period after a
// restart.
// Paths given to it are already normalised (core/common/path.h).
// Thread-safety: none; the meta server calls it from its one loop thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/common/protocol.h"
#include "base/status.h"
#include "core/meta/lease_table.h"

struct sqlite3;
struct sqlite3_stmt;

namespace dfs::meta {

using proto::Attr;

struct ClusterConfig {
  std::string cluster_id;
  std::vector<std::string> servers;
  uint32_t block_size = 512;
};

struct MetaStoreOptions {
  int64_t lease_ms = 60000;             // a write lease lasts this long unless renewed
  std::function<int64_t()> clock_ms;    // monotonic milliseconds; tests pass their own
};

class MetaStore {
 public:
  // Opens or creates the store in `dir`/meta.db.
  static Result<std::unique_ptr<MetaStore>> Open(const std::string& dir, MetaStoreOptions options = {});
  ~MetaStore();

  const ClusterConfig& config() const { return config_; }
  int64_t lease_ms() const { return leases_.duration_ms(); }
  // Stores the data server map (endpoint of server i at position i).
  Status SetServers(const std::vector<std::string>& servers);
  Status SetDefaultBlockSize(uint32_t block_size);

  Result<Attr> Lookup(const std::string& path);

  // Writes (core/meta/meta_store_writes.cc). Requests carry normalised paths.
  //
  // Creates a file, or truncates an existing one (a new write generation),
  // and gives the holder its write lease; with req.replace, stages a new
  // nameless file instead (see proto::CreateReq). Busy if another holder
  // writes the file or replaces the name.
  Result<Attr> Create(const proto::CreateReq& req);
  // Creates many files in one transaction; each succeeds or fails alone.
  std::vector<Result<Attr>> CreateMany(const std::vector<proto::CreateReq>& files);
  // A new write generation and the lease for an existing file, keeping its bytes.
  Result<Attr> OpenWrite(const proto::OpenWriteReq& req);
  // Commit after data: size, mtime, extent map; publish of a staged file.
  // Aborted if the generation is not the file's current one, Busy if
  // another holder has the lease.
  Result<proto::CommitRsp> Commit(const proto::CommitReq& req);
  proto::CommitManyRsp CommitMany(const std::vector<proto::CommitReq>& files);
  proto::LeaseRsp RenewLeases(const proto::LeaseReq& req);
  Result<proto::LeaseRsp> ReleaseLeases(const proto::LeaseReq& req);
  // Ends the leases whose holders stopped renewing them; their staged files
  // are deleted. Every write operation runs it first; the server also runs
  // it between requests. Returns the leases that ended.
  std::vector<Lease> ExpireLeases();
  // The extent map from a block on (core/meta/meta_store_extents.cc).
  Result<proto::ExtentsRsp> Extents(const proto::ExtentsReq& req);

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
  // Deleted files after position `after` (data servers reclaim their blocks).
  Result<proto::ListDeletedRsp> ListDeleted(uint64_t after, uint32_t limit);
  // Files in fid order after `after_fid`, each with its full path in `name`.
  Result<proto::ListFilesRsp> ListFiles(uint64_t after_fid, uint32_t limit);
  // Makes every committed change durable on disk (a WAL checkpoint).
  Status Sync();

 private:
  MetaStore(sqlite3* db, MetaStoreOptions options);
  Status Init();
  Status Exec(const char* sql);
  sqlite3_stmt* Prepare(const char* sql);
  Result<Attr> Resolve(const std::string& path);
  Result<Attr> Child(uint64_t parent, const std::string& name);
  Result<Attr> ByFid(uint64_t fid);
  // Write path helpers (meta_store_writes.cc). REQUIRES: a transaction is
  // open; leases they grant or drop are listed in `lease_changes` and
  // applied only after the transaction commits. Each checks everything
  // before its first write, so one that fails (but for Internal: a write
  // failed) has changed nothing: a batch goes on with the next item.
  struct LeaseChange {
    bool grant = false;  // else release
    Lease lease;
  };
  Result<Attr> CreateInTxn(const proto::CreateReq& req, std::vector<LeaseChange>* lease_changes);
  Result<Attr> StageInTxn(const proto::CreateReq& req, const Attr& parent, const Result<Attr>& existing,
                          std::vector<LeaseChange>* lease_changes);
  Result<proto::CommitRsp> CommitInTxn(const proto::CommitReq& req, std::vector<LeaseChange>* lease_changes);
  struct PublishTarget {
    uint64_t parent = 0;
    std::string name;
    Attr existing;  // what the name holds now (fid 0: nothing)
  };
  Result<PublishTarget> FindPublishTarget(uint64_t fid);
  Status PublishInTxn(const PublishTarget& target, Attr* staged, Attr* replaced);
  // Deletes a staged file that will never be published.
  Status AbandonInTxn(uint64_t fid, Attr* deleted);
  void ApplyLeaseChanges(const std::vector<LeaseChange>& changes);
  // Busy unless `holder` may write file `a` (at `path`): nobody else writes
  // it in place or is replacing one of its names.
  Status CheckWritable(const Attr& a, const LeaseHolder& holder, const std::string& path);
  Status Busy(const std::string& path, const Lease& lease);
  Status RestoreStagedLeases();
  int64_t NowMs() const { return clock_ms_(); }

  // Extent map (meta_store_extents.cc): sorted, disjoint [first, end)
  // block ranges, merged when they touch; inodes.data_blocks is their total.
  Status AddExtent(uint64_t fid, uint64_t first, uint64_t end);
  // Removes every block from `first` on.
  Status CutExtents(uint64_t fid, uint64_t first);
  Status DeleteExtents(uint64_t fid);
  // The map of a file that has none yet: `ranges` sorted, apart, clipped at
  // `blocks`; their total in `total` (the caller stores it in the inode).
  Status SetExtents(uint64_t fid, const std::vector<uint64_t>& ranges, uint64_t blocks, uint64_t* total);
  Result<uint64_t> DataBlocks(uint64_t fid);
  Status AddDataBlocks(uint64_t fid, int64_t delta);
  // The directory a new entry at `path` goes into; fails if the entry exists.
  Result<Attr> ParentForNew(const std::string& path);
  // Inserts a new inode under `parent` and updates the parent's times (and
  // link count, for a directory). Sets fid, times and inherited group.
  Status InsertChild(const Attr& parent, const std::string& name, Attr* attr);
  // Inserts an inode; `named` also enters it as `name` in `parent`.
  Status Insert(uint64_t parent, const std::string& name, const Attr& attr, bool named = true);
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
  std::function<int64_t()> clock_ms_;
  LeaseTable leases_;
  ClusterConfig config_;
  uint64_t next_fid_ = 2;  // fid 1 is the root
  uint64_t next_generation_ = 1;
  std::vector<std::pair<std::string, sqlite3_stmt*>> statements_;
};

}  // namespace dfs::meta
