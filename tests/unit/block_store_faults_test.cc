// The block store on a disk that fails (tests/unit/fault_disk.h): torn
// writes, a full disk in the middle of a batch, a failed sync, a power cut.
// The rule under all of them: a block is served only if its bytes match its
// checksum, and a block acknowledged after a sync survives.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>

#include "core/data/block_store.h"
#include "fault_disk.h"
#include "test_blocks.h"

using namespace dfs;
using dfs::data::BlockStore;

using dfs::testing::Blocks;
using dfs::testing::FaultDisk;
using dfs::testing::MakeBlocks;

namespace {

const FileLayout kKey{7, 12345, 5, 512};
const std::string kDir = "/data0";

// Server 0's blocks of the first `count` (test_blocks.h).
Blocks Make(uint64_t count, uint64_t version, char fill, const FileLayout& key = kKey, bool gaps = false) {
  return MakeBlocks(key, 0, count, version, fill, gaps);
}

std::unique_ptr<BlockStore> OpenStore(FaultDisk* disk, double trash_grace_s = 3600) {
  data::BlockStoreOptions o;
  o.disk = disk;
  o.trash_grace_s = trash_grace_s;
  auto s = BlockStore::Open(kDir, "cluster", 0, o);
  REQUIRE(s.ok());
  return std::move(*s);
}

// What the store serves for `want`'s blocks: per block, its state and (ok
// ones) its bytes, one by one.
struct Served {
  BlockRecord record;
  std::string bytes;
};
std::vector<Served> Serve(BlockStore& store, const Blocks& want) {
  std::vector<BlockRecord> req = want.records;
  std::string data;
  REQUIRE(store.Read(kKey, &req, &data).ok());
  std::vector<Served> out;
  size_t off = 0;
  for (const BlockRecord& r : req) {
    Served s{r, ""};
    if (r.state == static_cast<uint32_t>(BlockState::kOk)) {
      s.bytes = data.substr(off, r.length);
      off += r.length;
    }
    out.push_back(s);
  }
  return out;
}

// Every block served ok is exactly the bytes written under its version: one
// of `versions`.
void CheckNothingWrongServed(const std::vector<Served>& served, const std::vector<const Blocks*>& versions) {
  for (size_t k = 0; k < served.size(); ++k) {
    const Served& s = served[k];
    if (s.record.state != static_cast<uint32_t>(BlockState::kOk)) continue;
    bool matches = false;
    for (const Blocks* v : versions) {
      if (v->records[k].version != s.record.version) continue;
      matches = s.bytes == v->data.substr(k * kKey.block_size, kKey.block_size);
    }
    INFO("block " << s.record.index << " served ok at version " << s.record.version);
    CHECK(matches);
  }
}

}  // namespace

TEST_CASE("a torn write is caught by the checksum and never served", "[unit]") {
  FaultDisk disk;
  Blocks v1 = Make(40, MakeVersion(1, 0), 'a');
  Blocks v2 = Make(40, MakeVersion(2, 0), 'k');
  {
    auto store = OpenStore(&disk);
    REQUIRE(store->Write(kKey, v1.records, v1.data).ok());
    REQUIRE(store->Flush().ok());
  }
  // Each write of the second batch in turn is torn (data or index), as a
  // power cut leaves it: at a sector boundary; then the server restarts.
  for (int which = 0; which < 2; ++which) {
    for (size_t keep : {size_t{7}, size_t{700}, size_t{3000}}) {
      INFO("write " << which << " torn after " << keep << " bytes");
      auto store = OpenStore(&disk);
      disk.TearWrite(which, keep);
      CHECK_FALSE(store->Write(kKey, v2.records, v2.data).ok());
      store.reset();
      auto restarted = OpenStore(&disk);
      auto served = Serve(*restarted, v1);
      CheckNothingWrongServed(served, {&v1, &v2});
      size_t bad = 0;
      for (const Served& s : served) bad += s.record.state == static_cast<uint32_t>(BlockState::kCorrupt);
      if (which == 0) CHECK(bad > 0);  // the data was torn under the old records
      // A later whole write repairs it.
      REQUIRE(restarted->Write(kKey, v1.records, v1.data).ok());
    }
  }
}

