// libFuzzer target: any message a peer could send, to a data server and a
// meta server in this process (scripts/fuzz builds and runs it).
//
// Requests come as from a plain (--insecure) connection or with one of a
// few keys of each role. Half the inputs are raw frames (the decoders' bounds); the other half are
// well-formed requests of a random operation of the table whose fields are
// filled from the input (the handlers' range checks). After each message
// the servers' directories must stay small: no request may make a server
// create or allocate more than a small bound.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/common/block_records.h"
#include "core/common/codec.h"
#include "core/data/block_store.h"
#include "core/data/data_service.h"
#include "core/meta/meta_service.h"
#include "core/meta/meta_store.h"
#include "fill.h"

using namespace dfs;

namespace {

constexpr uint64_t kMaxAllocatedBytes = 256ull << 20;

struct Servers {
  std::string dir;
  std::unique_ptr<meta::MetaStore> meta_store;
  std::unique_ptr<meta::MetaService> meta;
  std::unique_ptr<data::BlockStore> store;
  std::unique_ptr<data::DataService> data;
  // The same stores behind keys: requests come with one of these peers'
  // keys (or an unknown one), through the role, permission and capability
  // checks.
  std::unique_ptr<Gate> gate;
  std::unique_ptr<meta::MetaService> secure_meta;
  std::unique_ptr<data::DataService> secure_data;
  std::vector<std::string> peers = {"client", "admin", "server", "trusted", "stranger"};

  Servers() {
    char tmpl[] = "/tmp/dfs-fuzz.XXXXXX";
    dir = mkdtemp(tmpl);
    static std::string* to_remove = new std::string(dir);  // nothing left behind at exit
    std::atexit([] { std::filesystem::remove_all(*to_remove); });
    meta_store = std::move(*meta::MetaStore::Open(dir + "/meta"));
    (void)meta_store->SetServers({"tcp://127.0.0.1:1", "tcp://127.0.0.1:2"});
    meta = std::make_unique<meta::MetaService>(meta_store.get());
    store = std::move(*data::BlockStore::Open(dir + "/data", meta_store->config().cluster_id, 0));
    data = std::make_unique<data::DataService>(store.get(), data::ServiceParts{}, meta_store->config().cluster_id);
    KeyTable keys = {{"client", Identity{Role::kClient, 1000, 1000, false, false}},
                     {"admin", Identity{Role::kAdmin, 1000, 1000, false, false}},
                     {"server", Identity::Server()},
                     {"trusted", Identity{Role::kClient, 1001, 1001, true, false}}};
    gate = std::make_unique<Gate>(keys, CapabilityKey::FromServerSecret("fuzz"));
    secure_meta = std::make_unique<meta::MetaService>(meta_store.get(), gate.get());
    secure_data = std::make_unique<data::DataService>(store.get(), data::ServiceParts{},
                                                      meta_store->config().cluster_id, gate.get());
  }

  // Bytes the servers' files hold on disk (holes cost nothing).
  uint64_t Allocated() const {
    uint64_t bytes = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      struct stat st;
      if (!ec && it->is_regular_file(ec) && stat(it->path().c_str(), &st) == 0) bytes += st.st_blocks * 512ull;
    }
    return bytes;
  }
};

template <proto::Op op>
transport::Message Typed(FuzzedDataProvider& in) {
  typename proto::OpSpec<op>::Request req;
  fuzz::Fill(in, &req);
  std::vector<std::string> payload;
  if (in.ConsumeBool()) {
    std::vector<BlockRecord> records(in.ConsumeIntegralInRange<size_t>(0, 8));
    for (BlockRecord& r : records) {
      r.index = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 64) : in.ConsumeIntegral<uint64_t>();
      r.version = in.ConsumeIntegral<uint64_t>();
      r.length = in.ConsumeIntegralInRange<uint32_t>(0, 1024);
      r.flags = in.ConsumeIntegral<uint32_t>();
    }
    payload.push_back(PackRecords(records));
    payload.push_back(in.ConsumeRandomLengthString(8192));
  }
  return proto::Request<op>(1, req, std::move(payload));
}

transport::Message AnyTyped(FuzzedDataProvider& in) {
  using Make = transport::Message (*)(FuzzedDataProvider&);
  static const Make kMakers[] = {
#define DFS_FUZZ_OP(name, id, request, reply) &Typed<proto::Op::k##name>,
      DFS_OPERATIONS(DFS_FUZZ_OP)
#undef DFS_FUZZ_OP
  };
  return kMakers[in.ConsumeIntegralInRange<size_t>(0, std::size(kMakers) - 1)](in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static Servers* servers = new Servers();
  FuzzedDataProvider in(bytes, size);
  const bool to_meta = in.ConsumeBool();
  transport::Message m;
  if (in.ConsumeBool()) {
    m = AnyTyped(in);
  } else {
    const size_t frames = in.ConsumeIntegralInRange<size_t>(0, 4);
    for (size_t i = 0; i < frames; ++i) m.frames.push_back(in.ConsumeRandomLengthString(4096));
  }
  const bool secure = in.ConsumeBool();
  if (secure) m.peer = servers->peers[in.ConsumeIntegralInRange<size_t>(0, servers->peers.size() - 1)];
  meta::MetaService& meta = secure ? *servers->secure_meta : *servers->meta;
  data::DataService& data = secure ? *servers->secure_data : *servers->data;
  transport::Message reply = to_meta ? meta.Handle(std::move(m)) : data.Handle(std::move(m));
  if (reply.frames.empty()) abort();  // every request gets an answer
  if (uint64_t allocated = servers->Allocated(); allocated > kMaxAllocatedBytes) {
    fprintf(stderr, "one message made the servers hold %llu bytes on disk\n",
            static_cast<unsigned long long>(allocated));
    abort();
  }
  return 0;
}
