// The client's rules on a fake network and in-memory servers
// (fake_cluster.h): read repair, replica choice end to end, write retry,
// --timeout, R10 and the patch merge of partial blocks. No process starts;
// faults are injected by cutting, dropping and delaying messages and by
// damaging stored copies.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/client/open_file.h"
#include "core/client/patch_writer.h"
#include "core/common/placement.h"
#include "fake_cluster.h"

using namespace dfs;
using dfs::client::FileSystem;
using dfs::testing::FakeCluster;
using dfs::testing::Pattern;
using dfs::testing::ReadAll;
using dfs::testing::Write;
using Clock = std::chrono::steady_clock;

namespace {

bool Noticed(FakeCluster& c, const std::string& part) {
  for (const std::string& n : c.notices()) {
    if (n.find(part) != std::string::npos) return true;
  }
  UNSCOPED_INFO("no notice has \"" << part << "\"; there are " << c.notices().size());
  for (const std::string& n : c.notices()) UNSCOPED_INFO("  " << n);
  return false;
}

// The first block of `file` whose `holder` (0 first, 1 second) is `server`.
uint64_t BlockHeldBy(const proto::Attr& file, uint32_t server, int holder) {
  for (uint64_t i = 0;; ++i) {
    ReplicaPair p = PlaceBlock(file.placement_seed, file.stripe_width, i);
    if ((holder == 0 ? p.first : p.second) == server) return i;
  }
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

}  // namespace

TEST_CASE("fake cluster: a file written reads back") {
  FakeCluster c;
  auto fs = c.Connect();
  const std::string bytes = Pattern(20000, 1);
  REQUIRE(Write(*fs, "/f", bytes).ok());
  CHECK((ReadAll(*fs, "/f") == bytes));
}

TEST_CASE("a read repairs a corrupt, a missing and a stale copy, serving the good bytes (R9)") {
  FakeCluster c;
  auto fs = c.Connect();
  const std::string bytes = Pattern(64 * 512, 2);
  REQUIRE(Write(*fs, "/f", bytes).ok());
  auto a = fs->Stat("/f");
  REQUIRE(a.ok());
  // Server 2 lost its copy of the file, then got an old version of one
  // block it is the first holder of: that stale copy is what it sends.
  const uint64_t stale = BlockHeldBy(*a, 2, 0);
  const uint64_t version = c.Stored(2, *a, stale).version;
  REQUIRE(version > 1);
  c.Forget(2, *a);
  c.Plant(2, *a, stale, version - 1, std::string(512, 'x'));
  // Server 0's copy of a block is damaged on its disk.
  const uint64_t rotten = BlockHeldBy(*a, 0, 0);
  std::string was, now;
  REQUIRE(c.store(0).Corrupt(a->layout(), rotten, 10, 4, &was, &now).ok());

  CHECK((ReadAll(*fs, "/f") == bytes));
  CHECK(Noticed(c, "repaired block " + std::to_string(rotten) + " of /f on server 0"));
  CHECK(Noticed(c, "repaired block " + std::to_string(stale) + " of /f on server 2"));
  CHECK(Noticed(c, "was missing"));
  CHECK(Noticed(c, "was stale"));
  // Every copy on both holders verifies now, with the version the other has.
  for (uint64_t i = 0; i < 64; ++i) {
    ReplicaPair p = PlaceBlock(a->placement_seed, a->stripe_width, i);
    BlockRecord x = c.Stored(p.first, *a, i), y = c.Stored(p.second, *a, i);
    INFO("block " << i);
    CHECK(x.state == static_cast<uint32_t>(BlockState::kOk));
    CHECK(y.state == static_cast<uint32_t>(BlockState::kOk));
    CHECK(x.version == y.version);
    CHECK(x.crc == y.crc);
  }
}

TEST_CASE("two copies of one version that differ are served as found and never repaired") {
  FakeCluster c;
  auto fs = c.Connect();
  const std::string bytes = Pattern(16 * 512, 3);
  REQUIRE(Write(*fs, "/f", bytes).ok());
  auto a = fs->Stat("/f");
  REQUIRE(a.ok());
  const uint64_t block = 5;
  ReplicaPair p = PlaceBlock(a->placement_seed, a->stripe_width, block);
  const BlockRecord good = c.Stored(p.second, *a, block);
  c.Plant(p.second, *a, block, good.version, std::string(512, 'z'));  // same version, other bytes

  CHECK((ReadAll(*fs, "/f") == bytes));  // the first holder sends its bytes
  CHECK(Noticed(c, "same version but differ"));
  CHECK_FALSE(Noticed(c, "repaired block"));
  CHECK(c.Stored(p.second, *a, block).crc != c.Stored(p.first, *a, block).crc);
}

TEST_CASE("a read succeeds with one holder cut off and repairs nothing on it (R11)") {
  FakeCluster c;
  auto fs = c.Connect();
  const std::string bytes = Pattern(40 * 512 + 17, 4);
  REQUIRE(Write(*fs, "/f", bytes).ok());
  c.network.Cut(c.data_endpoints[1]);
  CHECK((ReadAll(*fs, "/f") == bytes));
  CHECK_FALSE(Noticed(c, "repaired"));
}

TEST_CASE("a lost request or reply on a write is sent again; the file is whole") {
  FakeCluster c;
  auto fs = c.Connect();
  const std::string bytes = Pattern(300 * 512, 5);
  c.network.DropRequests(c.data_endpoints[0], 1);
  c.network.DropReplies(c.data_endpoints[2], 2);
  REQUIRE(Write(*fs, "/f", bytes).ok());
  CHECK((ReadAll(*fs, "/f") == bytes));
}

TEST_CASE("a write waits for a holder that is down and returns only once it has the data (R10)") {
  FakeCluster c;
  auto fs = c.Connect();
  const std::string bytes = Pattern(100 * 512, 6);
  c.network.Cut(c.data_endpoints[1]);
  auto start = Clock::now();
  std::thread back([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    c.network.Cut(c.data_endpoints[1], false);
  });
  Status st = Write(*fs, "/f", bytes);
  back.join();
  REQUIRE(st.ok());
  CHECK(Seconds(start) >= 0.4);
  CHECK(Noticed(c, "waiting for data server 1"));
  CHECK(Noticed(c, "data server 1 (" + c.data_endpoints[1] + ") is back"));
  // Server 1 holds every block it should, without any read repairing it.
  auto a = fs->Stat("/f");
  REQUIRE(a.ok());
  for (uint64_t i = 0; i < 100; ++i) {
    if (!HoldsBlock(a->placement_seed, a->stripe_width, 1, i)) continue;
    INFO("block " << i);
    CHECK(c.Stored(1, *a, i).state == static_cast<uint32_t>(BlockState::kOk));
  }
}

TEST_CASE("a write's close waits for the slower holder's acknowledgement (R10)") {
  FakeCluster c;
  auto fs = c.Connect();
  c.network.Delay(c.data_endpoints[2], 300);
  auto start = Clock::now();
  REQUIRE(Write(*fs, "/f", Pattern(10 * 512, 7)).ok());
  CHECK(Seconds(start) >= 0.3);
}

TEST_CASE(
    "the write timeout (--timeout): a write to a holder that stays down fails, naming it, and "
    "leaves no file") {
  FakeCluster c;
  auto options = c.Options();
  options.write_timeout_s = 0.3;
  // Without the timeout the write would wait forever: a watchdog cancels it.
  std::atomic<bool> cancel{false};
  options.cancel = &cancel;
  auto fs = c.Connect(options);
  c.network.Cut(c.data_endpoints[0]);
  auto start = Clock::now();
  std::thread watchdog([&] {
    while (!cancel && Seconds(start) < 5) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    cancel = true;
  });
  Status st = Write(*fs, "/f", Pattern(50 * 512, 8));
  cancel = true;
  watchdog.join();
  INFO(st.ToString());
  CHECK(st.code() == Code::kDeadlineExceeded);
  CHECK(st.message().find("data server 0") != std::string::npos);
  CHECK(st.message().find("--timeout") != std::string::npos);
  CHECK(Seconds(start) < 5);
  CHECK(fs->Stat("/f").status().code() == Code::kNotFound);
}

TEST_CASE("a patch of partial blocks merges with the bytes around it, across holders") {
  FakeCluster c;
  auto fs = c.Connect();
  std::string model = Pattern(10 * 512 + 100, 9);
  REQUIRE(Write(*fs, "/f", model).ok());
  auto w = fs->OpenForPatch("/f");
  REQUIRE(w.ok());
  auto patch = [&](uint64_t offset, const std::string& bytes) {
    REQUIRE((*w)->Write(offset, bytes.data(), bytes.size()).ok());
    if (model.size() < offset + bytes.size()) model.resize(offset + bytes.size(), '\0');
    model.replace(offset, bytes.size(), bytes);
  };
  patch(700, "inside block one");              // within one block
  patch(2 * 512 - 3, std::string(520, 'q'));   // across a block edge, two partial blocks
  patch(10 * 512 + 90, std::string(30, 'e'));  // over the end of the file
  patch(20 * 512 + 5, "far");                  // past the end: a hole before it
  // One holder of the patched blocks answers late: the merge must not mix
  // its stale reply with the patch.
  c.network.Delay(c.data_endpoints[1], 50);
  REQUIRE((*w)->Flush().ok());
  fs->EndWrite((*w)->attr().fid);
  CHECK((ReadAll(*fs, "/f") == model));
  // A second client sees the same bytes.
  auto other = c.Connect();
  CHECK((ReadAll(*other, "/f") == model));
}

// A mount gives a closed file's write lease back from its lease keeper's
// thread, so that the close waits for no meta round trip; another client
// can write the file at once after.
TEST_CASE("a closed file's write lease goes back without the close waiting for it") {
  FakeCluster c;
  auto mine = c.Connect();
  auto other = c.Connect();
  REQUIRE(Write(*mine, "/f", Pattern(3000, 4)).ok());
  const uint64_t fid = mine->Stat("/f")->fid;
  client::OpenFile f(mine.get(), fid, "/f");
  SECTION("written as a stream") {
    auto w = mine->Create("/f");
    REQUIRE(w.ok());
    f.Restart(std::move(*w), mine.get());
    REQUIRE(f.Write(0, "new bytes", 9).ok());
  }
  SECTION("patched") {
    REQUIRE(f.Patch().ok());
    REQUIRE(f.Write(100, "patch", 5).ok());
  }
  REQUIRE(f.Flush().ok());
  // While held, the other client may not write it.
  CHECK(other->OpenForPatch("/f").status().code() == Code::kBusy);
  c.network.Delay(c.meta_endpoint, 2000);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(f.CloseAndRelease().ok());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1000));
  c.network.Delay(c.meta_endpoint, 0);
  // The release names the write generation the file was closed at, or
  // the meta server keeps the lease (until it lapses, a minute here).
  auto theirs = other->OpenForPatch("/f");
  CHECK(theirs.ok());
}

