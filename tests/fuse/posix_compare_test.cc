// The same POSIX operations in a local directory and in the mount must give
// the same results: errno names, file types, modes, owners, link counts,
// sizes, and which of atime, mtime and ctime moved. The local file system is
// the reference: what pjdfstest expects on Linux is what the kernel's own
// file systems do.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "../integration/cluster_fixture.h"
#include "mount_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::Mount;

namespace {

// Runs operations relative to a directory and records one line for each.
class Recorder {
 public:
  explicit Recorder(std::string dir) : dir_(std::move(dir)) {}
  const std::vector<std::string>& lines() const { return lines_; }
  std::string P(const std::string& rel) const { return dir_ + "/" + rel; }

  // `fn` returns a negative value with errno set on failure; a descriptor it
  // returns is closed.
  void Do(const std::string& label, const std::function<int()>& fn, bool closes_fd = false) {
    errno = 0;
    int rc = fn();
    if (closes_fd && rc >= 0) close(rc);
    lines_.push_back(label + ": " + (rc >= 0 ? "ok" : Name(errno)));
  }
  void Stat(const std::string& label, const std::string& rel, bool follow = false) {
    struct stat st;
    int rc = follow ? stat(P(rel).c_str(), &st) : lstat(P(rel).c_str(), &st);
    if (rc != 0) {
      lines_.push_back(label + ": " + Name(errno));
      return;
    }
    char buf[160];
    snprintf(buf, sizeof buf, "type=%o mode=%o nlink=%lu uid=%u gid=%u", st.st_mode & S_IFMT, st.st_mode & 07777,
             static_cast<unsigned long>(st.st_nlink), st.st_uid, st.st_gid);
    std::string line = label + ": " + buf;
    if (!S_ISDIR(st.st_mode)) line += " size=" + std::to_string(st.st_size);  // a directory's size is the fs's own
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line += " rdev=" + std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
    }
    lines_.push_back(line);
  }
  // Runs `fn` and records which times of `paths` moved ("amc", "-" for each
  // that did not).
  void Timed(const std::string& label, const std::vector<std::string>& paths, const std::function<int()>& fn) {
    std::vector<struct stat> before(paths.size());
    for (size_t i = 0; i < paths.size(); ++i) lstat(P(paths[i]).c_str(), &before[i]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // past the kernel's clock tick
    Do(label, fn);
    std::string moved;
    for (size_t i = 0; i < paths.size(); ++i) {
      struct stat after;
      if (lstat(P(paths[i]).c_str(), &after) != 0) {
        moved += " gone";
        continue;
      }
      auto differs = [](const timespec& a, const timespec& b) { return a.tv_sec != b.tv_sec || a.tv_nsec != b.tv_nsec; };
      moved += " ";
      moved += differs(before[i].st_atim, after.st_atim) ? 'a' : '-';
      moved += differs(before[i].st_mtim, after.st_mtim) ? 'm' : '-';
      moved += differs(before[i].st_ctim, after.st_ctim) ? 'c' : '-';
    }
    lines_.push_back("  times of " + label + ":" + moved);
  }
  // `fn` run in a child process as uid:gid with no supplementary groups.
  void As(uid_t uid, gid_t gid, const std::string& label, const std::function<int()>& fn) {
    pid_t pid = fork();
    if (pid == 0) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(255);
      errno = 0;
      int rc = fn();
      _exit(rc >= 0 ? 0 : errno);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 254;
    lines_.push_back(label + " (as " + std::to_string(uid) + "): " + (code == 0 ? "ok" : Name(code)));
  }

 private:
  static std::string Name(int err) {
    const char* name = strerrorname_np(err);
    return name ? name : std::to_string(err);
  }
  std::string dir_;
  std::vector<std::string> lines_;
};

int Create(const std::string& path, mode_t mode, int flags = O_CREAT | O_WRONLY) {
  return open(path.c_str(), flags, mode);
}

int WriteFile(const std::string& path, const std::string& data, int flags = O_WRONLY) {
  int fd = open(path.c_str(), flags, 0644);
  if (fd < 0) return -1;
  ssize_t n = write(fd, data.data(), data.size());
  close(fd);
  return n == static_cast<ssize_t>(data.size()) ? 0 : -1;
}

int BindSocket(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  int rc = bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  close(s);
  errno = err;
  return rc;
}

// The operations, in the spirit of pjdfstest: each entry point's success
// and error cases, times, ownership and permission checks.
std::vector<std::string> RunOperations(const std::string& top) {
  Recorder r(top + "/w");
  auto P = [&](const std::string& rel) { return r.P(rel); };
  umask(022);
  REQUIRE(mkdir(P("").c_str(), 0755) == 0);

  r.Do("create f", [&] { return Create(P("f"), 0644); }, true);
  r.Stat("stat f", "f");
  r.Timed("create g", {".", "f"}, [&] { return Create(P("g"), 0600); });
  r.Timed("write f", {"f", "."}, [&] { return WriteFile(P("f"), "hello"); });
  r.Timed("truncate f to 100", {"f", "."}, [&] { return truncate(P("f").c_str(), 100); });
  r.Timed("truncate f to its size", {"f"}, [&] { return truncate(P("f").c_str(), 100); });
  r.Stat("stat f", "f");
  r.Timed("open O_TRUNC", {"f"}, [&] { int fd = open(P("f").c_str(), O_WRONLY | O_TRUNC); return fd < 0 ? fd : close(fd); });
  r.Timed("open O_TRUNC of an empty file", {"f"}, [&] { int fd = open(P("f").c_str(), O_WRONLY | O_TRUNC); return fd < 0 ? fd : close(fd); });
  r.Timed("chmod 4755", {"f"}, [&] { return chmod(P("f").c_str(), 04755); });
  r.Timed("chown -1 -1", {"f"}, [&] { return chown(P("f").c_str(), -1, -1); });
  r.Timed("chown 65534 65533", {"f"}, [&] { return chown(P("f").c_str(), 65534, 65533); });
  r.Stat("stat f after chown", "f");
  r.Do("chmod 6755", [&] { return chmod(P("f").c_str(), 06755); });
  r.Do("chown 0 0", [&] { return chown(P("f").c_str(), 0, 0); });
  r.Stat("stat f", "f");
  r.Do("symlink l -> f", [&] { return symlink("f", P("l").c_str()); });
  r.Timed("lchown l", {"l", "f"}, [&] { return lchown(P("l").c_str(), 65534, 65534); });
  r.Stat("lstat l", "l");
  r.Stat("stat f", "f");
  r.Do("utimensat f", [&] {
    timespec ts[2] = {{1, 0}, {2, 0}};
    return utimensat(AT_FDCWD, P("f").c_str(), ts, 0);
  });
  r.Timed("utimensat UTIME_OMIT mtime", {"f"}, [&] {
    timespec ts[2] = {{5, 0}, {0, UTIME_OMIT}};
    return utimensat(AT_FDCWD, P("f").c_str(), ts, 0);
  });
  r.Timed("utimensat UTIME_NOW", {"f"}, [&] {
    timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    return utimensat(AT_FDCWD, P("f").c_str(), ts, 0);
  });

  r.Do("mkdir d", [&] { return mkdir(P("d").c_str(), 0755); });
  r.Do("mkdir d again", [&] { return mkdir(P("d").c_str(), 0755); });
  r.Do("rmdir f", [&] { return rmdir(P("f").c_str()); });
  r.Do("unlink d", [&] { return unlink(P("d").c_str()); });
  r.Do("open d for writing", [&] { return open(P("d").c_str(), O_WRONLY); }, true);
  r.Do("open f O_DIRECTORY", [&] { return open(P("f").c_str(), O_RDONLY | O_DIRECTORY); }, true);
  r.Do("mkdir f/x", [&] { return mkdir(P("f/x").c_str(), 0755); });
  r.Do("create d/sub/x", [&] { return Create(P("d/sub/x"), 0644); }, true);
  r.Do("O_EXCL on f", [&] { return Create(P("f"), 0644, O_CREAT | O_EXCL | O_WRONLY); }, true);
  r.Do("O_EXCL on symlink l", [&] { return Create(P("l"), 0644, O_CREAT | O_EXCL | O_WRONLY); }, true);
  r.Do("O_NOFOLLOW on symlink l", [&] { return open(P("l").c_str(), O_RDONLY | O_NOFOLLOW); }, true);
  r.Do("mkdir d/e", [&] { return mkdir(P("d/e").c_str(), 0755); });
  r.Stat("stat d", "d");
  r.Do("rename d into d/e", [&] { return rename(P("d").c_str(), P("d/e/x").c_str()); });
  r.Do("rmdir d, not empty", [&] { return rmdir(P("d").c_str()); });
  r.Do("rename f over d", [&] { return rename(P("f").c_str(), P("d").c_str()); });
  r.Do("rename d over f", [&] { return rename(P("d").c_str(), P("f").c_str()); });
  r.Do("mkdir d2", [&] { return mkdir(P("d2").c_str(), 0755); });
  r.Do("rename d2 over non-empty d", [&] { return rename(P("d2").c_str(), P("d").c_str()); });
  r.Timed("rename d2 over empty d/e", {".", "d", "d2"}, [&] { return rename(P("d2").c_str(), P("d/e").c_str()); });
  r.Stat("stat d", "d");
  r.Timed("rename f to h", {"f", "."}, [&] { return rename(P("f").c_str(), P("h").c_str()); });
  r.Timed("link h f", {"h", "."}, [&] { return link(P("h").c_str(), P("f").c_str()); });
  r.Stat("stat f", "f");
  r.Timed("rename h onto its other name f", {"h", "f", "."}, [&] { return rename(P("h").c_str(), P("f").c_str()); });
  r.Timed("unlink h", {"f", "."}, [&] { return unlink(P("h").c_str()); });
  r.Stat("stat f", "f");
  r.Do("link to a directory", [&] { return link(P("d").c_str(), P("dd").c_str()); });
  r.Do("link onto an existing name", [&] { return link(P("f").c_str(), P("g").c_str()); });
  r.Do("link of a symlink", [&] { return linkat(AT_FDCWD, P("l").c_str(), AT_FDCWD, P("l2").c_str(), 0); });
  r.Stat("lstat l2", "l2");
  r.Do("mkfifo p", [&] { return mkfifo(P("p").c_str(), 0640); });
  r.Stat("stat p", "p");
  r.Do("mknod c", [&] { return mknod(P("c").c_str(), S_IFCHR | 0640, makedev(1, 3)); });
  r.Stat("stat c", "c");
  r.Do("mknod regular file", [&] { return mknod(P("reg").c_str(), S_IFREG | 0600, 0); });
  r.Stat("stat reg", "reg");
  r.Do("bind socket s", [&] { return BindSocket(P("s")); });
  r.Stat("stat s", "s");
  r.Do("link s s2", [&] { return link(P("s").c_str(), P("s2").c_str()); });
  r.Stat("stat s", "s");
  r.Do("symlink loop", [&] { return symlink("loop2", P("loop1").c_str()) | symlink("loop1", P("loop2").c_str()); });
  r.Do("open the loop", [&] { return open(P("loop1").c_str(), O_RDONLY); }, true);
  r.Do("stat through a file", [&] { struct stat st; return stat(P("f/x").c_str(), &st); });
  r.Do("rmdir .", [&] { return rmdir(P(".").c_str()); });
  r.Do("rmdir d/e/.", [&] { return rmdir(P("d/e/.").c_str()); });
  r.Do("create over a dangling symlink", [&] {
    return symlink("nowhere", P("dang").c_str()) | (Create(P("dang"), 0644) < 0 ? -1 : 0);
  });
  r.Stat("stat nowhere", "nowhere");
  r.Do("name of 255 bytes", [&] { return Create(P(std::string(255, 'x')), 0644); }, true);
  r.Do("name of 256 bytes", [&] { return Create(P(std::string(256, 'x')), 0644); }, true);

  // umask and the set-group-ID directory.
  umask(027);
  r.Do("create with umask 027", [&] { return Create(P("um"), 0777); }, true);
  r.Stat("stat um", "um");
  r.Do("mkdir with umask 027", [&] { return mkdir(P("umd").c_str(), 0777); });
  r.Stat("stat umd", "umd");
  umask(022);
  r.Do("mkdir g0, set-group-ID, group 65533", [&] {
    return mkdir(P("g0").c_str(), 0755) | chown(P("g0").c_str(), 0, 65533) | chmod(P("g0").c_str(), 02755);
  });
  r.Do("mkdir g0/sub", [&] { return mkdir(P("g0/sub").c_str(), 0755); });
  r.Stat("stat g0/sub", "g0/sub");
  r.Do("create g0/file", [&] { return Create(P("g0/file"), 0644); }, true);
  r.Stat("stat g0/file", "g0/file");

  // Permissions, as other users.
  r.Do("chmod 1777 .", [&] { return chmod(P(".").c_str(), 01777); });
  r.As(65534, 65534, "create u in a sticky directory", [&] { return Create(P("u"), 0644); });
  r.Stat("stat u", "u");
  r.As(65533, 65533, "unlink of another's u", [&] { return unlink(P("u").c_str()); });
  r.As(65533, 65533, "rename of another's u", [&] { return rename(P("u").c_str(), P("u2").c_str()); });
  r.As(65534, 65534, "unlink of one's own u", [&] { return unlink(P("u").c_str()); });
  r.Do("chmod 0755 .", [&] { return chmod(P(".").c_str(), 0755); });
  r.As(65534, 65534, "create in a 0755 directory", [&] { return Create(P("v"), 0644); });
  r.As(65534, 65534, "chmod of root's f", [&] { return chmod(P("f").c_str(), 0600); });
  r.Do("chown f 65534 65534", [&] { return chown(P("f").c_str(), 65534, 65534); });
  r.As(65534, 65534, "chmod 2755 of one's own f", [&] { return chmod(P("f").c_str(), 02755); });
  r.Stat("stat f", "f");
  r.As(65534, 65534, "chown of one's own f to root", [&] { return chown(P("f").c_str(), 0, -1); });
  r.As(65534, 65534, "utimensat NOW of one's own f", [&] { return utimensat(AT_FDCWD, P("f").c_str(), nullptr, 0); });
  r.Do("chown f 0 0, chmod 0666", [&] { return chown(P("f").c_str(), 0, 0) | chmod(P("f").c_str(), 0666); });
  r.As(65534, 65534, "utimensat NOW of root's writable f", [&] { return utimensat(AT_FDCWD, P("f").c_str(), nullptr, 0); });
  r.As(65534, 65534, "utimensat of root's writable f", [&] {
    timespec ts[2] = {{1, 0}, {1, 0}};
    return utimensat(AT_FDCWD, P("f").c_str(), ts, 0);
  });
  r.As(65534, 65534, "truncate of root's 0666 f", [&] { return truncate(P("f").c_str(), 3); });
  r.Do("chmod f 06777", [&] { return chmod(P("f").c_str(), 06777); });
  r.As(65534, 65534, "write to root's set-user-ID f", [&] { return WriteFile(P("f"), "x"); });
  r.Stat("stat f after another's write", "f");
  r.Do("chmod f 0644", [&] { return chmod(P("f").c_str(), 0644); });
  r.As(65534, 65534, "truncate of root's 0644 f", [&] { return truncate(P("f").c_str(), 1); });
  r.As(65534, 65534, "open of root's 0644 f for writing", [&] { return open(P("f").c_str(), O_WRONLY); });

  // Data: appends, holes, ftruncate.
  r.Do("O_APPEND writes", [&] {
    return WriteFile(P("ap"), "ab", O_CREAT | O_WRONLY | O_APPEND) | WriteFile(P("ap"), "cd", O_WRONLY | O_APPEND);
  });
  r.Stat("stat ap", "ap");
  r.Do("write past the end", [&] {
    int fd = Create(P("sp"), 0644);
    int rc = pwrite(fd, "z", 1, 100000) == 1 ? 0 : -1;
    close(fd);
    return rc;
  });
  r.Stat("stat sp", "sp");
  r.Do("the hole reads as zeros", [&] {
    std::string got = dfs::testing::ReadAll(P("sp"));
    return got.size() == 100001 && got.find_first_not_of('\0') == 100000 ? 0 : -1;
  });
  r.Do("ftruncate of a read-only descriptor", [&] {
    int fd = open(P("sp").c_str(), O_RDONLY);
    int rc = ftruncate(fd, 0);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
  });
  r.Do("truncate to a negative size", [&] { return truncate(P("sp").c_str(), -1); });
  r.Do("truncate of a directory", [&] { return truncate(P("d").c_str(), 0); });
  return r.lines();
}

}  // namespace

TEST_CASE("POSIX operations through the mount give what the local file system gives", "[fuse]") {
  if (dfs::testing::Skipped()) return;
  if (geteuid() != 0) {
    WARN("SKIPPED: the comparison changes owners and acts as other users, which needs root");
    return;
  }
  Cluster c(2);
  REQUIRE(chmod(c.dir().c_str(), 0755) == 0);  // other users must reach both directories
  Mount m(c, {"allow_other"});
  if (m.Skipped()) return;
  std::string local = c.dir() + "/local";
  REQUIRE(mkdir(local.c_str(), 0755) == 0);
  std::vector<std::string> want = RunOperations(local);
  std::vector<std::string> got = RunOperations(m.Path(""));
  REQUIRE(got.size() == want.size());
  std::string differences;
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i]) differences += "\n  local: " + want[i] + "\n  mount: " + got[i];
  }
  INFO("all " << want.size() << " results, local file system:\n" << [&] {
    std::string all;
    for (const auto& l : want) all += l + "\n";
    return all;
  }());
  CHECK(differences == "");
}
