#include "core/client/fsck.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "core/common/path.h"
#include "core/common/placement.h"

namespace dfs::client {
namespace {

bool Ok(const ReplicaReport& r) {
  return r.status.ok() && r.record.state == static_cast<uint32_t>(BlockState::kOk);
}

// Classifies one block; appends its problems to `file`. Returns false if
// both holders answered and neither has a good copy (unrecoverable).
bool CheckBlock(const Attr& a, const BlockReport& b, const proto::GetMapRsp& map, FsckFile* file) {
  auto live = [&](const ReplicaReport& r) {
    return Ok(r) && VersionGeneration(r.record.version) >= a.truncate_generation;
  };
  const ReplicaReport* r[2] = {&b.replicas[0], &b.replicas[1]};
  std::string kind[2];
  bool good[2] = {live(*r[0]), live(*r[1])};
  if (good[0] && good[1]) {
    if (r[0]->record.version != r[1]->record.version) {
      int older = r[0]->record.version < r[1]->record.version ? 0 : 1;
      kind[older] = "stale";
      good[older] = false;
    } else if (r[0]->record.crc != r[1]->record.crc || r[0]->record.length != r[1]->record.length) {
      kind[0] = kind[1] = "mismatched";  // which one is right cannot be known
      good[0] = good[1] = false;
    }
  }
  for (int h = 0; h < 2; ++h) {
    if (!kind[h].empty() || good[h]) continue;
    if (!r[h]->status.ok()) {
      kind[h] = "unverified";
    } else if (r[h]->record.state == static_cast<uint32_t>(BlockState::kOk)) {
      kind[h] = "stale";  // written before the file was truncated
    } else {
      kind[h] = BlockStateName(static_cast<BlockState>(r[h]->record.state));
    }
  }
  bool recoverable = good[0] || good[1];
  bool damaged = false, unverified = false;
  for (int h = 0; h < 2; ++h) {
    if (kind[h].empty()) continue;
    FsckProblem p;
    p.block = static_cast<int64_t>(b.index);
    p.offset = b.index * a.block_size;
    p.length = BlockLength(a.size, a.block_size, b.index);
    p.server = r[h]->server;
    p.endpoint = p.server < map.servers.size() ? map.servers[p.server] : "";
    p.kind = kind[h];
    p.recoverable = recoverable && kind[h] != "unverified";
    (kind[h] == "unverified" ? unverified : damaged) = true;
    file->problems.push_back(std::move(p));
  }
  file->damaged_blocks += damaged;
  file->unverified_blocks += unverified;
  return recoverable || !r[0]->status.ok() || !r[1]->status.ok();
}

bool Under(const std::string& path, const std::string& root) {
  return root == "/" || path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                                         path[root.size()] == '/');
}

// Reads the damaged blocks that have a good copy: the read path writes the
// good copy over the bad ones (R9). Then counts as repaired only what a
// second look finds good.
void Repair(FileSystem& fs, const Attr& a, FsckFile* file) {
  std::vector<int64_t> todo;
  for (const FsckProblem& p : file->problems) {
    if (p.recoverable && (todo.empty() || todo.back() != p.block)) todo.push_back(p.block);
  }
  if (todo.empty()) return;
  for (size_t k = 0; k < todo.size();) {
    size_t e = k + 1;
    while (e < todo.size() && todo[e] == todo[e - 1] + 1) ++e;
    uint64_t offset = static_cast<uint64_t>(todo[k]) * a.block_size;
    uint64_t length = static_cast<uint64_t>(todo[e - 1] - todo[k] + 1) * a.block_size;
    (void)fs.Read(a, file->path, [](const char*, size_t) { return Status::Ok(); }, offset, length);
    k = e;
  }
  auto again = fs.InspectBlocks(a);
  if (!again.ok()) return;
  for (FsckProblem& p : file->problems) {
    if (!p.recoverable) continue;
    auto at = std::lower_bound(again->begin(), again->end(), static_cast<uint64_t>(p.block),
                               [](const BlockReport& r, uint64_t i) { return r.index < i; });
    if (at == again->end() || at->index != static_cast<uint64_t>(p.block)) continue;
    FsckFile still;
    CheckBlock(a, *at, fs.map(), &still);
    bool fixed = true;
    for (const auto& s : still.problems) fixed &= s.server != p.server;
    if (fixed) {
      p.repaired = true;
      ++file->repaired;
    }
  }
}

// Moves the whole file id's blocks on server `s` to its trash when the
// namespace does not have it: only ids handed out before the listing
// began (a newer file may be being written) and only for a check of the
// whole namespace.
void CountOrphans(FileSystem& fs, const std::unordered_set<uint64_t>& live, uint64_t listed_below, bool repair,
                  FsckServer* server) {
  auto stored = fs.StoredFiles(server->index);
  if (!stored.ok()) {
    server->down = true;
    return;
  }
  for (size_t k = 0; k < stored->fids.size(); ++k) {
    uint64_t fid = stored->fids[k];
    if (fid >= listed_below || live.count(fid)) continue;
    ++server->orphan_files;
    server->orphan_bytes += k < stored->bytes.size() ? stored->bytes[k] : 0;
    if (repair && fs.DeleteStored(server->index, fid).ok()) ++server->orphans_removed;
  }
}

}  // namespace

