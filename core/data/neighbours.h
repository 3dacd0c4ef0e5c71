// Neighbours: what a data server's background work (rebuild, scrub,
// reclaim) asks of the rest of the cluster: the meta server (which files
// exist, their extent maps, which were deleted) and the other data servers
// (their copies of blocks). It reaches them through the same clients as
// `dfs` does (client::MetaClient, client::DataClient), so a block read is
// encoded, pipelined, timed out and checked in one place. One per thread: it
// owns its connections. Every wait gives up soon after `stop` is set, so a
// server stops within seconds.
// Thread-safety: one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "core/client/data_client.h"
#include "core/client/meta_client.h"
#include "core/common/block_records.h"
#include "core/common/protocol.h"
#include "core/data/block_store.h"

namespace dfs::data {

// Where the rest of the cluster is, and how to reach it.
struct Peers {
  std::string meta;                  // the meta server's endpoint
  std::vector<std::string> servers;  // data server i's endpoint at position i
  transport::Connector connect;      // null: ZeroMQ; tests put a fake network here
};

class Neighbours {
 public:
  Neighbours(const Peers& peers, const std::atomic<bool>* stop);
  ~Neighbours();

  Result<proto::ListFilesRsp> ListFiles(uint64_t after_fid, uint32_t limit);
  // The file with id `fid`, or NotFound; `next_fid` gets the meta server's
  // file id counter (ids below it were handed out).
  Result<proto::Attr> File(uint64_t fid, uint64_t* next_fid);
  // The blocks of a file that hold data: its extent map, clipped to its size.
  Result<std::vector<std::pair<uint64_t, uint64_t>>> DataRanges(const proto::Attr& file);
  Result<proto::ListDeletedRsp> ListDeleted(uint64_t after);

  // A read of blocks `ask` (index and flags) of a file from data server `server`.
  static client::Batch ReadBatch(const FileLayout& key, uint32_t server, std::vector<BlockRecord> ask);
  // Runs the batches in parallel, each to its server. Each batch's status
  // says how it went (Unavailable: its server could not be reached); the
  // result is an error only if the server is stopping.
  Status Read(std::vector<client::Batch>* batches);

 private:
  client::MetaClient meta_;
  client::DataClient peers_;
};

// Sleeps up to `seconds`; false if `stop` was set meanwhile.
bool SleepUnlessStopped(double seconds, const std::atomic<bool>& stop);

}  // namespace dfs::data
