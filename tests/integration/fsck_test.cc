// dfs fsck against real damage: corruption, deleted block files, orphans,
// servers down. Exit codes as fsck(8).
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cluster_fixture.h"

using dfs::testing::Cluster;
using dfs::testing::RandomBytes;

namespace {

// (path, block, server, kind) of every problem line in fsck --blocks's report.
std::set<std::tuple<std::string, int, int, std::string>> Problems(const std::string& report) {
  std::set<std::tuple<std::string, int, int, std::string>> out;
  std::string file;
  std::regex line_re("  block (\\d+) \\(bytes \\d+-\\d+\\) on server (\\d+) \\([^)]*\\): (\\w+): .*");
  std::smatch m;
  size_t start = 0;
  while (start < report.size()) {
    size_t end = report.find('\n', start);
    if (end == std::string::npos) end = report.size();
    std::string line = report.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line[0] == '/') {
      file = line.substr(0, line.find(':'));
    } else if (std::regex_match(line, m, line_re)) {
      out.emplace(file, std::stoi(m[1]), std::stoi(m[2]), m[3]);
    }
  }
  return out;
}

std::string FileId(Cluster& c, const std::string& path) {
  auto stat = c.Dfs({"stat", "--json", path}).out;
  std::smatch m;
  REQUIRE(std::regex_search(stat, m, std::regex("\"file_id\": (\\d+)")));
  return m[1];
}

std::string BlockFile(Cluster& c, int server, const std::string& fid, const char* ext) {
  char sub[8];
  snprintf(sub, sizeof sub, "%02x", static_cast<unsigned>(std::stoull(fid) & 0xff));
  return c.dir() + "/data" + std::to_string(server) + "/blocks/" + sub + "/" + fid + ext;
}

}  // namespace

TEST_CASE("fsck finds exactly the damage, repairs it, and then finds none", "[fault]") {
  Cluster c(4);
  std::vector<std::string> files = {RandomBytes(150000, 1), RandomBytes(90000, 2), RandomBytes(5000, 3)};
  REQUIRE(c.Dfs({"mkdir", "/d"}).code == 0);
  for (size_t k = 0; k < files.size(); ++k) REQUIRE(c.Dfs({"cp", "-", "dfs:/d/f" + std::to_string(k)}, files[k]).code == 0);
  REQUIRE(c.Dfs({"fsck"}).code == 0);

  std::set<std::tuple<std::string, int, int, std::string>> expected;
  // Corrupt blocks of /d/f0 on several servers (never both copies of one block).
  auto placement = c.Placement("/d/f0");
  for (int s = 0; s < 4; ++s) {
    int64_t i = 10 + s * 31;
    int server = placement[i].first;
    c.Corrupt(server, "/d/f0", i);
    expected.emplace("/d/f0", static_cast<int>(i), server, "corrupt");
  }
  // Delete server 1's block data of /d/f1 while it runs.
  std::string fid1 = FileId(c, "/d/f1");
  REQUIRE(std::filesystem::remove(BlockFile(c, 1, fid1, ".dat")));
  auto p1 = c.Placement("/d/f1");
  for (size_t i = 0; i < p1.size(); ++i) {
    if (p1[i].first == 1 || p1[i].second == 1) expected.emplace("/d/f1", static_cast<int>(i), 1, "missing");
  }

  auto check = c.Dfs({"fsck", "--blocks"});
  INFO(check.out);
  CHECK(check.code == 4);
  CHECK(Problems(check.out) == expected);  // every damaged block, and nothing else
  CHECK_THAT(check.out, Catch::Contains("status: CORRUPT"));
  CHECK(check.out.find("/d/f2") == std::string::npos);
  // Without --blocks: one line per damaged file.
  auto brief = c.Dfs({"fsck"});
  CHECK(brief.code == 4);
  CHECK_THAT(brief.out, Catch::Contains("/d/f0: 4 damaged blocks (corrupt 4 replicas); a good copy exists"));
  CHECK_THAT(brief.out, Catch::StartsWith("/d/f"));
  CHECK(brief.out.find("  block ") == std::string::npos);

  auto repair = c.Dfs({"fsck", "--repair"});
  INFO(repair.out);
  CHECK(repair.code == 1);
  CHECK_THAT(repair.out, Catch::Contains("status: HEALTHY"));
  auto again = c.Dfs({"fsck"});
  CHECK(again.code == 0);
  for (size_t k = 0; k < files.size(); ++k) CHECK(c.Dfs({"cat", "/d/f" + std::to_string(k)}).out == files[k]);
  // The repaired copies serve alone: server 1 with its neighbours 0 and 2 down.
  c.KillData(0);
  c.KillData(2);
  auto stat = c.Dfs({"stat", "--blocks", "--json", "/d/f1"});
  CHECK(stat.out.find("{\"server\": 1, \"state\": \"ok\"") != std::string::npos);
  CHECK(stat.out.find("{\"server\": 1, \"state\": \"missing\"") == std::string::npos);
}

