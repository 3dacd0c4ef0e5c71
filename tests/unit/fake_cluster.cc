#include "fake_cluster.h"

#include <catch2/catch.hpp>

#include "core/common/checksum.h"

namespace dfs::testing {

FakeCluster::FakeCluster(uint32_t data_servers, uint32_t block_size) {
  for (uint32_t i = 0; i < data_servers; ++i) {
    data_endpoints.push_back("tcp://data" + std::to_string(i) + ".fake:7101");
  }
  auto meta = meta::MetaStore::Open(dir_.path());
  REQUIRE(meta.ok());
  meta_store_ = std::move(*meta);
  REQUIRE(meta_store_->SetServers(data_endpoints).ok());
  REQUIRE(meta_store_->SetDefaultBlockSize(block_size).ok());
  meta_service_ = std::make_unique<meta::MetaService>(meta_store_.get());
  network.Serve(meta_endpoint, [this](transport::Message&& m) {
    std::lock_guard<std::mutex> lock(meta_mu_);
    return meta_service_->Handle(std::move(m));
  });
  for (uint32_t i = 0; i < data_servers; ++i) {
    disks_.push_back(std::make_unique<FaultDisk>());
    data::BlockStoreOptions options;
    options.disk = disks_.back().get();
    auto store = data::BlockStore::Open("/data" + std::to_string(i), meta_store_->config().cluster_id, i, options);
    REQUIRE(store.ok());
    stores_.push_back(std::move(*store));
    services_.push_back(std::make_unique<data::DataService>(stores_.back().get(), data::ServiceParts{},
                                                            meta_store_->config().cluster_id));
    data::DataService* service = services_.back().get();
    network.Serve(data_endpoints[i], [service](transport::Message&& m) { return service->Handle(std::move(m)); });
  }
}

FakeCluster::~FakeCluster() = default;

client::ClientOptions FakeCluster::Options() {
  client::ClientOptions options;
  options.meta = meta_endpoint;
  options.connect = network.connector();
  options.verbose = true;
  options.notice = [this](const std::string& note) {
    std::lock_guard<std::mutex> lock(notices_mu_);
    notices_.push_back(note);
  };
  return options;
}

std::unique_ptr<client::FileSystem> FakeCluster::Connect(client::ClientOptions options) {
  auto fs = client::FileSystem::Connect(options);
  REQUIRE(fs.ok());
  return std::move(*fs);
}

std::vector<std::string> FakeCluster::notices() {
  std::lock_guard<std::mutex> lock(notices_mu_);
  return notices_;
}

BlockRecord FakeCluster::Stored(uint32_t server, const proto::Attr& file, uint64_t block) {
  std::vector<BlockRecord> records(1);
  records[0].index = block;
  std::string data;
  REQUIRE(stores_[server]->Read(file.layout(), &records, &data).ok());
  return records[0];
}

void FakeCluster::Plant(uint32_t server, const proto::Attr& file, uint64_t block, uint64_t version,
                        const std::string& bytes) {
  BlockRecord r;
  r.index = block;
  r.version = version;
  r.length = static_cast<uint32_t>(bytes.size());
  r.crc = Crc32c(bytes.data(), bytes.size());
  r.flags = kRepairWrite;
  REQUIRE(stores_[server]->Write(file.layout(), {r}, bytes).ok());
}

void FakeCluster::Forget(uint32_t server, const proto::Attr& file) { REQUIRE(stores_[server]->Delete(file.fid).ok()); }

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = 2654435761u * (seed + 1);
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245 + 12345;
    s[i] = static_cast<char>(x >> 16);
  }
  return s;
}

Status Write(client::FileSystem& fs, const std::string& path, const std::string& bytes) {
  auto w = fs.CreateReplacing(path);
  if (!w.ok()) return w.status();
  DFS_RETURN_IF_ERROR((*w)->Write(bytes.data(), bytes.size()));
  return (*w)->Close();
}

std::string ReadAll(client::FileSystem& fs, const std::string& path) {
  auto a = fs.Stat(path);
  REQUIRE(a.ok());
  std::string out;
  Status st = fs.ReadInto(*a, path, 0, a->size, &out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

}  // namespace dfs::testing
