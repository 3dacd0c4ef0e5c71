// FileWriter: streams a file's bytes to its data servers.
//
// Bytes are cut into blocks, each checksummed once, and sent in per-server
// batches to both replicas in parallel, a few windows in flight. Close()
// returns only when both replicas hold every block (R10), then commits the
// size to the meta server (commit after data). Memory stays bounded whatever
// the file size.
// Thread-safety: one thread at a time.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/client/data_client.h"
#include "core/client/meta_client.h"
#include "core/common/protocol.h"

namespace dfs::client {

class FileWriter {
 public:
  FileWriter(DataClient* data, MetaClient* meta, proto::Attr attr);
  ~FileWriter();

  // Appends bytes at the end of what was written so far.
  Status Write(const char* bytes, size_t length);

  // Makes everything written so far durable on both replicas and commits
  // the size, leaving the writer open for more (FUSE flush, fsync).
  Status Flush();

  // Sends what is buffered, waits for both replicas, commits the size.
  Status Close();

  const proto::Attr& attr() const { return attr_; }

 private:
  struct Window {
    std::vector<std::unique_ptr<Batch>> batches;
  };
  Status Dispatch(size_t length);
  Status WaitWindows(size_t max_in_flight);

  DataClient* data_;
  MetaClient* meta_;
  proto::Attr attr_;
  size_t window_bytes_;
  std::string buffer_;         // bytes not yet dispatched
  uint64_t buffer_offset_ = 0; // file offset of buffer_[0]
  std::deque<Window> in_flight_;
  bool closed_ = false;
  uint64_t seq_ = 0;  // bumped by Flush: a block sent again gets a newer version
};

}  // namespace dfs::client
