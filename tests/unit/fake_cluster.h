// FakeCluster: a meta server and data servers inside the test process, on
// the fake network (fake_network.h), their block stores on in-memory
// FaultDisks (fault_disk.h) and the namespace in SQLite in a temporary
// directory. The client under test is the real one: FileSystem, DataClient,
// MetaClient, FileReader and the writers, with their ClientOptions pointed
// at the fake network. Faults: cut, drop or delay a server's messages on
// the network, damage its stored blocks through its store.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "core/data/block_store.h"
#include "core/data/data_service.h"
#include "core/meta/meta_service.h"
#include "core/meta/meta_store.h"
#include "fake_network.h"
#include "fault_disk.h"
#include "temp_dir.h"

namespace dfs::testing {

class FakeCluster {
 public:
  explicit FakeCluster(uint32_t data_servers = 3, uint32_t block_size = 512);
  ~FakeCluster();

  FakeNetwork network;
  const std::string meta_endpoint = "tcp://meta.fake:7100";
  std::vector<std::string> data_endpoints;  // server i at position i

  // Options for a client of this cluster; notices land in notices().
  client::ClientOptions Options();
  // A connected client; fails the test if it cannot connect.
  std::unique_ptr<client::FileSystem> Connect(client::ClientOptions options);
  std::unique_ptr<client::FileSystem> Connect() { return Connect(Options()); }

  data::BlockStore& store(uint32_t server) { return *stores_[server]; }
  // What clients reported (waits, resumes, repairs), in order.
  std::vector<std::string> notices();

  // Server `server`'s stored record of one block of the file, after a
  // local verify (state, version, crc, length).
  BlockRecord Stored(uint32_t server, const proto::Attr& file, uint64_t block);
  // Writes a block straight into a server's store, as a stale or forged
  // copy would be: version and bytes as given.
  void Plant(uint32_t server, const proto::Attr& file, uint64_t block, uint64_t version, const std::string& bytes);
  // Removes one server's blocks of a file (to its trash), as a lost copy.
  void Forget(uint32_t server, const proto::Attr& file);

 private:
  TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_store_;
  std::unique_ptr<meta::MetaService> meta_service_;
  std::mutex meta_mu_;
  std::vector<std::unique_ptr<FaultDisk>> disks_;
  std::vector<std::unique_ptr<data::BlockStore>> stores_;
  std::vector<std::unique_ptr<data::DataService>> services_;
  std::mutex notices_mu_;
  std::vector<std::string> notices_;
};

// Bytes that differ with `seed`, the same for the same seed.
std::string Pattern(size_t n, int seed);
// The whole of `path` written as one copy (CreateReplacing, Write, Close).
Status Write(client::FileSystem& fs, const std::string& path, const std::string& bytes);
// The whole of `path`; fails the test if it cannot be read.
std::string ReadAll(client::FileSystem& fs, const std::string& path);

}  // namespace dfs::testing
