// The command line for daily use, as a user meets it: cp as cp(1) copies
// (modes, -p, -n, symlinks, loops, special files, trailing slashes), several
// operands that keep going, globs, du/df, sum, head/tail, chmod/chown/touch,
// ls options, endpoints checked before any network call, --version, help,
// completion. Real servers, the real binary.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "cluster_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::CommandResult;
using dfs::testing::RandomBytes;
using dfs::testing::Run;
namespace fs = std::filesystem;

namespace {

nlohmann::json StatJson(Cluster& c, const std::string& path) {
  auto r = c.Dfs({"stat", "--json", path});
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.out);
}

// Lines of a command's output.
std::vector<std::string> Lines(const std::string& out) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < out.size()) {
    size_t nl = out.find('\n', at);
    if (nl == std::string::npos) nl = out.size();
    lines.push_back(out.substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

int Count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// Sets the umask for the test (children inherit it) and puts it back.
struct ScopedUmask {
  explicit ScopedUmask(mode_t m) : old(umask(m)) {}
  ~ScopedUmask() { umask(old); }
  mode_t old;
};

}  // namespace

TEST_CASE("cp gives a new file the source's mode less the umask, an existing one keeps its own, -p keeps all",
          "[integration][cli]") {
  Cluster c(3);
  ScopedUmask mask(027);
  const std::string secret = c.LocalFile("secret", "s3cret");
  const std::string script = c.LocalFile("run.sh", "#!/bin/sh\necho hi\n");
  const std::string plain = c.LocalFile("plain", RandomBytes(200000, 1));  // past the small-file path
  chmod(secret.c_str(), 0600);
  chmod(script.c_str(), 0755);
  chmod(plain.c_str(), 0666);
  REQUIRE(c.Dfs({"cp", secret, script, plain, "dfs:/"}).code == 0);
  CHECK(StatJson(c, "/secret")["mode"] == 0600);
  CHECK(StatJson(c, "/run.sh")["mode"] == 0750);
  CHECK(StatJson(c, "/plain")["mode"] == 0640);

  // Over an existing destination its mode stays, as cp(1) keeps it.
  REQUIRE(c.Dfs({"cp", script, "dfs:/secret"}).code == 0);
  CHECK(StatJson(c, "/secret")["mode"] == 0600);
  CHECK(c.Dfs({"cat", "/secret"}).out == "#!/bin/sh\necho hi\n");

  // Out of dfs, the same rule; -p keeps mode and times both ways.
  const std::string back = c.dir() + "/back.sh";
  REQUIRE(c.Dfs({"cp", "dfs:/run.sh", back}).code == 0);
  struct stat st;
  REQUIRE(stat(back.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);

  struct timespec old[2] = {{978307200, 0}, {978307200, 0}};  // 2001-01-01
  REQUIRE(utimensat(AT_FDCWD, plain.c_str(), old, 0) == 0);
  REQUIRE(c.Dfs({"cp", "-p", plain, "dfs:/kept"}).code == 0);
  auto kept = StatJson(c, "/kept");
  CHECK(kept["mode"] == 0666);
  CHECK(kept["mtime_ns"] == 978307200LL * 1000000000);
  const std::string small = c.LocalFile("small", "tiny");
  chmod(small.c_str(), 0604);
  REQUIRE(utimensat(AT_FDCWD, small.c_str(), old, 0) == 0);
  REQUIRE(c.Dfs({"cp", "-p", small, "dfs:/small"}).code == 0);
  CHECK(StatJson(c, "/small")["mode"] == 0604);
  CHECK(StatJson(c, "/small")["mtime_ns"] == 978307200LL * 1000000000);
  const std::string out = c.dir() + "/kept.back";
  REQUIRE(c.Dfs({"cp", "-p", "dfs:/kept", out}).code == 0);
  REQUIRE(stat(out.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0666);
  CHECK(st.st_mtim.tv_sec == 978307200);
}

TEST_CASE("cp -r copies symlinks as symlinks both ways; -L follows them and reports a loop instead of descending it",
          "[integration][cli]") {
  Cluster c(3);
  const std::string src = c.dir() + "/tree";
  fs::create_directories(src + "/sub");
  c.LocalFile("tree/a", "alpha");
  fs::create_symlink("a", src + "/link");
  fs::create_symlink("..", src + "/sub/up");  // a loop when followed

  REQUIRE(c.Dfs({"cp", "-r", src, "dfs:/t"}).code == 0);
  auto link = StatJson(c, "/t/link");
  CHECK(link["type"] == "symlink");
  CHECK(link["target"] == "a");
  CHECK(StatJson(c, "/t/sub/up")["target"] == "..");

  // dfs -> local keeps them too.
  const std::string back = c.dir() + "/back";
  REQUIRE(c.Dfs({"cp", "-r", "dfs:/t", back}).code == 0);
  CHECK(fs::is_symlink(back + "/link"));
  CHECK(fs::read_symlink(back + "/link") == "a");
  CHECK(fs::read_symlink(back + "/sub/up") == "..");
  CHECK(c.ReadLocal(back + "/a") == "alpha");

  // -L: the link's file is copied as a file; the loop is reported once, the
  // rest is copied, and nothing is copied 40 levels deep.
  auto followed = c.Dfs({"cp", "-r", "-L", src, "dfs:/L"});
  CHECK(followed.code == 1);
  CHECK(Count(followed.err, "directory loop") == 1);
  CHECK(followed.err.find("/sub/up") != std::string::npos);
  CHECK(StatJson(c, "/L/link")["type"] == "file");
  CHECK(c.Dfs({"cat", "/L/link"}).out == "alpha");
  auto all = c.Dfs({"ls", "-R", "/L"});
  CHECK(Count(all.out, "\n/L/") <= 1);  // /L/sub only

  // cat and sum follow a dfs symlink as cat(1) does; a loop is ELOOP, not a hang.
  CHECK(c.Dfs({"cat", "/t/link"}).out == "alpha");
  CHECK(c.Dfs({"cat", "/t/sub/up/link"}).out == "alpha");
  fs::create_symlink("self", src + "/self");
  REQUIRE(c.Dfs({"cp", "-r", src + "/self", "dfs:/t/self"}).code == 0);
  auto loop = c.Dfs({"cat", "/t/self"}, "", 20);
  CHECK(loop.code == 1);
  CHECK(loop.err.find("too many levels of symbolic links") != std::string::npos);

  // Without -r a symlink operand is followed, as cp(1) does.
  REQUIRE(c.Dfs({"cp", src + "/link", "dfs:/plain"}).code == 0);
  CHECK(StatJson(c, "/plain")["type"] == "file");
}

TEST_CASE("cp refuses a special file without -r and copies it as one with -r; -n never overwrites",
          "[integration][cli]") {
  Cluster c(3);
  const std::string fifo = c.dir() + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0640) == 0);
  auto refused = c.Dfs({"cp", fifo, "dfs:/f"}, "", 20);  // must not block reading it
  CHECK(refused.code == 1);
  CHECK(refused.err.find("is a fifo") != std::string::npos);
  CHECK(Lines(refused.err).size() == 1);
  CHECK(c.Dfs({"stat", "/f"}).code != 0);
  REQUIRE(c.Dfs({"cp", "-r", fifo, "dfs:/f"}, "", 20).code == 0);
  CHECK(StatJson(c, "/f")["type"] == "fifo");

  const std::string one = c.LocalFile("one", "first");
  const std::string two = c.LocalFile("two", "second");
  REQUIRE(c.Dfs({"cp", one, "dfs:/x"}).code == 0);
  auto n = c.Dfs({"cp", "-n", two, "dfs:/x"});
  CHECK(n.code == 0);
  CHECK(c.Dfs({"cat", "/x"}).out == "first");
  REQUIRE(c.Dfs({"cp", "-n", two, "dfs:/y"}).code == 0);
  CHECK(c.Dfs({"cat", "/y"}).out == "second");
  const std::string local = c.LocalFile("local", "mine");
  REQUIRE(c.Dfs({"cp", "-n", "dfs:/x", local}).code == 0);
  CHECK(c.ReadLocal(local) == "mine");
}

TEST_CASE("a trailing slash: cp to a missing dir/ fails, and a file written as dir/ is not a directory",
          "[integration][cli]") {
  Cluster c(3);
  const std::string f = c.LocalFile("f", "bytes");
  auto cp = c.Dfs({"cp", f, "dfs:/newname/"});
  CHECK(cp.code == 1);
  CHECK(cp.err.find("not a directory") != std::string::npos);
  CHECK(c.Dfs({"stat", "/newname"}).code != 0);
  REQUIRE(c.Dfs({"cp", f, "dfs:/file"}).code == 0);
  for (const char* cmd : {"cat", "ls", "stat", "rm", "sum", "head"}) {
    auto r = c.Dfs({cmd, "/file/"});
    INFO(cmd);
    CHECK(r.code == 1);
    CHECK(r.err.find("/file/: not a directory") != std::string::npos);
  }
  CHECK(c.Dfs({"cat", "/file"}).out == "bytes");
  // A directory may be written either way; cp -r of one to a missing dir/ makes it.
  REQUIRE(c.Dfs({"mkdir", "/d/"}).code == 0);
  CHECK(c.Dfs({"ls", "/d/"}).code == 0);
  fs::create_directories(c.dir() + "/tree");
  c.LocalFile("tree/x", "x");
  REQUIRE(c.Dfs({"cp", "-r", c.dir() + "/tree", "dfs:/made/"}).code == 0);
  CHECK(c.Dfs({"cat", "/made/x"}).out == "x");
}

TEST_CASE("several operands: each failure is one line, the others are still done, and the exit code is 1",
          "[integration][cli]") {
  Cluster c(3);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/a"}, "A").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/b"}, "B").code == 0);

  auto cat = c.Dfs({"cat", "/a", "/missing", "/b"});
  CHECK(cat.code == 1);
  CHECK(cat.out == "AB");
  CHECK(Lines(cat.err).size() == 1);

  auto mkdir = c.Dfs({"mkdir", "/a/x", "/m1", "/m2"});
  CHECK(mkdir.code == 1);
  CHECK(c.Dfs({"ls", "-d", "/m1", "/m2"}).code == 0);

  auto stat = c.Dfs({"stat", "/nope", "/a"});
  CHECK(stat.code == 1);
  CHECK(stat.out.find("path: /a") != std::string::npos);

  auto ls = c.Dfs({"ls", "/nope", "/a", "/b"});
  CHECK(ls.code == 1);
  CHECK(ls.out == "/a\n/b\n");

  auto ln = c.Dfs({"ln", "/a", "/nope", "/m1"});
  CHECK(ln.code == 1);
  CHECK(c.Dfs({"cat", "/m1/a"}).out == "A");

  auto mv = c.Dfs({"mv", "/nope", "/b", "/m2"});
  CHECK(mv.code == 1);
  CHECK(c.Dfs({"cat", "/m2/b"}).out == "B");

  const std::string one = c.LocalFile("one", "1");
  auto cp = c.Dfs({"cp", c.dir() + "/none", one, "dfs:/m2"});
  CHECK(cp.code == 1);
  CHECK(c.Dfs({"cat", "/m2/one"}).out == "1");

  auto rm = c.Dfs({"rm", "/nope", "/a"});
  CHECK(rm.code == 1);
  CHECK(c.Dfs({"stat", "/a"}).code != 0);

  // rm -f: missing, below a file, and no operand at all are no error.
  REQUIRE(c.Dfs({"cp", "-", "dfs:/file"}, "F").code == 0);
  CHECK(c.Dfs({"rm", "-f", "/gone", "/file/x"}).code == 0);
  CHECK(c.Dfs({"rm", "-f"}).code == 0);
  CHECK(c.Dfs({"rm"}).code == 2);
}

