// The engine end to end: real servers, the dfs binary, bytes compared.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "cluster_fixture.h"
#include "core/common/placement.h"
#include "transport/curve.h"

using dfs::testing::Cluster;
using dfs::testing::JsonNumber;
using dfs::testing::RandomBytes;

TEST_CASE("files of every awkward size copy in and out byte-exact", "[integration]") {
  Cluster c(5);
  for (size_t size : {0, 1, 511, 512, 513, 65537, 3 << 20}) {
    INFO("size " << size);
    std::string bytes = RandomBytes(size, static_cast<uint32_t>(size));
    std::string local = c.LocalFile("in" + std::to_string(size), bytes);
    std::string name = "dfs:/f" + std::to_string(size);
    auto cp = c.Dfs({"cp", local, name});
    REQUIRE(cp.code == 0);
    CHECK(cp.err.empty());
    auto cat = c.Dfs({"cat", name});
    REQUIRE(cat.code == 0);
    CHECK(cat.out == bytes);
    std::string back = c.dir() + "/out" + std::to_string(size);
    REQUIRE(c.Dfs({"cp", name, back}).code == 0);
    CHECK(c.ReadLocal(back) == bytes);
    auto stat = c.Dfs({"stat", "--json", name});
    REQUIRE(stat.code == 0);
    CHECK(JsonNumber(stat.out, "size") == size);
  }
}

TEST_CASE("block size is per file, and stdin, stdout and dfs-to-dfs copies work", "[integration]") {
  Cluster c(3);
  std::string bytes = RandomBytes(300000, 7);
  REQUIRE(c.Dfs({"cp", "--block-size", "65536", "-", "dfs:/big"}, bytes).code == 0);
  auto stat = c.Dfs({"stat", "--json", "/big"});
  CHECK(JsonNumber(stat.out, "block_size") == 65536);
  REQUIRE(c.Dfs({"cp", "dfs:/big", "dfs:/copy"}).code == 0);
  auto out = c.Dfs({"cp", "dfs:/copy", "-"});
  REQUIRE(out.code == 0);
  CHECK(out.out == bytes);
  CHECK(JsonNumber(c.Dfs({"stat", "--json", "/copy"}).out, "block_size") == 512);
}

TEST_CASE("placement follows the formula and the holders really hold the blocks", "[integration]") {
  Cluster c(5);
  std::string bytes = RandomBytes(512 * 23 + 100, 3);
  REQUIRE(c.Dfs({"cp", c.LocalFile("in", bytes), "dfs:/dir-a/file1"}).code != 0);  // no parent yet
  REQUIRE(c.Dfs({"mkdir", "/dir-a"}).code == 0);
  REQUIRE(c.Dfs({"cp", c.LocalFile("in", bytes), "dfs:/dir-a/file1"}).code == 0);
  auto stat = c.Dfs({"stat", "--blocks", "--json", "/dir-a/file1"});
  REQUIRE(stat.code == 0);
  uint64_t seed = JsonNumber(stat.out, "placement_seed");
  CHECK(seed == dfs::Fnv1a64("/dir-a/file1"));
  CHECK(JsonNumber(stat.out, "stripe_width") == 5);
  auto servers = c.Placement("/dir-a/file1");
  REQUIRE(servers.size() == 24);
  for (uint64_t i = 0; i < servers.size(); ++i) {
    CHECK(servers[i].first == static_cast<int>((seed % 5 + i) % 5));
    CHECK(servers[i].second == static_cast<int>((seed % 5 + i + 1) % 5));
  }
  CHECK(stat.out.find("\"state\": \"missing\"") == std::string::npos);

  SECTION("a block stays readable with every server but its two holders stopped") {
    // A one-block file: only its two holders stay up.
    std::string one = RandomBytes(400, 11);
    REQUIRE(c.Dfs({"cp", "-", "dfs:/one"}, one).code == 0);
    auto s1 = c.Placement("/one");
    REQUIRE(s1.size() == 1);
    for (int i = 0; i < 5; ++i) {
      if (i != s1[0].first && i != s1[0].second) c.KillData(i);
    }
    auto cat = c.Dfs({"cat", "/one"}, "", 30);
    REQUIRE(cat.code == 0);
    CHECK(cat.out == one);
    SECTION("and with one of them stopped too, the other serves it (R11)") {
      c.KillData(s1[0].first);
      auto cat2 = c.Dfs({"cat", "/one"}, "", 30);
      REQUIRE(cat2.code == 0);
      CHECK(cat2.out == one);
    }
  }
}

