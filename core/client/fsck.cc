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

// Classifies one block; appends its problems. Returns false if both holders
// answered and neither has a good copy (unrecoverable).
bool CheckBlock(const Attr& a, const std::string& path, const BlockReport& b, const proto::GetMapRsp& map,
                std::vector<FsckProblem>* out) {
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
  for (int h = 0; h < 2; ++h) {
    if (kind[h].empty()) continue;
    FsckProblem p;
    p.path = path;
    p.fid = a.fid;
    p.block = static_cast<int64_t>(b.index);
    p.offset = b.index * a.block_size;
    p.length = BlockLength(a.size, a.block_size, b.index);
    p.server = r[h]->server;
    p.endpoint = p.server < map.servers.size() ? map.servers[p.server] : "";
    p.kind = kind[h];
    p.recoverable = recoverable && kind[h] != "unverified";
    out->push_back(std::move(p));
  }
  return recoverable || !r[0]->status.ok() || !r[1]->status.ok();
}

bool Under(const std::string& path, const std::string& root) {
  return root == "/" || path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                                         path[root.size()] == '/');
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
  std::erase_if(files, [&](const Attr& a) { return !Under(a.name, root); });

  FsckReport report;
  FsckProgress progress;
  progress.files_total = files.size();
  for (const Attr& a : files) progress.bytes_total += 2 * a.size;

  for (const Attr& a : files) {
    DFS_ASSIGN_OR_RETURN(auto blocks, fs.InspectBlocks(a));
    ++report.files;
    report.blocks += blocks.size();
    size_t first_problem = report.problems.size();
    for (const BlockReport& b : blocks) {
      for (const auto& r : b.replicas) {
        if (r.status.ok() && r.record.state != static_cast<uint32_t>(BlockState::kMissing)) {
          report.replica_bytes += r.record.length;
        }
      }
      size_t before = report.problems.size();
      if (!CheckBlock(a, a.name, b, fs.map(), &report.problems)) ++report.unrecoverable;
      if (report.problems.size() == before) ++report.healthy_blocks;
    }
    if (options.repair) {
      // Read the damaged blocks that have a good copy: the read path writes
      // the good copy over the bad ones (R9). Contiguous blocks in one read.
      std::vector<int64_t> todo;
      for (size_t k = first_problem; k < report.problems.size(); ++k) {
        const FsckProblem& p = report.problems[k];
        if (p.recoverable && (todo.empty() || todo.back() != p.block)) todo.push_back(p.block);
      }
      for (size_t k = 0; k < todo.size();) {
        size_t e = k + 1;
        while (e < todo.size() && todo[e] == todo[e - 1] + 1) ++e;
        uint64_t offset = static_cast<uint64_t>(todo[k]) * a.block_size;
        uint64_t length = static_cast<uint64_t>(todo[e - 1] - todo[k] + 1) * a.block_size;
        (void)fs.Read(a, a.name, [](const char*, size_t) { return Status::Ok(); }, offset, length);
        k = e;
      }
      if (!todo.empty()) {
        // Count as repaired only what a second look finds good.
        auto again = fs.InspectBlocks(a);
        if (again.ok()) {
          for (size_t k = first_problem; k < report.problems.size(); ++k) {
            FsckProblem& p = report.problems[k];
            if (!p.recoverable) continue;
            auto at = std::lower_bound(again->begin(), again->end(), static_cast<uint64_t>(p.block),
                                       [](const BlockReport& r, uint64_t i) { return r.index < i; });
            if (at == again->end() || at->index != static_cast<uint64_t>(p.block)) continue;
            std::vector<FsckProblem> still;
            CheckBlock(a, a.name, *at, fs.map(), &still);
            bool fixed = true;
            for (const auto& s : still) fixed &= s.server != p.server;
            if (fixed) {
              p.repaired = true;
              ++report.repaired;
            }
          }
        }
      }
    }
    ++progress.files_done;
    progress.bytes_done += 2 * a.size;
    if (options.progress) options.progress(progress);
  }

  // Orphans: file ids stored on a server that the namespace does not have.
  // Only ids handed out before the listing began (a newer file may be being
  // written), and only for a check of the whole namespace.
  if (root == "/") {
    for (uint32_t s = 0; s < fs.map().servers.size(); ++s) {
      auto stored = fs.StoredFiles(s);
      if (!stored.ok()) continue;  // down: its blocks were reported unverified
      for (uint64_t fid : *stored) {
        if (fid >= listed_below || live.count(fid)) continue;
        FsckProblem p;
        p.fid = fid;
        p.server = s;
        p.endpoint = fs.map().servers[s];
        p.kind = "orphan";
        if (options.repair && fs.DeleteStored(s, fid).ok()) {
          p.repaired = true;
          ++report.repaired;
        }
        report.problems.push_back(std::move(p));
      }
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace dfs::client
