// Writes while a data server is down (R10): real processes, real kill -9.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "cluster_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::CommandResult;
using dfs::testing::RandomBytes;

namespace {

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a write waits for a down data server, says so once, and completes when it is back", "[fault]") {
  Cluster c(3);
  std::string bytes = RandomBytes(3 << 20, 42);
  std::string local = c.LocalFile("in", bytes);
  c.KillData(1);
  CommandResult cp;
  std::thread writer([&] { cp = c.Dfs({"cp", local, "dfs:/f"}, "", 60); });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  c.StartData(1);
  writer.join();
  REQUIRE(cp.code == 0);
  CHECK(Count(cp.err, "waiting for data server 1 (" + c.data_endpoint(1) + ")") == 1);
  CHECK(Count(cp.err, "data server 1 (" + c.data_endpoint(1) + ") is back") == 1);
  // Both replicas hold every block: each holder alone serves the whole file.
  for (int down = 0; down < 3; ++down) {
    c.KillData(down);
    auto cat = c.Dfs({"cat", "/f"}, "", 60);
    REQUIRE(cat.code == 0);
    CHECK(cat.out == bytes);
    c.StartData(down);
    c.WaitUntilUp();
  }
}

TEST_CASE("the write timeout bounds the wait and names the server", "[fault]") {
  Cluster c(3);
  c.KillData(2);
  auto start = std::chrono::steady_clock::now();
  auto cp = c.Dfs({"--timeout", "3", "cp", "-", "dfs:/f"}, RandomBytes(100000, 1), 60);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(cp.code != 0);
  CHECK_THAT(cp.err, Catch::Contains("data server 2 (" + c.data_endpoint(2) + ") did not come back within 3 s"));
  CHECK(took >= 3);
  CHECK(took < 10);
  // The size was never committed: the file reads as empty, not as wrong bytes.
  CHECK(c.Dfs({"cat", "/f"}).out.empty());
}

TEST_CASE("reads repair corrupt replicas and never return wrong bytes", "[fault]") {
  Cluster c(4);
  std::string bytes = RandomBytes(200000, 9);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, bytes).code == 0);
  // Three blocks per server, never both copies of one block (that is the
  // unrecoverable case, tested below).
  auto placement = c.Placement("/f");
  std::vector<std::pair<int, int64_t>> damaged;  // server, block
  for (int s = 0; s < 4; ++s) {
    int picked = 0;
    for (int64_t i = s; i < static_cast<int64_t>(placement.size()) && picked < 3; i += 7) {
      if (placement[i].first == s || placement[i].second == s) {
        damaged.emplace_back(s, c.Corrupt(s, "/f", i));
        ++picked;
      }
    }
    REQUIRE(picked == 3);
  }
  auto cat = c.Dfs({"-v", "cat", "/f"});
  INFO(cat.err);
  REQUIRE(cat.code == 0);
  CHECK(cat.out == bytes);
  CHECK_THAT(cat.err, Catch::Contains("repaired block"));

  SECTION("the corrupted copies are good again: each serves with the other holder stopped") {
    auto stat = c.Dfs({"stat", "--blocks", "--json", "/f"});
    CHECK(stat.out.find("\"corrupt\"") == std::string::npos);
    // Stop every server but one damaged holder at a time: its copies alone must verify.
    for (int s = 0; s < 4; ++s) {
      for (int other = 0; other < 4; ++other) {
        if (other != s) c.KillData(other);
      }
      auto one = c.Dfs({"stat", "--blocks", "--json", "/f"});
      for (auto [server, block] : damaged) {
        if (server != s) continue;
        // The block's line: {"index": B, ..., "replicas": [{"server": s, "state": "ok", ...
        size_t at = one.out.find("{\"index\": " + std::to_string(block) + ",");
        REQUIRE(at != std::string::npos);
        std::string line = one.out.substr(at, one.out.find('\n', at) - at);
        INFO(line);
        CHECK(line.find("{\"server\": " + std::to_string(s) + ", \"state\": \"ok\"") != std::string::npos);
      }
      for (int other = 0; other < 4; ++other) {
        if (other != s) c.StartData(other);
      }
      c.WaitUntilUp();
    }
  }
  SECTION("a block corrupt on both holders fails the read, naming file, block and servers") {
    int64_t block = 5;  // untouched above (5 mod 7 is no server's)
    auto [first, other] = placement[block];
    c.Corrupt(first, "/f", block);
    c.Corrupt(other, "/f", block);
    auto bad = c.Dfs({"cp", "dfs:/f", c.dir() + "/out"});
    CHECK(bad.code != 0);
    CHECK_THAT(bad.err, Catch::Contains("/f: block " + std::to_string(block)));
    CHECK_THAT(bad.err, Catch::Contains("server " + std::to_string(first)));
    CHECK_THAT(bad.err, Catch::Contains("server " + std::to_string(other)));
    CHECK_THAT(bad.err, Catch::Contains("corrupt"));
    std::string partial = c.ReadLocal(c.dir() + "/out");
    CHECK(partial.size() <= static_cast<size_t>(block) * 512);  // nothing past the bad block
    CHECK(bytes.compare(0, partial.size(), partial) == 0);      // and only right bytes before it
  }
}

