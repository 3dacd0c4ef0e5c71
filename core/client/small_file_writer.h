// SmallFileWriter: writes many small files with few messages. A group of
// files (up to kMaxFiles or kMaxBytes) costs one meta request to create them
// all, one message per data server carrying all their blocks, and one meta
// request to commit their sizes, instead of all of that per file. Writes wait
// for down servers as FileWriter's do (R10); a file's size is committed only
// after both replicas hold its blocks. Each file is a staged copy that takes
// its name only at that commit (atomic replace, as FileWriter's staged
// writes); a group that fails leaves every name as it was.
// Thread-safety: one thread at a time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/client/data_client.h"
#include "core/client/lease_keeper.h"
#include "core/client/meta_client.h"
#include "core/client/options.h"

namespace dfs::client {

class SmallFileWriter {
 public:
  static constexpr size_t kMaxFiles = 256;
  static constexpr size_t kMaxBytes = 4 << 20;

  SmallFileWriter(DataClient* data, MetaClient* meta, LeaseKeeper* leases, uint32_t block_size)
      : data_(data), meta_(meta), leases_(leases), block_size_(block_size) {}

  // Queues a file (normalised path) with all its bytes; may write the group.
  // `entry`: mode and owner if the name is new (an existing one keeps its own).
  Status Add(std::string path, std::string bytes, const NewEntry& entry = NewEntry::File());

  // Writes what is queued.
  Status Finish();

 private:
  // Deletes staged copies that will not be published.
  void Abandon(const std::vector<uint64_t>& fids);

  DataClient* data_;
  MetaClient* meta_;
  LeaseKeeper* leases_;
  uint32_t block_size_;
  std::vector<std::pair<std::string, std::string>> pending_;
  std::vector<NewEntry> pending_entries_;  // beside pending_
  size_t pending_bytes_ = 0;
};

}  // namespace dfs::client