TEST_CASE("a malformed endpoint is exit 2 at once, naming the form expected", "[integration][cli]") {
  for (const std::string meta :
       {"127.0.0.1:7100", "garbage", "", "tcp://127.0.0.1", "tcp://127.0.0.1:99999", "tcp://:7100", "tcp://a b:1"}) {
    auto start = std::chrono::steady_clock::now();
    auto r = Run({dfs::testing::DfsBinary(), "--meta", meta, "--key", "none", "ls", "/"}, "", 30);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(meta);
    CHECK(r.code == 2);
    CHECK(r.err.find("tcp://HOST:PORT") != std::string::npos);
    CHECK(Lines(r.err).size() == 1);
    CHECK(s < 1.5);
  }
}

TEST_CASE("globs expand in dfs paths; du, df, sum, head and tail", "[integration][cli]") {
  Cluster c(3);
  REQUIRE(c.Dfs({"mkdir", "-p", "/logs/old"}).code == 0);
  const std::string big = RandomBytes(100000, 7);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/logs/a.gz"}, big).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/logs/b.gz"}, "b").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/logs/c.txt"}, "line1\nline2\nline3\n").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/logs/.hidden.gz"}, "h").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/logs/old/d.gz"}, "dd").code == 0);

  CHECK(c.Dfs({"ls", "/logs/*.gz"}).out == "/logs/a.gz\n/logs/b.gz\n");
  CHECK(c.Dfs({"ls", "/logs/?.txt"}).out == "/logs/c.txt\n");
  CHECK(c.Dfs({"ls", "/logs/[ab].gz"}).out == "/logs/a.gz\n/logs/b.gz\n");
  CHECK(c.Dfs({"ls", "/*/old/*.gz"}).out == "/logs/old/d.gz\n");
  CHECK(c.Dfs({"cat", "dfs:/logs/b*"}).out == "b");
  auto none = c.Dfs({"ls", "/logs/*.zip"});
  CHECK(none.code == 1);
  CHECK(none.err.find("/logs/*.zip: no such file") != std::string::npos);
  const std::string to = c.dir() + "/gz";
  fs::create_directories(to);
  REQUIRE(c.Dfs({"cp", "dfs:/logs/*.gz", to}).code == 0);
  CHECK(c.ReadLocal(to + "/b.gz") == "b");
  CHECK(!fs::exists(to + "/.hidden.gz"));

  // du: logical bytes, and stored: both copies of what holds data.
  REQUIRE(c.Dfs({"ln", "/logs/a.gz", "/logs/old/a-again.gz"}).code == 0);
  auto du = c.Dfs({"du", "-s", "/logs"});
  REQUIRE(du.code == 0);
  const uint64_t logical = 100000 + 1 + 18 + 1 + 2;  // the hard link counts once
  CHECK(du.out == std::to_string(logical) + std::string(10 - std::to_string(logical).size(), ' ') + " " +
                      std::to_string(2 * logical) + std::string(10 - std::to_string(2 * logical).size(), ' ') +
                      " /logs\n");
  auto tree = c.Dfs({"du", "/logs"});
  CHECK(Lines(tree.out).size() == 2);  // /logs/old, then /logs
  CHECK(tree.out.find(" /logs/old\n") != std::string::npos);

  auto df = c.Dfs({"df", "-v"});
  REQUIRE(df.code == 0);
  CHECK(Count(df.out, "\ndata ") == 3);
  CHECK(df.out.find("3 of 3 up") != std::string::npos);

  // sum: SHA-256 as sha256sum prints it for the same bytes.
  const std::string local = c.LocalFile("a.gz", big);
  auto expect = Run({"sha256sum", local});
  REQUIRE(expect.code == 0);
  auto sum = c.Dfs({"sum", "/logs/a.gz"});
  REQUIRE(sum.code == 0);
  CHECK(sum.out.substr(0, 64) == expect.out.substr(0, 64));
  CHECK(sum.out.substr(64) == "  /logs/a.gz\n");

  CHECK(c.Dfs({"head", "-n", "2", "/logs/c.txt"}).out == "line1\nline2\n");
  CHECK(c.Dfs({"tail", "-n", "1", "/logs/c.txt"}).out == "line3\n");
  CHECK(c.Dfs({"tail", "-n", "5", "/logs/c.txt"}).out == "line1\nline2\nline3\n");
  CHECK(c.Dfs({"head", "-c", "3", "/logs/a.gz"}).out == big.substr(0, 3));
  CHECK(c.Dfs({"tail", "-c", "70000", "/logs/a.gz"}).out == big.substr(30000));
  CHECK(c.Dfs({"head", "-c", "2", "/logs/b.gz", "/logs/c.txt"}).out ==
        "==> /logs/b.gz <==\nb\n==> /logs/c.txt <==\nli");
}

