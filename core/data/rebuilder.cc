#include "core/data/rebuilder.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <unordered_set>

#include "core/common/block_records.h"
#include "core/common/checksum.h"
#include "core/common/placement.h"
#include "transport/channel.h"

namespace dfs::data {
namespace {

constexpr uint64_t kWindowBytes = 8 << 20;  // of a file, checked per round

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Rebuilder::Rebuilder(BlockStore* store, std::mutex* store_mu, std::string meta, std::vector<std::string> servers,
                     double trash_grace_s)
    : store_(store),
      store_mu_(store_mu),
      meta_(std::move(meta)),
      servers_(std::move(servers)),
      trash_grace_s_(trash_grace_s),
      index_(store->index()) {}

Rebuilder::~Rebuilder() {
  stop_ = true;
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
      static_cast<unsigned long long>(progress_.blocks_restored.load()),
      progress_.bytes_restored.load() / 1048576.0, progress_.bytes_restored.load() / secs / 1e6);
}

void Rebuilder::Run() {
  started_ = last_report_ = Now();
  for (const auto& ep : servers_) peers_.push_back(std::make_unique<transport::Channel>(ep, transport::ChannelOptions{1000, 30000}));
  meta_channel_ = std::make_unique<transport::Channel>(meta_, transport::ChannelOptions{1000, 15000});
  transport::Channel& meta = *meta_channel_;

  std::vector<proto::Attr> retry;
  std::unordered_set<uint64_t> live;
  uint64_t listed_below = 0;  // next_fid of the first page
  uint64_t after = 0;
  bool said_meta = false;
  while (!stop_) {
    proto::ListFilesReq req;
    req.after_fid = after;
    req.limit = 1000;
    proto::ListFilesRsp page;
    auto reply = meta.Call(proto::Encode(proto::Op::kListFiles, 1, req));
    Status st = reply.ok() ? proto::DecodeReply(*reply, &page) : reply.status();
    if (!st.ok()) {
      if (!said_meta) Log("rebuild: waiting for the meta server at %s: %s", meta_.c_str(), st.message().c_str());
      said_meta = true;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (after == 0) listed_below = page.next_fid;
    for (const proto::Attr& f : page.files) {
      if (stop_) break;
      live.insert(f.fid);
      if (!RebuildFile(f)) retry.push_back(f);
      ++progress_.files_checked;
      MaybeReportProgress(false);
    }
    if (!page.more || page.files.empty()) break;
    after = page.files.back().fid;
  }
  // Files whose other holder was down: try again until done.
  double backoff = 1;
  while (!stop_ && !retry.empty()) {
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    backoff = std::min(backoff * 2, 10.0);
    std::vector<proto::Attr> still;
    for (const auto& f : retry) {
      if (!RebuildFile(f)) still.push_back(f);
    }
    retry.swap(still);
  }
  if (stop_) return;
  // Blocks of files the namespace no longer has go to the trash. Only file
  // ids handed out before the listing began: a newer file may be being
  // written right now.
  size_t trashed = 0;
  {
    std::lock_guard<std::mutex> lock(*store_mu_);
    for (uint64_t fid : store_->ListFiles()) {
      if (fid < listed_below && !live.count(fid)) trashed += store_->Delete(fid).ok();
    }
    size_t purged = store_->PurgeTrash(trash_grace_s_);
    if (purged) Log("purged %zu trash files older than %.0f s", purged, trash_grace_s_);
  }
  if (trashed) Log("moved the blocks of %zu deleted files to the trash", trashed);
  MaybeReportProgress(true);
  Log("rebuild done: the store matches the namespace");
  progress_.running = false;
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> Rebuilder::DataRanges(const proto::Attr& file) {
  const uint64_t count = BlockCount(file.size, file.block_size);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  if (proto::Dense(file)) {
    ranges.emplace_back(0, count);
    return ranges;
  }
  proto::ExtentsReq req;
  req.fid = file.fid;
  while (true) {
    auto reply = meta_channel_->Call(proto::Encode(proto::Op::kGetExtents, 1, req));
    proto::ExtentsRsp page;
    DFS_RETURN_IF_ERROR(reply.ok() ? proto::DecodeReply(*reply, &page) : reply.status());
    for (size_t k = 0; k + 1 < page.ranges.size(); k += 2) {
      uint64_t end = std::min(page.ranges[k + 1], count);
      if (page.ranges[k] < end) ranges.emplace_back(page.ranges[k], end);
    }
    if (!page.more || page.ranges.empty()) return ranges;
    req.first = page.ranges.back();
  }
}

bool Rebuilder::RebuildFile(const proto::Attr& file) {
  const uint32_t n = file.stripe_width;
  if (n < 2 || index_ >= n || file.size == 0 || n > servers_.size()) return true;
  auto ranges = DataRanges(file);
  if (!ranges.ok()) return false;  // the meta server is away: next round
  bool complete = true;
  for (const auto& [first, end] : *ranges) {
    if (stop_) break;
    complete &= RebuildRange(file, first, end);
  }
  return complete;
}

bool Rebuilder::RebuildRange(const proto::Attr& file, uint64_t from, uint64_t count) {
  const uint32_t n = file.stripe_width;
  FileKey key{file.fid, file.placement_seed, n, file.block_size};
  const uint64_t window = std::max<uint64_t>(n, kWindowBytes / file.block_size);
  bool complete = true;
  for (uint64_t first = from; first < count && !stop_; first += window) {
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
      std::lock_guard<std::mutex> lock(*store_mu_);
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
    std::vector<uint32_t> asked;
    for (uint32_t other = 0; other < n; ++other) {
      if (ask[other].empty()) continue;
      proto::BlockBatchReq req{file.fid, file.placement_seed, n, file.block_size, other};
      if (!peers_[other]->Send(proto::Encode(proto::Op::kReadBlocks, 1, req, {PackRecords(ask[other])})).ok()) {
        peers_[other]->Reset();
        complete = false;
        continue;
      }
      asked.push_back(other);
    }
    // Copies from both neighbours are stored together in block order, so
    // they land in consecutive slots: one write per run, not per block.
    std::vector<std::pair<BlockRecord, const char*>> got;
    std::vector<transport::Message> replies;
    replies.reserve(asked.size());
    for (uint32_t other : asked) {
      auto reply = peers_[other]->Receive();
      if (!reply.ok()) peers_[other]->Reset();
      auto header = reply.ok() ? proto::DecodeHeader(*reply) : Result<proto::Header>(reply.status());
      if (!header.ok() || header->code != Code::kOk || reply->frames.size() != 3) {
        complete = false;
        continue;
      }
      auto recs = UnpackRecords(reply->frames[1], ask[other].size());
      if (!recs.ok() || recs->size() != ask[other].size()) {
        complete = false;
        continue;
      }
      replies.push_back(std::move(*reply));
      const std::string& data = replies.back().frames[2];
      uint64_t off = 0;
      for (const BlockRecord& theirs : *recs) {
        if (theirs.state != static_cast<uint32_t>(BlockState::kOk)) {
          Log("rebuild: block %llu of %s (file id %llu) has no good copy: server %u has it %s",
              static_cast<unsigned long long>(theirs.index), file.name.c_str(),
              static_cast<unsigned long long>(file.fid), other,
              BlockStateName(static_cast<BlockState>(theirs.state)));
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
      {
        std::lock_guard<std::mutex> lock(*store_mu_);
        st = store_->Write(key, store_recs, store_data);
      }
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
