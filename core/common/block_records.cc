#include "core/common/block_records.h"

#include <cstring>

namespace dfs {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "records are packed little-endian");

const char* BlockStateName(BlockState s) {
  switch (s) {
    case BlockState::kOk:
      return "ok";
    case BlockState::kMissing:
      return "missing";
    case BlockState::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

std::string PackRecords(const std::vector<BlockRecord>& records) {
  std::string out(records.size() * sizeof(BlockRecord), '\0');
  if (!records.empty()) std::memcpy(out.data(), records.data(), out.size());
  return out;
}

Result<std::vector<BlockRecord>> UnpackRecords(std::string_view frame, size_t max_records) {
  if (frame.size() % sizeof(BlockRecord) != 0) {
    return InvalidArgument("block record frame of " + std::to_string(frame.size()) + " bytes is not a multiple of 32");
  }
  size_t n = frame.size() / sizeof(BlockRecord);
  if (n > max_records) {
    return InvalidArgument("batch of " + std::to_string(n) + " blocks exceeds the limit of " +
                           std::to_string(max_records));
  }
  std::vector<BlockRecord> records(n);
  if (n) std::memcpy(records.data(), frame.data(), frame.size());
  return records;
}

}  // namespace dfs
