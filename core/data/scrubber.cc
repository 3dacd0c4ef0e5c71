#include "core/data/scrubber.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "core/common/block_records.h"
#include "core/common/checksum.h"
#include "core/common/placement.h"

namespace dfs::data {
namespace {

constexpr uint64_t kChunkBytes = 1 << 20;      // read per step, under the store lock
constexpr uint64_t kFileCostBytes = 64 << 10;  // what a file's meta calls and opens count as

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Covered(const std::vector<std::pair<uint64_t, uint64_t>>& ranges, uint64_t block) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), block,
                             [](uint64_t b, const std::pair<uint64_t, uint64_t>& r) { return b < r.first; });
  return it != ranges.begin() && block < std::prev(it)->second;
}

}  // namespace

Scrubber::Scrubber(BlockStore* store, Peers peers, const std::atomic<bool>* stop,
                   const std::atomic<int64_t>* last_request_ns, const RebuildProgress* rebuild, ScrubOptions options)
    : store_(store),
      peers_(std::move(peers)),
      stop_(stop),
      last_request_ns_(last_request_ns),
      rebuild_(rebuild),
      options_(std::move(options)),
      index_(store->index()) {}

Scrubber::~Scrubber() {
  if (thread_.joinable()) thread_.join();
}

void Scrubber::Start() {
  LoadState();
  thread_ = std::thread([this] { Run(); });
}

