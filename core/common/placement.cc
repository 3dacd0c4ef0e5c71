#include "core/common/placement.h"

namespace dfs {

PlacementSeed Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

ReplicaPair PlaceBlock(PlacementSeed seed, uint32_t stripe_width, BlockIndex block) {
  uint64_t n = stripe_width;
  uint64_t first = (seed % n + block % n) % n;
  return ReplicaPair{static_cast<ServerIndex>(first), static_cast<ServerIndex>((first + 1) % n)};
}

bool HoldsBlock(PlacementSeed seed, uint32_t stripe_width, ServerIndex server, BlockIndex block) {
  ReplicaPair p = PlaceBlock(seed, stripe_width, block);
  return p.first == server || p.second == server;
}

uint64_t LocalSlot(PlacementSeed seed, uint32_t stripe_width, ServerIndex server, BlockIndex block) {
  uint64_t n = stripe_width;
  // Residues (block mod N) of the two blocks per stripe this server holds:
  // as replica 2 of residue b and as replica 1 of residue b+1.
  uint64_t b = (server + n - 1 + n - seed % n) % n;
  uint64_t c = (b + 1) % n;
  uint64_t later = b > c ? b : c;
  return 2 * (block / n) + (block % n == later ? 1 : 0);
}

BlockIndex BlockOfSlot(PlacementSeed seed, uint32_t stripe_width, ServerIndex server, uint64_t slot) {
  uint64_t n = stripe_width;
  uint64_t b = (server + n - 1 + n - seed % n) % n;
  uint64_t c = (b + 1) % n;
  uint64_t residue = slot % 2 == 0 ? (b < c ? b : c) : (b > c ? b : c);
  return (slot / 2) * n + residue;
}

}  // namespace dfs
