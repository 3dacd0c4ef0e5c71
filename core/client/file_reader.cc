#include "core/client/file_reader.h"

#include <cstring>
#include <deque>
#include <memory>

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
        b->req = {attr_.fid, attr_.placement_seed, n, attr_.block_size, s};
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
  const uint32_t bs = attr_.block_size;
  // Offsets of each returned block's data in its batch's reply_data.
  std::vector<std::vector<uint64_t>> data_offset(w->batches.size());
  for (size_t bi = 0; bi < w->batches.size(); ++bi) {
    Batch& b = *w->batches[bi];
    if (!b.status.ok()) continue;
    data_offset[bi].resize(b.reply_records.size());
    uint64_t off = 0;
    for (size_t k = 0; k < b.reply_records.size(); ++k) {
      const BlockRecord& r = b.reply_records[k];
      data_offset[bi][k] = off;
      if ((b.records[k].flags & kWantData) && r.state == static_cast<uint32_t>(BlockState::kOk)) off += r.length;
    }
    if (off != b.reply_data.size()) b.status = Internal("read reply data does not match its records");
  }

  // A replica's answer for block j, or null if its server did not answer.
  auto answer = [&](int h, uint64_t j) -> const BlockRecord* {
    const Slot& s = w->holder[h][j];
    const Batch& b = *w->batches[s.batch];
    return b.status.ok() ? &b.reply_records[s.pos] : nullptr;
  };
  auto usable = [&](const BlockRecord* r) {
    return r && r->state == static_cast<uint32_t>(BlockState::kOk) &&
           VersionGeneration(r->version) >= attr_.truncate_generation;
  };

  struct Pending {
    uint64_t j;
    int source;  // holder whose copy wins
  };
  std::vector<Pending> fetch;  // winner's data not here yet
  std::vector<const char*> block_data(w->count, nullptr);
  std::vector<int> winner(w->count, -1);

  // Whether holder h was asked for block j's data.
  auto sent_data = [&](int h, uint64_t j) {
    const Slot& s = w->holder[h][j];
    return (w->batches[s.batch]->records[s.pos].flags & kWantData) != 0;
  };

  auto hole = [&](uint64_t j) { return w->holder[0][j].batch < 0; };

  for (uint64_t j = 0; j < w->count; ++j) {
    if (hole(j)) continue;
    const BlockRecord* r[2] = {answer(0, j), answer(1, j)};
    // The newest copy that verifies; on a tie, the one whose data is here.
    int best = -1;
    for (int h = 0; h < 2; ++h) {
      if (!usable(r[h])) continue;
      if (best < 0 || r[h]->version > r[best]->version || (r[h]->version == r[best]->version && sent_data(h, j))) {
        best = h;
      }
    }
    if (best >= 0 && sent_data(best, j)) {
      const Slot& s = w->holder[best][j];
      const char* p = w->batches[s.batch]->reply_data.data() + data_offset[s.batch][s.pos];
      if (Crc32c(p, r[best]->length) == r[best]->crc) {
        block_data[j] = p;
        winner[j] = best;
        continue;
      }
      best = usable(r[1 - best]) ? 1 - best : -1;  // damaged in transit: try the other copy
    }
    if (best >= 0) {
      winner[j] = best;
      fetch.push_back({j, best});
      continue;
    }
    BlockIndex index = w->first_block + j;
    ReplicaPair pair = PlaceBlock(attr_.placement_seed, attr_.stripe_width, index);
    auto describe = [&](int h, uint32_t s) {
      const Batch& b = *w->batches[w->holder[h][j].batch];
      std::string what = !b.status.ok() ? b.status.message()
                         : r[h]->state != static_cast<uint32_t>(BlockState::kOk)
                             ? BlockStateName(static_cast<BlockState>(r[h]->state))
                             : "stale (older than a truncate)";
      return "server " + std::to_string(s) + " (" + data_->endpoint(s) + "): " + what;
    };
    return DataLoss(path_ + ": block " + std::to_string(index) + " (bytes " + std::to_string(index * bs) + "-" +
                    std::to_string(index * bs + BlockLength(attr_.size, bs, index)) +
                    ") has no good copy: " + describe(0, pair.first) + "; " + describe(1, pair.second));
  }

  std::vector<std::unique_ptr<Batch>> batches(attr_.stripe_width);  // fetches; own block_data
  if (!fetch.empty()) {
    std::vector<Batch*> list;
    auto server_of = [&](const Pending& p) {
      ReplicaPair pair = PlaceBlock(attr_.placement_seed, attr_.stripe_width, w->first_block + p.j);
      return p.source == 0 ? pair.first : pair.second;
    };
    for (const Pending& p : fetch) {
      uint32_t s = server_of(p);
      if (!batches[s]) {
        batches[s] = std::make_unique<Batch>();
        batches[s]->op = proto::Op::kReadBlocks;
        batches[s]->req = {attr_.fid, attr_.placement_seed, attr_.stripe_width, attr_.block_size, s};
        list.push_back(batches[s].get());
      }
      BlockRecord rec;
      rec.index = w->first_block + p.j;
      rec.flags = kWantData;
      batches[s]->records.push_back(rec);
    }
    DFS_RETURN_IF_ERROR(data_->RunAll(list));
    std::vector<size_t> cursor(attr_.stripe_width, 0), offset(attr_.stripe_width, 0);
    for (const Pending& p : fetch) {
      BlockIndex index = w->first_block + p.j;
      uint32_t s = server_of(p);
      Batch& b = *batches[s];
      const BlockRecord* got = b.status.ok() ? &b.reply_records[cursor[s]++] : nullptr;
      if (!usable(got) || Crc32c(b.reply_data.data() + offset[s], got->length) != got->crc) {
        return DataLoss(path_ + ": block " + std::to_string(index) + " has no good copy left (server " +
                        std::to_string(s) + " (" + data_->endpoint(s) + ") failed while it was read" +
                        (b.status.ok() ? "" : ": " + b.status.message()) + ")");
      }
      block_data[p.j] = b.reply_data.data() + offset[s];
      offset[s] += got->length;
      const Slot& sl = w->holder[p.source][p.j];
      w->batches[sl.batch]->reply_records[sl.pos] = *got;  // the winner's record, for repair below
    }
  }

  // Repair (R9): write the winning copy over a replica that answered with a
  // corrupt, missing or older one. A server that did not answer is left to
  // fsck or its own rebuild.
  std::vector<std::unique_ptr<Batch>> repairs(attr_.stripe_width);
  std::vector<std::string> repair_notes;
  for (uint64_t j = 0; j < w->count; ++j) {
    if (hole(j)) continue;
    int win = winner[j];
    const BlockRecord* good = answer(win, j);
    int other = 1 - win;
    const BlockRecord* r = answer(other, j);
    if (!r || (r->state == static_cast<uint32_t>(BlockState::kOk) && r->version >= good->version)) continue;
    BlockIndex index = w->first_block + j;
    ReplicaPair pair = PlaceBlock(attr_.placement_seed, attr_.stripe_width, index);
    uint32_t s = other == 0 ? pair.first : pair.second;
    if (!repairs[s]) {
      repairs[s] = std::make_unique<Batch>();
      repairs[s]->op = proto::Op::kWriteBlocks;
      repairs[s]->req = {attr_.fid, attr_.placement_seed, attr_.stripe_width, attr_.block_size, s};
    }
    BlockRecord rec = *good;
    rec.index = index;
    rec.state = 0;
    rec.flags = kRepairWrite;
    repairs[s]->records.push_back(rec);
    repairs[s]->data.append(block_data[j], good->length);
    const char* was = r->state == static_cast<uint32_t>(BlockState::kOk)
                          ? "stale"
                          : BlockStateName(static_cast<BlockState>(r->state));
    repair_notes.push_back("repaired block " + std::to_string(index) + " of " + path_ + " on server " +
                           std::to_string(s) + " (" + data_->endpoint(s) + "): was " + was);
  }
  std::vector<Batch*> repair_list;
  for (auto& b : repairs) {
    if (b) repair_list.push_back(b.get());
  }
  if (!repair_list.empty()) {
    DFS_RETURN_IF_ERROR(data_->RunAll(repair_list));
    if (options_.verbose && options_.notice) {
      for (const std::string& note : repair_notes) options_.notice(note);
    }
    for (Batch* b : repair_list) {
      if (!b->status.ok() && options_.notice) options_.notice("repair failed: " + b->status.message());
    }
  }

  for (uint64_t j = 0; j < w->count; ++j) {
    uint32_t want = BlockLength(attr_.size, attr_.block_size, w->first_block + j);
    if (hole(j)) {
      out->append(want, '\0');
      continue;
    }
    const Slot& sl = w->holder[winner[j]][j];
    uint32_t have = w->batches[sl.batch]->reply_records[sl.pos].length;
    out->append(block_data[j], std::min(want, have));
    if (have < want) out->append(want - have, '\0');
  }
  return Status::Ok();
}

Status FileReader::Read(uint64_t offset, uint64_t length, const Sink& sink) {
  return Stream(offset, length, &sink, nullptr);
}

Status FileReader::ReadInto(uint64_t offset, uint64_t length, std::string* out) {
  return Stream(offset, length, nullptr, out);
}

Status FileReader::Stream(uint64_t offset, uint64_t length, const Sink* sink, std::string* out) {
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
    std::string* dest = out ? out : &bytes;
    if (!out) bytes.clear();
    size_t mark = dest->size();
    Status st = Finish(w, dest);
    if (!st.ok()) {
      data_->Abort();
      return st;
    }
    uint64_t wstart = w->first_block * bs;
    uint64_t from = offset > wstart ? offset - wstart : 0;
    uint64_t to = std::max(from, std::min<uint64_t>(dest->size() - mark, end - wstart));
    if (out) {
      out->resize(mark + to);
      out->erase(mark, from);
    } else if (to > from) {
      st = (*sink)(bytes.data() + from, to - from);
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
