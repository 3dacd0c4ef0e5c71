#include <catch2/catch.hpp>

#include "core/common/placement.h"
#include "core/meta/meta_store.h"
#include "temp_dir.h"

using namespace dfs;
using dfs::meta::MetaStore;

namespace {

std::unique_ptr<MetaStore> OpenStore(const std::string& dir) {
  auto s = MetaStore::Open(dir);
  REQUIRE(s.ok());
  REQUIRE((*s)->SetServers({"tcp://a:1", "tcp://a:2", "tcp://a:3"}).ok());
  return std::move(*s);
}

}  // namespace

TEST_CASE("files get their placement at creation", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto a = store->Create("/f", 0, 0644, false);
  REQUIRE(a.ok());
  CHECK(a->placement_seed == Fnv1a64("/f"));
  CHECK(a->stripe_width == 3);
  CHECK(a->block_size == 512);
  CHECK(a->generation > 0);
}

TEST_CASE("the namespace survives a reopen", "[unit]") {
  testing::TempDir dir;
  uint64_t fid;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->Mkdir("/d", false, 0755).ok());
    auto a = store->Create("/d/f", 4096, 0644, false);
    REQUIRE(a.ok());
    fid = a->fid;
    REQUIRE(store->Commit(fid, a->generation, 1234).ok());
  }
  auto store = MetaStore::Open(dir.path());
  REQUIRE(store.ok());
  CHECK((*store)->config().servers.size() == 3);
  auto a = (*store)->Lookup("/d/f");
  REQUIRE(a.ok());
  CHECK(a->fid == fid);
  CHECK(a->size == 1234);
  CHECK(a->block_size == 4096);
}

TEST_CASE("file ids and generations are never reused", "[unit]") {
  testing::TempDir dir;
  uint64_t first_fid, first_gen;
  {
    auto store = OpenStore(dir.path());
    auto a = store->Create("/f", 0, 0644, false);
    REQUIRE(a.ok());
    first_fid = a->fid;
    first_gen = a->generation;
    REQUIRE(store->Unlink("/f").ok());
  }
  auto store = MetaStore::Open(dir.path());
  REQUIRE(store.ok());
  auto b = (*store)->Create("/f", 0, 0644, false);
  REQUIRE(b.ok());
  CHECK(b->fid > first_fid);
  CHECK(b->generation > first_gen);
  auto c = (*store)->Create("/f", 0, 0644, false);  // truncate: new generation
  REQUIRE(c.ok());
  CHECK(c->fid == b->fid);
  CHECK(c->generation > b->generation);
  CHECK(c->truncate_generation == c->generation);
}

TEST_CASE("namespace errors have the right codes", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Mkdir("/d", false, 0755).ok());
  REQUIRE(store->Create("/d/f", 0, 0644, false).ok());
  CHECK(store->Lookup("/nope").status().code() == Code::kNotFound);
  CHECK(store->Lookup("/d/f/x").status().code() == Code::kNotADirectory);
  CHECK(store->Create("/d", 0, 0644, false).status().code() == Code::kIsADirectory);
  CHECK(store->Create("/d/f", 0, 0644, true).status().code() == Code::kAlreadyExists);
  CHECK(store->Create("/x/y", 0, 0644, false).status().code() == Code::kNotFound);
  CHECK(store->Mkdir("/d", false, 0755).status().code() == Code::kAlreadyExists);
  CHECK(store->Mkdir("/d", true, 0755).ok());
  CHECK(store->Mkdir("/a/b/c", false, 0755).status().code() == Code::kNotFound);
  CHECK(store->Mkdir("/a/b/c", true, 0755).ok());
  CHECK(store->Rmdir("/d").code() == Code::kNotEmpty);
  CHECK(store->Rmdir("/d/f").code() == Code::kNotADirectory);
  CHECK(store->Unlink("/d").status().code() == Code::kIsADirectory);
  CHECK(store->Rename("/d", "/d/sub").code() == Code::kInvalidArgument);
}

TEST_CASE("rename moves, replaces a file, and keeps the placement", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Mkdir("/d", false, 0755).ok());
  auto a = store->Create("/a", 0, 0644, false);
  REQUIRE(store->Create("/d/b", 0, 0644, false).ok());
  REQUIRE(store->Rename("/a", "/d/b").ok());
  CHECK(store->Lookup("/a").status().code() == Code::kNotFound);
  auto b = store->Lookup("/d/b");
  REQUIRE(b.ok());
  CHECK(b->fid == a->fid);
  CHECK(b->placement_seed == Fnv1a64("/a"));  // no block moves
  auto listing = store->Readdir("/d", "", 10);
  REQUIRE(listing.ok());
  CHECK(listing->entries.size() == 1);
}

TEST_CASE("readdir pages", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 25; ++i) REQUIRE(store->Create("/f" + std::to_string(100 + i), 0, 0644, false).ok());
  auto page = store->Readdir("/", "", 10);
  REQUIRE(page.ok());
  CHECK(page->entries.size() == 10);
  CHECK(page->more);
  auto next = store->Readdir("/", page->entries.back().name, 100);
  REQUIRE(next.ok());
  CHECK(next->entries.size() == 15);
  CHECK(!next->more);
  auto files = store->ListFiles(0, 100);
  REQUIRE(files.ok());
  CHECK(files->files.size() == 25);
  CHECK(files->files[0].name == "/f100");
}
