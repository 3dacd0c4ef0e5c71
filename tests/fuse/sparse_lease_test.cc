// Through the mount: sparse files (holes cost nothing) and the write lease
// between two mounts (docs/leases.md).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>

#include "../integration/cluster_fixture.h"
#include "mount_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::JsonNumber;
using dfs::testing::Mount;
using dfs::testing::Skipped;

namespace {

// Bytes the data servers' directories take on disk.
uint64_t DiskUsage(const Cluster& c) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(c.dir())) {
    if (e.path().string().find("/data") == std::string::npos || !e.is_regular_file()) continue;
    struct stat st;
    if (stat(e.path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

}  // namespace

TEST_CASE("through the mount a 1 PiB truncate and a write at 10^12 cost no time and no disk", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  const uint64_t kPiB = uint64_t{1} << 50;
  const uint64_t before = DiskUsage(c);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(truncate(m.Path("/huge").c_str(), 0) != 0);  // no such file yet
  int fd = open(m.Path("/huge").c_str(), O_CREAT | O_RDWR, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, static_cast<off_t>(kPiB)) == 0);
  REQUIRE(close(fd) == 0);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(took < 5);  // a loaded CI machine; it is milliseconds (scripts/bench)
  struct stat st;
  REQUIRE(stat(m.Path("/huge").c_str(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_size) == kPiB);
  CHECK(st.st_blocks == 0);
  CHECK(DiskUsage(c) < before + (1 << 20));

  // A write far out, and a read across the hole before it.
  fd = open(m.Path("/huge").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  const off_t far = 1000000000000;
  REQUIRE(pwrite(fd, "hello", 5, far) == 5);
  char buf[16];
  REQUIRE(pread(fd, buf, sizeof buf, far - 8) == static_cast<ssize_t>(sizeof buf));
  CHECK(std::string(buf, 16) == std::string(8, '\0') + "hello" + std::string(3, '\0'));
  CHECK(lseek(fd, 0, SEEK_DATA) == far);
  CHECK(lseek(fd, far, SEEK_HOLE) == far + 512);
  CHECK(lseek(fd, far + 512, SEEK_DATA) == -1);
  CHECK(errno == ENXIO);
  REQUIRE(close(fd) == 0);
  CHECK(DiskUsage(c) < before + (1 << 20));
  auto stat_json = c.Dfs({"stat", "--json", "/huge"});
  CHECK(JsonNumber(stat_json.out, "size") == kPiB);
  CHECK(JsonNumber(stat_json.out, "data_blocks") == 1);
  REQUIRE(stat(m.Path("/huge").c_str(), &st) == 0);
  CHECK(st.st_blocks == 1);  // 512 bytes

  // Shrink below the data and grow again: the old bytes do not come back.
  REQUIRE(truncate(m.Path("/huge").c_str(), far + 2) == 0);
  REQUIRE(truncate(m.Path("/huge").c_str(), static_cast<off_t>(kPiB)) == 0);
  fd = open(m.Path("/huge").c_str(), O_RDONLY);
  REQUIRE(pread(fd, buf, 8, far) == 8);
  close(fd);
  CHECK(std::string(buf, 8) == std::string("he") + std::string(6, '\0'));
  CHECK(c.Dfs({"fsck"}).code == 0);
  REQUIRE(unlink(m.Path("/huge").c_str()) == 0);
}

TEST_CASE("two mounts: the second writer of a file gets EBUSY until the first closes", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount a(c, {}, "mnt-a");
  if (a.Skipped()) return;
  Mount b(c, {}, "mnt-b");
  if (b.Skipped()) return;
  int fa = open(a.Path("/shared").c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fa >= 0);
  REQUIRE(write(fa, "from a", 6) == 6);
  errno = 0;
  int fb = open(b.Path("/shared").c_str(), O_WRONLY);
  CHECK(fb == -1);
  CHECK(errno == EBUSY);
  CHECK(truncate(b.Path("/shared").c_str(), 0) == -1);
  // Reading is not writing.
  int rb = open(b.Path("/shared").c_str(), O_RDONLY);
  CHECK(rb >= 0);
  if (rb >= 0) close(rb);
  // A second handle on the same mount shares the file.
  int fa2 = open(a.Path("/shared").c_str(), O_WRONLY);
  CHECK(fa2 >= 0);
  if (fa2 >= 0) close(fa2);
  auto cp = c.Dfs({"cp", "-", "dfs:/shared"}, "from cp");
  CHECK(cp.code == 1);
  CHECK_THAT(cp.err, Catch::Contains("being written by"));
  REQUIRE(close(fa) == 0);
  fb = open(b.Path("/shared").c_str(), O_WRONLY | O_TRUNC);
  REQUIRE(fb >= 0);
  REQUIRE(write(fb, "from b", 6) == 6);
  REQUIRE(close(fb) == 0);
  CHECK(c.Dfs({"cat", "/shared"}).out == "from b");
}