TEST_CASE("dfs corrupt refuses blocks a server does not hold", "[fault]") {
  Cluster c(5);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/one"}, std::string(100, 'x')).code == 0);
  int refused = 0;
  for (int s = 0; s < 5; ++s) {
    auto r = c.Dfs({"corrupt", "--server", std::to_string(s), "/one", "--block", "0"});
    if (r.code != 0) {
      ++refused;
      CHECK_THAT(r.err, Catch::Contains("does not hold block 0"));
    }
  }
  CHECK(refused == 3);
  CHECK(c.Dfs({"corrupt", "--server", "9", "/one"}).code != 0);
  CHECK(c.Dfs({"corrupt", "--server", "0", "/one", "--block", "7"}).code != 0);
}

TEST_CASE("a wiped data server rebuilds from its neighbours", "[fault]") {
  Cluster c(4);
  std::vector<std::string> files;
  for (int k = 0; k < 5; ++k) {
    files.push_back(RandomBytes(150000 + 3333 * k, 300 + k));
    REQUIRE(c.Dfs({"cp", "-", "dfs:/f" + std::to_string(k)}, files[k]).code == 0);
  }
  c.KillData(2);
  c.WipeData(2);
  c.StartData(2);
  c.WaitUntilRebuilt();
  std::string log = c.ReadLocal(c.dir() + "/data2.log");
  CHECK_THAT(log, Catch::Contains("blocks ("));
  CHECK_THAT(log, Catch::Contains("rebuild done"));
  // Each neighbour stopped in turn: server 2's copies alone serve its blocks.
  for (int neighbour : {1, 3}) {
    c.KillData(neighbour);
    for (int k = 0; k < 5; ++k) {
      auto cat = c.Dfs({"cat", "/f" + std::to_string(k)}, "", 60);
      INFO("file " << k << " with server " << neighbour << " down: " << cat.err);
      REQUIRE(cat.code == 0);
      CHECK(cat.out == files[k]);
    }
    c.StartData(neighbour);
    c.WaitUntilRebuilt();
  }
}

TEST_CASE("a server missing some blocks fetches just those, and deleted files go to its trash", "[fault]") {
  Cluster c(3);
  std::string keep = RandomBytes(80000, 1);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/keep"}, keep).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/gone"}, RandomBytes(80000, 2)).code == 0);
  std::string gone_id;
  {
    auto stat = c.Dfs({"stat", "--json", "/gone"}).out;
    size_t at = stat.find("\"file_id\": ");
    gone_id = stat.substr(at + 11, stat.find(',', at) - at - 11);
  }
  c.KillData(0);
  REQUIRE(c.Dfs({"rm", "/gone"}, "", 30).code == 0);  // server 0 is away
  // Lose server 0's copy of /keep, but not its directory.
  for (const auto& e : std::filesystem::recursive_directory_iterator(c.dir() + "/data0/blocks")) {
    if (e.path().extension() == ".dat" || e.path().extension() == ".idx") {
      if (e.path().stem() != gone_id) std::filesystem::remove(e.path());
    }
  }
  c.StartData(0);
  c.WaitUntilRebuilt();
  CHECK(std::filesystem::exists(c.dir() + "/data0/trash/" + gone_id + ".dat"));
  c.KillData(1);
  c.KillData(2);
  // Only server 0 is up: the blocks it holds of /keep verify there.
  auto stat = c.Dfs({"stat", "--blocks", "--json", "/keep"});
  CHECK(stat.out.find("{\"server\": 0, \"state\": \"ok\"") != std::string::npos);
  CHECK(stat.out.find("{\"server\": 0, \"state\": \"missing\"") == std::string::npos);
}

TEST_CASE("a long copy survives data servers killed -9 over and over", "[fault]") {
  Cluster c(3);
  const int mib = 24;
  std::string bytes = RandomBytes(static_cast<size_t>(mib) << 20, 77);
  std::string local = c.LocalFile("big", bytes);
  // Feed the copy slowly so the kills land in the middle of it.
  std::string feed = "for i in $(seq 0 " + std::to_string(mib - 1) + "); do dd if=" + local +
                     " bs=1M skip=$i count=1 status=none; sleep 0.15; done | " + dfs::testing::DfsBinary() +
                     " --meta " + c.meta_endpoint() + " --key " + c.admin_key() + " cp - dfs:/big";
  CommandResult cp;
  std::thread writer([&] { cp = dfs::testing::Run({"sh", "-c", feed}, "", 300); });
  for (int k = 0; k < 10; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    c.KillData(k % 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    c.StartData(k % 3);
  }
  writer.join();
  INFO(cp.err);
  REQUIRE(cp.code == 0);
  CHECK_THAT(cp.err, Catch::Contains("waiting for data server"));
  c.WaitUntilRebuilt();
  auto cat = c.Dfs({"cat", "/big"});
  REQUIRE(cat.code == 0);
  CHECK(cat.out == bytes);
  // Every block is on both of its holders: any one server down, all bytes remain.
  for (int down = 0; down < 3; ++down) {
    c.KillData(down);
    auto one = c.Dfs({"cat", "/big"}, "", 60);
    INFO("server " << down << " down: " << one.err);
    CHECK(one.code == 0);
    CHECK(one.out == bytes);
    c.StartData(down);
    c.WaitUntilRebuilt();
  }
}
