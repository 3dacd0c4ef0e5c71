// Writes that cannot lose data (docs/leases.md): one writer per file, atomic
// replace, copies that fail or are interrupted leave the destination as it
// was, sparse files. Real processes, real signals.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "cluster_fixture.h"
#include "core/client/meta_client.h"
#include "core/common/protocol.h"

using dfs::testing::BackgroundCommand;
using dfs::testing::Cluster;
using dfs::testing::CommandResult;
using dfs::testing::JsonNumber;
using dfs::testing::RandomBytes;

namespace {

// Blocks stored on all data servers together.
uint64_t StoredBlocks(Cluster& c) {
  auto r = c.Dfs({"status", "--json"});
  REQUIRE(r.code == 0);
  uint64_t total = 0;
  std::regex re("\"blocks\": (\\d+)");
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), re); it != std::sregex_iterator(); ++it) {
    total += std::stoull((*it)[1]);
  }
  return total;
}

// Starts `dfs cp - dfs:PATH` and feeds it `bytes`, leaving its input open:
// the copy is in the middle of its write until the test says otherwise.
std::unique_ptr<BackgroundCommand> StartCopyInto(Cluster& c, const std::string& path, const std::string& bytes) {
  auto cp = c.StartDfs({"cp", "-", "dfs:" + path});
  REQUIRE(cp->Feed(bytes));
  // Let it dispatch what it was given.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return cp;
}

}  // namespace

TEST_CASE("two copies to one path at once: the file is always one writer's bytes", "[integration]") {
  Cluster c(5);
  std::string x = RandomBytes(3000000, 1), y = RandomBytes(2000000, 2);
  std::string lx = c.LocalFile("x", x), ly = c.LocalFile("y", y);
  int refused = 0;
  for (int round = 0; round < 8; ++round) {
    INFO("round " << round);
    CommandResult a, b;
    std::thread ta([&] { a = c.Dfs({"cp", lx, "dfs:/same"}); });
    std::thread tb([&] { b = c.Dfs({"cp", ly, "dfs:/same"}); });
    ta.join();
    tb.join();
    CHECK((a.code == 0 || b.code == 0));
    for (const CommandResult* r : {&a, &b}) {
      if (r->code == 0) continue;
      ++refused;
      CHECK(r->code == 1);
      CHECK_THAT(r->err, Catch::Matches("dfs: cp: /same: being written by .* pid \\d+ .*\n"));
    }
    auto cat = c.Dfs({"cat", "/same"});
    REQUIRE(cat.code == 0);
    CHECK((cat.out == x || cat.out == y));
  }
  INFO(refused << " copies were refused");
  auto fsck = c.Dfs({"fsck"});
  CHECK(fsck.code == 0);
}

TEST_CASE("cp onto the same file is refused; over a hard link it replaces that name only", "[integration]") {
  Cluster c(3);
  std::string m1 = RandomBytes(70000, 3), m2 = RandomBytes(90000, 4);
  REQUIRE(c.Dfs({"mkdir", "/hl"}).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/hl/a"}, m1).code == 0);
  REQUIRE(c.Dfs({"ln", "/hl/a", "/hl/b"}).code == 0);

  for (auto args : std::vector<std::vector<std::string>>{
           {"cp", "dfs:/hl/a", "dfs:/hl/b"}, {"cp", "dfs:/hl/a", "dfs:/hl/a"}, {"cp", "dfs:/hl/b", "dfs:/hl/"}}) {
    auto r = c.Dfs(args);
    INFO(args[1] << " " << args[2]);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("are the same file"));
  }
  auto self = c.Dfs({"cp", "-r", "dfs:/hl", "dfs:/hl"});
  CHECK(self.code == 1);
  CHECK_THAT(self.err, Catch::Contains("into itself"));
  CHECK(c.Dfs({"cat", "/hl/a"}).out == m1);
  CHECK(c.Dfs({"cat", "/hl/b"}).out == m1);

  // A copy onto one name gives that name a new file, as rsync and mv do;
  // the other name keeps the old bytes.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/hl/a"}, m2).code == 0);
  CHECK(c.Dfs({"cat", "/hl/a"}).out == m2);
  CHECK(c.Dfs({"cat", "/hl/b"}).out == m1);
  CHECK(JsonNumber(c.Dfs({"stat", "--json", "/hl/b"}).out, "nlink") == 1);
  CHECK(c.Dfs({"fsck"}).code == 0);
}

