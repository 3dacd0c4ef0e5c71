// The rules of writes (issue 10) and of space, scrub and rebuild (issue 11)
// on the fake cluster (fake_cluster.h): a replace that is abandoned leaves
// nothing, one that is published frees the old copy; a wiped store is
// rebuilt from its neighbours (R7); the scrubber repairs a damaged copy;
// the reclaimer frees the blocks of a file deleted while its holder was
// away. The data server's background workers run on their own threads
// against in-memory stores, reaching their peers through the fake network.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "core/common/placement.h"
#include "core/data/rebuilder.h"
#include "core/data/reclaimer.h"
#include "core/data/scrubber.h"
#include "fake_cluster.h"
#include "temp_dir.h"

using namespace dfs;
using dfs::client::FileSystem;
using dfs::testing::FakeCluster;
using dfs::testing::Pattern;
using dfs::testing::ReadAll;
using dfs::testing::Write;

namespace {

// Waits up to 10 s for `done`.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

data::Peers PeersOf(FakeCluster& c) { return data::Peers{c.meta_endpoint, c.data_endpoints, c.network.connector()}; }

// How many of the file's blocks `server` holds verified at `version`.
uint64_t GoodBlocks(FakeCluster& c, uint32_t server, const proto::Attr& file) {
  uint64_t good = 0;
  for (uint64_t i = 0; i < BlockCount(file.size, file.block_size); ++i) {
    if (!HoldsBlock(file.placement_seed, file.stripe_width, server, i)) continue;
    BlockRecord r = c.Stored(server, file, i);
    good += r.state == static_cast<uint32_t>(BlockState::kOk) && VersionGeneration(r.version) == file.generation;
  }
  return good;
}

uint64_t HeldBlocks(const proto::Attr& file, uint32_t server) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < BlockCount(file.size, file.block_size); ++i) {
    n += HoldsBlock(file.placement_seed, file.stripe_width, server, i);
  }
  return n;
}

}  // namespace

TEST_CASE("an abandoned replace leaves the old bytes and none of its blocks anywhere") {
  FakeCluster c(3);
  auto fs = c.Connect();
  const std::string old_bytes = Pattern(20000, 1);
  REQUIRE(Write(*fs, "/f", old_bytes).ok());
  uint64_t copy_fid = 0;
  {
    auto w = fs->CreateReplacing("/f");
    REQUIRE(w.ok());
    copy_fid = (*w)->attr().fid;
    const std::string part = Pattern(8 << 20, 2);  // windows enough that blocks reach the servers
    REQUIRE((*w)->Write(part.data(), part.size()).ok());
    REQUIRE((c.store(0).Holds(copy_fid) || c.store(1).Holds(copy_fid) || c.store(2).Holds(copy_fid)));
    // Part of a copy on the servers, never closed: the writer goes away.
  }
  CHECK(ReadAll(*fs, "/f") == old_bytes);
  CHECK(fs->StatFile(copy_fid).status().code() == Code::kNotFound);
  for (uint32_t s = 0; s < 3; ++s) CHECK_FALSE(c.store(s).Holds(copy_fid));
  // And its lease went with it: another client's copy goes at once.
  auto other = c.Connect();
  CHECK(Write(*other, "/f", "next").ok());
}

TEST_CASE("a published replace frees the replaced copy's blocks, and readers see old or new, never a mix") {
  FakeCluster c(3);
  auto fs = c.Connect();
  REQUIRE(Write(*fs, "/f", Pattern(20000, 3)).ok());
  auto before = fs->Stat("/f");
  REQUIRE(before.ok());
  auto w = fs->CreateReplacing("/f");
  REQUIRE(w.ok());
  const std::string new_bytes = Pattern(30000, 4);
  REQUIRE((*w)->Write(new_bytes.data(), new_bytes.size()).ok());
  CHECK(ReadAll(*fs, "/f") == Pattern(20000, 3));  // written, not yet closed
  REQUIRE((*w)->Close().ok());
  CHECK(ReadAll(*fs, "/f") == new_bytes);
  for (uint32_t s = 0; s < 3; ++s) CHECK_FALSE(c.store(s).Holds(before->fid));
}

TEST_CASE("a wiped store is rebuilt from its neighbours, every block verified (R7)") {
  FakeCluster c(3);
  auto fs = c.Connect();
  REQUIRE(Write(*fs, "/a", Pattern(200 * 512 + 17, 5)).ok());
  REQUIRE(Write(*fs, "/b", Pattern(3000, 6)).ok());
  auto a = fs->Stat("/a");
  auto b = fs->Stat("/b");
  REQUIRE((a.ok() && b.ok()));
  c.Forget(1, *a);
  c.Forget(1, *b);
  REQUIRE(GoodBlocks(c, 1, *a) == 0);

  std::atomic<bool> stop{false};
  data::Rebuilder rebuilder(&c.store(1), PeersOf(c), &stop);
  rebuilder.Start();
  CHECK(Eventually([&] { return !rebuilder.progress().running.load(); }));
  stop = true;
  CHECK(GoodBlocks(c, 1, *a) == HeldBlocks(*a, 1));
  CHECK(GoodBlocks(c, 1, *b) == HeldBlocks(*b, 1));
  CHECK(rebuilder.progress().blocks_restored == HeldBlocks(*a, 1) + HeldBlocks(*b, 1));
  CHECK(rebuilder.progress().blocks_lost == 0);
}

