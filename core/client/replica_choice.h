// Which copy of a block a read serves, and whether the other is repaired:
// a pure function of what the two holders answered, so that the rule is
// tested on its own (tests/unit/replica_choice_test.cc).
#pragma once

#include <cstdint>

#include "core/common/block_records.h"

namespace dfs::client {

// What one holder said of its copy of a block in a read.
struct CopyAnswer {
  bool answered = false;       // its server replied (otherwise down, or lost the reply)
  BlockRecord record;          // state, version, crc and length, when it answered
  bool data_here = false;      // its bytes came with the answer
  bool data_verifies = false;  // those bytes match record.crc (otherwise damaged on the way)
};

struct ReplicaChoice {
  int winner = -1;            // holder (0 first, 1 second) whose copy is served; -1: none is good
  bool fetch = false;         // the winner's bytes are not here yet: ask its holder
  bool repair_other = false;  // write the winner's copy over the other holder's (R9)
  bool mismatch = false;      // same version, different bytes: one is served, neither repaired
};

// The rule (DESIGN.md section 7, R9, R11): the newest copy that verifies
// and is not older than the file's last truncate wins; of two equal
// versions, the one whose bytes are here. The other holder is repaired when
// it answered with a missing, corrupt or older copy, never when its copy is
// as new as the winner's: two copies of one version that differ cannot be
// told apart (a bug or a forgery), so they are reported, not overwritten.
ReplicaChoice ChooseReplica(const CopyAnswer (&copies)[2], uint64_t truncate_generation);

}  // namespace dfs::client
