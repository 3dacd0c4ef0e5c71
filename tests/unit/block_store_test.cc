#include "core/data/block_store.h"

#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "core/common/placement.h"
#include "temp_dir.h"
#include "test_blocks.h"

using namespace dfs;
using dfs::data::BlockStore;

using dfs::testing::Blocks;
using dfs::testing::MakeBlocks;

TEST_CASE("blocks written are read back verified", "[unit]") {
  testing::TempDir dir;
  auto store = BlockStore::Open(dir.path(), "cluster", 0);
  REQUIRE(store.ok());
  FileLayout key{7, 12345, 5, 512};
  Blocks b = MakeBlocks(key, 0, 100, MakeVersion(1, 0), 'a');
  REQUIRE((*store)->Write(key, b.records, b.data).ok());
  std::vector<BlockRecord> req = b.records;
  std::string data;
  REQUIRE((*store)->Read(key, &req, &data).ok());
  CHECK(data == b.data);
  for (auto& r : req) CHECK(r.state == static_cast<uint32_t>(BlockState::kOk));

  SECTION("a read batch that would answer with more than one reply's worth of data is refused") {
    // The same block asked for again and again: no bigger file needed.
    std::vector<BlockRecord> many(BlockStore::kMaxReadBytes / 512 + 1, b.records[0]);
    for (auto& r : many) r.flags = kWantData;
    std::string big;
    CHECK((*store)->Read(key, &many, &big).code() == Code::kResourceExhausted);
    CHECK(big.size() <= BlockStore::kMaxReadBytes);
    many.resize(1000);
    big.clear();
    CHECK((*store)->Read(key, &many, &big).ok());
    CHECK(big.size() == 1000 * 512);
  }
  SECTION("space stays within a few percent of the data") {
    struct stat st;
    uint64_t on_disk = 0;
    for (const char* ext : {".dat", ".idx"}) {
      REQUIRE(stat((dir.path() + "/blocks/07/7" + ext).c_str(), &st) == 0);
      on_disk += st.st_size;
    }
    CHECK(on_disk < b.data.size() * 1.05);
  }
  SECTION("an older version never replaces a newer one") {
    Blocks old = MakeBlocks(key, 0, 100, MakeVersion(0, 5), 'z');
    REQUIRE((*store)->Write(key, old.records, old.data).ok());
    std::string again;
    std::vector<BlockRecord> r2 = b.records;
    REQUIRE((*store)->Read(key, &r2, &again).ok());
    CHECK(again == b.data);
  }
  SECTION("a block whose bytes changed on disk reads as corrupt") {
    FILE* f = fopen((dir.path() + "/blocks/07/7.dat").c_str(), "r+");
    REQUIRE(f);
    fseek(f, 10, SEEK_SET);
    fputc('!', f);
    fclose(f);
    std::vector<BlockRecord> r2 = b.records;
    std::string again;
    REQUIRE((*store)->Read(key, &r2, &again).ok());
    CHECK(r2[0].state == static_cast<uint32_t>(BlockState::kCorrupt));
    CHECK(r2[1].state == static_cast<uint32_t>(BlockState::kOk));
    CHECK(again.size() == b.data.size() - 512);  // the corrupt block is never served
  }
}

TEST_CASE("a block that arrives with a bad checksum is refused", "[unit]") {
  testing::TempDir dir;
  auto store = BlockStore::Open(dir.path(), "cluster", 0);
  REQUIRE(store.ok());
  FileLayout key{7, 12345, 5, 512};
  Blocks b = MakeBlocks(key, 0, 10, MakeVersion(1, 0), 'a');
  b.data[3] ^= 1;
  CHECK((*store)->Write(key, b.records, b.data).code() == Code::kDataLoss);
}

TEST_CASE("a block for another server is refused", "[unit]") {
  testing::TempDir dir;
  auto store = BlockStore::Open(dir.path(), "cluster", 0);
  REQUIRE(store.ok());
  FileLayout key{7, 12345, 5, 512};
  Blocks b = MakeBlocks(key, 1, 10, MakeVersion(1, 0), 'a');
  bool foreign = false;
  for (auto& r : b.records) foreign |= !HoldsBlock(key.placement_seed, 5, 0, r.index);
  REQUIRE(foreign);
  CHECK((*store)->Write(key, b.records, b.data).code() == Code::kInvalidArgument);
}

