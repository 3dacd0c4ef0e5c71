// Bad input gets a clear one-line error and a non-zero exit, and loses nothing.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "cluster_fixture.h"
#include "core/client/file_system.h"
#include "core/common/block_records.h"
#include "core/common/checksum.h"
#include "core/common/codec.h"
#include "core/common/placement.h"
#include "core/common/protocol.h"
#include "transport/zmq_channel.h"

using dfs::testing::Cluster;
using dfs::testing::CommandResult;

namespace {

bool OneLine(const CommandResult& r) {
  return !r.err.empty() && r.err.find('\n') == r.err.size() - 1 && r.err.rfind("dfs: ", 0) == 0;
}

}  // namespace

TEST_CASE("bad paths and missing files are one-line errors", "[integration]") {
  Cluster c(2);
  REQUIRE(c.Dfs({"mkdir", "/d"}).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/d/f"}, "hello").code == 0);
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"cat", "/nope"}, "no such file"},
      {{"cat", "relative"}, "absolute"},
      {{"ls", "/d/../etc"}, "'..'"},
      {{"cat", "/d"}, "is a directory"},
      {{"ls", "/d/f/x"}, "not a directory"},
      {{"mkdir", "/d/f/x"}, "not a directory"},
      {{"mkdir", "/d"}, "exists"},
      {{"cp", "-", "dfs:/d/f/x"}, "not a directory"},
      {{"cp", "dfs:/d", "/tmp/x"}, "is a directory"},
      {{"cp", "/etc/hostname", "/tmp/x"}, "dfs:/path"},
      {{"cat", "/" + std::string(300, 'n')}, "longer than 255"},
      {{"rm", "/d"}, "is a directory"},
      {{"mv", "/nope", "/x"}, "no such file"},
      {{"stat", "/nope"}, "no such file"},
      {{"frobnicate"}, "frobnicate"},
      {{"cp", "dfs:/d/f"}, "destination"},
  };
  for (const auto& k : cases) {
    INFO(k.args[0] << " " << (k.args.size() > 1 ? k.args[1] : ""));
    auto r = c.Dfs(k.args, k.args[0] == "cp" && k.args[1] == "-" ? "data" : "");
    CHECK(r.code != 0);
    CHECK(OneLine(r));
    CHECK_THAT(r.err, Catch::Contains(k.says));
  }
  // Nothing was lost.
  CHECK(c.Dfs({"cat", "/d/f"}).out == "hello");
}

TEST_CASE("an unreachable meta server is named, and nothing hangs", "[integration]") {
  auto start = std::chrono::steady_clock::now();
  auto r = dfs::testing::Run({dfs::testing::DfsBinary(), "--meta", "tcp://127.0.0.1:1", "ls", "/"}, "", 30);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.code != 0);
  CHECK(OneLine(r));
  CHECK_THAT(r.err, Catch::Contains("tcp://127.0.0.1:1"));
  CHECK(took < 10);
}

TEST_CASE("a meta server with fewer than 2 data servers is refused", "[integration]") {
  auto r = dfs::testing::Run({dfs::testing::DfsBinary(), "meta", "--dir", "/tmp/dfs-never", "--listen",
                              "tcp://127.0.0.1:1", "--data-servers", "tcp://127.0.0.1:2"});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("at least 2 data servers"));
}

TEST_CASE("a second meta server on a running one's directory is refused", "[integration]") {
  Cluster c(2);
  auto r = dfs::testing::Run({dfs::testing::DfsBinary(), "meta", "--dir", c.dir() + "/meta", "--insecure", "--listen",
                              "tcp://127.0.0.1:" + std::to_string(dfs::testing::FreePorts(1)[0])},
                             "", 30);
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("another meta server is using it"));
  // The first goes on serving.
  CHECK(c.Dfs({"mkdir", "/still"}).code == 0);
}

TEST_CASE("a data directory of another cluster is refused", "[integration]") {
  Cluster a(2);
  Cluster b(2);
  a.StopData(0);
  // Server 0 of cluster b started on cluster a's directory for server 0.
  auto r = dfs::testing::Run(
      {dfs::testing::DfsBinary(), "--meta", b.meta_endpoint(), "data", "--index", "0", "--dir", a.dir() + "/data0",
       "--key", b.server_key(), "--listen", "tcp://127.0.0.1:" + std::to_string(dfs::testing::FreePorts(1)[0])},
      "", 20);
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("refusing"));
}

