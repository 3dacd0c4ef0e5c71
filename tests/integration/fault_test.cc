// Writes while a data server is down (R10): real processes, real kill -9.
#include <catch2/catch.hpp>

#include <chrono>
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
