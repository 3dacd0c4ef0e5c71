// FileWriter: streams a file's bytes to its data servers.
//
// Bytes are cut into blocks, each checksummed once, and sent in per-server
// batches to both replicas in parallel, a few windows in flight. Close()
// returns only when both replicas hold every block (R10), then commits the
// size and the blocks written to the meta server (commit after data),
// under the writer's generation and lease (docs/leases.md). Skip() leaves a
// hole: no blocks, zeros when read. Memory stays bounded whatever the file
// size.
//
// A staged writer (FileSystem::CreateReplacing) writes a new file id that
// Close() publishes at its name; destroyed before that, it abandons the
// file: the meta server deletes it and its blocks go to the trash, and the
// name keeps what it had.
// Thread-safety: one thread at a time.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/client/data_client.h"
#include "core/client/lease_keeper.h"
#include "core/client/meta_client.h"
#include "core/common/protocol.h"

namespace dfs::client {

// Gives up staged copies that will not be published: the meta server
// deletes them, and their blocks go to the data servers' trash.
void AbandonCopies(MetaClient* meta, DataClient* data, LeaseKeeper* leases, const std::vector<uint64_t>& fids);

class FileWriter {
 public:
  // REQUIRES: attr comes from Create (a fresh generation) and `leases`
  // holds its lease; staged if it was created with `replace`.
  FileWriter(DataClient* data, MetaClient* meta, LeaseKeeper* leases, proto::Attr attr, bool staged);
  ~FileWriter();

  // Appends bytes at the end of what was written so far. Writes of whole
  // windows (window_bytes()) while nothing is buffered are cut into batches
  // straight from `bytes`: each byte is copied once per replica, into its
  // batch, and sent from there.
  Status Write(const char* bytes, size_t length);
  size_t window_bytes() const { return window_bytes_; }

  // Appends `length` bytes of hole.
  Status Skip(uint64_t length);

  // Makes everything written so far durable on both replicas and commits
  // the size, leaving the writer open for more (FUSE flush, fsync). Not
  // for a staged writer, whose file has no name until Close.
  Status Flush();

  // Sends what is buffered, waits for both replicas, commits the size (and
  // for a staged writer, publishes the file at its name).
  Status Close();

  const proto::Attr& attr() const { return attr_; }
  // A fresh capability for the file (a file held open for writing longer
  // than one lasts); ignored unless it is for this file and generation.
  void RenewCapability(const Capability& cap) {
    if (cap.fid == attr_.fid && cap.generation == attr_.generation) attr_.cap = cap;
  }

 private:
  struct Window {
    std::vector<std::unique_ptr<Batch>> batches;
  };
  // Sends `length` bytes at buffer_offset_ as one window.
  Status Dispatch(const char* bytes, size_t length);
  Status DispatchBuffer();
  Status WaitWindows(size_t max_in_flight);
  Status Commit(uint64_t size, bool publish);
  void Abandon();

  DataClient* data_;
  MetaClient* meta_;
  LeaseKeeper* leases_;
  proto::Attr attr_;
  const bool staged_;
  size_t window_bytes_;
  std::string buffer_;          // bytes not yet dispatched
  uint64_t buffer_offset_ = 0;  // file offset of buffer_[0], a block boundary
  std::deque<Window> in_flight_;
  std::vector<uint64_t> ranges_;  // block ranges sent since the last commit: first, end, ...
  bool closed_ = false;
  bool published_ = false;
  uint64_t seq_ = 0;  // bumped by Flush: a block sent again gets a newer version
};

}  // namespace dfs::client
