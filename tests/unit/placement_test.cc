#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "core/common/placement.h"

using namespace dfs;

TEST_CASE("FNV-1a 64 matches the published test vectors", "[unit]") {
  CHECK(Fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(Fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(Fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("blocks are placed round-robin from the seed, replica 2 on the next server", "[unit]") {
  const uint64_t seed = Fnv1a64("/dir/file1");
  for (uint32_t n : {2u, 3u, 5u, 7u}) {
    for (uint64_t i = 0; i < 50; ++i) {
      ReplicaPair p = PlaceBlock(seed, n, i);
      CHECK(p.first == (seed % n + i) % n);
      CHECK(p.second == (p.first + 1) % n);
      CHECK(p.first != p.second);
    }
  }
  SECTION("a 64-bit seed near the top does not overflow") {
    ReplicaPair p = PlaceBlock(UINT64_MAX, 5, UINT64_MAX - 1);
    CHECK(p.first == (UINT64_MAX % 5 + (UINT64_MAX - 1) % 5) % 5);
  }
}

TEST_CASE("local slots pack a server's blocks densely in block order", "[unit]") {
  for (uint32_t n : {2u, 3u, 5u, 8u}) {
    for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{12345}, Fnv1a64("/x")}) {
      for (ServerIndex s = 0; s < n; ++s) {
        std::vector<uint64_t> slots;
        for (uint64_t i = 0; i < 10 * n; ++i) {
          if (HoldsBlock(seed, n, s, i)) slots.push_back(LocalSlot(seed, n, s, i));
        }
        // Every server holds 2 of every N blocks (all of them when N = 2)...
        REQUIRE(slots.size() == 20);
        // ...in slots 0, 1, 2, ... in block order: no holes, no collisions.
        for (size_t k = 0; k < slots.size(); ++k) CHECK(slots[k] == k);
      }
    }
  }
}

TEST_CASE("block math", "[unit]") {
  CHECK(BlockCount(0, 512) == 0);
  CHECK(BlockCount(1, 512) == 1);
  CHECK(BlockCount(512, 512) == 1);
  CHECK(BlockCount(513, 512) == 2);
  CHECK(BlockLength(513, 512, 0) == 512);
  CHECK(BlockLength(513, 512, 1) == 1);
  CHECK(BlockLength(513, 512, 2) == 0);
}

TEST_CASE("a local slot maps back to its block", "[unit]") {
  for (uint32_t n : {2u, 3u, 5u, 7u}) {
    for (uint64_t seed : {0ull, 1ull, 12345ull, 0xfedcba9876543210ull}) {
      for (uint32_t s = 0; s < n; ++s) {
        for (uint64_t block = 0; block < 100; ++block) {
          if (!dfs::HoldsBlock(seed, n, s, block)) continue;
          CHECK(dfs::BlockOfSlot(seed, n, s, dfs::LocalSlot(seed, n, s, block)) == block);
        }
      }
    }
  }
}
