#include "core/client/file_reader.h"

#include <cstring>
#include <deque>
#include <memory>

#include "core/client/stripe_batcher.h"
#include "core/common/checksum.h"
#include "core/common/placement.h"

namespace dfs::client {
namespace {

constexpr size_t kServerShareBytes = 1 << 20;
constexpr size_t kWindowsInFlight = 2;

// Where one holder's answer for a block sits: batch and record position.
// A hole has no batch.
struct Slot {
  int batch = -1;
  uint32_t pos = 0;
};

}  // namespace

struct FileReader::Window {
  uint64_t first_block = 0;
  uint64_t count = 0;
  std::vector<std::unique_ptr<Batch>> batches;
  std::vector<Slot> holder[2];  // per block: first and second holder

  // Filled in by Finish.
  std::vector<std::vector<uint64_t>> data_offset;  // per batch and record: where its bytes sit in reply_data
  std::vector<ReplicaChoice> choice;               // per block
  std::vector<const char*> block_data;             // per block: the winning copy's bytes
  std::vector<BlockRecord> won;                    // per block: the winning copy's record
  std::vector<std::unique_ptr<Batch>> fetched;     // per server: bytes of winners not sent at first

  bool hole(uint64_t j) const { return holder[0][j].batch < 0; }
  // Holder h's answer for block j. REQUIRES: its batch succeeded.
  const BlockRecord& Record(int h, uint64_t j) const {
    return batches[holder[h][j].batch]->reply_records[holder[h][j].pos];
  }
};

FileReader::FileReader(DataClient* data, const ClientOptions& options, proto::Attr attr, std::string path,
                       ExtentCursor::Fetch extents)
    : data_(data),
      options_(options),
      attr_(std::move(attr)),
      path_(std::move(path)),
      extents_(attr_, std::move(extents)) {}

Status FileReader::Submit(Window* w) {
  const uint32_t n = attr_.stripe_width;
  std::vector<int> by_server(n, -1);
  w->holder[0].resize(w->count);
  w->holder[1].resize(w->count);
  for (uint64_t j = 0; j < w->count; ++j) {
    BlockIndex index = w->first_block + j;
    DFS_ASSIGN_OR_RETURN(bool data, extents_.IsData(index));
    if (!data) continue;  // a hole: no batch
    ReplicaPair pair = PlaceBlock(attr_.placement_seed, n, index);
    uint32_t servers[2] = {pair.first, pair.second};
    // The data comes from the first holder, unless it is known to be down.
    int data_from = data_->LikelyDown(pair.first) && !data_->LikelyDown(pair.second) ? 1 : 0;
    for (int h = 0; h < 2; ++h) {
      uint32_t s = servers[h];
      if (by_server[s] < 0) {
        auto b = std::make_unique<Batch>();
        b->op = proto::Op::kReadBlocks;
        b->req = {attr_.layout(), s, attr_.cap};
        by_server[s] = static_cast<int>(w->batches.size());
        w->batches.push_back(std::move(b));
      }
      Batch* b = w->batches[by_server[s]].get();
      BlockRecord rec;
      rec.index = index;
      rec.flags = h == data_from ? kWantData : 0;
      w->holder[h][j] = Slot{by_server[s], static_cast<uint32_t>(b->records.size())};
      b->records.push_back(rec);
    }
  }
  for (auto& b : w->batches) data_->Submit(b.get());
  return Status::Ok();
}

Status FileReader::Finish(Window* w, std::string* out) {
  DFS_RETURN_IF_ERROR(data_->RunUntil([&] {
    for (auto& b : w->batches) {
      if (!b->done) return false;
    }
    return true;
  }));
  LocateData(w);
  w->choice.assign(w->count, ReplicaChoice{});
  w->block_data.assign(w->count, nullptr);
  w->won.assign(w->count, BlockRecord{});
  std::vector<uint64_t> fetch;  // blocks whose winning copy's bytes are not here yet
  for (uint64_t j = 0; j < w->count; ++j) {
    if (w->hole(j)) continue;
    CopyAnswer copies[2] = {Answer(*w, 0, j), Answer(*w, 1, j)};
    ReplicaChoice& c = w->choice[j] = ChooseReplica(copies, attr_.truncate_generation);
    if (c.winner < 0) return NoGoodCopy(*w, j);
    if (c.mismatch && options_.notice) {
      ReplicaPair pair = PlaceBlock(attr_.placement_seed, attr_.stripe_width, w->first_block + j);
      options_.notice(path_ + ": block " + std::to_string(w->first_block + j) + ": the copies on servers " +
                      std::to_string(pair.first) + " and " + std::to_string(pair.second) +
                      " have the same version but differ; neither is repaired (see dfs fsck)");
    }
    w->won[j] = w->Record(c.winner, j);
    if (c.fetch) {
      fetch.push_back(j);
    } else {
      w->block_data[j] = DataOf(*w, c.winner, j);
    }
  }
  DFS_RETURN_IF_ERROR(Fetch(w, fetch));
  DFS_RETURN_IF_ERROR(Repair(*w));
  for (uint64_t j = 0; j < w->count; ++j) {
    uint32_t want = BlockLength(attr_.size, attr_.block_size, w->first_block + j);
    if (w->hole(j)) {
      out->append(want, '\0');
      continue;
    }
    uint32_t have = w->won[j].length;
    out->append(w->block_data[j], std::min(want, have));
    if (have < want) out->append(want - have, '\0');
  }
  return Status::Ok();
}

void FileReader::LocateData(Window* w) {
  w->data_offset.assign(w->batches.size(), {});
  for (size_t bi = 0; bi < w->batches.size(); ++bi) {
    Batch& b = *w->batches[bi];
    if (!b.status.ok()) continue;
    w->data_offset[bi].resize(b.reply_records.size());
    uint64_t off = 0;
    for (size_t k = 0; k < b.reply_records.size(); ++k) {
      const BlockRecord& r = b.reply_records[k];
      w->data_offset[bi][k] = off;
      if ((b.records[k].flags & kWantData) && r.state == static_cast<uint32_t>(BlockState::kOk)) off += r.length;
    }
    if (off != b.reply_data.size()) b.status = Internal("read reply data does not match its records");
  }
}

CopyAnswer FileReader::Answer(const Window& w, int h, uint64_t j) const {
  const Slot& s = w.holder[h][j];
  const Batch& b = *w.batches[s.batch];
  CopyAnswer a;
  a.answered = b.status.ok();
  if (!a.answered) return a;
  a.record = b.reply_records[s.pos];
  a.data_here = (b.records[s.pos].flags & kWantData) && a.record.state == static_cast<uint32_t>(BlockState::kOk);
  a.data_verifies = a.data_here && Crc32c(DataOf(w, h, j), a.record.length) == a.record.crc;
  return a;
}

const char* FileReader::DataOf(const Window& w, int h, uint64_t j) const {
  const Slot& s = w.holder[h][j];
  return w.batches[s.batch]->reply_data.data() + w.data_offset[s.batch][s.pos];
}

Status FileReader::NoGoodCopy(const Window& w, uint64_t j) const {
  const uint32_t bs = attr_.block_size;
  BlockIndex index = w.first_block + j;
  ReplicaPair pair = PlaceBlock(attr_.placement_seed, attr_.stripe_width, index);
  auto describe = [&](int h, uint32_t s) {
    const Batch& b = *w.batches[w.holder[h][j].batch];
    const BlockRecord* r = b.status.ok() ? &w.Record(h, j) : nullptr;
    std::string what = !r ? b.status.message()
                       : r->state != static_cast<uint32_t>(BlockState::kOk)
                           ? BlockStateName(static_cast<BlockState>(r->state))
                       : VersionGeneration(r->version) < attr_.truncate_generation
                           ? "stale (older than a truncate)"
                           : "verified there, but its bytes were damaged on the way";
    return "server " + std::to_string(s) + " (" + data_->endpoint(s) + "): " + what;
  };
  return DataLoss(path_ + ": block " + std::to_string(index) + " (bytes " + std::to_string(index * bs) + "-" +
                  std::to_string(index * bs + BlockLength(attr_.size, bs, index)) +
                  ") has no good copy: " + describe(0, pair.first) + "; " + describe(1, pair.second));
}

Status FileReader::Fetch(Window* w, const std::vector<uint64_t>& blocks) {
  if (blocks.empty()) return Status::Ok();
  const uint32_t n = attr_.stripe_width;
  auto server_of = [&](uint64_t j) {
    ReplicaPair pair = PlaceBlock(attr_.placement_seed, n, w->first_block + j);
    return w->choice[j].winner == 0 ? pair.first : pair.second;
  };
  w->fetched.clear();
  w->fetched.resize(n);
  std::vector<Batch*> list;
  for (uint64_t j : blocks) {
    uint32_t s = server_of(j);
    auto& b = w->fetched[s];
    if (!b) {
      b = std::make_unique<Batch>();
      b->op = proto::Op::kReadBlocks;
      b->req = {attr_.layout(), s, attr_.cap};
      list.push_back(b.get());
    }
    BlockRecord rec;
    rec.index = w->first_block + j;
    rec.flags = kWantData;
    b->records.push_back(rec);
  }
  DFS_RETURN_IF_ERROR(data_->RunAll(list));
  std::vector<size_t> cursor(n, 0), offset(n, 0);
  for (uint64_t j : blocks) {
    uint32_t s = server_of(j);
    Batch& b = *w->fetched[s];
    const BlockRecord* got = b.status.ok() ? &b.reply_records[cursor[s]++] : nullptr;
    // A copy rewritten since it answered (a writer's newer version) is as good.
    bool good = got && got->state == static_cast<uint32_t>(BlockState::kOk) &&
                VersionGeneration(got->version) >= attr_.truncate_generation &&
                offset[s] + got->length <= b.reply_data.size() &&
                Crc32c(b.reply_data.data() + offset[s], got->length) == got->crc;
    if (!good) {
      return DataLoss(path_ + ": block " + std::to_string(w->first_block + j) + " has no good copy left (server " +
                      std::to_string(s) + " (" + data_->endpoint(s) + ") failed while it was read" +
                      (b.status.ok() ? "" : ": " + b.status.message()) + ")");
    }
    w->block_data[j] = b.reply_data.data() + offset[s];
    w->won[j] = *got;
    offset[s] += got->length;
  }
  return Status::Ok();
}

// R9: writes the winning copy over a holder that answered with a corrupt,
// missing or older one. A server that did not answer is left to fsck, the
// scrubber or its own rebuild.
Status FileReader::Repair(const Window& w) {
  const uint32_t n = attr_.stripe_width;
  StripeBatcher repairs(proto::Op::kWriteBlocks, n, /*retry_while_down=*/false);
  std::vector<std::string> notes;
  for (uint64_t j = 0; j < w.count; ++j) {
    if (w.hole(j) || !w.choice[j].repair_other) continue;
    const int win = w.choice[j].winner;
    const BlockRecord& good = w.won[j];
    const BlockRecord& bad = w.Record(1 - win, j);
    BlockIndex index = w.first_block + j;
    ReplicaPair pair = PlaceBlock(attr_.placement_seed, n, index);
    uint32_t s = win == 0 ? pair.second : pair.first;
    BlockRecord rec = good;
    rec.index = index;
    rec.state = 0;
    rec.flags = kRepairWrite;
    repairs.AddTo(attr_, s, rec, w.block_data[j]);
    const char* was = bad.state == static_cast<uint32_t>(BlockState::kOk)
                          ? "stale"
                          : BlockStateName(static_cast<BlockState>(bad.state));
    notes.push_back("repaired block " + std::to_string(index) + " of " + path_ + " on server " + std::to_string(s) +
                    " (" + data_->endpoint(s) + "): was " + was);
  }
  std::vector<Batch*> list = repairs.List();
  if (list.empty()) return Status::Ok();
  // A reader the cluster lets read but not write cannot repair (its
  // capability does not grant it): the scrubber, or an admin's fsck
  // --repair, will.
  if (!attr_.cap.mac.empty() && !(attr_.cap.rights & kCapWrite)) {
    if (options_.notice) {
      options_.notice(std::to_string(notes.size()) + " bad copies of blocks of " + path_ +
                      " left for the scrubber: this key may not write the file");
    }
    return Status::Ok();
  }
  DFS_RETURN_IF_ERROR(data_->RunAll(list));
  if (options_.verbose && options_.notice) {
    for (const std::string& note : notes) options_.notice(note);
  }
  for (Batch* b : list) {
    if (!b->status.ok() && options_.notice) options_.notice("repair failed: " + b->status.message());
  }
  return Status::Ok();
}

Status FileReader::Read(uint64_t offset, uint64_t length, const Sink& sink) {
  return Stream(offset, length, Output{&sink, nullptr, nullptr});
}

Status FileReader::ReadInto(uint64_t offset, uint64_t length, std::string* out) {
  return Stream(offset, length, Output{nullptr, nullptr, out});
}

Status FileReader::ReadChunks(uint64_t offset, uint64_t length, const ChunkSink& sink) {
  return Stream(offset, length, Output{nullptr, &sink, nullptr});
}

Status FileReader::Stream(uint64_t offset, uint64_t length, const Output& to) {
  if (offset >= attr_.size || length == 0) return Status::Ok();
  length = std::min(length, attr_.size - offset);
  const uint32_t bs = attr_.block_size;
  const uint64_t end = offset + length;
  const uint64_t first = offset / bs;
  const uint64_t last = (end - 1) / bs;  // inclusive
  const uint64_t per_window = std::max<size_t>(1, kServerShareBytes / bs) * attr_.stripe_width;

  std::deque<std::unique_ptr<Window>> windows;
  uint64_t next = first;
  std::string bytes;
  while (next <= last || !windows.empty()) {
    while (next <= last && windows.size() < kWindowsInFlight) {
      auto w = std::make_unique<Window>();
      w->first_block = next;
      w->count = std::min(per_window, last + 1 - next);
      next += w->count;
      if (Status st = Submit(w.get()); !st.ok()) {
        data_->Abort();
        return st;
      }
      windows.push_back(std::move(w));
    }
    Window* w = windows.front().get();
    // The window's whole blocks go to `bytes`, or straight to the end of
    // `out`; then only [from, to) of them is kept.
    std::string* dest = to.out ? to.out : &bytes;
    if (!to.out) bytes.clear();
    size_t mark = dest->size();
    if (!to.out) bytes.reserve(w->count * bs);  // exact: `out` grows as its owner reserved
    Status st = Finish(w, dest);
    if (!st.ok()) {
      data_->Abort();
      return st;
    }
    uint64_t wstart = w->first_block * bs;
    uint64_t from = offset > wstart ? offset - wstart : 0;
    uint64_t keep = std::max(from, std::min<uint64_t>(dest->size() - mark, end - wstart));
    if (to.out) {
      to.out->resize(mark + keep);
      to.out->erase(mark, from);
    } else if (keep > from) {
      if (to.chunks) {
        bytes.resize(keep);
        bytes.erase(0, from);
        st = (*to.chunks)(wstart + from, &bytes);
      } else {
        st = (*to.sink)(bytes.data() + from, keep - from);
      }
      if (!st.ok()) {
        data_->Abort();
        return st;
      }
    }
    windows.pop_front();
  }
  return Status::Ok();
}

}  // namespace dfs::client
