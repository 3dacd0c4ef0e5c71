// Neighbours: what a data server's background work (rebuild, scrub,
// reclaim) asks of the rest of the cluster: the meta server (which files
// exist, their extent maps, which were deleted) and the other data servers
// (their copies of blocks). One per thread: it owns its connections. Every
// wait gives up soon after `stop` is set, so a server stops within seconds.
// Thread-safety: one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/common/block_records.h"
#include "core/common/protocol.h"
#include "base/status.h"
#include "core/data/block_store.h"

namespace dfs::transport {
class Channel;
}

namespace dfs::data {

// A data server's answer to a block read: per block its record, and the
// data of those asked with kWantData that verified, in order.
struct Copies {
  std::vector<BlockRecord> records;
  std::string data;
};

class Neighbours {
 public:
  Neighbours(std::string meta, std::vector<std::string> servers, const std::atomic<bool>* stop);
  ~Neighbours();

  const std::string& meta_endpoint() const { return meta_; }

  Result<proto::ListFilesRsp> ListFiles(uint64_t after_fid, uint32_t limit);
  // The file with id `fid`, or NotFound; `next_fid` gets the meta server's
  // file id counter (ids below it were handed out).
  Result<proto::Attr> File(uint64_t fid, uint64_t* next_fid);
  // The blocks of a file that hold data: its extent map, clipped to its size.
  Result<std::vector<std::pair<uint64_t, uint64_t>>> DataRanges(const proto::Attr& file);
  Result<proto::ListDeletedRsp> ListDeleted(uint64_t after);

  // Asks data server `server` for blocks `ask` (index and flags) of a file;
  // ReceiveRead takes the answer. Several servers may be asked before the
  // first answer is taken.
  Status SendRead(uint32_t server, const FileKey& key, const std::vector<BlockRecord>& ask);
  Result<Copies> ReceiveRead(uint32_t server, size_t asked);

 private:
  template <proto::Op op>
  Status CallMeta(const typename proto::OpSpec<op>::Request& req, typename proto::OpSpec<op>::Reply* rsp);

  std::string meta_;
  std::unique_ptr<transport::Channel> meta_channel_;
  std::vector<std::unique_ptr<transport::Channel>> peers_;
};

// Sleeps up to `seconds`; false if `stop` was set meanwhile.
bool SleepUnlessStopped(double seconds, const std::atomic<bool>& stop);

}  // namespace dfs::data