TEST_CASE("missing blocks read as missing", "[unit]") {
  testing::TempDir dir;
  auto store = BlockStore::Open(dir.path(), "cluster", 0);
  REQUIRE(store.ok());
  FileLayout key{9, 1, 5, 512};
  std::vector<BlockRecord> req(1);
  req[0].index = 4;  // (1 % 5 + 4) % 5 == 0: server 0 holds it
  std::string data;
  REQUIRE((*store)->Read(key, &req, &data).ok());
  CHECK(req[0].state == static_cast<uint32_t>(BlockState::kMissing));
}

TEST_CASE("a data directory of another cluster or index is refused", "[unit]") {
  testing::TempDir dir;
  REQUIRE(BlockStore::Open(dir.path(), "cluster-a", 0).ok());
  CHECK(BlockStore::Open(dir.path(), "cluster-b", 0).status().code() == Code::kFailedPrecondition);
  CHECK(BlockStore::Open(dir.path(), "cluster-a", 1).status().code() == Code::kFailedPrecondition);
  CHECK(BlockStore::Open(dir.path(), "cluster-a", 0).ok());
}

TEST_CASE("deleted files go to the trash", "[unit]") {
  testing::TempDir dir;
  auto store = BlockStore::Open(dir.path(), "cluster", 0);
  REQUIRE(store.ok());
  FileLayout key{7, 12345, 5, 512};
  Blocks b = MakeBlocks(key, 0, 10, MakeVersion(1, 0), 'a');
  REQUIRE((*store)->Write(key, b.records, b.data).ok());
  REQUIRE((*store)->Delete(7).ok());
  struct stat st;
  CHECK(stat((dir.path() + "/trash/7.dat").c_str(), &st) == 0);
  std::vector<BlockRecord> req = b.records;
  std::string data;
  REQUIRE((*store)->Read(key, &req, &data).ok());
  CHECK(req[0].state == static_cast<uint32_t>(BlockState::kMissing));
}

TEST_CASE("the block store locks itself: threads writing, reading, listing and deleting at once") {
  testing::TempDir dir;
  auto store = BlockStore::Open(dir.path(), "c", 0);
  REQUIRE(store.ok());
  BlockStore& s = **store;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 150; ++round) {
        // More files than the store keeps open: opens and closes race too.
        FileLayout key{static_cast<uint64_t>(1 + t * 1000 + round % 40), 3, 5, 512};
        Blocks b = MakeBlocks(key, 0, 20, 1 + round, static_cast<char>('a' + t));
        if (!s.Write(key, b.records, b.data).ok()) ++failures;
        std::vector<BlockRecord> got = b.records;
        std::string data;
        if (!s.Read(key, &got, &data).ok() || data != b.data) ++failures;
        if (round % 10 == t) (void)s.ListFiles();
        if (round % 25 == 24 && !s.Delete(key.fid).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
}

TEST_CASE("the stored block count stays exact through writes, drops and deletes, without rescanning", "[unit]") {
  testing::TempDir dir;
  auto store = BlockStore::Open(dir.path(), "cluster", 0);
  REQUIRE(store.ok());
  auto blocks = [&] { return (*store)->Stats()->blocks; };
  FileLayout key{9, 777, 5, 512};
  Blocks first = MakeBlocks(key, 0, 100, MakeVersion(2, 0), 'a');  // 40 of the 100 are server 0's
  REQUIRE((*store)->Write(key, first.records, first.data).ok());
  CHECK(blocks() == first.records.size());  // counted from the index
  // Overwrites (newer, and an older one that loses) add nothing.
  Blocks newer = MakeBlocks(key, 0, 100, MakeVersion(3, 0), 'b');
  REQUIRE((*store)->Write(key, newer.records, newer.data).ok());
  Blocks older = MakeBlocks(key, 0, 200, MakeVersion(1, 0), 'c');  // loses where it overlaps, adds past 100
  REQUIRE((*store)->Write(key, older.records, older.data).ok());
  CHECK(blocks() == older.records.size());
  // A second file, and a drop of two blocks of the first.
  FileLayout other{10, 778, 5, 512};
  Blocks second = MakeBlocks(other, 0, 50, MakeVersion(4, 0), 'd');
  REQUIRE((*store)->Write(other, second.records, second.data).ok());
  REQUIRE((*store)->DropBlocks(key, {older.records[0].index, older.records[1].index}).ok());
  CHECK(blocks() == older.records.size() - 2 + second.records.size());
  REQUIRE((*store)->Delete(key.fid).ok());
  CHECK(blocks() == second.records.size());
  // The same figure from a fresh count of the disk.
  store->reset();
  auto reopened = BlockStore::Open(dir.path(), "cluster", 0);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->Stats()->blocks == second.records.size());
}