TEST_CASE("malformed and oversized messages do not take servers down", "[integration]") {
  Cluster c(2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, "still here").code == 0);
  for (std::string endpoint : {c.meta_endpoint(), c.data_endpoint(0)}) {
    INFO(endpoint);
    dfs::transport::ZmqChannel ch(endpoint, {1000, 5000, nullptr, c.admin_curve()});
    for (std::string garbage : {std::string("\xc1"), std::string("\xdd\xff\xff\xff\xff"), std::string("")}) {
      dfs::transport::Message m;
      m.frames.push_back(garbage);
      auto reply = ch.Call(std::move(m));
      REQUIRE(reply.ok());
      auto h = dfs::proto::DecodeHeader(*reply);
      REQUIRE(h.ok());
      CHECK(h->code == dfs::Code::kInvalidArgument);
    }
    // A well-formed header with a body of the wrong type.
    auto wrong = dfs::proto::Encode(dfs::proto::Op::kLookup, 1, 12345);
    auto reply = ch.Call(std::move(wrong));
    REQUIRE(reply.ok());
    CHECK(dfs::proto::DecodeHeader(*reply)->code != dfs::Code::kOk);
    // Over ZMQ_MAXMSGSIZE: the connection is dropped, no reply comes.
    dfs::transport::ZmqChannel big(endpoint, {1000, 3000, nullptr, c.admin_curve()});
    dfs::transport::Message huge;
    huge.frames.push_back(std::string(65 << 20, 'x'));
    CHECK(!big.Call(std::move(huge)).ok());
  }
  // Both servers still serve.
  auto cat = c.Dfs({"cat", "/f"});
  CHECK(cat.code == 0);
  CHECK(cat.out == "still here");
}

TEST_CASE("a write to a block far past any real one costs its server no disk, and status stays cheap",
          "[integration]") {
  // A fuzzer once found that one WriteBlocks with block index 2^34 left a
  // 4 TiB sparse data file and a 128 GiB index, and every status after it
  // aborted the server (std::bad_alloc). Sparse files are allowed (up to
  // 1 EiB), so the write may stand; what it costs must be its one block.
  Cluster c(2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, "small").code == 0);
  dfs::client::ClientOptions options;
  options.meta = c.meta_endpoint();
  options.connect = dfs::transport::CurveConnector(c.admin_curve());
  auto fs = dfs::client::FileSystem::Connect(options);
  REQUIRE(fs.ok());
  auto a = (*fs)->Stat("/f");
  REQUIRE(a.ok());
  const uint64_t index = uint64_t{1} << 34;
  uint32_t server = 0;
  while (!dfs::HoldsBlock(a->placement_seed, a->stripe_width, server, index)) ++server;
  std::string data(a->block_size, 'z');
  dfs::BlockRecord r;
  r.index = index;
  r.version = dfs::MakeVersion(a->generation, 1);
  r.length = a->block_size;
  r.crc = dfs::Crc32c(data.data(), data.size());
  dfs::transport::ZmqChannel ch(c.data_endpoint(static_cast<int>(server)), {1000, 5000, nullptr, c.admin_curve()});
  auto reply = ch.Call(dfs::proto::Request<dfs::proto::Op::kWriteBlocks>(
      1, dfs::proto::BlockBatchReq{a->layout(), server, a->cap}, {dfs::PackRecords({r}), data}));
  REQUIRE(reply.ok());
  // Whatever the answer, the server's disk holds a few KiB for the file...
  uint64_t allocated = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(c.dir() + "/data" + std::to_string(server))) {
    struct stat st;
    if (e.is_regular_file() && stat(e.path().c_str(), &st) == 0) allocated += st.st_blocks * 512;
  }
  CHECK(allocated < (16u << 20));
  // ...and status answers at once, more than once, with the server alive.
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto st = c.Dfs({"status"});
    CHECK(st.code == 0);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  }
  CHECK(c.Dfs({"cat", "/f"}).out == "small");
}