TEST_CASE("every file reads back with any one data server killed", "[integration]") {
  Cluster c(4);
  std::vector<std::string> files;
  for (int k = 0; k < 4; ++k) files.push_back(RandomBytes(100000 + k * 777, 100 + k));
  for (int k = 0; k < 4; ++k) REQUIRE(c.Dfs({"cp", "-", "dfs:/f" + std::to_string(k)}, files[k]).code == 0);
  for (int down = 0; down < 4; ++down) {
    c.KillData(down);
    for (int k = 0; k < 4; ++k) {
      auto cat = c.Dfs({"cat", "/f" + std::to_string(k)}, "", 60);
      REQUIRE(cat.code == 0);
      CHECK(cat.out == files[k]);
    }
    c.StartData(down);
    c.WaitUntilUp();
  }
}

TEST_CASE("kill -9 of the meta server and of a data server loses nothing", "[integration]") {
  Cluster c(3);
  std::string bytes = RandomBytes(200000, 5);
  REQUIRE(c.Dfs({"mkdir", "-p", "/a/b"}).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/a/b/f"}, bytes).code == 0);
  c.KillMeta();
  auto down = c.Dfs({"ls", "/"}, "", 30);
  CHECK(down.code != 0);
  CHECK(down.err.find(c.meta_endpoint()) != std::string::npos);
  c.StartMeta();
  c.WaitUntilUp();
  for (int i = 0; i < 3; ++i) {
    c.KillData(i);
    c.StartData(i);
  }
  c.WaitUntilUp();
  auto cat = c.Dfs({"cat", "/a/b/f"});
  REQUIRE(cat.code == 0);
  CHECK(cat.out == bytes);
  // File ids are never reused after a restart.
  auto id_before = c.Dfs({"stat", "--json", "/a/b/f"}).out;
  REQUIRE(c.Dfs({"cp", "-", "dfs:/g"}, "x").code == 0);
  CHECK(JsonNumber(c.Dfs({"stat", "--json", "/g"}).out, "file_id") > JsonNumber(id_before, "file_id"));
}

TEST_CASE("namespace commands behave like their coreutils cousins", "[integration]") {
  Cluster c(2);
  std::string a = RandomBytes(1000, 1);
  std::string local = c.LocalFile("a.txt", a);
  REQUIRE(c.Dfs({"mkdir", "/d"}).code == 0);
  SECTION("cp into an existing directory keeps the name") {
    REQUIRE(c.Dfs({"cp", local, "dfs:/d"}).code == 0);
    CHECK(c.Dfs({"cat", "/d/a.txt"}).out == a);
    REQUIRE(c.Dfs({"cp", "dfs:/d/a.txt", c.dir()}).code == 0);
  }
  SECTION("cp -r copies trees both ways") {
    std::string tree = c.dir() + "/tree";
    std::filesystem::create_directories(tree + "/sub");
    c.LocalFile("tree/x", "xx");
    c.LocalFile("tree/sub/y", "yyy");
    CHECK(c.Dfs({"cp", tree, "dfs:/t"}).code != 0);  // a directory needs -r
    REQUIRE(c.Dfs({"cp", "-r", tree, "dfs:/t"}).code == 0);
    CHECK(c.Dfs({"cat", "/t/sub/y"}).out == "yyy");
    REQUIRE(c.Dfs({"cp", "-r", "dfs:/t", c.dir() + "/back"}).code == 0);
    CHECK(c.ReadLocal(c.dir() + "/back/sub/y") == "yyy");
    auto ls = c.Dfs({"ls", "-R", "/t"});
    CHECK(ls.out.find("sub") != std::string::npos);
    CHECK(ls.out.find("y") != std::string::npos);
  }
  SECTION("mv renames and moves into directories without moving data") {
    REQUIRE(c.Dfs({"cp", local, "dfs:/f"}).code == 0);
    uint64_t seed = JsonNumber(c.Dfs({"stat", "--json", "/f"}).out, "placement_seed");
    REQUIRE(c.Dfs({"mv", "/f", "/d"}).code == 0);
    CHECK(c.Dfs({"cat", "/d/f"}).out == a);
    CHECK(JsonNumber(c.Dfs({"stat", "--json", "/d/f"}).out, "placement_seed") == seed);
    REQUIRE(c.Dfs({"mv", "dfs:/d/f", "dfs:/g"}).code == 0);
    CHECK(c.Dfs({"cat", "/g"}).out == a);
    CHECK(c.Dfs({"cat", "/d/f"}).code != 0);
  }
  SECTION("ln gives a file a second name; its blocks go only with the last name") {
    REQUIRE(c.Dfs({"cp", local, "dfs:/f"}).code == 0);
    REQUIRE(c.Dfs({"ln", "/f", "/d"}).code == 0);  // into a directory, as ln does
    uint64_t fid = JsonNumber(c.Dfs({"stat", "--json", "/f"}).out, "file_id");
    CHECK(JsonNumber(c.Dfs({"stat", "--json", "/d/f"}).out, "file_id") == fid);
    CHECK(JsonNumber(c.Dfs({"stat", "--json", "/d/f"}).out, "nlink") == 2);
    CHECK(c.Dfs({"ln", "/d", "/e"}).code != 0);    // not a directory
    CHECK(c.Dfs({"ln", "/f", "/d/f"}).code != 0);  // the name is taken
    std::string trashed = c.dir() + "/data0/trash/" + std::to_string(fid) + ".dat";
    REQUIRE(c.Dfs({"rm", "/f"}).code == 0);
    CHECK(c.Dfs({"cat", "/d/f"}).out == a);
    CHECK(c.Dfs({"fsck"}).code == 0);  // every block still on both servers
    CHECK_FALSE(std::filesystem::exists(trashed));
    REQUIRE(c.Dfs({"rm", "/d/f"}).code == 0);
    CHECK(std::filesystem::exists(trashed));
  }
  SECTION("rm needs -r for directories; -f ignores missing files") {
    REQUIRE(c.Dfs({"cp", local, "dfs:/d/x"}).code == 0);
    CHECK(c.Dfs({"rm", "/d"}).code != 0);
    CHECK(c.Dfs({"rm", "/nope"}).code != 0);
    CHECK(c.Dfs({"rm", "-f", "/nope"}).code == 0);
    REQUIRE(c.Dfs({"rm", "-r", "/d"}).code == 0);
    CHECK(c.Dfs({"ls", "/d"}).code != 0);
  }
  SECTION("ls -l -h and --json") {
    REQUIRE(c.Dfs({"cp", "-", "dfs:/d/big"}, std::string(5000, 'z')).code == 0);
    auto ls = c.Dfs({"ls", "-l", "-h", "/d"});
    REQUIRE(ls.code == 0);
    CHECK(ls.out.find("4.9K") != std::string::npos);
    auto json = c.Dfs({"ls", "--json", "/d"});
    CHECK(nlohmann::json::parse(json.out)[0]["size"] == 5000);
    // Global flags also work after the subcommand.
    auto after =
        dfs::testing::Run({dfs::testing::DfsBinary(), "ls", "/d", "--meta", c.meta_endpoint(), "--key", c.admin_key()});
    CHECK(after.code == 0);
    CHECK(after.out == "big\n");
  }
}

TEST_CASE("a tree of many small and some large files copies byte-exact", "[integration]") {
  Cluster c(5);
  std::string tree = c.dir() + "/many";
  std::filesystem::create_directories(tree + "/deep/er");
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 600; ++i) {
    // Mostly small (grouped writes), every 50th one over 64 KiB (streamed), some empty.
    size_t size = i % 50 == 0 ? 70000 + i : i % 97 == 0 ? 0 : 1 + (i * 131) % 9000;
    std::string rel = (i % 3 == 0 ? "deep/er/" : i % 3 == 1 ? "deep/" : "") + ("f" + std::to_string(i));
    files.emplace_back(rel, RandomBytes(size, 1000 + i));
    c.LocalFile("many/" + rel, files.back().second);
  }
  REQUIRE(c.Dfs({"cp", "-r", tree, "dfs:/many"}).code == 0);
  REQUIRE(c.Dfs({"cp", "-r", "dfs:/many", c.dir() + "/back"}).code == 0);
  for (const auto& [rel, bytes] : files) {
    INFO(rel);
    CHECK(c.ReadLocal(c.dir() + "/back/" + rel) == bytes);
  }
  auto ls = c.Dfs({"ls", "--json", "/many/deep/er"});
  CHECK(std::count(ls.out.begin(), ls.out.end(), '{') == 200);
}

