// LeaseTable: who may write which file right now (docs/leases.md).
//
// A write lease names one holder (a client: a random id and "host pid N"),
// the file id it writes and when it expires unless renewed. Two kinds:
//  - in place: a file written where it is (the mount, truncate); keyed by
//    its file id;
//  - staged: a new, nameless file that will replace the name (parent
//    directory, name) when it is published (dfs cp); keyed by its file id
//    and found by that name too.
// The table only keeps the facts; MetaStore decides what conflicts. Times
// are milliseconds of a clock the caller passes in (steady, or a test's).
// Thread-safety: none; the meta server's loop thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dfs::meta {

struct LeaseHolder {
  uint64_t id = 0;   // 0: nobody (takes no lease, conflicts with every lease)
  std::string name;  // "host pid N"
};

struct Lease {
  LeaseHolder holder;
  uint64_t fid = 0;
  int64_t expires_ms = 0;
  bool staged = false;
  uint64_t parent = 0;  // staged: the directory and name it will take
  std::string name;
};

class LeaseTable {
 public:
  explicit LeaseTable(int64_t duration_ms) : duration_ms_(duration_ms) {}

  int64_t duration_ms() const { return duration_ms_; }

  // The lease on file `fid`, or null.
  const Lease* Find(uint64_t fid) const;
  // The staged file that will take (parent, name), or null.
  const Lease* FindStaged(uint64_t parent, const std::string& name) const;

  // Grants or renews (same holder) the lease on `lease.fid` until now + duration.
  void Grant(Lease lease, int64_t now_ms);
  // Extends `fid`'s lease if `holder` has it; false if it does not.
  bool Renew(uint64_t fid, uint64_t holder, int64_t now_ms);
  void Release(uint64_t fid);

  // Removes and returns the leases expired at `now_ms`.
  std::vector<Lease> TakeExpired(int64_t now_ms);

  size_t size() const { return by_fid_.size(); }

 private:
  int64_t duration_ms_;
  std::unordered_map<uint64_t, Lease> by_fid_;
  std::map<std::pair<uint64_t, std::string>, uint64_t> staged_by_name_;
  int64_t earliest_expiry_ = INT64_MAX;  // no lease expires before this
};

}  // namespace dfs::meta
