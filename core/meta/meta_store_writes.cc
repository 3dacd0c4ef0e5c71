// MetaStore: the write path. Create (in place or staged), OpenWrite, Commit
// (with publish), and the write leases that keep one writer per file
// (docs/leases.md).
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>

#include "core/common/path.h"
#include "core/common/placement.h"
#include "core/meta/meta_store.h"
#include "core/meta/meta_store_util.h"
#include "core/meta/sqlite_util.h"

namespace dfs::meta {
namespace {

// A staged file's own inode name: unique, and never a directory entry.
std::string StagedName(uint64_t fid) { return "staged:" + std::to_string(fid); }

LeaseHolder HolderOf(uint64_t id, const std::string& name) {
  return LeaseHolder{id, name.empty() ? "another client" : name};
}

}  // namespace

Status MetaStore::Busy(const std::string& path, const Lease& lease) {
  int64_t left_s = std::max<int64_t>(0, (lease.expires_ms - NowMs() + 999) / 1000);
  return Status(Code::kBusy, path + ": being written by " + lease.holder.name +
                                 " (if that writer has died, its write lease lapses in " + std::to_string(left_s) +
                                 " s)");
}

Status MetaStore::CheckWritable(const Attr& a, const LeaseHolder& holder, const std::string& path) {
  if (const Lease* l = leases_.Find(a.fid); l && l->holder.id != holder.id) return Busy(path, *l);
  Stmt names(Prepare("SELECT parent, name FROM dentries WHERE fid = ?"));
  names.Bind(1, a.fid);
  while (names.Step() == SQLITE_ROW) {
    const Lease* l = leases_.FindStaged(sqlite3_column_int64(names.get(), 0), names.Text(1));
    if (l && l->holder.id != holder.id) return Busy(path, *l);
  }
  return Status::Ok();
}

void MetaStore::ApplyLeaseChanges(const std::vector<LeaseChange>& changes) {
  for (const LeaseChange& c : changes) {
    if (c.grant) {
      leases_.Grant(c.lease, NowMs());
    } else {
      leases_.Release(c.lease.fid);
    }
  }
}

Status MetaStore::RestoreStagedLeases() {
  // A restart keeps the copies that were being written: their holders get
  // one lease period to renew, as if they had just been granted.
  Stmt s(Prepare("SELECT fid, parent, name, holder_id, holder_name FROM staged"));
  while (s.Step() == SQLITE_ROW) {
    Lease l;
    l.fid = sqlite3_column_int64(s.get(), 0);
    l.parent = sqlite3_column_int64(s.get(), 1);
    l.name = s.Text(2);
    l.holder = HolderOf(sqlite3_column_int64(s.get(), 3), s.Text(4));
    l.staged = true;
    leases_.Grant(l, NowMs());
  }
  return Status::Ok();
}

Result<Attr> MetaStore::Create(const proto::CreateReq& req) {
  ExpireLeases();
  std::vector<LeaseChange> changes;
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(Attr a, CreateInTxn(req, &changes));
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  ApplyLeaseChanges(changes);
  return a;
}

std::vector<Result<Attr>> MetaStore::CreateMany(const std::vector<proto::CreateReq>& files) {
  ExpireLeases();
  std::vector<Result<Attr>> out;
  std::vector<LeaseChange> changes;
  Txn txn(db_);
  for (proto::CreateReq f : files) {
    auto path = NormalizePath(f.path);
    if (!path.ok()) {
      out.push_back(path.status());
      continue;
    }
    f.path = *path;
    Savepoint item(db_);
    std::vector<LeaseChange> mine;
    auto a = CreateInTxn(f, &mine);
    if (a.ok()) {
      item.Keep();
      changes.insert(changes.end(), mine.begin(), mine.end());
    }
    out.push_back(std::move(a));
  }
  Status st = SaveCounters();
  if (st.ok()) st = txn.Commit();
  if (!st.ok()) {
    out.assign(files.size(), st);
    return out;
  }
  ApplyLeaseChanges(changes);
  return out;
}

// REQUIRES: a transaction is open.
Result<Attr> MetaStore::CreateInTxn(const proto::CreateReq& req, std::vector<LeaseChange>* changes) {
  const std::string& path = req.path;
  if (path == "/") return Status(Code::kIsADirectory, "/: is a directory");
  if (req.block_size && (req.block_size < 64 || req.block_size > (4u << 20))) {
    return InvalidArgument("block size " + std::to_string(req.block_size) + " out of range (64 B to 4 MiB)");
  }
  if (req.replace && req.holder_id == 0) return InvalidArgument(path + ": a staged copy needs a lease holder");
  DFS_ASSIGN_OR_RETURN(Attr parent, Resolve(ParentPath(path)));
  if (!IsDir(parent)) return Status(Code::kNotADirectory, ParentPath(path) + ": not a directory");
  const std::string name = BaseName(path);
  auto existing = Child(parent.fid, name);
  if (existing.ok()) {
    if (IsDir(*existing)) return Status(Code::kIsADirectory, path + ": is a directory");
    if (req.exclusive) return Status(Code::kAlreadyExists, path + ": file exists");
    if (!IsFile(*existing)) return InvalidArgument(path + ": not a regular file");
  }
  if (req.replace) return StageInTxn(req, parent, existing, changes);

  const LeaseHolder holder = HolderOf(req.holder_id, req.holder_name);
  if (existing.ok()) {
    // Truncate in place (O_TRUNC): the same file, a new generation, no data.
    Attr a = std::move(*existing);
    DFS_RETURN_IF_ERROR(CheckWritable(a, holder, path));
    a.generation = NextGeneration();
    a.truncate_generation = a.generation;
    a.size = 0;
    a.data_blocks = 0;
    a.mtime_ns = a.ctime_ns = NowNs();
    Stmt s(Prepare("UPDATE inodes SET size = 0, data_blocks = 0, generation = ?, truncate_generation = ?, "
                   "mtime_ns = ?, ctime_ns = ? WHERE fid = ?"));
    s.Bind(1, a.generation).Bind(2, a.truncate_generation).Bind(3, a.mtime_ns).Bind(4, a.ctime_ns).Bind(5, a.fid);
    DFS_RETURN_IF_ERROR(s.Run("truncate " + path));
    DFS_RETURN_IF_ERROR(DeleteExtents(a.fid));
    if (holder.id) changes->push_back({true, Lease{holder, a.fid, 0, false, 0, ""}});
    a.name = name;
    return a;
  }
  if (const Lease* l = leases_.FindStaged(parent.fid, name); l && l->holder.id != holder.id) return Busy(path, *l);
  if (config_.servers.size() < 2) return Status(Code::kFailedPrecondition, "the meta server has no data server map");
  Attr a;
  a.type = static_cast<int>(proto::FileType::kFile);
  a.mode = req.mode & 07777;
  a.uid = req.uid;
  a.gid = req.gid;
  a.placement_seed = Fnv1a64(path);
  a.stripe_width = static_cast<uint32_t>(config_.servers.size());
  a.block_size = req.block_size ? req.block_size : config_.block_size;
  a.generation = NextGeneration();
  a.truncate_generation = a.generation;
  DFS_RETURN_IF_ERROR(InsertChild(parent, name, &a));
  if (holder.id) changes->push_back({true, Lease{holder, a.fid, 0, false, 0, ""}});
  return a;
}

// A new file with no name yet, that Commit with publish puts at `req.path`.
// It keeps what cp(1) keeps of a file it overwrites: mode, owner, block size.
Result<Attr> MetaStore::StageInTxn(const proto::CreateReq& req, const Attr& parent, const Result<Attr>& existing,
                                   std::vector<LeaseChange>* changes) {
  const LeaseHolder holder = HolderOf(req.holder_id, req.holder_name);
  const std::string name = BaseName(req.path);
  if (const Lease* l = leases_.FindStaged(parent.fid, name)) {
    if (l->holder.id != holder.id) return Busy(req.path, *l);
    // This holder's earlier copy to the same name, never published: the
    // new one replaces it.
    Attr dropped;
    DFS_RETURN_IF_ERROR(AbandonInTxn(l->fid, &dropped));
    changes->push_back({false, *l});
  }
  if (existing.ok()) {
    if (const Lease* l = leases_.Find(existing->fid); l && l->holder.id != holder.id) return Busy(req.path, *l);
  }
  if (config_.servers.size() < 2) return Status(Code::kFailedPrecondition, "the meta server has no data server map");
  Attr a;
  a.type = static_cast<int>(proto::FileType::kFile);
  if (existing.ok()) {
    a.mode = existing->mode;
    a.uid = existing->uid;
    a.gid = existing->gid;
  } else {
    a.mode = req.mode & 07777;
    a.uid = req.uid;
    a.gid = (parent.mode & S_ISGID) ? parent.gid : req.gid;
  }
  a.placement_seed = Fnv1a64(req.path);
  a.stripe_width = static_cast<uint32_t>(config_.servers.size());
  a.block_size = req.block_size        ? req.block_size
                 : existing.ok()       ? existing->block_size
                                       : config_.block_size;
  a.generation = NextGeneration();
  a.truncate_generation = a.generation;
  a.nlink = 0;
  a.fid = next_fid_++;
  a.atime_ns = a.mtime_ns = a.ctime_ns = NowNs();
  DFS_RETURN_IF_ERROR(Insert(0, StagedName(a.fid), a, /*named=*/false));
  Stmt s(Prepare("INSERT INTO staged(fid, parent, name, holder_id, holder_name) VALUES (?, ?, ?, ?, ?)"));
  s.Bind(1, a.fid).Bind(2, parent.fid).Bind(3, name).Bind(4, holder.id).Bind(5, holder.name);
  DFS_RETURN_IF_ERROR(s.Run("stage " + req.path));
  changes->push_back({true, Lease{holder, a.fid, 0, true, parent.fid, name}});
  a.name = name;
  return a;
}

Result<Attr> MetaStore::OpenWrite(const proto::OpenWriteReq& req) {
  ExpireLeases();
  DFS_ASSIGN_OR_RETURN(Attr a, Resolve(req.path));
  if (IsDir(a)) return Status(Code::kIsADirectory, req.path + ": is a directory");
  if (!IsFile(a)) return InvalidArgument(req.path + ": not a regular file");
  const LeaseHolder holder = HolderOf(req.holder_id, req.holder_name);
  DFS_RETURN_IF_ERROR(CheckWritable(a, holder, req.path));
  Txn txn(db_);
  a.generation = NextGeneration();
  Stmt s(Prepare("UPDATE inodes SET generation = ? WHERE fid = ?"));
  s.Bind(1, a.generation).Bind(2, a.fid);
  DFS_RETURN_IF_ERROR(s.Run("open " + req.path + " for writing"));
  DFS_RETURN_IF_ERROR(SaveCounters());
  DFS_RETURN_IF_ERROR(txn.Commit());
  if (holder.id) leases_.Grant(Lease{holder, a.fid, 0, false, 0, ""}, NowMs());
  return a;
}

Result<proto::CommitRsp> MetaStore::Commit(const proto::CommitReq& req) {
  ExpireLeases();
  std::vector<LeaseChange> changes;
  Txn txn(db_);
  DFS_ASSIGN_OR_RETURN(proto::CommitRsp rsp, CommitInTxn(req, &changes));
  DFS_RETURN_IF_ERROR(txn.Commit());
  ApplyLeaseChanges(changes);
  return rsp;
}

proto::CommitManyRsp MetaStore::CommitMany(const std::vector<proto::CommitReq>& files) {
  ExpireLeases();
  proto::CommitManyRsp rsp;
  std::vector<LeaseChange> changes;
  Txn txn(db_);
  for (const proto::CommitReq& f : files) {
    Savepoint item(db_);
    std::vector<LeaseChange> mine;
    auto one = CommitInTxn(f, &mine);
    if (one.ok()) {
      item.Keep();
      changes.insert(changes.end(), mine.begin(), mine.end());
    }
    rsp.replaced.push_back(one.ok() ? one->replaced : Attr{});
    rsp.codes.push_back(static_cast<int>(one.status().code()));
    rsp.errors.push_back(one.status().message());
  }
  if (Status st = txn.Commit(); !st.ok()) {
    for (size_t k = 0; k < files.size(); ++k) {
      rsp.replaced[k] = Attr{};
      rsp.codes[k] = static_cast<int>(st.code());
      rsp.errors[k] = st.message();
    }
    return rsp;
  }
  ApplyLeaseChanges(changes);
  return rsp;
}

// REQUIRES: a transaction is open.
Result<proto::CommitRsp> MetaStore::CommitInTxn(const proto::CommitReq& req, std::vector<LeaseChange>* changes) {
  const std::string what = "file id " + std::to_string(req.fid);
  auto found = ByFid(req.fid);
  if (!found.ok()) {
    return NotFound(what + " no longer exists: it was removed, or its write lease expired before the commit");
  }
  Attr a = std::move(*found);
  if (!IsFile(a)) return Status(Code::kIsADirectory, what + " is not a regular file");
  if (req.generation != a.generation) {
    return Status(Code::kAborted, what + ": write generation " + std::to_string(req.generation) +
                                      " is stale (the file is at generation " + std::to_string(a.generation) +
                                      ": another writer opened or truncated it since)");
  }
  const Lease* lease = leases_.Find(a.fid);
  if (lease && lease->holder.id != req.holder_id) {
    auto path = PathOf(a.fid);
    return Busy(path.ok() ? *path : what, *lease);
  }
  if (req.size > kMaxFileSize) return Status(Code::kFileTooLarge, what + ": size past the largest file (1 EiB)");
  if (req.ranges.size() % 2 != 0) return InvalidArgument(what + ": commit ranges come in pairs");

  const uint32_t bs = a.block_size;
  const uint64_t blocks = BlockCount(req.size, bs);
  if (req.cut) DFS_RETURN_IF_ERROR(CutExtents(a.fid, BlockCount(std::min(req.cut_size, kMaxFileSize), bs)));
  for (size_t k = 0; k < req.ranges.size(); k += 2) {
    uint64_t first = req.ranges[k];
    uint64_t end = std::min(req.ranges[k + 1], blocks);
    if (first < end) DFS_RETURN_IF_ERROR(AddExtent(a.fid, first, end));
  }
  DFS_RETURN_IF_ERROR(CutExtents(a.fid, blocks));  // never past the size
  a.mtime_ns = a.ctime_ns = NowNs();
  Stmt s(Prepare("UPDATE inodes SET size = ?, mtime_ns = ?, ctime_ns = ? WHERE fid = ?"));
  s.Bind(1, req.size).Bind(2, a.mtime_ns).Bind(3, a.ctime_ns).Bind(4, a.fid);
  DFS_RETURN_IF_ERROR(s.Run("commit " + what));

  proto::CommitRsp rsp;
  if (req.publish) {
    DFS_RETURN_IF_ERROR(PublishInTxn(&a, &rsp.replaced));
    if (lease) changes->push_back({false, *lease});
  } else if (!lease && req.holder_id) {
    // The lease lapsed (or the meta server restarted) and nobody took the
    // file since: the writer keeps it.
    changes->push_back({true, Lease{HolderOf(req.holder_id, ""), a.fid, 0, false, 0, ""}});
  }
  std::string name = a.name;
  DFS_ASSIGN_OR_RETURN(rsp.file, ByFid(a.fid));
  rsp.file.name = name;
  return rsp;
}

// REQUIRES: a transaction is open; `staged` is a staged file.
Status MetaStore::PublishInTxn(Attr* staged, Attr* replaced) {
  uint64_t parent = 0;
  std::string name;
  {
    Stmt q(Prepare("SELECT parent, name FROM staged WHERE fid = ?"));
    q.Bind(1, staged->fid);
    if (q.Step() != SQLITE_ROW) {
      return InvalidArgument("file id " + std::to_string(staged->fid) + " is not a staged copy: nothing to publish");
    }
    parent = sqlite3_column_int64(q.get(), 0);
    name = q.Text(1);
  }
  auto dir = ByFid(parent);
  if (!dir.ok() || !IsDir(*dir)) {
    return NotFound(name + ": its directory was removed while the file was written");
  }
  auto dir_path = PathOf(parent);
  std::string path = JoinPath(dir_path.ok() ? *dir_path : "/", name);
  auto existing = Child(parent, name);
  if (existing.ok()) {
    if (IsDir(*existing)) return Status(Code::kIsADirectory, path + ": is a directory now");
    Attr old = std::move(*existing);
    DFS_RETURN_IF_ERROR(RemoveName(parent, name, &old));
    if (IsFile(old) && old.nlink == 0) *replaced = old;
  }
  DFS_RETURN_IF_ERROR(InsertName(parent, name, staged->fid));
  Stmt s(Prepare("UPDATE inodes SET parent = ?, name = ?, nlink = 1, ctime_ns = ? WHERE fid = ?"));
  s.Bind(1, parent).Bind(2, name).Bind(3, NowNs()).Bind(4, staged->fid);
  DFS_RETURN_IF_ERROR(s.Run("publish " + path));
  Stmt done(Prepare("DELETE FROM staged WHERE fid = ?"));
  done.Bind(1, staged->fid);
  DFS_RETURN_IF_ERROR(done.Run("publish " + path));
  staged->name = name;
  return TouchDir(parent);
}

// REQUIRES: a transaction is open.
Status MetaStore::AbandonInTxn(uint64_t fid, Attr* deleted) {
  auto a = ByFid(fid);
  if (a.ok()) {
    DFS_RETURN_IF_ERROR(DeleteInode(*a));
    *deleted = std::move(*a);
  }
  Stmt s(Prepare("DELETE FROM staged WHERE fid = ?"));
  s.Bind(1, fid);
  return s.Run("abandon the staged file id " + std::to_string(fid));
}

proto::LeaseRsp MetaStore::RenewLeases(const proto::LeaseReq& req) {
  ExpireLeases();
  proto::LeaseRsp rsp;
  const LeaseHolder holder = HolderOf(req.holder_id, req.holder_name);
  for (uint64_t fid : req.fids) {
    if (holder.id && leases_.Renew(fid, holder.id, NowMs())) continue;
    // No lease: the meta server restarted, or the lease lapsed. The holder
    // gets it back if nobody else writes the file (a lapsed staged file was
    // deleted, so it is lost).
    auto a = ByFid(fid);
    bool staged = false;
    {
      Stmt q(Prepare("SELECT 1 FROM staged WHERE fid = ?"));
      q.Bind(1, fid);
      staged = q.Step() == SQLITE_ROW;
    }
    if (!holder.id || !a.ok() || !IsFile(*a) || staged || !CheckWritable(*a, holder, "").ok()) {
      rsp.lost.push_back(fid);
      continue;
    }
    leases_.Grant(Lease{holder, fid, 0, false, 0, ""}, NowMs());
  }
  return rsp;
}

Result<proto::LeaseRsp> MetaStore::ReleaseLeases(const proto::LeaseReq& req) {
  ExpireLeases();
  proto::LeaseRsp rsp;
  std::vector<LeaseChange> changes;
  Txn txn(db_);
  for (uint64_t fid : req.fids) {
    const Lease* l = leases_.Find(fid);
    if (!l || !req.holder_id || l->holder.id != req.holder_id) continue;  // not this holder's
    if (l->staged) {
      // Never published: nobody can reach it, so it goes.
      Attr deleted;
      DFS_RETURN_IF_ERROR(AbandonInTxn(fid, &deleted));
      if (deleted.fid) rsp.deleted.push_back(deleted);
    }
    changes.push_back({false, *l});
  }
  DFS_RETURN_IF_ERROR(txn.Commit());
  ApplyLeaseChanges(changes);
  return rsp;
}

std::vector<Lease> MetaStore::ExpireLeases() {
  std::vector<Lease> expired = leases_.TakeExpired(NowMs());
  bool any_staged = false;
  for (const Lease& l : expired) any_staged |= l.staged;
  if (!any_staged) return expired;
  // The holder stopped renewing: its copy will never be published.
  Txn txn(db_);
  for (const Lease& l : expired) {
    Attr deleted;
    if (l.staged) (void)AbandonInTxn(l.fid, &deleted);
  }
  (void)txn.Commit();
  return expired;
}

}  // namespace dfs::meta
