// Scrubber: verifies every block a data server stores, in the background,
// without any client read (issue "Space and scrub"; docs/fsck.md).
//
// A pass visits every stored file, the least recently verified first: it
// checks the index header (rewriting a damaged one), reads the index and the
// data in order and checks each block against its checksum. A block the
// file's extent map no longer covers (past a shrink, in a hole, from a
// write that never committed) is dropped; a corrupt or stale copy is
// replaced by the other holder's, if that one verifies; a file the
// namespace no longer has goes to the trash. Reads are capped at `mbps` and
// wait while clients are being served. A full pass runs every `pass_days`;
// when each file was last verified and when the last pass ended survive a
// restart (DIR/SCRUB).
// Thread-safety: its thread shares the store (which locks itself) with the server loop;
// the counters are atomics, read by ServerStat.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/protocol.h"
#include "core/data/block_store.h"
#include "core/data/neighbours.h"
#include "core/data/rebuilder.h"

namespace dfs::data {

struct ScrubOptions {
  double pass_days = 7;    // a full pass this often
  double mbps = 50;        // at most this many MB/s read
  std::string state_path;  // where progress is kept
};

struct ScrubProgress {
  std::atomic<int64_t> last_pass_ns{0};  // end of the last full pass (wall clock); 0: none yet
  std::atomic<uint64_t> pass_blocks{0};  // verified in the pass under way (or the last one)
  std::atomic<uint64_t> found{0};        // bad copies found since the server started
  std::atomic<uint64_t> repaired{0};
  std::atomic<uint64_t> unrepaired{0};    // no good copy on the other holder either
  std::atomic<uint64_t> dropped{0};       // blocks no file owns, dropped
  std::atomic<uint64_t> orphan_files{0};  // files the namespace no longer has, trashed
};

class Scrubber {
 public:
  // `last_request_ns` is when the server last served a client (steady
  // clock); `rebuild` is waited for before the first pass.
  Scrubber(BlockStore* store, Peers peers, const std::atomic<bool>* stop, const std::atomic<int64_t>* last_request_ns,
           const RebuildProgress* rebuild, ScrubOptions options);
  ~Scrubber();  // REQUIRES: *stop is set

  void Start();
  const ScrubProgress& progress() const { return progress_; }

 private:
  void Run();
  // One pass over every stored file; false if some could not be checked.
  bool Pass();
  // False if it could not finish (the meta server or the store failed).
  bool ScrubFile(uint64_t fid);
  // Replaces bad copies from their other holders.
  void Repair(const proto::Attr& file, const FileLayout& key, const std::vector<BlockRecord>& bad);
  // Waits so that reads stay under the cap, and while clients are served.
  void Throttle(uint64_t bytes);
  void LoadState();
  void SaveState();
  bool stopping() const { return stop_->load(); }

  BlockStore* store_;
  Peers peers_;
  const std::atomic<bool>* stop_;
  const std::atomic<int64_t>* last_request_ns_;
  const RebuildProgress* rebuild_;
  ScrubOptions options_;
  uint32_t index_;
  std::unique_ptr<Neighbours> neighbours_;  // the scrub thread's
  std::map<uint64_t, int64_t> verified_;    // file id -> when last verified (wall ns)
  double budget_start_ = 0;                 // Throttle's clock
  uint64_t budget_bytes_ = 0;
  ScrubProgress progress_;
  std::thread thread_;
};

}  // namespace dfs::data