TEST_CASE("names with control characters: quoted on a terminal, escaped with -b, exact in --json", "[integration]") {
  // Any byte but '/' and NUL may be in a name (POSIX); none may forge a line of dfs ls.
  Cluster c(2);
  const std::string forged = "a\nb";                // would show as two entries
  const std::string odd = std::string("it's\x01");  // a quote and a control character
  REQUIRE(c.Dfs({"cp", "-", "dfs:/" + forged}, "x").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/" + odd}, "y").code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/plain"}, "z").code == 0);

  // To a pipe, as GNU ls: the bytes as they are.
  CHECK(c.Dfs({"ls", "/"}).out == forged + "\n" + odd + "\nplain\n");
  // -b: C escapes (and a backslash doubled).
  CHECK(c.Dfs({"ls", "-b", "/"}).out == "a\\nb\nit's\\001\nplain\n");
  // --json: exact.
  auto json = nlohmann::json::parse(c.Dfs({"ls", "--json", "/"}).out);
  REQUIRE(json.size() == 3);
  CHECK(json[0]["name"] == forged);
  CHECK(json[1]["name"] == odd);
  // On a terminal: quoted for a shell, one line per entry.
  auto tty = dfs::testing::Run(
      {"script", "-qc",
       dfs::testing::DfsBinary() + " --meta " + c.meta_endpoint() + " --key " + c.admin_key() + " ls /", "/dev/null"},
      "", 30);
  CHECK(tty.out == "'a'$'\\n''b'\r\n'it'\\''s'$'\\001'\r\nplain\r\n");
}

TEST_CASE("dfs keygen makes a CURVE key pair in zcert files and never overwrites one by surprise", "[integration]") {
  const std::string dir = std::filesystem::temp_directory_path() / ("dfs-keygen-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto r = dfs::testing::Run({dfs::testing::DfsBinary(), "keygen", dir + "/k"});
  REQUIRE(r.code == 0);
  auto pair = dfs::transport::ReadCert(dir + "/k");
  auto pub = dfs::transport::ReadCert(dir + "/k.pub");
  REQUIRE((pair.ok() && pub.ok()));
  CHECK(r.out.rfind(pair->public_key + " client ", 0) == 0);  // its authorized_keys line
  CHECK(pub->public_key == pair->public_key);
  CHECK(pub->secret_key.empty());
  CHECK((std::filesystem::status(dir + "/k").permissions() & std::filesystem::perms::group_read) ==
        std::filesystem::perms::none);
  auto again = dfs::testing::Run({dfs::testing::DfsBinary(), "keygen", dir + "/k"});
  CHECK(again.code == 1);
  CHECK_THAT(again.err, Catch::Contains("exists"));
  CHECK(dfs::transport::ReadCert(dir + "/k")->secret_key == pair->secret_key);
  std::filesystem::remove_all(dir);
}