TEST_CASE("what was flushed survives a power cut; what was not is lost, never wrong", "[unit]") {
  FaultDisk disk;
  Blocks durable = Make(30, MakeVersion(1, 0), 'a');
  Blocks later = Make(30, MakeVersion(2, 0), 'q');
  const FileLayout other{8, 999, 5, 512};
  Blocks other_file = Make(10, MakeVersion(3, 0), 'z', other);
  {
    auto store = OpenStore(&disk);
    REQUIRE(store->Write(kKey, durable.records, durable.data).ok());
    REQUIRE(store->Flush().ok());
    REQUIRE(store->Write(kKey, later.records, later.data).ok());
    REQUIRE(store->Write(other, other_file.records, other_file.data).ok());
    disk.PowerCut();
  }
  auto store = OpenStore(&disk);
  auto served = Serve(*store, durable);
  for (const Served& s : served) CHECK(s.record.state == static_cast<uint32_t>(BlockState::kOk));
  CheckNothingWrongServed(served, {&durable});
  // The file created after the flush is gone: missing, not garbage.
  std::vector<BlockRecord> req = other_file.records;
  std::string data;
  REQUIRE(store->Read(other, &req, &data).ok());
  for (const BlockRecord& r : req) CHECK(r.state == static_cast<uint32_t>(BlockState::kMissing));

  SECTION("a sync that fails is not a durability point: the next flush syncs again") {
    REQUIRE(store->Write(kKey, later.records, later.data).ok());
    disk.FailSync(0, Internal("sync: Input/output error"));
    CHECK_FALSE(store->Flush().ok());
    REQUIRE(store->Flush().ok());
    disk.PowerCut();
    auto again = OpenStore(&disk);
    auto after = Serve(*again, later);
    for (const Served& s : after) CHECK(s.record.version == MakeVersion(2, 0));
    CheckNothingWrongServed(after, {&later});
  }
}

TEST_CASE("a flush syncs just the files written since the last one, also those no longer open", "[unit]") {
  FaultDisk disk;
  auto store = OpenStore(&disk);
  auto write = [&](uint64_t fid) {
    FileLayout key{fid, static_cast<uint32_t>(fid * 7), 5, 512};
    Blocks b = Make(5, MakeVersion(1, 0), static_cast<char>('a' + fid % 26), key);
    REQUIRE(store->Write(key, b.records, b.data).ok());
    return std::make_pair(key, b);
  };
  auto durable = [&](const std::vector<std::pair<FileLayout, Blocks>>& files) {
    disk.PowerCut();
    store.reset();
    store = OpenStore(&disk);
    for (auto& [key, blocks] : files) {
      std::vector<BlockRecord> req = blocks.records;
      std::string data;
      REQUIRE(store->Read(key, &req, &data).ok());
      for (const BlockRecord& r : req) CHECK(r.state == static_cast<uint32_t>(BlockState::kOk));
      CHECK(data == blocks.data);
    }
  };
  REQUIRE(store->Flush().ok());
  int before = disk.syncs();
  REQUIRE(store->Flush().ok());
  CHECK(disk.syncs() == before);  // nothing new: no sync at all

  // Many files: one sync of everything.
  std::vector<std::pair<FileLayout, Blocks>> many;
  for (uint64_t fid = 100; fid < 400; ++fid) many.push_back(write(fid));
  REQUIRE(store->Flush().ok());
  CHECK(disk.syncs() == before + 1);
  durable(many);

  // A few: each (data and index) and their directories, also when the
  // store closed them again (reads of more files than it keeps open).
  std::vector<std::pair<FileLayout, Blocks>> few;
  for (uint64_t fid = 1000; fid < 1003; ++fid) few.push_back(write(fid));
  for (auto& [key, blocks] : many) {
    std::vector<BlockRecord> req = blocks.records;
    std::string data;
    REQUIRE(store->Read(key, &req, &data).ok());
  }
  before = disk.syncs();
  REQUIRE(store->Flush().ok());
  CHECK(disk.syncs() - before >= 6);
  CHECK(disk.syncs() - before <= 6 + 4);  // three subdirectories and blocks/
  before = disk.syncs();
  REQUIRE(store->Flush().ok());
  CHECK(disk.syncs() == before);
  durable(few);
}

TEST_CASE("a full disk in the middle of a batch leaves no half-visible block", "[unit]") {
  // Every other stripe of 200 blocks: 20 runs of slots, each one data write
  // and one index write.
  Blocks old = Make(60, MakeVersion(1, 0), 'a');
  Blocks fresh = Make(200, MakeVersion(2, 0), 'm', kKey, /*gaps=*/true);
  for (int fail_at = 0; fail_at < 40; fail_at += 3) {
    INFO("write " << fail_at << " of the batch fails for lack of space");
    FaultDisk disk;
    auto store = OpenStore(&disk);
    REQUIRE(store->Write(kKey, old.records, old.data).ok());
    disk.FailWrite(fail_at, Status(Code::kResourceExhausted, "write: No space left on device"));
    Status st = store->Write(kKey, fresh.records, fresh.data);
    CHECK(st.code() == Code::kResourceExhausted);
    // Each block is the old one, the new one, or missing: never a mix.
    Blocks all_old = Make(200, MakeVersion(1, 0), 'a', kKey, /*gaps=*/true);
    auto served = Serve(*store, fresh);
    CheckNothingWrongServed(served, {&all_old, &fresh});
  }
}

