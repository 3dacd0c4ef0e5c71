#include "core/meta/lease_table.h"

#include <algorithm>

namespace dfs::meta {

const Lease* LeaseTable::Find(uint64_t fid) const {
  auto it = by_fid_.find(fid);
  return it == by_fid_.end() ? nullptr : &it->second;
}

const Lease* LeaseTable::FindStaged(uint64_t parent, const std::string& name) const {
  auto it = staged_by_name_.find({parent, name});
  return it == staged_by_name_.end() ? nullptr : Find(it->second);
}

void LeaseTable::Grant(Lease lease, int64_t now_ms) {
  Release(lease.fid);
  lease.expires_ms = now_ms + duration_ms_;
  earliest_expiry_ = std::min(earliest_expiry_, lease.expires_ms);
  if (lease.staged) staged_by_name_[{lease.parent, lease.name}] = lease.fid;
  by_fid_[lease.fid] = std::move(lease);
}

bool LeaseTable::Renew(uint64_t fid, uint64_t holder, int64_t now_ms) {
  auto it = by_fid_.find(fid);
  if (it == by_fid_.end() || it->second.holder.id != holder) return false;
  it->second.expires_ms = now_ms + duration_ms_;
  return true;
}

void LeaseTable::Release(uint64_t fid) {
  auto it = by_fid_.find(fid);
  if (it == by_fid_.end()) return;
  if (it->second.staged) {
    auto name = staged_by_name_.find({it->second.parent, it->second.name});
    if (name != staged_by_name_.end() && name->second == fid) staged_by_name_.erase(name);
  }
  by_fid_.erase(it);
}

std::vector<Lease> LeaseTable::TakeExpired(int64_t now_ms) {
  std::vector<Lease> out;
  if (now_ms < earliest_expiry_) return out;
  earliest_expiry_ = INT64_MAX;
  for (const auto& [fid, lease] : by_fid_) {
    if (lease.expires_ms <= now_ms) {
      out.push_back(lease);
    } else {
      earliest_expiry_ = std::min(earliest_expiry_, lease.expires_ms);
    }
  }
  for (const Lease& l : out) Release(l.fid);
  return out;
}

}  // namespace dfs::meta
