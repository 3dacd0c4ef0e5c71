#include <catch2/catch.hpp>

#include <string>

#include "core/common/checksum.h"

TEST_CASE("CRC32C matches the standard check value", "[unit]") {
  CHECK(dfs::Crc32c("123456789", 9) == 0xE3069283u);
  CHECK(dfs::Crc32c("", 0) == 0u);
}

TEST_CASE("CRC32C detects a flipped bit", "[unit]") {
  std::string block(512, 'x');
  uint32_t good = dfs::Crc32c(block.data(), block.size());
  block[100] ^= 1;
  CHECK(dfs::Crc32c(block.data(), block.size()) != good);
}
