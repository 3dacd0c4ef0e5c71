// Space and scrub (docs/fsck.md): every byte owned or reclaimed, a full disk
// recovered by rm, damage of every kind found and repaired, the scrubber
// finding a flipped bit with no read, servers stopping within 2 s.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::RandomBytes;

namespace {

using Clock = std::chrono::steady_clock;

nlohmann::json Status(Cluster& c) {
  auto r = c.Dfs({"status", "--json"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(!doc.is_discarded());
  return doc;
}

// Sum of a field over the data servers that are up.
uint64_t Sum(Cluster& c, const std::string& field) {
  uint64_t total = 0;
  const nlohmann::json doc = Status(c);
  for (const auto& s : doc["data_servers"]) {
    if (s.contains(field)) total += s[field].get<uint64_t>();
  }
  return total;
}

uint64_t ScrubSum(Cluster& c, const std::string& field) {
  uint64_t total = 0;
  const nlohmann::json doc = Status(c);
  for (const auto& s : doc["data_servers"]) {
    if (s.contains("scrub")) total += s["scrub"][field].get<uint64_t>();
  }
  return total;
}

// Waits up to `timeout_s` for `done`; false if it never held.
bool WaitFor(const std::function<bool()>& done, double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

std::string FileId(Cluster& c, const std::string& path) {
  auto doc = nlohmann::json::parse(c.Dfs({"stat", "--json", path}).out);
  return std::to_string(doc["file_id"].get<uint64_t>());
}

std::string BlockFile(Cluster& c, int server, const std::string& fid, const char* ext) {
  char sub[8];
  snprintf(sub, sizeof sub, "%02x", static_cast<unsigned>(std::stoull(fid) & 0xff));
  return c.dir() + "/data" + std::to_string(server) + "/blocks/" + sub + "/" + fid + ext;
}

// Overwrites `bytes` at `offset` of a local file.
void Scribble(const std::string& path, off_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("ordinary operations leave nothing behind: fsck stays clean and the space comes back", "[integration]") {
  Cluster c(3, {"--lease-seconds", "2"}, {"--trash-hours", "0"});
  std::string a = RandomBytes(400000, 1), b = RandomBytes(150000, 2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/a"}, a).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/b"}, b).code == 0);
  // Overwrite with a smaller file; mv over an existing file; a hard link
  // removed; a file removed; an interrupted copy; a killed copy.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/a"}, b).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/c"}, a).code == 0);
  REQUIRE(c.Dfs({"mv", "/c", "/b"}).code == 0);
  REQUIRE(c.Dfs({"ln", "/b", "/l"}).code == 0);
  REQUIRE(c.Dfs({"rm", "/l"}).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/d"}, a).code == 0);
  REQUIRE(c.Dfs({"rm", "/d"}).code == 0);
  {
    auto cp = c.StartDfs({"cp", "-", "dfs:/a"});
    REQUIRE(cp->Feed(RandomBytes(8 << 20, 3)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cp->Signal(SIGINT);
    CHECK(cp->Wait().code == 130);
  }
  {
    auto cp = c.StartDfs({"cp", "-", "dfs:/e"});
    REQUIRE(cp->Feed(RandomBytes(8 << 20, 4)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cp->Signal(SIGKILL);
    cp->Wait();
  }
  // At every step fsck says healthy: what waits to be reclaimed is not damage.
  CHECK(c.Dfs({"fsck"}).code == 0);
  // Live data: /a (b's bytes) and /b (a's bytes), two copies each, and
  // nothing else once the servers have reclaimed the rest (the killed
  // copy's lease lapses after 2 s).
  const uint64_t want_blocks = 2 * ((b.size() + 511) / 512 + (a.size() + 511) / 512);
  uint64_t blocks = 0, trash = 0;
  bool reclaimed = WaitFor(
      [&] {
        blocks = Sum(c, "blocks");
        trash = Sum(c, "trash_bytes");
        return blocks == want_blocks && trash == 0;
      },
      60);
  INFO("blocks " << blocks << " (want " << want_blocks << "), trash " << trash);
  INFO(Status(c).dump(1));
  CHECK(reclaimed);
  auto fsck = c.Dfs({"fsck"});
  CHECK(fsck.code == 0);
  CHECK(fsck.out.find("orphan") == std::string::npos);
  CHECK(c.Dfs({"cat", "/a"}).out == b);
  CHECK(c.Dfs({"cat", "/b"}).out == a);
}

TEST_CASE("a delete a server missed while down is reclaimed when it comes back", "[integration]") {
  Cluster c(3, {}, {"--trash-hours", "0"});
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, RandomBytes(300000, 5)).code == 0);
  std::string fid = FileId(c, "/f");
  c.KillData(1);
  REQUIRE(c.Dfs({"rm", "/f"}).code == 0);
  CHECK(std::filesystem::exists(BlockFile(c, 1, fid, ".dat")));
  c.StartData(1);
  c.WaitUntilUp();
  CHECK(WaitFor([&] { return !std::filesystem::exists(BlockFile(c, 1, fid, ".dat")); }, 30));
  CHECK(Sum(c, "blocks") == 0);
}

// Server 0 of `c` restarted on a 64 MiB tmpfs; false (and says why) where
// that cannot be done.
class SmallDisk {
 public:
  explicit SmallDisk(Cluster& c) : dir_(c.dir() + "/data0") {
    if (geteuid() != 0) {
      WARN("skipped: mounting a small tmpfs for a data server needs root");
      return;
    }
    c.StopData(0);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=64m") != 0) {
      WARN("skipped: cannot mount a tmpfs here: " << strerror(errno));
      return;
    }
    mounted_ = true;
    c.StartData(0);
    c.WaitUntilUp();
  }
  ~SmallDisk() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool ok() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

TEST_CASE("a full disk: writes fail with no space, reads go on, and rm gives the space back", "[integration]") {
  // Trash kept 24 hours, and no reserve: only the write itself can make
  // the trash yield.
  Cluster c(3, {}, {"--reserve-percent", "0"});
  SmallDisk disk(c);
  if (!disk.ok()) return;
  // Server 0 holds two thirds of each file: 2 x 40 MB overfill its 64 MiB.
  std::string one = RandomBytes(60 << 20, 6), two = RandomBytes(60 << 20, 7);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/one"}, one).code == 0);
  auto full = c.Dfs({"--timeout", "5", "cp", "-", "dfs:/two"}, two, 120);
  INFO(full.err);
  CHECK(full.code == 1);
  CHECK_THAT(full.err, Catch::Contains("No space left"));
  CHECK(c.Dfs({"stat", "/two"}).code == 1);
  // The server still serves what it has.
  CHECK(c.Dfs({"cat", "/one"}).out == one);
  // rm moves /one to the trash, which yields to the next write.
  REQUIRE(c.Dfs({"rm", "/one"}).code == 0);
  auto again = c.Dfs({"--timeout", "5", "cp", "-", "dfs:/two"}, two, 120);
  INFO(again.err);
  CHECK(again.code == 0);
  CHECK(c.Dfs({"cat", "/two"}).out == two);
  CHECK(c.Dfs({"fsck"}).code == 0);
}

TEST_CASE("the trash is emptied early, oldest first, when free space falls under the reserve", "[integration]") {
  Cluster c(3, {}, {"--reserve-percent", "50"});  // 32 MiB of server 0's 64
  SmallDisk disk(c);
  if (!disk.ok()) return;
  REQUIRE(c.Dfs({"cp", "-", "dfs:/old"}, RandomBytes(6 << 20, 13)).code == 0);
  REQUIRE(c.Dfs({"rm", "/old"}).code == 0);
  // 4 MB of trash on server 0, and free space above the reserve: kept.
  std::this_thread::sleep_for(std::chrono::seconds(6));
  auto server0 = [&](const std::string& field) { return Status(c)["data_servers"][0][field].get<uint64_t>(); };
  CHECK(server0("trash_bytes") > 0);
  // 36 MB more: free space falls under the reserve, and the trash goes.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/big"}, RandomBytes(54 << 20, 14)).code == 0);
  CHECK(WaitFor([&] { return server0("trash_bytes") == 0; }, 15));
  CHECK_THAT(c.ReadLocal(c.dir() + "/data0.log"), Catch::Contains("under the reserve"));
}

TEST_CASE("damaged index and data files are found and repaired", "[fault]") {
  Cluster c(3);
  std::string bytes = RandomBytes(200000, 8);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, bytes).code == 0);
  std::string fid = FileId(c, "/f");
  const int s = 1;

  SECTION("an index header overwritten while the server runs, then a restart") {
    Scribble(BlockFile(c, s, fid, ".idx"), 0, "garbage!");
    CHECK(c.Dfs({"fsck"}).code == 0);  // every block still verifies by its own checksum
    c.StopData(s);
    c.StartData(s);
    c.WaitUntilRebuilt();
    CHECK(c.Dfs({"fsck"}).code == 0);
    CHECK(c.ReadLocal(BlockFile(c, s, fid, ".idx")).substr(0, 8) == "DFSIDX01");
    CHECK_THAT(c.ReadLocal(c.dir() + "/data1.log"), Catch::Contains("index header of file id " + fid));
  }
  SECTION("an index record overwritten with a newer-looking version") {
    // Slot 3's record: crc, length, version all 0xff.
    Scribble(BlockFile(c, s, fid, ".idx"), 32 + 3 * 16, std::string(16, '\xff'));
    auto check = c.Dfs({"fsck", "--blocks"});
    CHECK(check.code == 4);
    CHECK_THAT(check.out, Catch::Contains("on server 1"));
    CHECK(c.Dfs({"fsck", "--repair"}).code == 1);
    CHECK(c.Dfs({"fsck"}).code == 0);
  }
  SECTION("a truncated data file") {
    std::filesystem::resize_file(BlockFile(c, s, fid, ".dat"), 1000);
    CHECK(c.Dfs({"fsck"}).code == 4);
    CHECK(c.Dfs({"cat", "/f"}).out == bytes);  // reads use the other copy, and repair
    CHECK(c.Dfs({"fsck", "--repair"}).code <= 1);
    CHECK(c.Dfs({"fsck"}).code == 0);
  }
  SECTION("a missing index file") {
    std::filesystem::remove(BlockFile(c, s, fid, ".idx"));
    CHECK(c.Dfs({"fsck"}).code == 4);
    CHECK(c.Dfs({"fsck", "--repair"}).code == 1);
    CHECK(c.Dfs({"fsck"}).code == 0);
  }
  CHECK(c.Dfs({"cat", "/f"}, "", 60).out == bytes);
}

TEST_CASE("a rebuild with no good copy of some blocks reports them and finishes", "[fault]") {
  Cluster c(3);
  std::string bytes = RandomBytes(100000, 9);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, bytes).code == 0);
  auto placement = c.Placement("/f");
  // Block 5's copy on one holder is corrupt; the other holder is wiped.
  int damaged = placement[5].first, wiped = placement[5].second;
  c.Corrupt(damaged, "/f", 5);
  c.KillData(wiped);
  c.WipeData(wiped);
  c.StartData(wiped);
  c.WaitUntilRebuilt(30);
  auto status = Status(c);
  CHECK(status["data_servers"][wiped]["rebuild_lost_blocks"] == 1);
  CHECK_THAT(c.ReadLocal(c.dir() + "/data" + std::to_string(wiped) + ".log"),
             Catch::Contains("block 5 of /f"));
  auto cat = c.Dfs({"cat", "/f"});
  CHECK(cat.code == 1);
  CHECK_THAT(cat.err, Catch::Contains("block 5"));
  auto fsck = c.Dfs({"fsck"});
  CHECK(fsck.code == 4);
  CHECK_THAT(fsck.out, Catch::Contains("1 blocks have no good copy left"));
}

TEST_CASE("the scrubber finds and repairs a flipped bit with no read", "[fault]") {
  Cluster c(3, {}, {"--scrub-days", "0.00003"});  // a pass every 2.6 s
  std::string bytes = RandomBytes(120000, 10);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, bytes).code == 0);
  auto placement = c.Placement("/f");
  int server = placement[42].second;
  c.Corrupt(server, "/f", 42);
  CHECK(WaitFor([&] { return ScrubSum(c, "repaired") >= 1; }, 30));
  auto status = Status(c);
  INFO(status.dump(1));
  CHECK(status["data_servers"][server]["scrub"]["found"] == 1);
  CHECK(status["data_servers"][server]["scrub"]["repaired"] == 1);
  CHECK(status["data_servers"][server]["scrub"]["last_pass_ns"].get<int64_t>() > 0);
  // No read repaired it: fsck without --repair finds nothing.
  CHECK(c.Dfs({"fsck"}).code == 0);
  CHECK_THAT(c.ReadLocal(c.dir() + "/data" + std::to_string(server) + ".log"),
             Catch::Contains("scrub: repaired 1 blocks"));

