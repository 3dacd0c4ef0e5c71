// Reclaimer: gives the disk back (issue "Space and scrub"). Every few
// seconds it asks the meta server which files were deleted since it last
// asked (a delete while this server was down included: it starts from the
// beginning) and moves their blocks to the trash; then it empties the trash
// of what outlived the grace period, and, oldest first, of whatever it must
// to keep `reserve_bytes` free. It acts only on the word of the meta server
// of its own cluster.
// Thread-safety: its thread shares the store (which locks itself) with the server loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/data/block_store.h"
#include "core/data/neighbours.h"

namespace dfs::data {

class Reclaimer {
 public:
  Reclaimer(BlockStore* store, Peers peers, std::string cluster_id, uint64_t reserve_bytes, double period_s,
            const std::atomic<bool>* stop);
  ~Reclaimer();  // REQUIRES: *stop is set

  void Start();
  uint64_t files_reclaimed() const { return files_reclaimed_; }
  uint64_t reserve_bytes() const { return reserve_bytes_; }

 private:
  void Run();
  void Round();

  BlockStore* store_;
  Peers peers_;
  std::string cluster_id_;
  uint64_t reserve_bytes_;
  double period_s_;
  const std::atomic<bool>* stop_;
  uint64_t cursor_ = 0;  // position in the meta server's list of deleted files
  std::atomic<uint64_t> files_reclaimed_{0};
  std::unique_ptr<Neighbours> neighbours_;
  std::thread thread_;
};

}  // namespace dfs::data