Result<FsckReport> Fsck(FileSystem& fs, const FsckOptions& options) {
  auto start = std::chrono::steady_clock::now();
  DFS_ASSIGN_OR_RETURN(std::string root, NormalizePath(options.path));
  DFS_RETURN_IF_ERROR(fs.Stat(root).status());
  std::vector<Attr> files;
  uint64_t listed_below = 0;
  DFS_RETURN_IF_ERROR(fs.ListAllFiles(&files, &listed_below));
  std::unordered_set<uint64_t> live;
  for (const Attr& a : files) live.insert(a.fid);
  // Staged copies (no name yet) are live but not checked: they are not files yet.
  std::erase_if(files, [&](const Attr& a) { return !Under(a.name, root); });

  FsckReport report;
  const proto::GetMapRsp& map = fs.map();
  for (uint32_t s = 0; s < map.servers.size(); ++s) {
    FsckServer server;
    server.index = s;
    server.endpoint = map.servers[s];
    report.servers.push_back(server);
  }
  FsckProgress progress;
  progress.files_total = files.size();
  auto stored_bytes = [](const Attr& a) {
    return 2 * (proto::Dense(a) ? a.size : std::min<uint64_t>(a.size, a.data_blocks * a.block_size));
  };
  for (const Attr& a : files) progress.bytes_total += stored_bytes(a);

  for (const Attr& a : files) {
    DFS_ASSIGN_OR_RETURN(auto blocks, fs.InspectBlocks(a));
    FsckFile file;
    file.path = a.name;
    file.fid = a.fid;
    file.blocks = blocks.size();
    std::vector<uint64_t> unverified_here(map.servers.size(), 0);
    for (const BlockReport& b : blocks) {
      for (const auto& r : b.replicas) {
        if (r.status.ok() && r.record.state != static_cast<uint32_t>(BlockState::kMissing)) {
          report.replica_bytes += r.record.length;
        }
      }
      size_t before = file.problems.size();
      if (!CheckBlock(a, b, map, &file)) ++file.unrecoverable;
      if (file.problems.size() == before) ++report.healthy_blocks;
      for (int h = 0; h < 2; ++h) {
        if (b.replicas[h].status.ok() || b.replicas[h].server >= report.servers.size()) continue;
        FsckServer& s = report.servers[b.replicas[h].server];
        s.down = true;
        ++s.unverified_blocks;
        ++unverified_here[b.replicas[h].server];
        if (!Ok(b.replicas[1 - h])) ++s.unverified_unprotected;
      }
    }
    for (uint32_t s = 0; s < unverified_here.size(); ++s) report.servers[s].unverified_files += unverified_here[s] > 0;
    if (options.repair) Repair(fs, a, &file);
    ++report.files;
    report.blocks += file.blocks;
    report.damaged_files += file.damaged();
    report.damaged_blocks += file.damaged_blocks;
    report.unverified_blocks += file.unverified_blocks;
    report.problems += file.problems.size();
    report.repaired += file.repaired;
    report.unrecoverable += file.unrecoverable;
    for (const FsckProblem& p : file.problems) report.damage_left += p.kind != "unverified" && !p.repaired;
    if (!file.problems.empty() && options.on_file) options.on_file(file);
    ++progress.files_done;
    progress.bytes_done += stored_bytes(a);
    if (options.progress) options.progress(progress);
  }

  if (root == "/") {
    for (FsckServer& s : report.servers) CountOrphans(fs, live, listed_below, options.repair, &s);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace dfs::client
