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
    auto a = CreateInTxn(f, &changes);
    if (!a.ok() && a.status().code() == Code::kInternal) {
      // A write failed half way: the batch fails whole (rolled back).
      out.assign(files.size(), a.status());
      return out;
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
  const Lease* earlier = leases_.FindStaged(parent.fid, name);
  if (earlier && earlier->holder.id != holder.id) return Busy(req.path, *earlier);
  if (existing.ok()) {
    if (const Lease* l = leases_.Find(existing->fid); l && l->holder.id != holder.id) return Busy(req.path, *l);
  }
  if (config_.servers.size() < 2) return Status(Code::kFailedPrecondition, "the meta server has no data server map");
  // Checked: from here on only writes.
  if (earlier) {
    // This holder's earlier copy to the same name, never published: the
    // new one replaces it.
    Attr dropped;
    DFS_RETURN_IF_ERROR(AbandonInTxn(earlier->fid, &dropped));
    changes->push_back({false, *earlier});
  }
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
  Status st;
  for (const proto::CommitReq& f : files) {
    auto one = CommitInTxn(f, &changes);
    if (!one.ok() && one.status().code() == Code::kInternal) {
      st = one.status();  // a write failed half way: the batch fails whole
      break;
    }
    rsp.replaced.push_back(one.ok() ? one->replaced : Attr{});
    rsp.codes.push_back(static_cast<int>(one.status().code()));
    rsp.errors.push_back(one.status().message());
  }
  if (st.ok()) st = txn.Commit();
  if (!st.ok()) {
    rsp.replaced.resize(files.size());
    rsp.codes.resize(files.size());
    rsp.errors.resize(files.size());
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

  PublishTarget target;
  if (req.publish) {
    DFS_ASSIGN_OR_RETURN(target, FindPublishTarget(a.fid));
  }
  // Checked: from here on only writes.
  const uint32_t bs = a.block_size;
  const uint64_t blocks = BlockCount(req.size, bs);
  if (a.data_blocks == 0 && SortedRanges(req.ranges)) {
    // Nothing stored yet (a new file, a copy): the ranges are the map.
    DFS_RETURN_IF_ERROR(SetExtents(a.fid, req.ranges, blocks, &a.data_blocks));
  } else {
    if (req.cut) DFS_RETURN_IF_ERROR(CutExtents(a.fid, BlockCount(std::min(req.cut_size, kMaxFileSize), bs)));
    for (size_t k = 0; k < req.ranges.size(); k += 2) {
      uint64_t first = req.ranges[k];
      uint64_t end = std::min(req.ranges[k + 1], blocks);
      if (first < end) DFS_RETURN_IF_ERROR(AddExtent(a.fid, first, end));
    }
    DFS_RETURN_IF_ERROR(CutExtents(a.fid, blocks));  // never past the size
    DFS_ASSIGN_OR_RETURN(a.data_blocks, DataBlocks(a.fid));
  }
  a.size = req.size;
  a.mtime_ns = a.ctime_ns = NowNs();
  proto::CommitRsp rsp;
  if (req.publish) {
    DFS_RETURN_IF_ERROR(PublishInTxn(target, &a, &rsp.replaced));
    if (lease) changes->push_back({false, *lease});
    a.nlink = 1;
  } else if (!lease && req.holder_id) {
    // The lease lapsed (or the meta server restarted) and nobody took the
    // file since: the writer keeps it.
    changes->push_back({true, Lease{HolderOf(req.holder_id, ""), a.fid, 0, false, 0, ""}});
  }
  // One update: size, times, the map's total, and a published file's name.
  Stmt s(Prepare(
      "UPDATE inodes SET size = ?1, mtime_ns = ?2, ctime_ns = ?2, data_blocks = ?3, "
      "parent = CASE WHEN ?4 THEN ?5 ELSE parent END, name = CASE WHEN ?4 THEN ?6 ELSE name END, "
      "nlink = CASE WHEN ?4 THEN 1 ELSE nlink END WHERE fid = ?7"));
  s.Bind(1, req.size).Bind(2, a.mtime_ns).Bind(3, a.data_blocks).Bind(4, int64_t{req.publish});
  s.Bind(5, target.parent).Bind(6, a.name).Bind(7, a.fid);
  DFS_RETURN_IF_ERROR(s.Run("commit " + what));
  rsp.file = std::move(a);
  return rsp;
}

// Where a staged file goes, checked: its directory is there, and its name
// is free or holds something other than a directory.
Result<MetaStore::PublishTarget> MetaStore::FindPublishTarget(uint64_t fid) {
  PublishTarget t;
  {
    Stmt q(Prepare("SELECT parent, name FROM staged WHERE fid = ?"));
    q.Bind(1, fid);
    if (q.Step() != SQLITE_ROW) {
      return InvalidArgument("file id " + std::to_string(fid) + " is not a staged copy: nothing to publish");
    }
    t.parent = sqlite3_column_int64(q.get(), 0);
    t.name = q.Text(1);
  }
  auto dir = ByFid(t.parent);
  if (!dir.ok() || !IsDir(*dir)) return NotFound(t.name + ": its directory was removed while the file was written");
  auto existing = Child(t.parent, t.name);
  if (existing.ok()) {
    if (IsDir(*existing)) {
      auto dir_path = PathOf(t.parent);
      return Status(Code::kIsADirectory, JoinPath(dir_path.ok() ? *dir_path : "/", t.name) + ": is a directory now");
    }
    t.existing = std::move(*existing);
  }
  return t;
}

// REQUIRES: a transaction is open; `target` from FindPublishTarget. Enters
// the staged file at its name; the caller updates its inode.
Status MetaStore::PublishInTxn(const PublishTarget& target, Attr* staged, Attr* replaced) {
  if (target.existing.fid) {
    Attr old = target.existing;
    DFS_RETURN_IF_ERROR(RemoveName(target.parent, target.name, &old));
    if (IsFile(old) && old.nlink == 0) *replaced = old;
  }
  DFS_RETURN_IF_ERROR(InsertName(target.parent, target.name, staged->fid));
  Stmt done(Prepare("DELETE FROM staged WHERE fid = ?"));
  done.Bind(1, staged->fid);
  DFS_RETURN_IF_ERROR(done.Run("publish " + target.name));
  staged->name = target.name;
  return TouchDir(target.parent);
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
  const bool checked = req.generations.size() == req.fids.size();
  for (size_t i = 0; i < req.fids.size(); ++i) {
    const uint64_t fid = req.fids[i];
    const Lease* l = leases_.Find(fid);
    if (!l || !req.holder_id || l->holder.id != req.holder_id) continue;  // not this holder's
    if (checked) {
      auto a = ByFid(fid);
      if (a.ok() && a->generation != req.generations[i]) continue;  // opened for writing again since
    }
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