TEST_CASE("an interrupted copy leaves the destination as it was, and nothing behind", "[integration]") {
  Cluster c(4);
  std::string old = RandomBytes(300000, 5);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, old).code == 0);
  const uint64_t stored = StoredBlocks(c);

  SECTION("Ctrl-C (SIGINT)") {
    auto cp = StartCopyInto(c, "/f", RandomBytes(20 << 20, 6));
    cp->Signal(SIGINT);
    auto r = cp->Wait(30);
    CHECK(r.code == 130);
    CHECK_THAT(r.err, Catch::Contains("interrupted"));
    CHECK(c.Dfs({"cat", "/f"}).out == old);
    // The copy's blocks went with it.
    CHECK(StoredBlocks(c) == stored);
    // And its lease: the next copy goes at once.
    REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, "next").code == 0);
    CHECK(c.Dfs({"cat", "/f"}).out == "next");
  }
  SECTION("a new name never appears") {
    auto cp = StartCopyInto(c, "/new", RandomBytes(20 << 20, 7));
    CHECK(c.Dfs({"stat", "/new"}).code == 1);
    cp->Signal(SIGTERM);
    CHECK(cp->Wait(30).code == 130);
    CHECK(c.Dfs({"stat", "/new"}).code == 1);
    CHECK(c.Dfs({"ls", "/"}).out == "f\n");
    CHECK(StoredBlocks(c) == stored);
  }
}

TEST_CASE("a writer killed -9 holds the file until its lease lapses", "[integration]") {
  // Renewed every third of it: after the kill it lasts 4 to 6 s, enough
  // for the checks below (a busy cp alone tries for a second) on a loaded
  // machine.
  Cluster c(3, {"--lease-seconds", "6"});
  std::string old = RandomBytes(100000, 8);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, old).code == 0);
  auto cp = StartCopyInto(c, "/f", RandomBytes(10 << 20, 9));
  pid_t dead = cp->pid();
  cp->Signal(SIGKILL);
  cp->Wait();
  CHECK(c.Dfs({"cat", "/f"}).out == old);
  auto busy = c.Dfs({"cp", "-", "dfs:/f"}, "new bytes");
  CHECK(busy.code == 1);
  CHECK_THAT(busy.err, Catch::Contains("pid " + std::to_string(dead)));
  CHECK(c.Dfs({"cat", "/f"}).out == old);

  SECTION("then the next writer gets it") {
    std::this_thread::sleep_for(std::chrono::milliseconds(6500));
    REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, "new bytes").code == 0);
    CHECK(c.Dfs({"cat", "/f"}).out == "new bytes");
  }
  SECTION("or --wait waits for it") {
    auto start = std::chrono::steady_clock::now();
    auto waited = c.Dfs({"cp", "--wait", "-", "dfs:/f"}, "waited bytes", 30);
    CHECK(waited.code == 0);
    CHECK_THAT(waited.err, Catch::Contains("waiting"));
    CHECK(std::chrono::steady_clock::now() - start > std::chrono::seconds(1));
    CHECK(c.Dfs({"cat", "/f"}).out == "waited bytes");
  }
}

TEST_CASE("a copy that times out waiting for a down server leaves the old bytes", "[integration]") {
  Cluster c(3);
  std::string old = RandomBytes(200000, 10);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, old).code == 0);
  c.KillData(1);
  auto r = c.Dfs({"--timeout", "2", "cp", "-", "dfs:/f"}, RandomBytes(300000, 11), 60);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("did not come back within 2 s"));
  auto cat = c.Dfs({"cat", "/f"}, "", 60);
  REQUIRE(cat.code == 0);
  CHECK(cat.out == old);
  auto fresh = c.Dfs({"--timeout", "2", "cp", "-", "dfs:/g"}, RandomBytes(300000, 12), 60);
  CHECK(fresh.code == 1);
  CHECK(c.Dfs({"stat", "/g"}).code == 1);
}