TEST_CASE("chmod, chown and touch; ls with several paths, -a, -d, -t, -S, -r and a link count", "[integration][cli]") {
  Cluster c(3);
  ScopedUmask mask(022);
  REQUIRE(c.Dfs({"mkdir", "/d"}).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/d/f"}, "12345").code == 0);
  REQUIRE(c.Dfs({"chmod", "640", "/d/f"}).code == 0);
  CHECK(StatJson(c, "/d/f")["mode"] == 0640);
  REQUIRE(c.Dfs({"chmod", "u+x,o+r", "/d/f"}).code == 0);
  CHECK(StatJson(c, "/d/f")["mode"] == 0744);
  REQUIRE(c.Dfs({"chmod", "-R", "go-r", "/d"}).code == 0);
  CHECK(StatJson(c, "/d/f")["mode"] == 0700);
  CHECK(StatJson(c, "/d")["mode"] == 0711);
  CHECK(c.Dfs({"chmod", "rwx", "/d/f"}).code == 2);
  // '=' with no who sets exactly those bits (less the umask), as chmod(1): 0666 -> =r -> 0444.
  REQUIRE(c.Dfs({"chmod", "666", "/d/f"}).code == 0);
  REQUIRE(c.Dfs({"chmod", "=r", "/d/f"}).code == 0);
  CHECK(StatJson(c, "/d/f")["mode"] == 0444);
  REQUIRE(c.Dfs({"chmod", "700", "/d/f"}).code == 0);
  REQUIRE(c.Dfs({"chmod", "755", "/d"}).code == 0);

  REQUIRE(c.Dfs({"chown", "4242:4343", "/d/f"}).code == 0);
  auto owned = StatJson(c, "/d/f");
  CHECK(owned["uid"] == 4242);
  CHECK(owned["gid"] == 4343);
  CHECK(c.Dfs({"chown", "no-such-user-here", "/d/f"}).code == 2);

  // touch: creates an empty file (mode 0666 less the umask), or moves times.
  REQUIRE(c.Dfs({"touch", "/d/new"}).code == 0);
  auto made = StatJson(c, "/d/new");
  CHECK(made["size"] == 0);
  CHECK(made["mode"] == 0644);
  CHECK(c.Dfs({"touch", "-c", "/d/never"}).code == 0);
  CHECK(c.Dfs({"stat", "/d/never"}).code != 0);
  const int64_t before = StatJson(c, "/d/f")["mtime_ns"];
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(c.Dfs({"touch", "/d/f"}).code == 0);
  CHECK(StatJson(c, "/d/f")["mtime_ns"] > before);
  CHECK(c.Dfs({"cat", "/d/f"}).out == "12345");

  REQUIRE(c.Dfs({"cp", "-", "dfs:/d/.dot"}, "xy").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/d/big"}, std::string(1000, 'b')).code == 0);
  REQUIRE(c.Dfs({"ln", "/d/big", "/d/big2"}).code == 0);
  CHECK(c.Dfs({"ls", "/d"}).out == "big\nbig2\nf\nnew\n");
  CHECK(c.Dfs({"ls", "-a", "/d"}).out == ".\n..\n.dot\nbig\nbig2\nf\nnew\n");
  CHECK(c.Dfs({"ls", "-S", "/d"}).out == "big\nbig2\nf\nnew\n");
  CHECK(c.Dfs({"ls", "-S", "-r", "/d"}).out == "new\nf\nbig2\nbig\n");
  CHECK(c.Dfs({"ls", "-t", "/d"}).out == "big\nbig2\nf\nnew\n");  // newest first; big2 is big
  CHECK(c.Dfs({"ls", "-d", "/d"}).out == "/d\n");
  auto two = c.Dfs({"ls", "/d/f", "/d"});
  CHECK(two.out == "/d/f\n\n/d:\nbig\nbig2\nf\nnew\n");
  auto l = Lines(c.Dfs({"ls", "-l", "/d"}).out);
  REQUIRE(l.size() == 4);
  CHECK(l[0].rfind("-rw-r--r-- 2 ", 0) == 0);            // big: two names
  CHECK(l[2].find(" 4242 4343 ") != std::string::npos);  // numbers where the system knows no name
}

TEST_CASE("dfs --version, dfs help SUBCOMMAND and a bash completion script", "[integration][cli]") {
  const std::string dfs = dfs::testing::DfsBinary();
  auto v = Run({dfs, "--version"});
  CHECK(v.code == 0);
  CHECK(v.out.rfind("dfs ", 0) == 0);
  CHECK(v.out.find("wire protocol") != std::string::npos);
  auto help = Run({dfs, "help", "cp"});
  CHECK(help.code == 0);
  CHECK(help.out.find("--no-clobber") != std::string::npos);
  CHECK(Run({dfs, "help", "nosuch"}).code == 2);
  auto script = Run({dfs, "completion", "bash"});
  REQUIRE(script.code == 0);
  CHECK(script.out.find("complete ") != std::string::npos);
  // It is valid bash, and completes subcommands and their options.
  const std::string file = fs::temp_directory_path() / ("dfs-completion-" + std::to_string(getpid()));
  {
    FILE* f = fopen(file.c_str(), "w");
    REQUIRE(f);
    fwrite(script.out.data(), 1, script.out.size(), f);
    fclose(f);
  }
  auto words = Run({"bash", "-c",
                    "source " + file +
                        "; COMP_WORDS=(dfs c); COMP_CWORD=1; _dfs; echo \"${COMPREPLY[*]}\";"
                        " COMP_WORDS=(dfs cp --no); COMP_CWORD=2; _dfs; echo \"${COMPREPLY[*]}\""});
  fs::remove(file);
  REQUIRE(words.code == 0);
  auto lines = Lines(words.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("cp") != std::string::npos);
  CHECK(lines[0].find("cat") != std::string::npos);
  CHECK(lines[1].find("--no-clobber") != std::string::npos);
  CHECK(Run({dfs, "completion", "fish"}).code == 2);
}

namespace {

// A base port with the next `n` ports free too (bound and released), and
// the same run 1000 ports up (where cluster up puts its metrics).
int FreeRun(int n) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    int base = 20000 + (getpid() * 7 + attempt * 97) % 30000;  // up to 51000: +1000 fits
    bool all = true;
    for (int i = 0; i < 2 * n && all; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(base + (i < n ? i : 1000 + i - n)));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      all = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
    }
    if (all) return base;
  }
  FAIL("no run of free ports");
  return 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

pid_t PidOf(const std::string& file) {
  pid_t pid = 0;
  std::ifstream(file) >> pid;
  return pid;
}

// Stops whatever a test's clusters left running, by the pids they recorded.
struct ClusterDirs {
  std::vector<std::string> dirs;
  ~ClusterDirs() {
    for (const std::string& d : dirs) {
      Run({dfs::testing::DfsBinary(), "cluster", "down", "-q", "--dir", d}, "", 30);
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  }
};

}  // namespace

TEST_CASE(
    "cluster tooling: ports are kept, another cluster on them is not taken for this one, servers restarted "
    "by hand are stopped, and ps names each server",
    "[integration][cli]") {
  const std::string dfs = dfs::testing::DfsBinary();
  const std::string base = fs::temp_directory_path() / ("dfs-cli-" + std::to_string(getpid()));
  ClusterDirs dirs{{base + "-a", base + "-b"}};
  const std::string a = dirs.dirs[0], b = dirs.dirs[1];
  const int port = FreeRun(3);
  const std::string p = std::to_string(port);
  REQUIRE(
      Run({dfs, "cluster", "up", "-q", "--insecure", "--servers", "2", "--dir", a, "--base-port", p}, "", 60).code ==
      0);
  CHECK(ReadFile("/proc/" + std::to_string(PidOf(a + "/pids/data-1.pid")) + "/comm") == "dfs data 1\n");
  CHECK(ReadFile("/proc/" + std::to_string(PidOf(a + "/pids/meta.pid")) + "/comm") == "dfs meta\n");

  // Another base port would cut the cluster off from its data: refused.
  auto moved = Run({dfs, "cluster", "up", "--dir", a, "--base-port", std::to_string(port + 10)});
  CHECK(moved.code == 2);
  CHECK(moved.err.find("uses base port " + p) != std::string::npos);
  CHECK(Run({dfs, "cluster", "up", "-q", "--insecure", "--dir", a}, "", 60).code == 0);  // the stored ports

  // a down, b up on the same ports: a is down, not "up".
  REQUIRE(Run({dfs, "cluster", "down", "-q", "--dir", a}, "", 30).code == 0);
  REQUIRE(
      Run({dfs, "cluster", "up", "-q", "--insecure", "--servers", "2", "--dir", b, "--base-port", p}, "", 60).code ==
      0);
  auto other = Run({dfs, "cluster", "status", "--dir", a});
  CHECK(other.code == 1);
  CHECK(other.out.find(" up\n") == std::string::npos);
  auto mine = Run({dfs, "cluster", "status", "--dir", b});
  CHECK(mine.code == 0);
  CHECK(Count(mine.out, " up\n") == 3);

  // Data server 1 of b restarted by hand: cluster down stops it too.
  const pid_t first = PidOf(b + "/pids/data-1.pid");
  REQUIRE(first > 0);
  kill(first, SIGTERM);
  for (int i = 0; i < 100 && kill(first, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  dfs::testing::BackgroundCommand by_hand(
      {dfs, "--meta", "tcp://127.0.0.1:" + p, "data", "--index", "1", "--dir", b + "/data/1", "--insecure"});
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    up = Run({dfs, "cluster", "status", "--dir", b}).code == 0;
  }
  REQUIRE(up);
  CHECK(Run({dfs, "cluster", "status", "--dir", b}).out.find(std::to_string(by_hand.pid())) != std::string::npos);
  REQUIRE(Run({dfs, "cluster", "down", "--dir", b}, "", 30).code == 0);
  auto start = std::chrono::steady_clock::now();
  by_hand.Wait(15);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5);
}

TEST_CASE("on a terminal cp and cluster up show one line that updates itself; -q or a pipe show none",
          "[integration][cli]") {
  if (Run({"script", "--version"}).code != 0) {
    WARN("SKIPPED: no script(1) here to give the command a terminal");
    return;
  }
  Cluster c(3);
  const std::string big = c.LocalFile("big", RandomBytes(48 << 20, 5));
  const std::string dfs = dfs::testing::DfsBinary() + " --meta " + c.meta_endpoint() + " --key " + c.admin_key();
  auto tty = Run({"script", "-qfec", dfs + " cp " + big + " dfs:/big", "/dev/null"});
  REQUIRE(tty.code == 0);
  CHECK(tty.out.find("\r\033[Kcp: ") != std::string::npos);
  CHECK(tty.out.find(" of 48M (") != std::string::npos);
  CHECK(tty.out.find("1 files") != std::string::npos);
  CHECK(tty.out.find(" MB/s") != std::string::npos);
  CHECK(tty.out.find('\n') == std::string::npos);  // one line, rewritten, then erased
  CHECK(tty.out.substr(tty.out.size() - 4) == "\r\033[K");
  auto quiet = Run({"script", "-qfec", dfs + " -q cp " + big + " dfs:/big", "/dev/null"});
  CHECK(quiet.code == 0);
  CHECK(quiet.out.empty());
  auto piped = c.Dfs({"cp", big, "dfs:/big"});
  CHECK(piped.code == 0);
  CHECK(piped.err.empty());
  CHECK(c.Dfs({"sum", "/big"}).out.substr(0, 64) == Run({"sha256sum", big}).out.substr(0, 64));

  // An error while the line is shown takes a line of its own.
  auto mixed = Run({"script", "-qfec", dfs + " cp " + big + " " + c.dir() + "/none dfs:/", "/dev/null"});
  CHECK(mixed.code == 1);
  CHECK(mixed.out.find("\r\033[Kdfs: cp: " + c.dir() + "/none: no such file or directory\r\n") != std::string::npos);
}

namespace {

// GET `path` from 127.0.0.1:port over HTTP/1.0, with bash's /dev/tcp.
std::string HttpGet(int port, const std::string& path) {
  auto r = Run({"bash", "-c",
                "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) + " && printf 'GET " + path +
                    " HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"},
               "", 20);
  return r.out;
}

// Checks the Prometheus text format strictly (every sample's family has
// HELP and TYPE first, names and labels well formed, values numbers,
// histogram buckets cumulative and ending in +Inf = _count) and returns
// sample -> value.
std::map<std::string, double> ParsePrometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+-]+|\+Inf))");
  std::string helped;
  for (const std::string& line : Lines(text)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      helped = m[1];
    } else if (std::regex_match(line, m, type)) {
      CHECK(m[1] == helped);
      types[m[1]] = m[2];
    } else {
      INFO(line);
      REQUIRE(std::regex_match(line, m, sample));
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (!types.count(family) && family.size() > s.size() &&
            family.compare(family.size() - s.size(), s.size(), s) == 0) {
          family = family.substr(0, family.size() - s.size());
        }
      }
      CHECK(types.count(family) == 1);
      samples[std::string(m[1]) + std::string(m[2])] = std::stod(m[3]);
    }
  }
  return samples;
}

}  // namespace

