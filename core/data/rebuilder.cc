#include "core/data/rebuilder.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <unordered_set>

#include "core/common/block_records.h"
#include "core/common/checksum.h"
#include "core/common/placement.h"

namespace dfs::data {
namespace {

constexpr uint64_t kWindowBytes = 8 << 20;  // of a file, checked per round

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

Rebuilder::Rebuilder(BlockStore* store, Peers peers, const std::atomic<bool>* stop)
    : store_(store), peers_(std::move(peers)), stop_(stop), index_(store->index()) {}

Rebuilder::~Rebuilder() {
  if (thread_.joinable()) thread_.join();
}

void Rebuilder::Start() {
  progress_.running = true;
  thread_ = std::thread([this] { Run(); });
}

void Rebuilder::Log(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "dfs data %u: %s\n", index_, buf);
}

void Rebuilder::MaybeReportProgress(bool force) {
  double now = Now();
  if (!force && now - last_report_ < 2) return;
  last_report_ = now;
  double secs = std::max(now - started_, 1e-6);
  Log("rebuild: %llu files checked, %llu blocks (%.1f MiB) restored, %.1f MB/s",
      static_cast<unsigned long long>(progress_.files_checked.load()),
      static_cast<unsigned long long>(progress_.blocks_restored.load()), progress_.bytes_restored.load() / 1048576.0,
      progress_.bytes_restored.load() / secs / 1e6);
}

void Rebuilder::Run() {
  started_ = last_report_ = Now();
  neighbours_ = std::make_unique<Neighbours>(peers_, stop_);

  std::vector<proto::Attr> retry;
  std::unordered_set<uint64_t> live;
  uint64_t listed_below = 0;  // next_fid of the first page
  uint64_t after = 0;
  bool said_meta = false;
  while (!stopping()) {
    auto page = neighbours_->ListFiles(after, 1000);
    if (!page.ok()) {
      if (!said_meta)
        Log("rebuild: waiting for the meta server at %s: %s", peers_.meta.c_str(), page.status().message().c_str());
      said_meta = true;
      SleepUnlessStopped(1, *stop_);
      continue;
    }
    if (after == 0) listed_below = page->next_fid;
    for (const proto::Attr& f : page->files) {
      if (stopping()) break;
      live.insert(f.fid);
      if (!RebuildFile(f)) retry.push_back(f);
      ++progress_.files_checked;
      MaybeReportProgress(false);
    }
    if (!page->more || page->files.empty()) break;
    after = page->files.back().fid;
  }
  // Files whose other holder could not be reached: try again until done.
  double backoff = 1;
  bool said_waiting = false;
  while (!stopping() && !retry.empty()) {
    if (!said_waiting) Log("rebuild: %zu files wait for a data server that does not answer", retry.size());
    said_waiting = true;
    if (!SleepUnlessStopped(backoff, *stop_)) break;
    backoff = std::min(backoff * 2, 10.0);
    std::vector<proto::Attr> still;
    for (const auto& f : retry) {
      if (!RebuildFile(f)) still.push_back(f);
    }
    retry.swap(still);
  }
  if (stopping()) return;
  // Blocks of files the namespace no longer has go to the trash. Only file
  // ids handed out before the listing began: a newer file may be being
  // written right now.
  size_t trashed = 0;
  {
    for (const StoredFile& f : store_->ListFiles()) {
      if (f.fid < listed_below && !live.count(f.fid)) trashed += store_->Delete(f.fid).ok();
    }
  }
  if (trashed) Log("moved the blocks of %zu deleted files to the trash", trashed);
  MaybeReportProgress(true);
  if (progress_.blocks_lost > 0) {
    Log("rebuild done, but %llu blocks had no good copy on their other holder either (see above)",
        static_cast<unsigned long long>(progress_.blocks_lost.load()));
  } else {
    Log("rebuild done: the store matches the namespace");
  }
  progress_.running = false;
}

bool Rebuilder::RebuildFile(const proto::Attr& file) {
  const uint32_t n = file.stripe_width;
  if (n < 2 || index_ >= n || file.size == 0 || n > peers_.servers.size()) return true;
  auto ranges = neighbours_->DataRanges(file);
  if (!ranges.ok()) return false;  // the meta server is away: next round
  bool complete = true;
  for (const auto& [first, end] : *ranges) {
    if (stopping()) break;
    complete &= RebuildRange(file, first, end);
  }
  return complete;
}

bool Rebuilder::RebuildRange(const proto::Attr& file, uint64_t from, uint64_t count) {
  const uint32_t n = file.stripe_width;
  const FileLayout key = file.layout();
  const uint64_t window = std::max<uint64_t>(n, kWindowBytes / file.block_size);
  bool complete = true;
  for (uint64_t first = from; first < count && !stopping(); first += window) {
    std::vector<BlockRecord> local;
    for (uint64_t i = first; i < std::min(count, first + window); ++i) {
      if (HoldsBlock(file.placement_seed, n, index_, i)) {
        BlockRecord r;
        r.index = i;
        local.push_back(r);
      }
    }
    if (local.empty()) continue;
    std::string unused;
    {
      if (!store_->Read(key, &local, &unused).ok()) return true;  // not ours to fix (bad key)
    }
    // Ask each missing or corrupt block's other holder for its copy. A block
    // we hold that verifies is kept: a stale one is found by reads and fsck.
    std::vector<std::vector<BlockRecord>> ask(n);
    for (const BlockRecord& r : local) {
      if (r.state == static_cast<uint32_t>(BlockState::kOk) &&
          VersionGeneration(r.version) >= file.truncate_generation) {
        continue;
      }
      ReplicaPair p = PlaceBlock(file.placement_seed, n, r.index);
      BlockRecord q;
      q.index = r.index;
      q.flags = kWantData;
      ask[p.first == index_ ? p.second : p.first].push_back(q);
    }
    std::vector<client::Batch> reads;
    for (uint32_t other = 0; other < n; ++other) {
      if (!ask[other].empty()) reads.push_back(Neighbours::ReadBatch(key, other, std::move(ask[other])));
    }
    if (!neighbours_->Read(&reads).ok()) return false;  // stopping
    // Copies from both neighbours are stored together in block order, so
    // they land in consecutive slots: one write per run, not per block.
    std::vector<std::pair<BlockRecord, const char*>> got;
    for (const client::Batch& read : reads) {
      const uint32_t other = read.req.server;
      if (!read.status.ok()) {
        if (read.status.code() == Code::kUnavailable) {
          complete = false;  // not reachable: next round
        } else {
          // It answered, and cannot give these blocks: report, go on.
          progress_.blocks_lost += read.records.size();
          Log("rebuild: %zu blocks of %s (file id %llu) have no good copy to fetch: %s", read.records.size(),
              file.name.c_str(), static_cast<unsigned long long>(file.fid), read.status.message().c_str());
        }
        continue;
      }
      const std::string& data = read.reply_data;
      uint64_t off = 0;
      for (const BlockRecord& theirs : read.reply_records) {
        if (theirs.state != static_cast<uint32_t>(BlockState::kOk)) {
          ++progress_.blocks_lost;
          Log("rebuild: block %llu of %s (file id %llu) has no good copy: server %u has it %s",
              static_cast<unsigned long long>(theirs.index), file.name.c_str(),
              static_cast<unsigned long long>(file.fid), other, BlockStateName(static_cast<BlockState>(theirs.state)));
          continue;
        }
        if (off + theirs.length > data.size()) break;
        const char* bytes = data.data() + off;
        off += theirs.length;
        if (VersionGeneration(theirs.version) < file.truncate_generation) continue;  // dead: truncated away
        if (Crc32c(bytes, theirs.length) != theirs.crc) {
          complete = false;  // damaged on the way: next round
          continue;
        }
        BlockRecord w = theirs;
        w.state = 0;
        w.flags = 0;
        got.emplace_back(w, bytes);
      }
    }
    if (!got.empty()) {
      std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.first.index < b.first.index; });
      std::vector<BlockRecord> store_recs;
      std::string store_data;
      store_recs.reserve(got.size());
      for (const auto& [rec, bytes] : got) {
        store_recs.push_back(rec);
        store_data.append(bytes, rec.length);
      }
      Status st;
      { st = store_->Write(key, store_recs, store_data); }
      if (!st.ok()) {
        Log("rebuild: cannot store blocks of file id %llu: %s", static_cast<unsigned long long>(file.fid),
            st.message().c_str());
        complete = false;
      } else {
        progress_.blocks_restored += store_recs.size();
        progress_.bytes_restored += store_data.size();
      }
    }
    MaybeReportProgress(false);
  }
  return complete;
}

}  // namespace dfs::data
