// Rebuilder: brings a data server's store in line with the namespace when it
// starts (R6, R7). It asks the meta server which files exist, and for every
// block this server should hold that is missing, corrupt, or older than the
// other holder's copy, fetches the other holder's copy, verifies it and
// stores it. Blocks of files that no longer exist go to the trash; old trash
// is purged. Runs on its own thread while the server answers requests (a
// block not rebuilt yet reads as missing, so readers use the other replica);
// versions decide, so a write that arrives meanwhile is never overwritten by
// an older rebuilt copy. Progress goes to the server's log.
// Thread-safety: the store is shared with the server loop under `store_mu`.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/protocol.h"
#include "core/data/block_store.h"

namespace dfs::transport {
class Channel;
}

namespace dfs::data {

struct RebuildProgress {
  std::atomic<bool> running{false};
  std::atomic<uint64_t> files_checked{0};
  std::atomic<uint64_t> blocks_restored{0};
  std::atomic<uint64_t> bytes_restored{0};
};

class Rebuilder {
 public:
  Rebuilder(BlockStore* store, std::mutex* store_mu, std::string meta, std::vector<std::string> servers,
            double trash_grace_s);
  ~Rebuilder();

  void Start();
  const RebuildProgress& progress() const { return progress_; }

 private:
  void Run();
  // Checks and repairs one file's blocks on this server. False if a holder
  // it needed was down (try again later).
  bool RebuildFile(const proto::Attr& file);
  // Checks and repairs blocks [first, end) of a file (all data blocks).
  bool RebuildRange(const proto::Attr& file, uint64_t first, uint64_t end);
  // The data ranges [first, end) of a file: its extent map.
  Result<std::vector<std::pair<uint64_t, uint64_t>>> DataRanges(const proto::Attr& file);
  void Log(const char* fmt, ...);
  void MaybeReportProgress(bool force);

  BlockStore* store_;
  std::mutex* store_mu_;
  std::string meta_;
  std::vector<std::string> servers_;
  double trash_grace_s_;
  uint32_t index_;
  std::vector<std::unique_ptr<transport::Channel>> peers_;
  std::unique_ptr<transport::Channel> meta_channel_;  // the rebuild thread's
  std::thread thread_;
  std::atomic<bool> stop_{false};
  RebuildProgress progress_;
  double started_ = 0;
  double last_report_ = 0;
};

}  // namespace dfs::data
