// dfs mount through the kernel: runs when /dev/fuse is usable, and says
// clearly that it was skipped when it is not.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "../integration/cluster_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::RandomBytes;

namespace {

// Mounts the cluster on a fresh directory; unmounts at the end.
class Mount {
 public:
  explicit Mount(Cluster& c) : c_(c), dir_(c.dir() + "/mnt") {
    std::filesystem::create_directories(dir_);
    auto r = c_.Dfs({"mount", "--log", c.dir() + "/mount.log", dir_}, "", 30);
    mounted_ = r.code == 0;
    error_ = r.err;
  }
  ~Mount() {
    if (mounted_ && c_.Dfs({"umount", dir_}, "", 30).code != 0) {
      dfs::testing::Run({"fusermount3", "-u", "-z", dir_});  // busy: detach lazily
    }
  }
  // True (and says so) if the mount failed on this machine.
  bool Skipped() const {
    if (!mounted_) WARN("SKIPPED: cannot mount here: " << error_);
    return !mounted_;
  }
  std::string Path(const std::string& rel) const { return dir_ + rel; }

 private:
  Cluster& c_;
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

std::string Why() {
  if (access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse is not usable here";
  return "";
}

// True (and says so) when this machine cannot run FUSE tests.
bool Skipped() {
  std::string why = Why();
  if (!why.empty()) WARN("SKIPPED: " << why);
  return !why.empty();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename());
  return names;
}

}  // namespace

TEST_CASE("files written through the mount and with dfs cp read back byte-exact either way", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  std::string big = RandomBytes(3 << 20, 1);
  {
    std::ofstream out(m.Path("/viamount"), std::ios::binary);
    out << big;
  }
  auto cat = c.Dfs({"cat", "/viamount"});
  REQUIRE(cat.code == 0);
  CHECK(cat.out == big);

  std::string other = RandomBytes(100000, 2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/viacp"}, other).code == 0);
  CHECK(ReadAll(m.Path("/viacp")) == other);
  CHECK(std::filesystem::file_size(m.Path("/viacp")) == other.size());

  // Small writes through a shell: dup'ed descriptors flush and write on.
  REQUIRE(dfs::testing::Run({"sh", "-c", "(echo a; echo b) > " + m.Path("/two")}).code == 0);
  CHECK(c.Dfs({"cat", "/two"}).out == "a\nb\n");
}

TEST_CASE("namespace operations through the mount, with POSIX errors", "[fuse]") {
  if (Skipped()) return;
  Cluster c(2);
  Mount m(c);
  if (m.Skipped()) return;
  REQUIRE(mkdir(m.Path("/a").c_str(), 0755) == 0);
  REQUIRE(mkdir(m.Path("/b").c_str(), 0755) == 0);
  { std::ofstream(m.Path("/a/f")) << "x"; }
  CHECK(List(m.Path("/")) == std::set<std::string>{"a", "b"});
  CHECK(rename(m.Path("/a/f").c_str(), m.Path("/b/g").c_str()) == 0);  // across directories
  CHECK(List(m.Path("/b")) == std::set<std::string>{"g"});
  CHECK(c.Dfs({"cat", "/b/g"}).out == "x");
  { std::ofstream(m.Path("/b/h")) << "y"; }
  CHECK(rename(m.Path("/b/h").c_str(), m.Path("/b/g").c_str()) == 0);  // over an existing file
  CHECK(ReadAll(m.Path("/b/g")) == "y");

  errno = 0;
  CHECK(rmdir(m.Path("/b").c_str()) != 0);
  CHECK(errno == ENOTEMPTY);
  errno = 0;
  CHECK(open(m.Path("/nope").c_str(), O_RDONLY) < 0);
  CHECK(errno == ENOENT);
  errno = 0;
  CHECK(mkdir(m.Path("/a").c_str(), 0755) != 0);
  CHECK(errno == EEXIST);
  errno = 0;
  CHECK(unlink(m.Path("/a").c_str()) != 0);
  CHECK(errno == EISDIR);
  errno = 0;
  CHECK(open(m.Path("/b/g/x").c_str(), O_RDONLY) < 0);
  CHECK(errno == ENOTDIR);
  CHECK(unlink(m.Path("/b/g").c_str()) == 0);
  CHECK(rmdir(m.Path("/b").c_str()) == 0);
  CHECK(List(m.Path("/")) == std::set<std::string>{"a"});

  struct statvfs vfs;
  REQUIRE(statvfs(m.Path("/").c_str(), &vfs) == 0);
  CHECK(vfs.f_blocks > 0);
  CHECK(vfs.f_bavail > 0);
}

TEST_CASE("close through the mount waits for a down data server (R10)", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  std::string bytes = RandomBytes(1 << 20, 3);
  c.KillData(1);
  c.StartDataAfter(1, 2);
  auto start = std::chrono::steady_clock::now();
  std::ofstream out(m.Path("/waits"), std::ios::binary);
  out << bytes;
  out.close();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("mount log: " << c.ReadLocal(c.dir() + "/mount.log"));
  REQUIRE(out.good());
  CHECK(took > 1.5);  // close returned only once server 1 was back and held its copies
  CHECK_THAT(c.ReadLocal(c.dir() + "/mount.log"), Catch::Contains("waiting for data server 1"));
  c.WaitUntilUp();
  CHECK(c.Dfs({"cat", "/waits"}).out == bytes);
  // Both replicas hold it: any one server down, it still reads.
  for (int down = 0; down < 3; ++down) {
    c.KillData(down);
    CHECK(c.Dfs({"cat", "/waits"}, "", 60).out == bytes);
    c.StartData(down);
    c.WaitUntilUp();
  }
}

namespace {

// Applies the same random pwrite/ftruncate/fsync mix to a file in the mount
// and to an in-memory model; returns the model.
std::string RandomWorkload(const std::string& path, uint32_t seed, int ops, const std::function<void(int)>& at_op) {
  std::mt19937 rng(seed);
  std::string model;
  int fd = open(path.c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  for (int i = 0; i < ops; ++i) {
    at_op(i);
    int kind = rng() % 10;
    if (kind < 8) {  // a write anywhere, often inside a block, sometimes past the end
      size_t off = rng() % 300000, n = 1 + rng() % 5000;
      std::string bytes = RandomBytes(n, rng());
      REQUIRE(pwrite(fd, bytes.data(), n, static_cast<off_t>(off)) == static_cast<ssize_t>(n));
      if (model.size() < off + n) model.resize(off + n, '\0');
      model.replace(off, n, bytes);
    } else if (kind == 8) {  // shrink or grow
      size_t size = rng() % 300000;
      REQUIRE(ftruncate(fd, static_cast<off_t>(size)) == 0);
      model.resize(size, '\0');
    } else {
      REQUIRE(fsync(fd) == 0);
    }
  }
  REQUIRE(close(fd) == 0);
  return model;
}

}  // namespace

TEST_CASE("random-offset writes and truncates through the mount match a local model", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  SECTION("healthy") {
    std::string model = RandomWorkload(m.Path("/rw"), 1, 300, [](int) {});
    CHECK(ReadAll(m.Path("/rw")) == model);
    CHECK(c.Dfs({"cat", "/rw"}).out == model);
  }
  SECTION("with a data server down at the start and back later, and replicas corrupted") {
    c.KillData(2);
    c.StartDataAfter(2, 2);  // the first fsync waits for it (R10)
    std::string model = RandomWorkload(m.Path("/rw"), 2, 200, [](int) {});
    c.WaitUntilUp();
    auto placement = c.Placement("/rw");
    for (size_t i = 3; i < placement.size(); i += 37) c.Corrupt(placement[i].first, "/rw", static_cast<int64_t>(i));
    INFO("mount log: " << c.ReadLocal(c.dir() + "/mount.log"));
    CHECK(ReadAll(m.Path("/rw")) == model);
    CHECK(c.Dfs({"cat", "/rw"}).out == model);
    CHECK(c.Dfs({"fsck"}).code == 0);  // the reads repaired every corrupted copy
  }
}
