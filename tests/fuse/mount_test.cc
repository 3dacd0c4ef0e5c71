// dfs mount through the kernel: runs when /dev/fuse is usable, and says
// clearly that it was skipped when it is not.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "../integration/cluster_fixture.h"
#include "core/client/file_system.h"
#include "core/common/placement.h"
#include "mount_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::Mount;
using dfs::testing::RandomBytes;
using dfs::testing::ReadAll;
using dfs::testing::Skipped;

namespace {

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename());
  return names;
}

// A client of the cluster with its admin key, beside the mount.
dfs::Result<std::unique_ptr<dfs::client::FileSystem>> AdminClient(Cluster& c) {
  dfs::client::ClientOptions options;
  options.meta = c.meta_endpoint();
  options.connect = dfs::transport::CurveConnector(c.admin_curve());
  return dfs::client::FileSystem::Connect(options);
}

// Writes 1 MiB to `path` through the mount and closes it, on a thread;
// `took` is how long that took, in seconds, once the close returned.
std::thread WriteAndClose(const Mount& m, const std::string& path, std::atomic<double>* took) {
  return std::thread([&m, path, took] {
    auto start = std::chrono::steady_clock::now();
    std::ofstream out(m.Path(path), std::ios::binary);
    out << RandomBytes(1 << 20, 6);
    out.close();
    *took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
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

  // After the first open the kernel reads ahead 1 MiB at a time (its
  // default is 128 KiB): root may raise it, others may not.
  struct stat st {};
  REQUIRE(stat(m.Path("").c_str(), &st) == 0);
  const std::string knob =
      "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  if (geteuid() == 0) {
    CHECK(ReadAll(knob) == "1024\n");
  } else {
    WARN("skipped the kernel read-ahead check: only root may raise it");
  }

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

TEST_CASE("a mount with -o direct_read: read-only opens bypass the page cache and read byte-exact", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c, {"direct_read"});
  if (m.Skipped()) return;
  std::string bytes = RandomBytes(3 << 20, 11);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/in"}, bytes).code == 0);
  CHECK(ReadAll(m.Path("/in")) == bytes);
  { std::ofstream(m.Path("/out"), std::ios::binary) << bytes.substr(0, 100000); }
  CHECK(ReadAll(m.Path("/out")) == bytes.substr(0, 100000));
  // A read-only open sees a write made since through another descriptor at once.
  int w = open(m.Path("/out").c_str(), O_RDWR);
  int r = open(m.Path("/out").c_str(), O_RDONLY);
  REQUIRE(w >= 0);
  REQUIRE(r >= 0);
  REQUIRE(pwrite(w, "XYZ", 3, 10) == 3);
  char got[3] = {};
  REQUIRE(pread(r, got, 3, 10) == 3);
  CHECK(std::string(got, 3) == "XYZ");
  // mmap: private maps of read-only opens and shared maps of read-write ones
  // work; a shared map of a read-only open is refused (ENODEV), as the
  // README says.
  void* p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, r, 0);
  REQUIRE(p != MAP_FAILED);
  CHECK(std::string(static_cast<char*>(p) + 10, 3) == "XYZ");
  munmap(p, 4096);
  p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, w, 0);
  REQUIRE(p != MAP_FAILED);
  munmap(p, 4096);
  errno = 0;
  CHECK(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, r, 0) == MAP_FAILED);
  CHECK(errno == ENODEV);
  close(r);
  close(w);
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

