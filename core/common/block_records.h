// Block records: the per-block part of a block batch, packed as fixed 32-byte
// little-endian records in one frame (docs/wire-protocol.md), so a batch of
// thousands of 512-byte blocks costs no per-block msgpack work.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace dfs {

// Version of a stored block: (write generation << kSeqBits) | sequence.
// Generations come from one cluster-wide counter on the meta server, so two
// different writes never share a version. 0 means "no block".
inline constexpr int kSeqBits = 24;
inline uint64_t MakeVersion(uint64_t generation, uint64_t seq) { return (generation << kSeqBits) | seq; }
inline uint64_t VersionGeneration(uint64_t version) { return version >> kSeqBits; }

enum class BlockState : uint32_t {
  kOk = 0,       // present and its checksum verifies
  kMissing = 1,  // not stored here
  kCorrupt = 2,  // stored, but the data does not match its checksum
};

const char* BlockStateName(BlockState s);

// Request flags.
inline constexpr uint32_t kWantData = 1;     // ReadBlocks: send the data, not just the verdict
inline constexpr uint32_t kRepairWrite = 2;  // WriteBlocks: a good copy replacing a bad one (logged)

struct BlockRecord {
  uint64_t index = 0;
  uint64_t version = 0;
  uint32_t crc = 0;
  uint32_t length = 0;
  uint32_t state = 0;  // BlockState in replies
  uint32_t flags = 0;  // request flags
};
static_assert(sizeof(BlockRecord) == 32);

std::string PackRecords(const std::vector<BlockRecord>& records);

// Checks the frame size (a multiple of 32 bytes, at most `max_records`).
Result<std::vector<BlockRecord>> UnpackRecords(std::string_view frame, size_t max_records);

}  // namespace dfs