void Scrubber::Run() {
  neighbours_ = std::make_unique<Neighbours>(peers_, stop_);
  // The rebuild reads and writes the whole store first; scrubbing beside it
  // would only slow both.
  while (!stopping() && rebuild_ && rebuild_->running) SleepUnlessStopped(0.5, *stop_);
  // A pass every interval from the last one; a server that never finished
  // one waits one interval from its start (a new server holds nothing old).
  const int64_t interval_ns = static_cast<int64_t>(options_.pass_days * 86400e9);
  int64_t due_ns = (progress_.last_pass_ns.load() ? progress_.last_pass_ns.load() : WallNs()) + interval_ns;
  while (!stopping()) {
    int64_t left_ns = due_ns - WallNs();
    if (left_ns > 0) {
      SleepUnlessStopped(std::min(left_ns / 1e9, 5.0), *stop_);
      continue;
    }
    // A pass that could not reach everything is tried again soon.
    due_ns = WallNs() + (Pass() ? interval_ns : std::min<int64_t>(interval_ns, 60'000'000'000));
  }
}

bool Scrubber::Pass() {
  std::vector<StoredFile> files;
  { files = store_->ListFiles(); }
  // The least recently verified first (never verified: first of all).
  std::stable_sort(files.begin(), files.end(), [&](const StoredFile& a, const StoredFile& b) {
    auto va = verified_.find(a.fid), vb = verified_.find(b.fid);
    return (va == verified_.end() ? 0 : va->second) < (vb == verified_.end() ? 0 : vb->second);
  });
  progress_.pass_blocks = 0;
  bool whole = true;
  size_t done = 0;
  for (const StoredFile& f : files) {
    if (stopping()) return false;
    if (ScrubFile(f.fid)) {
      verified_[f.fid] = WallNs();
    } else {
      whole = false;
    }
    if (++done % 100 == 0) SaveState();
  }
  // Forget files that are gone.
  std::map<uint64_t, int64_t> kept;
  for (const StoredFile& f : files) {
    if (auto it = verified_.find(f.fid); it != verified_.end()) kept.insert(*it);
  }
  verified_.swap(kept);
  if (whole) {
    progress_.last_pass_ns = WallNs();
    fprintf(stderr,
            "dfs data %u: scrub pass done: %zu files, %llu blocks verified; %llu bad copies found, "
            "%llu "
            "repaired, %llu without a good copy (since start)\n",
            index_, files.size(), static_cast<unsigned long long>(progress_.pass_blocks.load()),
            static_cast<unsigned long long>(progress_.found.load()),
            static_cast<unsigned long long>(progress_.repaired.load()),
            static_cast<unsigned long long>(progress_.unrepaired.load()));
  }
  SaveState();
  return whole;
}

bool Scrubber::ScrubFile(uint64_t fid) {
  // Each file costs meta calls and opens besides its bytes: clients first
  // here too, and a small file counts as kFileCostBytes of the budget.
  Throttle(kFileCostBytes);
  uint64_t next_fid = 0;
  auto file = neighbours_->File(fid, &next_fid);
  if (!file.ok()) {
    if (file.status().code() != Code::kNotFound || fid >= next_fid) return false;
    // The namespace has no such file (a delete this server missed).
    if (store_->Delete(fid).ok()) {
      ++progress_.orphan_files;
      fprintf(stderr,
              "dfs data %u: scrub: file id %llu is not in the namespace: moved its blocks to the "
              "trash\n",
              index_, static_cast<unsigned long long>(fid));
    }
    return true;
  }
  const proto::Attr& a = *file;
  if (a.stripe_width < 2 || index_ >= a.stripe_width) return true;
  const FileLayout key = a.layout();
  {
    if (!store_->CheckHeader(key).ok()) return false;
  }
  auto ranges = neighbours_->DataRanges(a);
  if (!ranges.ok()) return false;

  std::vector<uint64_t> drop;
  std::vector<BlockRecord> bad;
  uint64_t slot = 0;
  while (slot != UINT64_MAX && !stopping()) {
    std::vector<BlockRecord> stored;
    uint64_t read = 0;
    {
      if (!store_->ScanSlots(key, &slot, kChunkBytes, &stored, &read).ok()) return false;
    }
    Throttle(read);
    for (const BlockRecord& r : stored) {
      ++progress_.pass_blocks;
      const uint64_t generation = VersionGeneration(r.version);
      if (!Covered(*ranges, r.index)) {
        // No file owns it, unless a writer of the current generation has
        // not committed it yet.
        if (generation < a.generation) drop.push_back(r.index);
        continue;
      }
      if (r.state != static_cast<uint32_t>(BlockState::kOk) || generation < a.truncate_generation) bad.push_back(r);
    }
  }
  if (stopping()) return false;
  if (!drop.empty()) {
    if (store_->DropBlocks(key, drop).ok()) progress_.dropped += drop.size();
  }
  if (!bad.empty()) Repair(a, key, bad);
  return true;
}

void Scrubber::Repair(const proto::Attr& a, const FileLayout& key, const std::vector<BlockRecord>& bad) {
  progress_.found += bad.size();
  std::map<uint32_t, std::vector<BlockRecord>> ask;  // other holder -> blocks
  for (const BlockRecord& r : bad) {
    ReplicaPair p = PlaceBlock(a.placement_seed, a.stripe_width, r.index);
    BlockRecord q;
    q.index = r.index;
    q.flags = kWantData;
    ask[p.first == index_ ? p.second : p.first].push_back(q);
  }
  std::vector<client::Batch> reads;
  for (auto& [other, blocks] : ask) reads.push_back(Neighbours::ReadBatch(key, other, std::move(blocks)));
  if (!neighbours_->Read(&reads).ok()) return;  // stopping
  for (const client::Batch& read : reads) {
    const uint32_t other = read.req.server;
    if (!read.status.ok()) {
      progress_.unrepaired += read.records.size();
      fprintf(stderr, "dfs data %u: scrub: %zu bad blocks of file id %llu not repaired: %s\n", index_,
              read.records.size(), static_cast<unsigned long long>(a.fid), read.status.message().c_str());
      continue;
    }
    std::vector<BlockRecord> good;
    std::string data;
    uint64_t off = 0;
    for (const BlockRecord& theirs : read.reply_records) {
      bool ok = theirs.state == static_cast<uint32_t>(BlockState::kOk);
      const char* bytes = read.reply_data.data() + off;
      if (ok) off += theirs.length;
      if (ok && off <= read.reply_data.size() && VersionGeneration(theirs.version) >= a.truncate_generation &&
          Crc32c(bytes, theirs.length) == theirs.crc) {
        BlockRecord w = theirs;
        w.state = 0;
        w.flags = kRepairWrite;
        good.push_back(w);
        data.append(bytes, theirs.length);
        continue;
      }
      ++progress_.unrepaired;
      fprintf(stderr,
              "dfs data %u: scrub: block %llu of file id %llu is bad here and has no good copy on "
              "server %u\n",
              index_, static_cast<unsigned long long>(theirs.index), static_cast<unsigned long long>(a.fid), other);
    }
    if (good.empty()) continue;
    Status st = store_->Write(key, good, data);
    if (st.ok()) {
      progress_.repaired += good.size();
      fprintf(stderr, "dfs data %u: scrub: repaired %zu blocks of file id %llu from server %u\n", index_, good.size(),
              static_cast<unsigned long long>(a.fid), other);
    } else {
      progress_.unrepaired += good.size();
    }
  }
}

void Scrubber::Throttle(uint64_t bytes) {
  // Clients first: wait while one was served in the last 50 ms.
  while (!stopping() && last_request_ns_ && SteadyNs() - last_request_ns_->load() < 50'000'000) {
    SleepUnlessStopped(0.02, *stop_);
  }
  double now = Now();
  if (budget_start_ == 0 || now - budget_start_ > 1) {
    budget_start_ = now;
    budget_bytes_ = 0;
  }
  budget_bytes_ += bytes;
  double ahead = budget_bytes_ / (options_.mbps * 1e6) - (now - budget_start_);
  if (ahead > 0) SleepUnlessStopped(ahead, *stop_);
}

void Scrubber::LoadState() {
  std::ifstream in(options_.state_path);
  std::string word;
  int64_t last = 0;
  if (!(in >> word >> last) || word != "last_pass_ns") return;
  progress_.last_pass_ns = last;
  uint64_t fid;
  int64_t when;
  while (in >> fid >> when) verified_[fid] = when;
}

void Scrubber::SaveState() {
  std::string tmp = options_.state_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "last_pass_ns " << progress_.last_pass_ns.load() << "\n";
    for (const auto& [fid, when] : verified_) out << fid << " " << when << "\n";
    if (!out) return;
  }
  std::rename(tmp.c_str(), options_.state_path.c_str());
}

}  // namespace dfs::data
