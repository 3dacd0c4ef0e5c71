// MetaStore: each file's extent map, the block ranges that hold data
// (docs/leases.md, "The hole map"). Rows of `extents` are disjoint
// [first_block, end_block) ranges, merged when they touch, so a file written
// from start to end is one row; inodes.data_blocks is their total. Blocks
// outside every range are holes: they read as zeros without asking a data
// server, and nothing is stored for them.
#include <sqlite3.h>

#include <algorithm>

#include "core/meta/meta_store.h"
#include "core/meta/meta_store_util.h"
#include "core/meta/sqlite_util.h"

namespace dfs::meta {

Status MetaStore::AddDataBlocks(uint64_t fid, int64_t delta) {
  if (delta == 0) return Status::Ok();
  Stmt s(Prepare("UPDATE inodes SET data_blocks = data_blocks + ? WHERE fid = ?"));
  s.Bind(1, delta).Bind(2, fid);
  return s.Run("count the data blocks of file id " + std::to_string(fid));
}

// REQUIRES: a transaction is open.
Status MetaStore::AddExtent(uint64_t fid, uint64_t first, uint64_t end) {
  if (first >= end) return Status::Ok();
  uint64_t lo = first, hi = end;
  int64_t had = 0;  // blocks already in the ranges merged into this one
  {
    // The range that starts before `first`, if it reaches it.
    Stmt left(Prepare(
        "SELECT first_block, end_block FROM extents WHERE fid = ? AND first_block < ? "
        "ORDER BY first_block DESC LIMIT 1"));
    left.Bind(1, fid).Bind(2, first);
    if (left.Step() == SQLITE_ROW) {
      uint64_t f = sqlite3_column_int64(left.get(), 0), e = sqlite3_column_int64(left.get(), 1);
      if (e >= first) {
        lo = f;
        hi = std::max(hi, e);
        had += static_cast<int64_t>(e - f);
      }
    }
  }
  {
    // Ranges that start inside [first, end] (touching counts: they merge).
    Stmt inside(Prepare("SELECT first_block, end_block FROM extents WHERE fid = ? AND first_block >= ? "
                        "AND first_block <= ?"));
    inside.Bind(1, fid).Bind(2, first).Bind(3, end);
    while (inside.Step() == SQLITE_ROW) {
      uint64_t f = sqlite3_column_int64(inside.get(), 0), e = sqlite3_column_int64(inside.get(), 1);
      hi = std::max(hi, e);
      had += static_cast<int64_t>(e - f);
    }
  }
  Stmt del(Prepare("DELETE FROM extents WHERE fid = ? AND first_block >= ? AND first_block <= ?"));
  del.Bind(1, fid).Bind(2, lo).Bind(3, end);
  DFS_RETURN_IF_ERROR(del.Run("merge the extents of file id " + std::to_string(fid)));
  Stmt ins(Prepare("INSERT INTO extents(fid, first_block, end_block) VALUES (?, ?, ?)"));
  ins.Bind(1, fid).Bind(2, lo).Bind(3, hi);
  DFS_RETURN_IF_ERROR(ins.Run("add an extent to file id " + std::to_string(fid)));
  return AddDataBlocks(fid, static_cast<int64_t>(hi - lo) - had);
}

// REQUIRES: a transaction is open.
Status MetaStore::CutExtents(uint64_t fid, uint64_t first) {
  int64_t removed = 0;
  {
    Stmt whole(Prepare("SELECT COALESCE(SUM(end_block - first_block), 0) FROM extents WHERE fid = ? AND "
                       "first_block >= ?"));
    whole.Bind(1, fid).Bind(2, first);
    if (whole.Step() == SQLITE_ROW) removed += sqlite3_column_int64(whole.get(), 0);
  }
  Stmt del(Prepare("DELETE FROM extents WHERE fid = ? AND first_block >= ?"));
  del.Bind(1, fid).Bind(2, first);
  DFS_RETURN_IF_ERROR(del.Run("cut the extents of file id " + std::to_string(fid)));
  uint64_t across_first = 0, across_end = 0;
  {
    Stmt across(Prepare(
        "SELECT first_block, end_block FROM extents WHERE fid = ? AND first_block < ? "
        "ORDER BY first_block DESC LIMIT 1"));
    across.Bind(1, fid).Bind(2, first);
    if (across.Step() == SQLITE_ROW) {
      across_first = sqlite3_column_int64(across.get(), 0);
      across_end = sqlite3_column_int64(across.get(), 1);
    }
  }
  if (across_end > first) {
    Stmt shorten(Prepare("UPDATE extents SET end_block = ? WHERE fid = ? AND first_block = ?"));
    shorten.Bind(1, first).Bind(2, fid).Bind(3, across_first);
    DFS_RETURN_IF_ERROR(shorten.Run("cut the extents of file id " + std::to_string(fid)));
    removed += static_cast<int64_t>(across_end - first);
  }
  return AddDataBlocks(fid, -removed);
}

bool SortedRanges(const std::vector<uint64_t>& ranges) {
  if (ranges.size() % 2 != 0) return false;
  for (size_t k = 0; k < ranges.size(); k += 2) {
    if (ranges[k] >= ranges[k + 1]) return false;
    if (k > 0 && ranges[k] <= ranges[k - 1]) return false;  // overlapping or touching: merge instead
  }
  return true;
}

// REQUIRES: a transaction is open; the file has no extents; SortedRanges.
Status MetaStore::SetExtents(uint64_t fid, const std::vector<uint64_t>& ranges, uint64_t blocks, uint64_t* total) {
  *total = 0;
  for (size_t k = 0; k < ranges.size(); k += 2) {
    uint64_t first = ranges[k], end = std::min(ranges[k + 1], blocks);
    if (first >= end) break;  // sorted: the rest are past the size too
    Stmt ins(Prepare("INSERT INTO extents(fid, first_block, end_block) VALUES (?, ?, ?)"));
    ins.Bind(1, fid).Bind(2, first).Bind(3, end);
    DFS_RETURN_IF_ERROR(ins.Run("add an extent to file id " + std::to_string(fid)));
    *total += end - first;
  }
  return Status::Ok();
}

Result<uint64_t> MetaStore::DataBlocks(uint64_t fid) {
  Stmt s(Prepare("SELECT data_blocks FROM inodes WHERE fid = ?"));
  s.Bind(1, fid);
  if (s.Step() != SQLITE_ROW) return NotFound("file id " + std::to_string(fid));
  return static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
}

Status MetaStore::DeleteExtents(uint64_t fid) {
  Stmt del(Prepare("DELETE FROM extents WHERE fid = ?"));
  del.Bind(1, fid);
  return del.Run("delete the extents of file id " + std::to_string(fid));
}

Result<proto::ExtentsRsp> MetaStore::Extents(const proto::ExtentsReq& req) {
  DFS_ASSIGN_OR_RETURN(Attr a, ByFid(req.fid));
  if (!IsFile(a)) return InvalidArgument("file id " + std::to_string(req.fid) + " is not a regular file");
  const uint32_t limit = std::clamp<uint32_t>(req.limit, 1, 65536);
  proto::ExtentsRsp rsp;
  {
    // The range holding `first`, if one does.
    Stmt left(Prepare(
        "SELECT first_block, end_block FROM extents WHERE fid = ? AND first_block <= ? "
        "ORDER BY first_block DESC LIMIT 1"));
    left.Bind(1, a.fid).Bind(2, req.first);
    if (left.Step() == SQLITE_ROW && static_cast<uint64_t>(sqlite3_column_int64(left.get(), 1)) > req.first) {
      rsp.ranges.push_back(sqlite3_column_int64(left.get(), 0));
      rsp.ranges.push_back(sqlite3_column_int64(left.get(), 1));
    }
  }
  Stmt next(Prepare(
      "SELECT first_block, end_block FROM extents WHERE fid = ? AND first_block > ? ORDER BY first_block LIMIT ?"));
  next.Bind(1, a.fid).Bind(2, req.first).Bind(3, static_cast<int64_t>(limit) + 1);
  while (next.Step() == SQLITE_ROW) {
    if (rsp.ranges.size() / 2 == limit) {
      rsp.more = true;
      break;
    }
    rsp.ranges.push_back(sqlite3_column_int64(next.get(), 0));
    rsp.ranges.push_back(sqlite3_column_int64(next.get(), 1));
  }
  return rsp;
}

}  // namespace dfs::meta
