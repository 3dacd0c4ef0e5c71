// The read rule on its own: which copy is served and which is repaired.
#include "core/client/replica_choice.h"

#include <catch2/catch.hpp>

using namespace dfs;
using dfs::client::ChooseReplica;
using dfs::client::CopyAnswer;

namespace {

const uint64_t kGen = 5;

CopyAnswer Copy(BlockState state, uint64_t version, uint32_t crc = 0xabc, bool data_here = false) {
  CopyAnswer c;
  c.answered = true;
  c.record.state = static_cast<uint32_t>(state);
  c.record.version = version;
  c.record.crc = crc;
  c.record.length = 512;
  c.data_here = data_here && state == BlockState::kOk;
  c.data_verifies = c.data_here;
  return c;
}

CopyAnswer Silent() { return CopyAnswer{}; }

}  // namespace

TEST_CASE("two good copies of one version: the one whose bytes came is served, nothing repaired") {
  CopyAnswer copies[2] = {Copy(BlockState::kOk, MakeVersion(kGen, 1), 7, true),
                          Copy(BlockState::kOk, MakeVersion(kGen, 1), 7)};
  auto c = ChooseReplica(copies, kGen);
  CHECK(c.winner == 0);
  CHECK_FALSE(c.fetch);
  CHECK_FALSE(c.repair_other);
  CHECK_FALSE(c.mismatch);
}

TEST_CASE(
    "the newest verified copy wins even when the older one sent its bytes; the older is repaired") {
  CopyAnswer copies[2] = {Copy(BlockState::kOk, MakeVersion(kGen, 1), 7, true),
                          Copy(BlockState::kOk, MakeVersion(kGen, 2), 8)};
  auto c = ChooseReplica(copies, kGen);
  CHECK(c.winner == 1);
  CHECK(c.fetch);
  CHECK(c.repair_other);
  // And the other way round: the newest one sent its bytes.
  CopyAnswer swapped[2] = {Copy(BlockState::kOk, MakeVersion(kGen, 2), 8, true),
                           Copy(BlockState::kOk, MakeVersion(kGen, 1), 7)};
  c = ChooseReplica(swapped, kGen);
  CHECK(c.winner == 0);
  CHECK_FALSE(c.fetch);
  CHECK(c.repair_other);
}

TEST_CASE("a corrupt or missing copy loses to a good one and is repaired") {
  for (BlockState bad : {BlockState::kCorrupt, BlockState::kMissing}) {
    CopyAnswer copies[2] = {Copy(bad, MakeVersion(kGen, 9), 7, true),
                            Copy(BlockState::kOk, MakeVersion(kGen, 1), 8)};
    auto c = ChooseReplica(copies, kGen);
    CHECK(c.winner == 1);
    CHECK(c.fetch);
    CHECK(c.repair_other);
  }
}

TEST_CASE("a holder that did not answer is never repaired by a read (R11)") {
  CopyAnswer copies[2] = {Silent(), Copy(BlockState::kOk, MakeVersion(kGen, 1), 8, true)};
  auto c = ChooseReplica(copies, kGen);
  CHECK(c.winner == 1);
  CHECK_FALSE(c.fetch);
  CHECK_FALSE(c.repair_other);
}

TEST_CASE("a copy older than the file's last truncate is stale: it never wins and is repaired") {
  CopyAnswer copies[2] = {Copy(BlockState::kOk, MakeVersion(kGen - 1, 9), 7, true),
                          Copy(BlockState::kOk, MakeVersion(kGen, 1), 8)};
  auto c = ChooseReplica(copies, kGen);
  CHECK(c.winner == 1);
  CHECK(c.repair_other);
  CopyAnswer both_old[2] = {Copy(BlockState::kOk, MakeVersion(kGen - 1, 9), 7, true),
                            Copy(BlockState::kOk, MakeVersion(kGen - 1, 9), 7)};
  CHECK(ChooseReplica(both_old, kGen).winner == -1);
}

TEST_CASE("no good copy anywhere: no winner") {
  CopyAnswer copies[2] = {Copy(BlockState::kCorrupt, MakeVersion(kGen, 1), 7, true), Silent()};
  CHECK(ChooseReplica(copies, kGen).winner == -1);
  CopyAnswer none[2] = {Silent(), Silent()};
  CHECK(ChooseReplica(none, kGen).winner == -1);
}

TEST_CASE("equal versions that differ are a mismatch: one is served, neither is repaired") {
  CopyAnswer copies[2] = {Copy(BlockState::kOk, MakeVersion(kGen, 3), 7, true),
                          Copy(BlockState::kOk, MakeVersion(kGen, 3), 8)};
  auto c = ChooseReplica(copies, kGen);
  CHECK(c.mismatch);
  CHECK(c.winner == 0);
  CHECK_FALSE(c.fetch);
  CHECK_FALSE(c.repair_other);
}

TEST_CASE(
    "bytes damaged on the way: the other copy is fetched, the sender's stored copy is not "
    "repaired") {
  CopyAnswer copies[2] = {Copy(BlockState::kOk, MakeVersion(kGen, 1), 7, true),
                          Copy(BlockState::kOk, MakeVersion(kGen, 1), 7)};
  copies[0].data_verifies = false;
  auto c = ChooseReplica(copies, kGen);
  CHECK(c.winner == 1);
  CHECK(c.fetch);
  CHECK_FALSE(c.repair_other);
  copies[1] = Silent();
  CHECK(ChooseReplica(copies, kGen).winner == -1);
}
