// StripeBatcher: cuts writes into per-server block batches. Each block is
// checksummed once and added, with its bytes, to the batch of both its
// holders (R4), or of one holder for a repair. The one builder behind every
// writer: FileWriter, PatchWriter, SmallFileWriter and the read repair.
// Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <vector>

#include "core/client/data_client.h"
#include "core/common/placement.h"

namespace dfs::client {

class StripeBatcher {
 public:
  // `op` is kWriteBlocks (every block of one file) or kWriteFiles (blocks of
  // many files, added file after file); `servers` is the cluster's size.
  // Writes wait for a holder that is down (R10) when `retry_while_down`.
  StripeBatcher(proto::Op op, uint32_t servers, bool retry_while_down = true);

  // Bytes each new batch reserves for its data.
  void Reserve(size_t bytes) { reserve_ = bytes; }

  // Block `index` of `file` at `version`: checksummed, then added to the
  // batches of both its holders.
  void AddBlock(const proto::Attr& file, BlockIndex index, uint64_t version, const char* bytes, uint32_t length);

  // `record` (index, version, crc, length, flags set) with its bytes, to
  // `server` only.
  void AddTo(const proto::Attr& file, uint32_t server, const BlockRecord& record, const char* bytes);

  bool empty() const { return batches_.empty(); }
  // The batches made so far, in the order they were started.
  std::vector<std::unique_ptr<Batch>> Take();
  std::vector<Batch*> List() const;

 private:
  Batch* For(const proto::Attr& file, uint32_t server);

  const proto::Op op_;
  const bool retry_while_down_;
  size_t reserve_ = 0;
  std::vector<Batch*> by_server_;
  std::vector<std::unique_ptr<Batch>> batches_;
};

}  // namespace dfs::client
