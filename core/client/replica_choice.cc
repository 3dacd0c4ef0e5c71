#include "core/client/replica_choice.h"

namespace dfs::client {
namespace {

bool Verified(const CopyAnswer& c) {
  return c.answered && c.record.state == static_cast<uint32_t>(BlockState::kOk);
}

}  // namespace

ReplicaChoice ChooseReplica(const CopyAnswer (&copies)[2], uint64_t truncate_generation) {
  auto usable = [&](const CopyAnswer& c) {
    return Verified(c) && VersionGeneration(c.record.version) >= truncate_generation &&
           !(c.data_here && !c.data_verifies);
  };
  ReplicaChoice choice;
  for (int h = 0; h < 2; ++h) {
    if (!usable(copies[h])) continue;
    const int best = choice.winner;
    if (best < 0 || copies[h].record.version > copies[best].record.version ||
        (copies[h].record.version == copies[best].record.version && copies[h].data_here)) {
      choice.winner = h;
    }
  }
  const CopyAnswer& a = copies[0];
  const CopyAnswer& b = copies[1];
  choice.mismatch = Verified(a) && Verified(b) && a.record.version == b.record.version &&
                    (a.record.crc != b.record.crc || a.record.length != b.record.length);
  if (choice.winner < 0) return choice;
  const CopyAnswer& win = copies[choice.winner];
  const CopyAnswer& other = copies[1 - choice.winner];
  choice.fetch = !win.data_here;
  choice.repair_other =
      other.answered && !(Verified(other) && other.record.version >= win.record.version);
  return choice;
}

}  // namespace dfs::client
