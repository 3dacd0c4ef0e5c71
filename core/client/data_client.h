// DataClient: block batches to the data servers, pipelined.
//
// Keeps one channel per data server and up to kDepth batches in flight on
// each. Write batches to a server that is down are resent with backoff until
// it answers (R10) or the write timeout passes; the first wait and the resume
// are reported once per outage. Read batches fail fast with Unavailable so the
// caller can use the other replica.
// Thread-safety: one thread at a time.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/client/options.h"
#include "core/common/block_records.h"
#include "core/common/protocol.h"

namespace dfs::transport {
class Channel;
}

namespace dfs::client {

struct Batch {
  proto::Op op = proto::Op::kReadBlocks;
  proto::BlockBatchReq req;           // file and target server (req.server always)
  std::vector<proto::FileRun> files;  // kWriteFiles: how records split among files
  std::vector<BlockRecord> records;   // what to write or read
  std::string data;                   // write payload (moved to `sealed` when first sent)
  transport::SharedBytes sealed;      // the payload as sent, kept for a resend
  bool retry_while_down = false;      // writes: wait for the server (R10)

  // Filled in when done.
  bool done = false;
  Status status;
  std::vector<BlockRecord> reply_records;
  std::string reply_data;
};

class DataClient {
 public:
  static constexpr int kDepth = 4;

  DataClient(std::vector<std::string> endpoints, const ClientOptions& options);
  const ClientOptions& options() const { return options_; }
  ~DataClient();

  size_t size() const { return servers_.size(); }
  const std::string& endpoint(uint32_t server) const;

  // Queues a batch; it is sent as soon as its server has room. The batch must
  // stay alive until it is done.
  void Submit(Batch* batch);

  // Sends and receives until `done()` holds. Fails if a write batch failed
  // (its error) or waited past the write timeout; read failures are left in
  // their batches.
  Status RunUntil(const std::function<bool()>& done);

  // Submit + RunUntil for a set of batches.
  Status RunAll(const std::vector<Batch*>& batches);

  // RunAll for write batches that must all succeed: the first error of any
  // of them; on failure nothing is left in flight.
  Status RunWrites(const std::vector<Batch*>& batches);

  // True while `server` is believed down (its last request failed).
  bool LikelyDown(uint32_t server) const;

  // Drops every queued and in-flight batch (an operation gave up).
  void Abort();

  // A simple request to one server (flush, delete, stat), failing fast.
  Result<transport::Message> Call(uint32_t server, transport::Message request);

  // Moves the blocks of a file that is gone to each holder's trash. Best
  // effort: a holder that is down cleans up when it comes back. A file
  // whose size was never committed (an abandoned copy) may have blocks on
  // every server: `uncommitted` asks them all.
  void DeleteBlocks(const proto::Attr& file, bool uncommitted = false);

  // Servers sent block writes since they were last marked synced: the ones a
  // durability point (FileSystem::Sync) must flush.
  const std::set<uint32_t>& unsynced() const { return unsynced_; }
  void MarkSynced(const std::set<uint32_t>& servers);

 private:
  struct Server;
  void Pump(uint32_t s);
  Status OnFailure(uint32_t s, const Status& why);
  Status Complete(uint32_t s, Batch* b, Result<transport::Message> reply);

  ClientOptions options_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::set<uint32_t> unsynced_;
};

}  // namespace dfs::client