  SECTION("and a damaged index header, with no restart and no read") {
    std::string fid = FileId(c, "/f");
    std::string idx = BlockFile(c, server, fid, ".idx");
    Scribble(idx, 0, "garbage!");
    CHECK(WaitFor([&] { return c.ReadLocal(idx).substr(0, 8) == "DFSIDX01"; }, 30));
    CHECK_THAT(c.ReadLocal(c.dir() + "/data" + std::to_string(server) + ".log"),
               Catch::Contains("index header of file id " + fid));
    CHECK(c.Dfs({"fsck"}).code == 0);
  }
}

TEST_CASE("SIGTERM stops servers within 2 s in every state", "[fault]") {
  SECTION("a data server waiting for its meta server") {
    Cluster c(2);
    c.KillMeta();
    c.StopData(1);
    c.StartData(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    CHECK(c.SignalData(1, SIGTERM) < 2);
  }
  SECTION("a data server rebuilding, waiting for a neighbour that is down") {
    Cluster c(3);
    REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, RandomBytes(1 << 20, 11)).code == 0);
    c.KillData(0);
    c.WipeData(0);
    c.KillData(1);
    c.StartData(0);
    CHECK(WaitFor([&] { return c.States().size() == 3 && c.States()[0] == "rebuilding"; }, 10));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK(c.States()[0] == "rebuilding");
    CHECK(c.SignalData(0, SIGTERM) < 2);
  }
  SECTION("data servers scrubbing slowly and serving, and the meta server") {
    Cluster c(3, {}, {"--scrub-days", "0.00001", "--scrub-mbps", "1"});
    REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, RandomBytes(20 << 20, 12)).code == 0);
    // In the middle of a pass: 13 MB at 1 MB/s on each server.
    CHECK(WaitFor([&] { return ScrubSum(c, "pass_blocks") > 0; }, 10));
    CHECK(c.SignalData(0, SIGTERM) < 2);
    CHECK(c.SignalData(1, SIGINT) < 2);
    CHECK(c.SignalMeta(SIGTERM) < 2);
  }
}