TEST_CASE("while a close waits for a down data server, stat, ls and reads of other files answer at once", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  // A file that lives on servers 0 and 2 only cannot be placed by hand, so
  // the reads are of a file written while all were up: a read whose first
  // holder is down is served by the other.
  std::string other = RandomBytes(64 << 10, 5);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/other"}, other).code == 0);
  REQUIRE(c.Dfs({"mkdir", "/dir"}).code == 0);
  c.KillData(1);
  c.StartDataAfter(1, 4);
  std::atomic<double> close_took{0};
  std::thread writer = WriteAndClose(m, "/waits", &close_took);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the close is waiting now
  // Best of three of each: a loaded machine may stall one call, but a
  // mount that serves one call at a time stalls all of them for seconds.
  auto best_ms = [](const std::function<void()>& call) {
    double best = 1e9;
    for (int i = 0; i < 3; ++i) {
      auto start = std::chrono::steady_clock::now();
      call();
      best =
          std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
  };
  int i = 0;
  double stat_ms = best_ms([&] {
    struct stat st;
    // A new name each time: the kernel's caches cannot answer it.
    CHECK(stat(m.Path("/missing-" + std::to_string(i++)).c_str(), &st) != 0);
    CHECK(stat(m.Path("/other").c_str(), &st) == 0);
  });
  double ls_ms = best_ms([&] {
    REQUIRE(mkdir(m.Path("/dir/sub" + std::to_string(i++)).c_str(), 0755) == 0);
    CHECK(List(m.Path("/dir")).size() == static_cast<size_t>(i) - 3);
  });
  bool read_back = ReadAll(m.Path("/other")) == other;
  bool closing = close_took == 0;  // still in the close
  writer.join();
  CHECK(read_back);
  CHECK(closing);
  CHECK(close_took > 3);  // it did wait for server 1 (R10)
  CHECK(stat_ms < 100);
  CHECK(ls_ms < 100);
  c.WaitUntilUp();
}

TEST_CASE("while a close waits for a down data server, other files are written and closed at once", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  // Names whose one block (under 512 bytes) lives on servers 2 and 0 only.
  std::vector<std::string> names;
  for (int i = 0; names.size() < 3; ++i) {
    std::string name = "/quick-" + std::to_string(i);
    dfs::ReplicaPair pair = dfs::PlaceBlock(dfs::Fnv1a64(name), 3, 0);
    if (pair.first != 1 && pair.second != 1) names.push_back(name);
  }
  c.KillData(1);
  c.StartDataAfter(1, 5);
  std::atomic<double> close_took{0};
  std::thread writer = WriteAndClose(m, "/waits", &close_took);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the close is waiting now
  // Each a create, a write and a close that waits until both holders
  // have the bytes durably: a mount whose writes take turns waits with the
  // close above. Best of three: a loaded machine may stall one.
  double best_ms = 1e9;
  for (size_t k = 0; k < names.size(); ++k) {
    auto start = std::chrono::steady_clock::now();
    std::ofstream out(m.Path(names[k]), std::ios::binary);
    out << RandomBytes(300, 10 + static_cast<int>(k));
    out.close();
    CHECK(out.good());
    best_ms =
        std::min(best_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  bool closing = close_took == 0;  // still in the close
  writer.join();
  CHECK(closing);
  CHECK(close_took > 3);  // it did wait for server 1 (R10)
  CHECK(best_ms < 500);
  c.WaitUntilUp();
  for (size_t k = 0; k < names.size(); ++k) {
    CHECK(c.Dfs({"cat", names[k]}).out == RandomBytes(300, 10 + static_cast<int>(k)));
  }
}

TEST_CASE("a listing through the mount brings every entry's attributes: ls -l asks nothing more", "[fuse]") {
  if (Skipped()) return;
  Cluster c(2);
  Mount m(c, {"cache=60"});
  if (m.Skipped()) return;
  // Made by the CLI: the kernel has none of them in its caches.
  std::vector<std::string> args = {"touch"};
  std::set<std::string> made;
  for (int i = 0; i < 600; ++i) {
    made.insert("f" + std::to_string(i));
    args.push_back("/d/f" + std::to_string(i));
  }
  REQUIRE(c.Dfs({"mkdir", "/d"}).code == 0);
  REQUIRE(c.Dfs(args).code == 0);
  DIR* d = opendir(m.Path("/d").c_str());
  REQUIRE(d != nullptr);
  REQUIRE(std::string(readdir(d)->d_name) == ".");  // the listing is fetched
  // The meta server stops answering: what ls -l asks next (the rest of the
  // listing, then each entry's attributes) must come from the listing.
  REQUIRE(kill(c.MetaPid(), SIGSTOP) == 0);
  std::atomic<bool> done{false};
  std::set<std::string> listed, stated;
  std::thread ls([&] {
    for (dirent* e; (e = readdir(d)) != nullptr;) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      listed.insert(name);
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) stated.insert(name);
    }
    done = true;
  });
  for (int i = 0; i < 100 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const bool answered = done;
  kill(c.MetaPid(), SIGCONT);
  ls.join();
  CHECK(answered);
  CHECK(listed == made);  // the first read was "."
  CHECK(stated == listed);
  // A rewind lists afresh: a name made since is there.
  REQUIRE(c.Dfs({"touch", "/d/late"}).code == 0);
  rewinddir(d);
  std::set<std::string> again;
  for (dirent* e; (e = readdir(d)) != nullptr;) again.insert(e->d_name);
  made.insert({".", "..", "late"});
  CHECK(again == made);
  // A position one handle told serves another, before its first readdir.
  rewinddir(d);
  for (int i = 0; i < 3; ++i) REQUIRE(readdir(d) != nullptr);
  const long pos = telldir(d);
  const dirent* next = readdir(d);
  REQUIRE(next != nullptr);
  const std::string name = next->d_name;
  closedir(d);
  DIR* other = opendir(m.Path("/d").c_str());
  REQUIRE(other != nullptr);
  seekdir(other, pos);
  next = readdir(other);
  CHECK((next != nullptr && name == next->d_name));
  closedir(other);
}

TEST_CASE("an open while pages of the file are dirty in a shared mmap does not hang the mount", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  const std::string path = m.Path("/mapped");
  REQUIRE(c.Dfs({"cp", "-", "dfs:/mapped"}, std::string(65536, 'a')).code == 0);
  // In a child: a hang must fail the test, not stop it.
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(path.c_str(), O_RDWR);
    if (fd < 0) _exit(2);
    char* p = static_cast<char*>(mmap(nullptr, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) _exit(3);
    memset(p + 4096, 'b', 4096);  // dirty, not synced
    // The open drops the kernel's pages of the file: the dirty one is
    // written through the mount first.
    int again = open(path.c_str(), O_RDWR);
    if (again < 0) _exit(4);
    char got = 0;
    if (pread(again, &got, 1, 4096) != 1) _exit(5);
    munmap(p, 65536);
    close(again);
    close(fd);
    _exit(got == 'b' ? 0 : 6);
  }
  int status = 0;
  bool done = false;
  for (int i = 0; i < 300 && !done; ++i) {
    done = waitpid(pid, &status, WNOHANG) == pid;
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!done) kill(pid, SIGKILL);
  REQUIRE(done);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(ReadAll(path).substr(4096, 4096) == std::string(4096, 'b'));
}

TEST_CASE("parallel writers, readers and listings through one mount all read back byte-exact", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  REQUIRE(mkdir(m.Path("/w").c_str(), 0755) == 0);
  std::vector<std::string> seeded;
  for (int i = 0; i < 3; ++i) {
    seeded.push_back(RandomBytes(3 << 20, 100 + i));
    REQUIRE(c.Dfs({"cp", "-", "dfs:/r" + std::to_string(i)}, seeded.back()).code == 0);
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::string> written(4);
  for (int t = 0; t < 4; ++t) {
    written[t] = RandomBytes((1 << 20) + 4096 * t + 7, 200 + t);
    threads.emplace_back([&, t] {
      // Each its own file: sequential writes, a patch, an fsync, a reopen.
      const std::string path = m.Path("/w/f" + std::to_string(t));
      for (int round = 0; round < 3; ++round) {
        int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
        if (fd < 0) return (void)++failures;
        for (size_t off = 0; off < written[t].size(); off += 65536) {
          size_t n = std::min<size_t>(65536, written[t].size() - off);
          if (pwrite(fd, written[t].data() + off, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) ++failures;
        }
        if (pwrite(fd, written[t].data() + 1000, 10, 1000) != 10) ++failures;  // the same bytes again
        if (fsync(fd) != 0 || close(fd) != 0) ++failures;
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 3; ++i) {
          if (ReadAll(m.Path("/r" + std::to_string(i))) != seeded[i]) ++failures;
        }
        struct stat st;
        if (stat(m.Path("/r" + std::to_string(t)).c_str(), &st) != 0) ++failures;
        (void)List(m.Path("/w"));
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  for (int t = 0; t < 4; ++t) {
    CHECK(ReadAll(m.Path("/w/f" + std::to_string(t))) == written[t]);
    CHECK(c.Dfs({"cat", "/w/f" + std::to_string(t)}).out == written[t]);
  }
}

TEST_CASE("one file written through several handles at once while truncated, renamed and read ends as its last write",
          "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  const std::string path = m.Path("/busy"), moved = m.Path("/busy-moved");
  REQUIRE(c.Dfs({"cp", "-", "dfs:/busy"}, RandomBytes(70000, 1)).code == 0);
  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0}, writes{0};
  // ENOENT is expected while the file is renamed away; nothing else is.
  auto fail_unless_missing = [&](const char* what) {
    if (errno != ENOENT) {
      WARN(what << ": " << strerror(errno));
      ++unexpected;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::string piece = RandomBytes(4096, 10 + t);
      while (!stop) {
        int fd = open(path.c_str(), O_WRONLY);
        if (fd < 0) {
          fail_unless_missing("open");
          continue;
        }
        for (int k = 0; k < 8; ++k) {
          if (pwrite(fd, piece.data(), 1 + rng() % 4096, static_cast<off_t>(rng() % 65536)) < 0) {
            WARN("pwrite: " << strerror(errno));
            ++unexpected;
          }
          ++writes;
        }
        if ((rng() % 4 == 0 && fsync(fd) != 0) | (close(fd) != 0)) {
          WARN("fsync or close: " << strerror(errno));
          ++unexpected;
        }
      }
    });
  }
  threads.emplace_back([&] {
    std::string bytes = RandomBytes(10000, 3);
    while (!stop) {
      // No O_CREAT: one file throughout, never a second one made while
      // the name is away and replaced by the rename back.
      int fd = open(path.c_str(), O_TRUNC | O_WRONLY);
      if (fd < 0) {
        fail_unless_missing("open O_TRUNC");
        continue;
      }
      if (write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) || close(fd) != 0) ++unexpected;
    }
  });
  threads.emplace_back([&] {
    while (!stop) {
      if (rename(path.c_str(), moved.c_str()) == 0 && rename(moved.c_str(), path.c_str()) != 0) {
        fail_unless_missing("rename back");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  threads.emplace_back([&] {
    while (!stop) (void)ReadAll(path);
  });
  std::this_thread::sleep_for(std::chrono::seconds(4));
  stop = true;
  for (auto& th : threads) th.join();
  CHECK(unexpected == 0);
  CHECK(writes > 50);
  // Whatever it went through, the last write is what both sides read.
  rename(moved.c_str(), path.c_str());  // if it was away when the renames stopped
  std::string last = RandomBytes(12345, 4);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << last;
  }
  CHECK(ReadAll(path) == last);
  CHECK(c.Dfs({"cat", "/busy"}).out == last);
}

TEST_CASE("an open handle reads what another mount appended, at once, past the size it knew", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount a(c, {"direct_read", "cache=30"});  // every read reaches the mount; sizes kept long
  Mount b(c, {}, "mnt2");
  if (a.Skipped() || b.Skipped()) return;
  std::string first = RandomBytes(100000, 31), more = RandomBytes(50000, 32);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/log"}, first).code == 0);
  int fd = open(a.Path("/log").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  std::string got(4096, '\0');
  REQUIRE(pread(fd, got.data(), got.size(), 5000) == 4096);
  CHECK(got == first.substr(5000, 4096));
  {
    std::ofstream out(b.Path("/log"), std::ios::binary | std::ios::app);
    out << more;
  }
  std::string tail(60000, '\0');
  ssize_t n = pread(fd, tail.data(), tail.size(), 95000);
  REQUIRE(n == 55000);
  tail.resize(static_cast<size_t>(n));
  CHECK(tail == (first + more).substr(95000));
  close(fd);
}

TEST_CASE("a missing xattr is remembered only until the mount changes one, and for cache= seconds", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount a(c, {"cache=2"});
  Mount b(c, {}, "mnt2");
  if (a.Skipped() || b.Skipped()) return;
  const std::string fa = a.Path("/f"), fb = b.Path("/f");
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, "bytes").code == 0);
  char buf[64];
  // A listing says which files have extended attributes at all: those
  // without are answered at once, those with are asked.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/h"}, "bytes").code == 0);
  REQUIRE(setxattr(b.Path("/h").c_str(), "user.pre", "abcd", 4, 0) == 0);
  CHECK(List(a.Path("")).count("h") == 1);
  CHECK(getxattr(a.Path("/h").c_str(), "user.pre", buf, sizeof buf) == 4);
  // Writes ask for security.capability each time; the answer is kept.
  CHECK(getxattr(fa.c_str(), "user.x", buf, sizeof buf) < 0);
  CHECK(errno == ENODATA);
  // Set through the same mount: seen at once.
  REQUIRE(setxattr(fa.c_str(), "user.x", "1", 1, 0) == 0);
  CHECK(getxattr(fa.c_str(), "user.x", buf, sizeof buf) == 1);
  // Renamed over by another name that has one: seen at once.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/g"}, "other").code == 0);
  REQUIRE(setxattr(a.Path("/g").c_str(), "user.y", "22", 2, 0) == 0);
  CHECK(getxattr(fa.c_str(), "user.y", buf, sizeof buf) < 0);
  REQUIRE(rename(a.Path("/g").c_str(), fa.c_str()) == 0);
  CHECK(getxattr(fa.c_str(), "user.y", buf, sizeof buf) == 2);
  // Set through another mount: seen within cache= seconds.
  CHECK(getxattr(fa.c_str(), "user.z", buf, sizeof buf) < 0);
  REQUIRE(setxattr(fb.c_str(), "user.z", "333", 3, 0) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(getxattr(fa.c_str(), "user.z", buf, sizeof buf) == 3);
}

TEST_CASE("an open after a dfs cp over the file reads the new bytes, whatever the kernel cached", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c, {"cache=30"});  // the kernel keeps names and attributes long
  if (m.Skipped()) return;
  std::string first = RandomBytes(100000, 7), second = RandomBytes(150000, 8), third = RandomBytes(5000, 9);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, first).code == 0);
  struct stat st;
  REQUIRE(stat(m.Path("/f").c_str(), &st) == 0);
  CHECK(st.st_size == 100000);
  CHECK(ReadAll(m.Path("/f")) == first);  // its pages are cached too
  // Another client replaces it (a new file id at the name), longer.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, second).code == 0);
  CHECK(ReadAll(m.Path("/f")) == second);
  // And shorter.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, third).code == 0);
  CHECK(ReadAll(m.Path("/f")) == third);
  REQUIRE(stat(m.Path("/f").c_str(), &st) == 0);
  CHECK(st.st_size == 5000);  // the open refreshed what the kernel had
}

namespace {

// Applies the same random pwrite/ftruncate/fsync mix to a file in the mount
// and to an in-memory model; returns the model.
// fsx-style: random writes (often inside a block, sometimes past the end),
// truncates, reads and mmap reads compared with an in-memory model, mmap
// writes, fsyncs and close/reopen; fstat and lseek must give the model's size
// after every operation.
std::string RandomWorkload(const std::string& path, uint32_t seed, int ops, const std::function<void(int)>& at_op) {
  std::mt19937 rng(seed);
  std::string model;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  int fd = open(path.c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  for (int i = 0; i < ops; ++i) {
    at_op(i);
    INFO("operation " << i);
    int kind = rng() % 16;
    size_t off = rng() % 300000, n = 1 + rng() % 5000;
    if (kind < 7) {
      std::string bytes = RandomBytes(n, rng());
      REQUIRE(pwrite(fd, bytes.data(), n, static_cast<off_t>(off)) == static_cast<ssize_t>(n));
      if (model.size() < off + n) model.resize(off + n, '\0');
      model.replace(off, n, bytes);
    } else if (kind == 7) {  // shrink or grow
      REQUIRE(ftruncate(fd, static_cast<off_t>(off)) == 0);
      model.resize(off, '\0');
    } else if (kind == 8) {
      REQUIRE(fsync(fd) == 0);
    } else if (kind <= 10 && !model.empty()) {
      off %= model.size();
      std::string got(n, '\0');
      ssize_t r = pread(fd, got.data(), n, static_cast<off_t>(off));
      REQUIRE(r >= 0);
      got.resize(static_cast<size_t>(r));
      CHECK(got == model.substr(off, n));
    } else if (kind == 11 && !model.empty()) {  // mmap read
      off %= model.size();
      n = std::min(n, model.size() - off);
      size_t base = off - off % page;
      void* p = mmap(nullptr, off - base + n, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(base));
      REQUIRE(p != MAP_FAILED);
      CHECK(std::string(static_cast<char*>(p) + (off - base), n) == model.substr(off, n));
      munmap(p, off - base + n);
    } else if (kind == 12) {  // mmap write, growing the file first as fsx does
      if (model.size() < off + n) {
        REQUIRE(ftruncate(fd, static_cast<off_t>(off + n)) == 0);
        model.resize(off + n, '\0');
      }
      std::string bytes = RandomBytes(n, rng());
      size_t base = off - off % page;
      void* p = mmap(nullptr, off - base + n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(base));
      REQUIRE(p != MAP_FAILED);
      memcpy(static_cast<char*>(p) + (off - base), bytes.data(), n);
      REQUIRE(msync(p, off - base + n, MS_SYNC) == 0);
      munmap(p, off - base + n);
      model.replace(off, n, bytes);
    } else if (kind == 13) {
      REQUIRE(close(fd) == 0);
      fd = open(path.c_str(), O_RDWR);
      REQUIRE(fd >= 0);
    }
    struct stat st;
    REQUIRE(fstat(fd, &st) == 0);
    REQUIRE(static_cast<size_t>(st.st_size) == model.size());
    REQUIRE(lseek(fd, 0, SEEK_END) == static_cast<off_t>(model.size()));
  }
  REQUIRE(close(fd) == 0);
  return model;
}

}  // namespace

TEST_CASE("random-offset writes, truncates and mmap through the mount match a local model", "[fuse]") {
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
  SECTION("with a data server killed -9 in the middle and restarted") {
    std::string model = RandomWorkload(m.Path("/rw"), 3, 300, [&](int op) {
      if (op != 120) return;
      c.KillDataAndRestartAfter(1, 4);  // writes and fsyncs wait for it meanwhile
    });
    c.WaitUntilUp();
    c.WaitUntilRebuilt();
    std::string log = c.ReadLocal(c.dir() + "/mount.log");
    INFO("mount log: " << log);
    CHECK_THAT(log, Catch::Contains("waiting for data server 1"));  // the kill was felt
    CHECK(ReadAll(m.Path("/rw")) == model);
    CHECK(c.Dfs({"cat", "/rw"}).out == model);
    CHECK(c.Dfs({"fsck"}).code == 0);
  }
}

namespace {

// errno of `fn` run in a child process as uid/gid 65534 (0 if it succeeded).
int AsNobody(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(255);
    errno = 0;
    _exit(fn() == 0 ? 0 : errno);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 254;
}

}  // namespace

// Flush requests each data server has served. Asked in this process: a
// child process (dfs status) would close its copy of the open file, and
// every close is a FUSE flush.
std::vector<uint64_t> Flushes(dfs::client::FileSystem& fs) {
  std::string why;
  for (int attempt = 0; attempt < 10; ++attempt) {  // a loaded machine may drop a stat
    std::vector<uint64_t> out;
    why.clear();
    for (const auto& s : fs.ServerStatuses()) {
      if (!s.status.ok()) why = s.status.message();
      out.push_back(s.stat.flushes);
    }
    if (why.empty()) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  FAIL("data server status: " << why);
  return {};
}

TEST_CASE("close flushes every server written since the last flush, also after an early fsync", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  auto fs = AdminClient(c);
  REQUIRE(fs.ok());
  int fd = open(m.Path("/f").c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(fsync(fd) == 0);  // nothing written yet: a flush point with no data
  std::string data = RandomBytes(1 << 20, 3);
  REQUIRE(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  auto before = Flushes(**fs);
  REQUIRE(close(fd) == 0);
  auto after = Flushes(**fs);
  REQUIRE(before.size() == 3);
  REQUIRE(after.size() == 3);
  for (int s = 0; s < 3; ++s) {
    INFO("data server " << s);
    CHECK(after[s] > before[s]);  // every server holds blocks of a 1 MiB file
  }
  CHECK(ReadAll(m.Path("/f")) == data);
}

TEST_CASE("chmod, chown, utimens, symlinks, hard links and xattrs through the mount", "[fuse]") {
  if (Skipped()) return;
  Cluster c(2);
  REQUIRE(chmod(c.dir().c_str(), 0755) == 0);  // other users must reach the mount point
  Mount m(c, {"allow_other"});
  if (m.Skipped()) return;
  std::string f = m.Path("/f");
  { std::ofstream(f) << "data"; }
  struct stat st;
  REQUIRE(stat(f.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_nlink == 1);

  SECTION("chmod and chown are kept, and the kernel enforces them") {
    REQUIRE(chmod(f.c_str(), 0600) == 0);
    REQUIRE(chown(f.c_str(), 1234, 5678) == 0);
    REQUIRE(stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_uid == 1234);
    CHECK(st.st_gid == 5678);
    REQUIRE(chown(f.c_str(), -1, 42) == 0);  // -1: unchanged
    REQUIRE(stat(f.c_str(), &st) == 0);
    CHECK(st.st_uid == 1234);
    CHECK(st.st_gid == 42);
    auto json = c.Dfs({"stat", "--json", "/f"});
    CHECK(json.out.find("\"mode\": 384") != std::string::npos);
    CHECK(json.out.find("\"uid\": 1234") != std::string::npos);
    // Another user may neither read it nor change its mode.
    CHECK(AsNobody([&] { return open(f.c_str(), O_RDONLY) < 0 ? -1 : 0; }) == EACCES);
    CHECK(AsNobody([&] { return chmod(f.c_str(), 0777); }) == EPERM);
    REQUIRE(chmod(f.c_str(), 0644) == 0);
    CHECK(AsNobody([&] { return open(f.c_str(), O_RDONLY) < 0 ? -1 : 0; }) == 0);
    CHECK(AsNobody([&] { return open(f.c_str(), O_WRONLY) < 0 ? -1 : 0; }) == EACCES);
  }

  SECTION("new entries belong to their creator, with the mode asked for") {
    REQUIRE(chmod(m.Path("/").c_str(), 0777) == 0);
    CHECK(AsNobody([&] {
            int fd = open(m.Path("/mine").c_str(), O_CREAT | O_WRONLY, 0640);
            return fd < 0 ? -1 : close(fd);
          }) == 0);
    CHECK(AsNobody([&] { return mkdir(m.Path("/mydir").c_str(), 0700); }) == 0);
    REQUIRE(stat(m.Path("/mine").c_str(), &st) == 0);
    CHECK(st.st_uid == 65534);
    CHECK((st.st_mode & 0777) == 0640);
    REQUIRE(stat(m.Path("/mydir").c_str(), &st) == 0);
    CHECK(st.st_uid == 65534);
    CHECK((st.st_mode & 0777) == 0700);
  }

  SECTION("utimens sets times; UTIME_NOW and UTIME_OMIT as POSIX says") {
    timespec times[2] = {{1000000000, 5}, {1100000000, 7}};
    REQUIRE(utimensat(AT_FDCWD, f.c_str(), times, 0) == 0);
    REQUIRE(stat(f.c_str(), &st) == 0);
    CHECK(st.st_atim.tv_sec == 1000000000);
    CHECK(st.st_atim.tv_nsec == 5);
    CHECK(st.st_mtim.tv_sec == 1100000000);
    CHECK(st.st_mtim.tv_nsec == 7);
    timespec now_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    REQUIRE(utimensat(AT_FDCWD, f.c_str(), now_omit, 0) == 0);
    REQUIRE(stat(f.c_str(), &st) == 0);
    CHECK(st.st_atim.tv_sec == 1000000000);
    CHECK(st.st_mtim.tv_sec > 1700000000);
  }

  SECTION("writes move mtime; creating and removing move the directory's") {
    REQUIRE(mkdir(m.Path("/d").c_str(), 0755) == 0);
    timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    REQUIRE(utimensat(AT_FDCWD, m.Path("/d").c_str(), old, 0) == 0);
    REQUIRE(utimensat(AT_FDCWD, f.c_str(), old, 0) == 0);
    { std::ofstream(m.Path("/d/new")) << "x"; }
    REQUIRE(stat(m.Path("/d").c_str(), &st) == 0);
    CHECK(st.st_mtim.tv_sec > 1700000000);
    CHECK(st.st_ctim.tv_sec > 1700000000);
    { std::ofstream(f, std::ios::app) << "more"; }
    REQUIRE(stat(f.c_str(), &st) == 0);
    CHECK(st.st_mtim.tv_sec > 1700000000);
    CHECK(st.st_size == 8);
    REQUIRE(mkdir(m.Path("/d/sub").c_str(), 0755) == 0);
    REQUIRE(stat(m.Path("/d").c_str(), &st) == 0);
    CHECK(st.st_nlink == 3);
  }

  SECTION("symlinks: readlink, follow, lstat, dfs ls") {
    REQUIRE(symlink("f", m.Path("/l").c_str()) == 0);
    REQUIRE(symlink("/does/not/exist", m.Path("/dangling").c_str()) == 0);
    char buf[256] = {};
    ssize_t n = readlink(m.Path("/l").c_str(), buf, sizeof buf);
    CHECK(std::string(buf, n > 0 ? n : 0) == "f");
    CHECK(ReadAll(m.Path("/l")) == "data");
    REQUIRE(lstat(m.Path("/l").c_str(), &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    CHECK(st.st_size == 1);
    errno = 0;
    CHECK(open(m.Path("/dangling").c_str(), O_RDONLY) < 0);
    CHECK(errno == ENOENT);
    errno = 0;
    CHECK(symlink("x", m.Path("/l").c_str()) != 0);
    CHECK(errno == EEXIST);
    CHECK(c.Dfs({"ls", "-l", "/"}).out.find(" l -> f\n") != std::string::npos);
    CHECK(c.Dfs({"cat", "/l"}).out == "data");  // dfs cat follows it, as cat(1)
    REQUIRE(unlink(m.Path("/l").c_str()) == 0);
    CHECK(ReadAll(f) == "data");  // the target stays
  }

  SECTION("hard links: one file, two names, data kept until the last goes") {
    std::string g = m.Path("/g");
    REQUIRE(link(f.c_str(), g.c_str()) == 0);
    struct stat sg;
    REQUIRE(stat(f.c_str(), &st) == 0);
    REQUIRE(stat(g.c_str(), &sg) == 0);
    CHECK(st.st_ino == sg.st_ino);
    CHECK(st.st_nlink == 2);
    { std::ofstream(g, std::ios::app) << "+more"; }  // written through one name
    CHECK(ReadAll(f) == "data+more");                // read through the other
    CHECK(c.Dfs({"cat", "/f"}).out == "data+more");
    errno = 0;
    CHECK(link(f.c_str(), g.c_str()) != 0);
    CHECK(errno == EEXIST);
    REQUIRE(mkdir(m.Path("/dir").c_str(), 0755) == 0);
    errno = 0;
    CHECK(link(m.Path("/dir").c_str(), m.Path("/dir2").c_str()) != 0);
    CHECK(errno == EPERM);
    // rename onto another name of the same file does nothing (POSIX).
    REQUIRE(rename(f.c_str(), g.c_str()) == 0);
    CHECK(stat(f.c_str(), &st) == 0);
    REQUIRE(unlink(f.c_str()) == 0);
    REQUIRE(stat(g.c_str(), &sg) == 0);
    CHECK(sg.st_nlink == 1);
    CHECK(ReadAll(g) == "data+more");
    CHECK(c.Dfs({"cat", "/g"}).out == "data+more");
  }

  SECTION("extended attributes: set, get, list, remove, create and replace flags") {
    std::string value("v\0\xff", 3);
    REQUIRE(setxattr(f.c_str(), "user.a", value.data(), value.size(), 0) == 0);
    REQUIRE(setxattr(f.c_str(), "user.b", "2", 1, XATTR_CREATE) == 0);
    char buf[64];
    CHECK(getxattr(f.c_str(), "user.a", nullptr, 0) == 3);
    ssize_t n = getxattr(f.c_str(), "user.a", buf, sizeof buf);
    CHECK(std::string(buf, n > 0 ? n : 0) == value);
    errno = 0;
    CHECK(getxattr(f.c_str(), "user.a", buf, 1) < 0);
    CHECK(errno == ERANGE);
    n = listxattr(f.c_str(), buf, sizeof buf);
    CHECK(std::string(buf, n > 0 ? n : 0) == std::string("user.a\0user.b\0", 14));
    errno = 0;
    CHECK(setxattr(f.c_str(), "user.b", "3", 1, XATTR_CREATE) != 0);
    CHECK(errno == EEXIST);
    errno = 0;
    CHECK(setxattr(f.c_str(), "user.c", "3", 1, XATTR_REPLACE) != 0);
    CHECK(errno == ENODATA);
    REQUIRE(removexattr(f.c_str(), "user.a") == 0);
    errno = 0;
    CHECK(getxattr(f.c_str(), "user.a", buf, sizeof buf) < 0);
    CHECK(errno == ENODATA);
    n = listxattr(f.c_str(), buf, sizeof buf);
    CHECK(std::string(buf, n > 0 ? n : 0) == std::string("user.b\0", 7));
  }

  SECTION("FIFOs and device files are namespace entries with their type and device") {
    REQUIRE(mkfifo(m.Path("/fifo").c_str(), 0640) == 0);
    REQUIRE(mknod(m.Path("/chr").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0);
    REQUIRE(mknod(m.Path("/empty").c_str(), S_IFREG | 0600, 0) == 0);
    REQUIRE(lstat(m.Path("/fifo").c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK((st.st_mode & 0777) == 0640);
    REQUIRE(lstat(m.Path("/chr").c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == makedev(1, 3));
    REQUIRE(lstat(m.Path("/empty").c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_size == 0);
    CHECK(c.Dfs({"ls", "-l", "/"}).out.find("prw-r-----") != std::string::npos);
    CHECK(c.Dfs({"cat", "/fifo"}).code != 0);
    REQUIRE(unlink(m.Path("/fifo").c_str()) == 0);
    REQUIRE(unlink(m.Path("/chr").c_str()) == 0);
  }

  SECTION("over-long names are ENAMETOOLONG") {
    errno = 0;
    CHECK(open(m.Path("/" + std::string(256, 'n')).c_str(), O_CREAT | O_WRONLY, 0644) < 0);
    CHECK(errno == ENAMETOOLONG);
  }
}

TEST_CASE("through the mount: EIO when no good copy is left, and at close after -o timeout", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  SECTION("a block corrupt on both holders reads as EIO, the rest of the file still reads") {
    Mount m(c);
    if (m.Skipped()) return;
    // 2 MiB: the kernel reads pages ahead, so the lost block is far from
    // the first ones read.
    std::string data = RandomBytes(2 << 20, 4);
    REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, data).code == 0);
    auto placement = c.Placement("/f");
    REQUIRE(placement.size() == 4096);
    const int lost = 3000;
    c.Corrupt(placement[lost].first, "/f", lost);
    c.Corrupt(placement[lost].second, "/f", lost);
    int fd = open(m.Path("/f").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    char buf[512];
    CHECK(pread(fd, buf, sizeof buf, 0) == 512);  // far from the lost block: fine
    CHECK(std::string(buf, 512) == data.substr(0, 512));
    errno = 0;
    CHECK(pread(fd, buf, sizeof buf, lost * 512) < 0);
    CHECK(errno == EIO);
    close(fd);
  }
  SECTION("-o timeout=1: close fails with EIO instead of waiting for a down server") {
    Mount m(c, {"timeout=1"});
    if (m.Skipped()) return;
    c.KillData(1);
    int fd = open(m.Path("/g").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    std::string data = RandomBytes(100000, 5);
    ssize_t wrote = write(fd, data.data(), data.size());
    auto start = std::chrono::steady_clock::now();
    int rc = close(fd);
    int err = errno;
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The write itself may already have failed, or the close does.
    CHECK((wrote < 0 || rc != 0));
    if (rc != 0) CHECK(err == EIO);
    CHECK(waited < 20);
    CHECK(c.ReadLocal(c.dir() + "/mount.log").find("data server 1") != std::string::npos);
  }
}

TEST_CASE("an open handle reads its file by id: a rename and a new file at its old name elsewhere change nothing",
          "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c, {"direct_read"});  // every read reaches the mount, none the page cache
  if (m.Skipped()) return;
  std::string old_bytes = RandomBytes(40 << 20, 21);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/a"}, old_bytes).code == 0);
  int fd = open(m.Path("/a").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  std::string got(4096, '\0');
  REQUIRE(pread(fd, got.data(), got.size(), 0) == 4096);
  CHECK(got == old_bytes.substr(0, 4096));
  // Another client moves the file away and writes a new one at its name.
  REQUIRE(c.Dfs({"mv", "/a", "/b"}).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/a"}, RandomBytes(40 << 20, 22)).code == 0);
  // A read past the windows fetched (and fetched ahead) so far still reads
  // the file opened.
  REQUIRE(pread(fd, got.data(), got.size(), 32 << 20) == 4096);
  CHECK(got == old_bytes.substr(32 << 20, 4096));
  close(fd);
}

TEST_CASE("a mount whose key is not trusted acts as that key's uid, whoever calls it", "[fuse][security]") {
  if (Skipped()) return;
  Cluster c(2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/public"}, "for everyone").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/private"}, "for its owner").code == 0);
  REQUIRE(c.Dfs({"mkdir", "/drop"}).code == 0);
  {
    dfs::client::ClientOptions options;
    options.meta = c.meta_endpoint();
    options.connect = dfs::transport::CurveConnector(c.admin_curve());
    auto fs = dfs::client::FileSystem::Connect(options);
    REQUIRE(fs.ok());
    for (auto [path, mode] : {std::pair<const char*, uint32_t>{"/private", 0600}, {"/drop", 0777}}) {
      dfs::proto::SetAttrReq req;
      req.path = path;
      req.set = dfs::proto::SetAttrReq::kMode;
      req.mode = mode;
      REQUIRE((*fs)->SetAttr(req).ok());
    }
  }
  // The caller here owns /private (or is root), so the kernel lets it
  // through; the key (uid 4242) may not read it, and the servers say so.
  Mount m(c, {}, "mnt", c.client_key());
  if (m.Skipped()) return;
  CHECK(ReadAll(m.Path("/public")) == "for everyone");
  int fd = open(m.Path("/private").c_str(), O_RDONLY);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    char buf[64];
    if (read(fd, buf, sizeof buf) < 0) err = errno;
    close(fd);
  }
  CHECK(err == EACCES);
  // New files belong to the key's uid, not the caller's.
  std::ofstream(m.Path("/drop/new")) << "made through the mount";
  struct stat st;
  REQUIRE(stat(m.Path("/drop/new").c_str(), &st) == 0);
  CHECK(st.st_uid == 4242);
  CHECK(ReadAll(m.Path("/drop/new")) == "made through the mount");
}

TEST_CASE("a file held open for writing through the mount outlives its capability", "[fuse][security]") {
  if (Skipped()) return;
  Cluster c(2, {"--capability-hours", "0.001"});  // capabilities last 3.6 s here
  Mount m(c);
  if (m.Skipped()) return;
  int fd = open(m.Path("/log").c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  const std::string first = "the first line\n", second = "a line written after the first capability expired\n";
  CHECK(write(fd, first.data(), first.size()) == static_cast<ssize_t>(first.size()));
  CHECK(fsync(fd) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));
  CHECK(write(fd, second.data(), second.size()) == static_cast<ssize_t>(second.size()));
  CHECK(fsync(fd) == 0);
  CHECK(close(fd) == 0);
  CHECK(ReadAll(m.Path("/log")) == first + second);
}

TEST_CASE(
    "dfs mount refuses a point already mounted, a missing or non-empty directory; umount says what failed, "
    "each in one line",
    "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  auto twice = c.Dfs({"mount", m.Path("")}, "", 30);
  CHECK(twice.code == 1);
  CHECK(twice.err.find("already a mount point (fuse.dfs)") != std::string::npos);
  CHECK(std::count(twice.err.begin(), twice.err.end(), '\n') == 1);
  auto missing = c.Dfs({"mount", c.dir() + "/nowhere"}, "", 30);
  CHECK(missing.code == 1);
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);
  const std::string full = c.dir() + "/full";
  std::filesystem::create_directories(full + "/x");
  auto nonempty = c.Dfs({"mount", full}, "", 30);
  CHECK(nonempty.code == 1);
  CHECK(nonempty.err.find("not empty") != std::string::npos);
  auto not_mounted = c.Dfs({"umount", full}, "", 30);
  CHECK(not_mounted.code == 1);
  CHECK(not_mounted.err == "dfs: umount: " + full + ": not mounted\n");
  // Still one mount there, and it works.
  std::ofstream(m.Path("/f")) << "x";
  CHECK(c.Dfs({"cat", "/f"}).out == "x");
}

// The kernel drops a directory's attributes at each change in it and asks
// again before the next call there; the mount answers with what the meta
// server's reply to that change said (no round trip). They must be exact,
// must go with a rename or rmdir of the directory, and another client's
// change shows within cache= seconds, as in the kernel's own caches.
TEST_CASE("a directory's attributes after a change through the mount are the change's, and go with a rename",
          "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c, {"cache=3"});
  if (m.Skipped()) return;
  auto fs = AdminClient(c);
  REQUIRE(fs.ok());
  auto same_times = [&](const std::string& dir) {
    struct stat st;
    REQUIRE(stat(m.Path(dir).c_str(), &st) == 0);
    auto a = (*fs)->Stat(dir);
    REQUIRE(a.ok());
    CHECK(int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec == a->mtime_ns);
    CHECK(int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec == a->ctime_ns);
    CHECK(st.st_nlink == a->nlink);
  };
  REQUIRE(mkdir(m.Path("/a").c_str(), 0755) == 0);
  REQUIRE(mkdir(m.Path("/b").c_str(), 0755) == 0);
  REQUIRE(mkdir(m.Path("/a/sub").c_str(), 0755) == 0);
  same_times("/a");
  same_times("/");
  close(open(m.Path("/a/f").c_str(), O_CREAT | O_WRONLY, 0644));
  same_times("/a");
  REQUIRE(rename(m.Path("/a/f").c_str(), m.Path("/b/g").c_str()) == 0);  // both parents change
  same_times("/a");
  same_times("/b");
  REQUIRE(unlink(m.Path("/b/g").c_str()) == 0);
  same_times("/b");
  REQUIRE(rmdir(m.Path("/a/sub").c_str()) == 0);
  same_times("/a");

  // Renamed away: neither it nor what was under it answers at its old path.
  REQUIRE(mkdir(m.Path("/a/sub").c_str(), 0700) == 0);
  REQUIRE(rename(m.Path("/a").c_str(), m.Path("/c").c_str()) == 0);
  struct stat st;
  CHECK(stat(m.Path("/a").c_str(), &st) != 0);
  CHECK(errno == ENOENT);
  CHECK(stat(m.Path("/a/sub").c_str(), &st) != 0);
  REQUIRE(stat(m.Path("/c/sub").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(rmdir(m.Path("/c/sub").c_str()) == 0);
  CHECK(stat(m.Path("/c/sub").c_str(), &st) != 0);

  // Another client's chmod just after a change through the mount: what
  // the change said stands (the kernel is not told) for up to cache=
  // seconds, then the new mode shows.
  close(open(m.Path("/b/h").c_str(), O_CREAT | O_WRONLY, 0644));
  REQUIRE(c.Dfs({"chmod", "700", "/b"}).code == 0);
  REQUIRE(stat(m.Path("/b").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  REQUIRE(stat(m.Path("/b").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
}

// The kernel keeps "no such name" for cache= seconds and then sends a
// create for an open(O_CREAT) of it, also if another client has made the
// name since: the mount must not truncate what that client wrote.
TEST_CASE("an O_CREAT open of a name another client made since the kernel found it missing truncates nothing",
          "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c, {"cache=10", "allow_other"});
  if (m.Skipped()) return;
  REQUIRE(mkdir(m.Path("/pub").c_str(), 0777) == 0);
  REQUIRE(chmod(m.Path("/pub").c_str(), 0777) == 0);  // whatever the umask
  struct stat st;
  for (const char* name : {"/f", "/g", "/pub/ro"}) REQUIRE(stat(m.Path(name).c_str(), &st) != 0);  // known missing
  const std::string theirs = RandomBytes(3000, 21);
  for (const char* name : {"dfs:/f", "dfs:/g", "dfs:/pub/ro"}) REQUIRE(c.Dfs({"cp", "-", name}, theirs).code == 0);

  // Not writable by the caller: the kernel did not check, the mount does
  // (a check only root can make: it needs another user).
  if (getuid() == 0) {
    REQUIRE(c.Dfs({"chmod", "444", "/pub/ro"}).code == 0);
    pid_t child = fork();
    if (child == 0) {
      // From inside the mount: the test's own directories are not open to
      // other users.
      if (chdir(m.Path("/pub").c_str()) != 0 || setgid(1234) != 0 || setuid(4321) != 0) _exit(3);
      int ro = open("ro", O_CREAT | O_WRONLY, 0644);
      _exit(ro < 0 && errno == EACCES ? 0 : 1);
    }
    int wstatus = 0;
    REQUIRE(waitpid(child, &wstatus, 0) == child);
    CHECK(WEXITSTATUS(wstatus) == 0);
    CHECK(c.Dfs({"cat", "/pub/ro"}).out == theirs);
  }

  int fd = open(m.Path("/f").c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "mine", 4) == 4);
  REQUIRE(close(fd) == 0);
  CHECK(c.Dfs({"cat", "/f"}).out == "mine" + theirs.substr(4));

  CHECK(open(m.Path("/g").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644) < 0);
  CHECK(errno == EEXIST);
  CHECK(c.Dfs({"cat", "/g"}).out == theirs);
}

// A create or rename has the kernel look its new name up first. In a
// directory whose every name the mount knows (it made it, and each change
// since was its own) a missing name is answered without asking, for up
// to cache= seconds after the mount's last change there, as the kernel
// keeps a missing name: another client's new name there shows then, or
// at once after the mount's next change there.
TEST_CASE("names missing from a directory the mount made and alone changed are answered without asking", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c, {"cache=10"});
  Mount quick(c, {"cache=2"}, "mnt2");
  if (m.Skipped() || quick.Skipped()) return;
  struct stat st;
  REQUIRE(mkdir(m.Path("/d").c_str(), 0755) == 0);
  close(open(m.Path("/d/a").c_str(), O_CREAT | O_WRONLY, 0644));
  CHECK(stat(m.Path("/d/a").c_str(), &st) == 0);
  REQUIRE(rename(m.Path("/d/a").c_str(), m.Path("/d/b").c_str()) == 0);
  CHECK(stat(m.Path("/d/b").c_str(), &st) == 0);
  CHECK(stat(m.Path("/d/a").c_str(), &st) != 0);
  REQUIRE(link(m.Path("/d/b").c_str(), m.Path("/d/c").c_str()) == 0);
  REQUIRE(symlink("b", m.Path("/d/s").c_str()) == 0);
  REQUIRE(mkdir(m.Path("/d/sub").c_str(), 0755) == 0);
  // A rename of one hard link onto another of the same file changes nothing.
  REQUIRE(rename(m.Path("/d/b").c_str(), m.Path("/d/c").c_str()) == 0);
  for (const char* name : {"/d/b", "/d/c", "/d/s", "/d/sub"}) CHECK(lstat(m.Path(name).c_str(), &st) == 0);

  // Another client's new name: not seen until the mount's next change
  // there shows a change came between.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/d/theirs"}, "x").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/d/later"}, "x").code == 0);
  CHECK(stat(m.Path("/d/theirs").c_str(), &st) != 0);  // known missing (now also to the kernel)
  close(open(m.Path("/d/mine").c_str(), O_CREAT | O_WRONLY, 0644));
  CHECK(stat(m.Path("/d/later").c_str(), &st) == 0);

  // Or cache= seconds after the mount's last change there.
  REQUIRE(mkdir(quick.Path("/e").c_str(), 0755) == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/e/theirs"}, "x").code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(stat(quick.Path("/e/theirs").c_str(), &st) == 0);
}

// An unlink through the mount waits for the meta server only: the data
// servers' reclaimers delete what the meta server lists as deleted, so a
// data server that is stalled (or down) does not hold up an rm.
TEST_CASE("an unlink through the mount does not wait for a stalled data server, and the blocks still go", "[fuse]") {
  if (Skipped()) return;
  Cluster c(3);
  Mount m(c);
  if (m.Skipped()) return;
  auto fs = AdminClient(c);
  REQUIRE(fs.ok());
  for (int i = 0; i < 3; ++i)
    REQUIRE(c.Dfs({"cp", "-", "dfs:/f" + std::to_string(i)}, RandomBytes(64 << 10, i)).code == 0);
  std::vector<uint64_t> fids;
  for (int i = 0; i < 3; ++i) fids.push_back((*fs)->Stat("/f" + std::to_string(i))->fid);
  REQUIRE(kill(c.DataPid(1), SIGSTOP) == 0);
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    CHECK(unlink(m.Path("/f" + std::to_string(i)).c_str()) == 0);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }
  REQUIRE(kill(c.DataPid(1), SIGCONT) == 0);
  // Every server gives the blocks back, the one that was down as well.
  auto stored = [&](uint32_t server) {
    auto files = (*fs)->StoredFiles(server);
    REQUIRE(files.ok());
    size_t n = 0;
    for (uint64_t fid : files->fids) n += std::count(fids.begin(), fids.end(), fid);
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (stored(0) + stored(1) + stored(2) > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (uint32_t s = 0; s < 3; ++s) CHECK(stored(s) == 0);
}