// The mount writes through several engines of one client: a file held
// through one is written through another, and is busy to other clients
// until any of them gives it back.
TEST_CASE("engines of one client share its write leases") {
  FakeCluster c;
  auto mine = c.Connect();
  auto twin = mine->ConnectAnother();
  REQUIRE(twin.ok());
  auto other = c.Connect();
  REQUIRE(Write(*mine, "/f", Pattern(3000, 4)).ok());
  const uint64_t fid = mine->Stat("/f")->fid;
  auto patch = mine->OpenForPatch("/f");
  REQUIRE(patch.ok());
  auto stream = (*twin)->Create("/f");
  CHECK(stream.ok());
  CHECK(other->OpenForPatch("/f").status().code() == Code::kBusy);
  (*twin)->EndWrite(fid);
  CHECK(other->OpenForPatch("/f").ok());
}

// A mount truncating a file closes its stream first; a write through
// another handle that comes before the new stream patches the file.
TEST_CASE("a write to an open file whose stream was closed patches it") {
  FakeCluster c;
  auto fs = c.Connect();
  auto w = fs->Create("/f");
  REQUIRE(w.ok());
  client::OpenFile f(fs.get(), (*w)->attr().fid, "/f");
  f.Restart(std::move(*w), fs.get());
  std::string model = Pattern(3000, 5);
  REQUIRE(f.Write(0, model.data(), model.size()).ok());
  REQUIRE(f.Close().ok());
  CHECK_FALSE(f.writing());
  REQUIRE(f.Write(100, "patch", 5).ok());
  model.replace(100, 5, "patch");
  REQUIRE(f.CloseAndRelease().ok());
  CHECK((ReadAll(*fs, "/f") == model));
}