TEST_CASE("the trash yields to a write that finds the disk full", "[unit]") {
  const FileLayout gone{9, 4242, 5, 512};
  Blocks big = Make(600, MakeVersion(1, 0), 'b', gone);  // ~120 KB on server 0
  Blocks next = Make(600, MakeVersion(2, 0), 'n');
  FaultDisk disk(200 << 10);
  auto store = OpenStore(&disk, /*trash_grace_s=*/24 * 3600);
  REQUIRE(store->Write(gone, big.records, big.data).ok());
  REQUIRE(store->Delete(gone.fid).ok());
  CHECK(store->TrashUsed().files == 2);
  // Only the trash stands in the way: it goes, and the write succeeds.
  REQUIRE(store->Write(kKey, next.records, next.data).ok());
  CHECK(store->TrashUsed().files == 0);
  auto served = Serve(*store, next);
  for (const Served& s : served) CHECK(s.record.state == static_cast<uint32_t>(BlockState::kOk));
  // Live data alone filling the disk is a full disk.
  const FileLayout more{10, 77, 5, 512};
  Blocks more_blocks = Make(600, MakeVersion(3, 0), 'x', more);
  CHECK(store->Write(more, more_blocks.records, more_blocks.data).code() == Code::kResourceExhausted);
}

TEST_CASE("a damaged index header is rewritten and the blocks kept", "[unit]") {
  FaultDisk disk;
  Blocks b = Make(50, MakeVersion(1, 0), 'h');
  {
    auto store = OpenStore(&disk);
    REQUIRE(store->Write(kKey, b.records, b.data).ok());
  }
  disk.Scribble(kDir + "/blocks/07/7.idx", 0, "garbage!");
  auto store = OpenStore(&disk);
  auto served = Serve(*store, b);
  for (const Served& s : served) CHECK(s.record.state == static_cast<uint32_t>(BlockState::kOk));
  CheckNothingWrongServed(served, {&b});
  CHECK(disk.Contents(kDir + "/blocks/07/7.idx").substr(0, 8) == "DFSIDX01");
  CHECK(store->Stats()->headers_repaired == 1);
}

TEST_CASE("a repair replaces a copy whose damaged record claims a newer version", "[unit]") {
  FaultDisk disk;
  Blocks b = Make(20, MakeVersion(1, 0), 'r');
  auto store = OpenStore(&disk);
  REQUIRE(store->Write(kKey, b.records, b.data).ok());
  // Slot 0's record: all 0xff (a huge version, a wrong checksum).
  disk.Scribble(kDir + "/blocks/07/7.idx", 32, std::string(16, '\xff'));
  Blocks first;
  first.records = {b.records[0]};
  first.data = b.data.substr(0, kKey.block_size);
  CHECK(Serve(*store, first)[0].record.state != static_cast<uint32_t>(BlockState::kOk));
  // An ordinary write of the older version does not replace "newer" bytes...
  REQUIRE(store->Write(kKey, first.records, first.data).ok());
  CHECK(Serve(*store, first)[0].record.state != static_cast<uint32_t>(BlockState::kOk));
  // ...a repair does, since that copy does not verify.
  first.records[0].flags = kRepairWrite;
  REQUIRE(store->Write(kKey, first.records, first.data).ok());
  first.records[0].flags = kWantData;
  auto served = Serve(*store, first);
  CHECK(served[0].record.state == static_cast<uint32_t>(BlockState::kOk));
  CheckNothingWrongServed(served, {&first});
}

namespace {

// A disk whose listings wait at a gate the test opens: a slow scan of a
// store of many files, held as long as the test likes.
class GatedListDisk : public FaultDisk {
 public:
  std::vector<data::DiskEntry> List(const std::string& dir, bool recursive) override {
    {
      std::unique_lock<std::mutex> lock(gate_mu_);
      ++listing_;
      gate_cv_.notify_all();
      gate_cv_.wait(lock, [&] { return open_; });
    }
    return FaultDisk::List(dir, recursive);
  }
  void WaitForListing() {
    std::unique_lock<std::mutex> lock(gate_mu_);
    gate_cv_.wait(lock, [&] { return listing_ > 0; });
  }
  void Close() {
    std::lock_guard<std::mutex> lock(gate_mu_);
    open_ = false;
    listing_ = 0;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(gate_mu_);
    open_ = true;
    gate_cv_.notify_all();
  }

 private:
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  int listing_ = 0;
  bool open_ = true;
};

}  // namespace

TEST_CASE("measuring the store (a listing of every file) holds up no read or write", "[unit]") {
  GatedListDisk disk;
  auto store = OpenStore(&disk);
  Blocks v1 = Make(8, 1, 'a');
  REQUIRE(store->Write(kKey, v1.records, v1.data).ok());
  // A slow measurement: its listing waits at the gate.
  disk.Close();
  auto stats = std::async(std::launch::async, [&] { return store->Stats(); });
  disk.WaitForListing();
  // Reads and writes go on meanwhile.
  auto io = std::async(std::launch::async, [&] {
    Blocks v2 = Make(8, 2, 'b');
    CHECK(store->Write(kKey, v2.records, v2.data).ok());
    CheckNothingWrongServed(Serve(*store, v2), {&v2});
  });
  const bool done = io.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  disk.Open();
  io.wait();
  CHECK(done);
  auto s = stats.get();
  REQUIRE(s.ok());
  CHECK(s->blocks == v1.records.size());
}