TEST_CASE("a failed copy out of dfs leaves the local destination as it was", "[integration]") {
  Cluster c(3);
  std::string bytes = RandomBytes(400000, 13);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, bytes).code == 0);
  // Block 500 has no good copy left: the read fails there, past the start.
  auto placement = c.Placement("/f");
  c.Corrupt(placement[500].first, "/f", 500);
  c.Corrupt(placement[500].second, "/f", 500);
  std::string local = c.LocalFile("out", "what was here before");
  auto r = c.Dfs({"cp", "dfs:/f", local});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("block 500"));
  CHECK(c.ReadLocal(local) == "what was here before");
  std::string absent = c.dir() + "/absent";
  CHECK(c.Dfs({"cp", "dfs:/f", absent}).code == 1);
  CHECK_FALSE(std::filesystem::exists(absent));
  // No temporary file is left beside them.
  for (const auto& e : std::filesystem::directory_iterator(c.dir())) {
    CHECK(e.path().filename().string().find(".dfs-") == std::string::npos);
  }
  // A good copy still replaces the file, keeping its mode.
  chmod(local.c_str(), 0600);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/g"}, "fine").code == 0);
  REQUIRE(c.Dfs({"cp", "dfs:/g", local}).code == 0);
  CHECK(c.ReadLocal(local) == "fine");
  struct stat st;
  REQUIRE(stat(local.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // /dev/null is written, not replaced.
  CHECK(c.Dfs({"cp", "dfs:/g", "/dev/null"}).code == 0);
  CHECK(std::filesystem::is_character_file("/dev/null"));
}

TEST_CASE("a commit under a stale generation is refused with a clear code", "[integration]") {
  Cluster c(3);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, "original").code == 0);
  dfs::client::MetaClient meta(c.meta_endpoint(), dfs::transport::CurveConnector(c.admin_curve()));
  dfs::proto::Attr first, second;
  REQUIRE(meta.Call<dfs::proto::Op::kOpenWrite>(dfs::proto::OpenWriteReq{"/f", 7, "test pid 7"}, &first).ok());
  dfs::proto::LeaseReq release{7, "test pid 7", {first.fid}, false, {}};
  dfs::proto::LeaseRsp unused;
  REQUIRE(meta.Call<dfs::proto::Op::kReleaseLeases>(release, &unused).ok());
  REQUIRE(meta.Call<dfs::proto::Op::kOpenWrite>(dfs::proto::OpenWriteReq{"/f", 8, "test pid 8"}, &second).ok());
  dfs::proto::CommitReq stale;
  stale.fid = first.fid;
  stale.generation = first.generation;
  stale.size = 3;
  stale.holder_id = 8;
  dfs::proto::CommitRsp rsp;
  dfs::Status st = meta.Call<dfs::proto::Op::kCommit>(stale, &rsp);
  CHECK(st.code() == dfs::Code::kAborted);
  CHECK_THAT(st.message(), Catch::Contains("stale"));
  stale.holder_id = 7;  // the old writer itself, whose lease is gone
  CHECK(meta.Call<dfs::proto::Op::kCommit>(stale, &rsp).code() == dfs::Code::kAborted);
  CHECK(c.Dfs({"cat", "/f"}).out == "original");
}

TEST_CASE("the meta server killed -9 in the middle of copies: old bytes or new, never a mix", "[integration]") {
  Cluster c(3);
  std::vector<std::string> versions;
  for (int k = 0; k < 4; ++k) versions.push_back(RandomBytes(1500000 + 1000 * k, 20 + k));
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, versions[0]).code == 0);
  for (int k = 1; k < 4; ++k) {
    INFO("round " << k);
    CommandResult cp;
    std::thread writer([&] { cp = c.Dfs({"cp", "-", "dfs:/f"}, versions[k], 60); });
    std::this_thread::sleep_for(std::chrono::milliseconds(60 * k));
    c.KillMeta();
    c.StartMeta();
    writer.join();
    c.WaitUntilUp();
    auto cat = c.Dfs({"cat", "/f"});
    REQUIRE(cat.code == 0);
    bool some_version = false;
    for (const auto& v : versions) some_version |= cat.out == v;
    CHECK(some_version);
    if (cp.code == 0) CHECK(cat.out == versions[k]);
  }
  // What the killed copies left is only orphans, which a repair removes.
  auto fsck = c.Dfs({"fsck", "--repair"});
  CHECK(fsck.code <= 1);
  CHECK(c.Dfs({"fsck"}).code == 0);
}

TEST_CASE("holes in a sparse local file stay holes, and read back as zeros", "[integration]") {
  Cluster c(3);
  std::string local = c.dir() + "/sparse";
  {
    // 64 MiB, of which 1 MiB in the middle holds data.
    std::string data = RandomBytes(1 << 20, 30);
    int fd = open(local.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, data.data(), data.size(), 32 << 20) == static_cast<ssize_t>(data.size()));
    REQUIRE(ftruncate(fd, 64 << 20) == 0);
    close(fd);
  }
  struct stat st;
  REQUIRE(stat(local.c_str(), &st) == 0);
  if (st.st_blocks * 512 >= st.st_size) {
    WARN("skipped: this file system stores no holes (" << c.dir() << ")");
    return;
  }
  REQUIRE(c.Dfs({"cp", local, "dfs:/sparse"}).code == 0);
  auto stat_json = c.Dfs({"stat", "--json", "/sparse"});
  CHECK(JsonNumber(stat_json.out, "size") == 64u << 20);
  CHECK(JsonNumber(stat_json.out, "data_blocks") == (1u << 20) / 512);
  CHECK(StoredBlocks(c) == 2 * (1u << 20) / 512);
  auto cat = c.Dfs({"cat", "/sparse"});
  REQUIRE(cat.code == 0);
  CHECK(cat.out == c.ReadLocal(local));
  CHECK(c.Dfs({"fsck"}).code == 0);

  SECTION("a wiped server rebuilds what holds data, and only that") {
    c.KillData(0);
    c.WipeData(0);
    c.StartData(0);
    c.WaitUntilRebuilt();
    CHECK(StoredBlocks(c) == 2 * (1u << 20) / 512);
    CHECK(c.Dfs({"fsck"}).code == 0);
    c.KillData(1);  // server 0's copies are what reads find now, for a third of the blocks
    CHECK(c.Dfs({"cat", "/sparse"}, "", 60).out == c.ReadLocal(local));
  }
}