TEST_CASE("a rebuild whose neighbour is away waits for it instead of giving up") {
  FakeCluster c(3);
  auto fs = c.Connect();
  REQUIRE(Write(*fs, "/a", Pattern(60 * 512, 7)).ok());
  auto a = fs->Stat("/a");
  REQUIRE(a.ok());
  c.Forget(1, *a);
  c.network.Cut(c.data_endpoints[0]);
  c.network.Cut(c.data_endpoints[2]);
  std::atomic<bool> stop{false};
  data::Rebuilder rebuilder(&c.store(1), PeersOf(c), &stop);
  rebuilder.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(rebuilder.progress().running);
  CHECK(GoodBlocks(c, 1, *a) == 0);
  c.network.Cut(c.data_endpoints[0], false);
  c.network.Cut(c.data_endpoints[2], false);
  CHECK(Eventually([&] { return !rebuilder.progress().running.load(); }));
  stop = true;
  CHECK(GoodBlocks(c, 1, *a) == HeldBlocks(*a, 1));
}

TEST_CASE("the scrubber finds a damaged copy with no read and repairs it from the other holder") {
  FakeCluster c(3);
  auto fs = c.Connect();
  REQUIRE(Write(*fs, "/a", Pattern(40 * 512, 8)).ok());
  auto a = fs->Stat("/a");
  REQUIRE(a.ok());
  uint64_t block = 0;
  while (!HoldsBlock(a->placement_seed, a->stripe_width, 2, block)) ++block;
  std::string was, now;
  REQUIRE(c.store(2).Corrupt(a->layout(), block, 7, 3, &was, &now).ok());
  REQUIRE(c.Stored(2, *a, block).state == static_cast<uint32_t>(BlockState::kCorrupt));

  testing::TempDir dir;
  data::ScrubOptions options;
  options.pass_days = 0.1 / 86400;  // a pass every 0.1 s
  options.mbps = 1000;
  options.state_path = dir.path() + "/scrub.state";
  data::RebuildProgress no_rebuild;
  std::atomic<bool> stop{false};
  data::Scrubber scrubber(&c.store(2), PeersOf(c), &stop, nullptr, &no_rebuild, options);
  scrubber.Start();
  CHECK(Eventually([&] { return scrubber.progress().repaired.load() >= 1; }));
  stop = true;
  CHECK(scrubber.progress().found == 1);
  CHECK(scrubber.progress().unrepaired == 0);
  CHECK(c.Stored(2, *a, block).state == static_cast<uint32_t>(BlockState::kOk));
  CHECK(ReadAll(*fs, "/a") == Pattern(40 * 512, 8));
}

namespace {

// File /a, written and then removed while server 1 was cut off: server 1
// still holds its blocks.
proto::Attr DeletedWhileAway(FakeCluster& c, FileSystem& fs) {
  REQUIRE(Write(fs, "/a", Pattern(30 * 512, 9)).ok());
  auto a = fs.Stat("/a");
  REQUIRE(a.ok());
  c.network.Cut(c.data_endpoints[1]);
  REQUIRE(fs.Remove("/a").ok());
  c.network.Cut(c.data_endpoints[1], false);
  REQUIRE(c.store(1).Holds(a->fid));  // the delete never reached it
  CHECK_FALSE(c.store(0).Holds(a->fid));
  return *a;
}

}  // namespace

TEST_CASE("blocks of a file deleted while a holder was away are reclaimed when it is back") {
  FakeCluster c(3);
  auto fs = c.Connect();
  const proto::Attr a = DeletedWhileAway(c, *fs);
  std::atomic<bool> stop{false};
  data::Reclaimer reclaimer(&c.store(1), PeersOf(c), fs->map().cluster_id, /*reserve_bytes=*/0, /*period_s=*/0.05,
                            &stop);
  reclaimer.Start();
  CHECK(Eventually([&] { return !c.store(1).Holds(a.fid); }));
  stop = true;
  CHECK(reclaimer.files_reclaimed() == 1);
}

TEST_CASE("the reclaimer of another cluster's meta server deletes nothing") {
  FakeCluster c(3);
  auto fs = c.Connect();
  const proto::Attr a = DeletedWhileAway(c, *fs);
  std::atomic<bool> stop{false};
  data::Reclaimer reclaimer(&c.store(1), PeersOf(c), "some-other-cluster", 0, 0.05, &stop);
  reclaimer.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  CHECK(c.store(1).Holds(a.fid));
}