TEST_CASE(
    "servers serve Prometheus metrics that cluster up turns on: requests, errors and latency by operation, "
    "bytes, disk",
    "[integration][cli]") {
  const std::string dfs = dfs::testing::DfsBinary();
  const std::string dir = fs::temp_directory_path() / ("dfs-metrics-" + std::to_string(getpid()));
  ClusterDirs dirs{{dir}};
  const int port = FreeRun(3);
  const std::string p = std::to_string(port);
  auto up = Run({dfs, "cluster", "up", "--insecure", "--servers", "2", "--dir", dir, "--base-port", p}, "", 60);
  REQUIRE(up.code == 0);
  CHECK(up.out.find("http://127.0.0.1:" + std::to_string(port + 1000) + "/metrics") != std::string::npos);
  const std::string meta = "tcp://127.0.0.1:" + p;
  const std::string bytes = RandomBytes(100000, 9);
  REQUIRE(Run({dfs, "--meta", meta, "--key", "none", "cp", "-", "dfs:/f"}, bytes).code == 0);
  REQUIRE(Run({dfs, "--meta", meta, "--key", "none", "cat", "/f"}).out == bytes);
  CHECK(Run({dfs, "--meta", meta, "--key", "none", "stat", "/missing"}).code == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the data servers' gauges, set each second

  auto body = [](const std::string& reply) {
    size_t at = reply.find("\r\n\r\n");
    REQUIRE(at != std::string::npos);
    CHECK(reply.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
    CHECK(reply.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    return reply.substr(at + 4);
  };
  auto m = ParsePrometheus(body(HttpGet(port + 1000, "/metrics")));
  CHECK(m["dfs_meta_requests_total{op=\"Create\"}"] >= 1);
  CHECK(m["dfs_meta_requests_total{op=\"Commit\"}"] >= 1);
  CHECK(m["dfs_meta_request_errors_total{op=\"Lookup\",code=\"not_found\"}"] >= 1);
  CHECK(m["dfs_meta_request_seconds_bucket{op=\"Lookup\",le=\"+Inf\"}"] ==
        m["dfs_meta_request_seconds_count{op=\"Lookup\"}"]);
  CHECK(m["dfs_meta_request_seconds_bucket{op=\"Lookup\",le=\"0.0001\"}"] <=
        m["dfs_meta_request_seconds_bucket{op=\"Lookup\",le=\"10\"}"]);

  double received = 0, sent = 0;
  for (int i = 0; i < 2; ++i) {
    auto d = ParsePrometheus(body(HttpGet(port + 1001 + i, "/metrics")));
    const std::string s = "{server=\"" + std::to_string(i) + "\"}";
    received += d["dfs_data_received_bytes_total" + s];
    sent += d["dfs_data_sent_bytes_total" + s];
    CHECK(d["dfs_data_disk_total_bytes" + s] > 0);
    CHECK(d["dfs_data_blocks" + s] > 0);
    CHECK(d["dfs_data_requests_total{server=\"" + std::to_string(i) + "\",op=\"WriteBlocks\"}"] >= 1);
    CHECK(d.count("dfs_data_trash_bytes" + s) == 1);
    CHECK(d.count("dfs_data_repairs_total" + s) == 1);
    CHECK(d.count("dfs_data_scrub_pass_blocks" + s) == 1);
    CHECK(d.count("dfs_data_rebuild_blocks_total" + s) == 1);
  }
  CHECK(received >= 2 * bytes.size());  // both copies came in
  CHECK(sent >= bytes.size());          // one copy went out to the reader
  CHECK(HttpGet(port + 1000, "/other").rfind("HTTP/1.0 404", 0) == 0);

  // A metrics port already taken: the server says so and serves without.
  const std::string other = "tcp://127.0.0.1:" + std::to_string(FreeRun(1));
  dfs::testing::BackgroundCommand spare(
      {dfs, "meta", "--dir", dir + "/spare", "--insecure", "--listen", other, "--data-servers",
       "tcp://127.0.0.1:" + std::to_string(port + 1) + ",tcp://127.0.0.1:" + std::to_string(port + 2),
       "--metrics-listen", "127.0.0.1:" + std::to_string(port + 1000)});
  bool answered = false;
  for (int i = 0; i < 50 && !answered; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    answered = Run({dfs, "--meta", other, "--key", "none", "ls", "/"}, "", 10).code == 0;
  }
  CHECK(answered);
  spare.Signal(SIGTERM);
  auto said = spare.Wait(15);
  CHECK(said.err.find("serving without metrics") != std::string::npos);

  // A malformed --metrics-listen is refused before the server starts.
  auto bad = Run({dfs, "meta", "--dir", dir + "/never", "--insecure", "--listen", "tcp://127.0.0.1:1",
                  "--metrics-listen", "nowhere"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--metrics-listen") != std::string::npos);
}
