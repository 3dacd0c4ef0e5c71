// Rebuilder: brings a data server's store in line with the namespace when it
// starts (R6, R7). It asks the meta server which files exist, and for every
// data block this server should hold that is missing, corrupt, or older
// than a truncate, fetches the other holder's copy, verifies it and stores
// it. Blocks of files that no longer exist go to the trash. Runs on its own
// thread while the server answers requests (a block not rebuilt yet reads as
// missing, so readers use the other replica); versions decide, so a write
// that arrives meanwhile is never overwritten by an older rebuilt copy.
//
// It never stays stuck: a block whose other holder has no good copy either
// is reported (the server's log, `lost` in dfs status) and skipped; only a
// holder that cannot be reached is waited for. Progress goes to the log.
// Thread-safety: its thread shares the store (which locks itself) with the server loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/protocol.h"
#include "core/data/block_store.h"
#include "core/data/neighbours.h"

namespace dfs::data {

struct RebuildProgress {
  std::atomic<bool> running{false};
  std::atomic<uint64_t> files_checked{0};
  std::atomic<uint64_t> blocks_restored{0};
  std::atomic<uint64_t> bytes_restored{0};
  std::atomic<uint64_t> blocks_lost{0};  // no good copy on the other holder either
};

class Rebuilder {
 public:
  // `stop` ends the work early (the server is stopping).
  Rebuilder(BlockStore* store, Peers peers, const std::atomic<bool>* stop);
  ~Rebuilder();  // REQUIRES: *stop is set, or the rebuild is done

  void Start();
  const RebuildProgress& progress() const { return progress_; }

 private:
  void Run();
  // Checks and repairs one file's blocks on this server. False if a holder
  // it needed could not be reached (try again later).
  bool RebuildFile(const proto::Attr& file);
  // The same for blocks [from, end) of it.
  bool RebuildRange(const proto::Attr& file, uint64_t from, uint64_t end);
  bool stopping() const { return stop_->load(); }
  void Log(const char* fmt, ...);
  void MaybeReportProgress(bool force);

  BlockStore* store_;
  Peers peers_;
  const std::atomic<bool>* stop_;
  uint32_t index_;
  std::unique_ptr<Neighbours> neighbours_;  // the rebuild thread's
  std::thread thread_;
  RebuildProgress progress_;
  double started_ = 0;
  double last_report_ = 0;
};

}  // namespace dfs::data