TEST_CASE("fsck leaves a block with no good copy unrecoverable", "[fault]") {
  Cluster c(3);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, RandomBytes(20000, 5)).code == 0);
  auto placement = c.Placement("/f");
  c.Corrupt(placement[7].first, "/f", 7);
  c.Corrupt(placement[7].second, "/f", 7);
  auto check = c.Dfs({"fsck", "--json"});
  CHECK(check.code == 4);
  auto doc = nlohmann::json::parse(check.out);
  CHECK(doc["summary"]["unrecoverable_blocks"] == 1);
  CHECK(doc["status"] == "CORRUPT");
  REQUIRE(doc["files"].size() == 1);
  CHECK(doc["files"][0]["path"] == "/f");
  CHECK(doc["files"][0]["problems"].size() == 2);
  CHECK(doc["files"][0]["problems"][0]["block"] == 7);
  CHECK(doc["files"][0]["problems"][0]["outcome"] == "unrecoverable");
  auto repair = c.Dfs({"fsck", "--repair", "--blocks"});
  CHECK(repair.code == 4);
  CHECK_THAT(repair.out, Catch::Contains("block 7 (bytes 3584-4096)"));
  CHECK_THAT(repair.out, Catch::Contains("unrecoverable"));
  CHECK(repair.out.find(": repaired") == std::string::npos);
  CHECK(c.Dfs({"fsck"}).code == 4);
}

TEST_CASE("fsck reports orphans as space to reclaim, not damage, and --repair moves them to the trash", "[fault]") {
  Cluster c(3);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/gone"}, RandomBytes(30000, 8)).code == 0);
  std::string fid = FileId(c, "/gone");
  REQUIRE(c.Dfs({"rm", "/gone"}).code == 0);
  // Server 2 "missed" the delete: its blocks come back from the trash.
  for (const char* ext : {".dat", ".idx"}) {
    std::filesystem::rename(c.dir() + "/data2/trash/" + fid + ext, BlockFile(c, 2, fid, ext));
  }
  auto check = c.Dfs({"fsck"});
  CHECK(check.code == 0);
  CHECK_THAT(check.out, Catch::Contains("server 2 (" + c.data_endpoint(2) + "): 1 orphan files"));
  CHECK_THAT(check.out, Catch::Contains("waiting to be reclaimed"));
  CHECK_THAT(check.out, Catch::Contains("status: HEALTHY"));
  auto repair = c.Dfs({"fsck", "--repair"});
  CHECK(repair.code == 0);
  CHECK_THAT(repair.out, Catch::Contains("moved to the trash: 1"));
  CHECK(std::filesystem::exists(c.dir() + "/data2/trash/" + fid + ".dat"));
  CHECK(c.Dfs({"fsck"}).out.find("orphan") == std::string::npos);
}

TEST_CASE("fsck with a server down reports its blocks unverified, and 8 without a meta server", "[fault]") {
  Cluster c(3);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, RandomBytes(20000, 6)).code == 0);
  c.KillData(1);
  auto check = c.Dfs({"fsck"}, "", 60);
  CHECK(check.code == 4);
  INFO(check.out);
  // One line for the server, none per block or per file.
  CHECK_THAT(check.out, Catch::Contains("server 1 (" + c.data_endpoint(1) + ") down: "));
  CHECK_THAT(check.out, Catch::Contains("unverified; all have a verified copy on the other holder"));
  CHECK_THAT(check.out, Catch::Contains("status: DEGRADED"));
  CHECK(check.out.find("/f") == std::string::npos);
  c.KillMeta();
  auto none = c.Dfs({"fsck"}, "", 60);
  CHECK(none.code == 8);
  CHECK_THAT(none.err, Catch::Contains(c.meta_endpoint()));
}
