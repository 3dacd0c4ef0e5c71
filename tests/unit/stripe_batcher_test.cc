// The one batch builder: every block to both its holders, checksummed,
// bytes beside their records; many files in one batch as runs.
#include "core/client/stripe_batcher.h"

#include <catch2/catch.hpp>

#include "core/common/checksum.h"

using namespace dfs;
using dfs::client::Batch;
using dfs::client::StripeBatcher;

namespace {

proto::Attr File(uint64_t fid, uint64_t seed) {
  proto::Attr a;
  a.fid = fid;
  a.placement_seed = seed;
  a.stripe_width = 4;
  a.block_size = 8;
  return a;
}

}  // namespace

TEST_CASE("a block goes to both its holders, with its checksum, and nowhere else") {
  const proto::Attr a = File(7, 11);
  StripeBatcher batcher(proto::Op::kWriteBlocks, 4);
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += std::string(8, static_cast<char>('a' + i));
  for (uint64_t i = 0; i < 10; ++i) batcher.AddBlock(a, i, 5, bytes.data() + i * 8, 8);
  auto batches = batcher.Take();
  CHECK(batcher.empty());
  uint64_t copies = 0;
  for (const auto& b : batches) {
    CHECK(b->op == proto::Op::kWriteBlocks);
    CHECK(b->retry_while_down);
    CHECK(b->req.file.fid == 7);
    REQUIRE(b->data.size() == 8 * b->records.size());
    for (size_t k = 0; k < b->records.size(); ++k) {
      const BlockRecord& r = b->records[k];
      INFO("server " << b->req.server << " block " << r.index);
      CHECK(HoldsBlock(a.placement_seed, a.stripe_width, b->req.server, r.index));
      CHECK(b->data.substr(8 * k, 8) == bytes.substr(r.index * 8, 8));
      CHECK(r.crc == Crc32c(bytes.data() + r.index * 8, 8));
      CHECK(r.version == 5);
      ++copies;
    }
  }
  CHECK(copies == 20);
}

TEST_CASE("many files in one batch per server: runs count each file's records") {
  StripeBatcher batcher(proto::Op::kWriteFiles, 4);
  const std::string bytes(24, 'x');
  const proto::Attr files[] = {File(1, 0), File(2, 1), File(3, 2)};
  for (const auto& f : files) {
    for (uint64_t i = 0; i < 3; ++i) batcher.AddBlock(f, i, 9, bytes.data() + i * 8, 8);
  }
  auto batches = batcher.Take();
  CHECK(batches.size() == 4);
  uint64_t records = 0;
  for (const auto& b : batches) {
    uint64_t counted = 0;
    for (const proto::FileRun& run : b->files) counted += run.count;
    CHECK(counted == b->records.size());
    records += b->records.size();
  }
  CHECK(records == 18);
}
