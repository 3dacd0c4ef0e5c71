// Keys, roles, permissions and capabilities, black-box: real servers, raw
// ZeroMQ clients with no key, an unknown key, a client key, and forged,
// stretched, misdirected and expired capabilities (docs/security.md).
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster_fixture.h"
#include "core/client/file_system.h"
#include "core/client/meta_client.h"
#include "core/common/block_records.h"
#include "core/common/checksum.h"
#include "core/common/placement.h"
#include "core/common/protocol.h"
#include "transport/zmq_channel.h"

using dfs::Code;
using dfs::testing::Cluster;
using dfs::testing::CommandResult;
namespace proto = dfs::proto;
namespace transport = dfs::transport;

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::shared_ptr<transport::CurveClient> KeysOf(const std::string& key_file) {
  auto keys = transport::ReadClientCert(key_file);
  REQUIRE(keys.ok());
  return std::make_shared<transport::CurveClient>(*keys);
}

// One request on a fresh channel presenting `keys` (null: no key).
dfs::Result<transport::Message> RawCall(const std::string& endpoint, std::shared_ptr<const transport::CurveClient> keys,
                                        transport::Message request) {
  transport::ZmqChannel channel(endpoint, {1000, 5000, nullptr, std::move(keys)});
  return channel.Call(std::move(request));
}

// The error a reply carries (Ok for a success).
dfs::Status ReplyStatus(const dfs::Result<transport::Message>& reply) {
  if (!reply.ok()) return reply.status();
  auto h = proto::DecodeHeader(*reply);
  if (!h.ok()) return h.status();
  return dfs::Status(h->code, h->error);
}

std::unique_ptr<dfs::client::FileSystem> ConnectWith(const Cluster& c, const std::string& key_file) {
  dfs::client::ClientOptions options;
  options.meta = c.meta_endpoint();
  options.connect = transport::CurveConnector(KeysOf(key_file));
  auto fs = dfs::client::FileSystem::Connect(options);
  REQUIRE(fs.ok());
  return std::move(*fs);
}

// A read of block 0 of `a` from a server that holds it, with `cap`.
dfs::Status ReadBlock0(const Cluster& c, const proto::Attr& a, const dfs::Capability& cap) {
  uint32_t server = dfs::PlaceBlock(a.placement_seed, a.stripe_width, 0).first;
  dfs::BlockRecord r;
  r.index = 0;
  return ReplyStatus(RawCall(c.data_endpoint(static_cast<int>(server)), c.admin_curve(),
                             proto::Request<proto::Op::kReadBlocks>(1, proto::BlockBatchReq{a.layout(), server, cap},
                                                                    {dfs::PackRecords({r})})));
}

// A write of block 0 of `a` at write generation `generation`, with `cap`.
dfs::Status WriteBlock0(const Cluster& c, const proto::Attr& a, const dfs::Capability& cap, uint64_t generation) {
  uint32_t server = dfs::PlaceBlock(a.placement_seed, a.stripe_width, 0).first;
  std::string data(a.block_size, 'F');
  dfs::BlockRecord r;
  r.index = 0;
  r.version = dfs::MakeVersion(generation, 99);
  r.length = a.block_size;
  r.crc = dfs::Crc32c(data.data(), data.size());
  return ReplyStatus(RawCall(c.data_endpoint(static_cast<int>(server)), c.admin_curve(),
                             proto::Request<proto::Op::kWriteBlocks>(1, proto::BlockBatchReq{a.layout(), server, cap},
                                                                     {dfs::PackRecords({r}), data})));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool OneLine(const CommandResult& r) {
  return !r.err.empty() && r.err.find('\n') == r.err.size() - 1 && r.err.rfind("dfs: ", 0) == 0;
}

// Sets `path`'s owner and mode as the admin.
void Chown(Cluster& c, const std::string& path, uint32_t uid, uint32_t mode) {
  proto::SetAttrReq req;
  req.path = path;
  req.set = proto::SetAttrReq::kUid | proto::SetAttrReq::kGid | proto::SetAttrReq::kMode;
  req.uid = req.gid = uid;
  req.mode = mode;
  REQUIRE(ConnectWith(c, c.admin_key())->SetAttr(req).ok());
}

}  // namespace

TEST_CASE("no key, or an unknown key, gets no service from any server, within 2 s", "[integration][security]") {
  Cluster c(2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, "payload").code == 0);
  auto stranger_pair = transport::NewKeyPair();
  REQUIRE(stranger_pair.ok());
  auto stranger =
      std::make_shared<transport::CurveClient>(transport::CurveClient{*stranger_pair, c.admin_curve()->server_public});
  for (const std::string& endpoint : {c.meta_endpoint(), c.data_endpoint(0), c.data_endpoint(1)}) {
    INFO(endpoint);
    for (auto keys : {std::shared_ptr<transport::CurveClient>(), stranger}) {
      auto start = Clock::now();
      auto reply = RawCall(endpoint, keys, proto::Request<proto::Op::kServerStat>(1, proto::Empty{}));
      CHECK(SecondsSince(start) < 2);
      REQUIRE(!reply.ok());
      CHECK(reply.status().code() == Code::kPermissionDenied);
      CHECK_THAT(reply.status().message(), Catch::Contains(endpoint));
    }
    // The admin key is served (the same request, so the refusals above are the keys').
    CHECK(RawCall(endpoint, c.admin_curve(), proto::Request<proto::Op::kServerStat>(1, proto::Empty{})).ok());
  }
  CHECK_THAT(ReadFile(c.dir() + "/meta.log"), Catch::Contains("is not admitted"));

  // Through the CLI: one line naming the server, exit 1, no hang.
  const std::string unknown = c.dir() + "/unknown.key";
  REQUIRE(dfs::testing::Run({dfs::testing::DfsBinary(), "keygen", "--server-key", c.server_key(), unknown}).code == 0);
  auto start = Clock::now();
  auto r = c.DfsWithKey(unknown, {"cat", "/f"}, "", 30);
  CHECK(SecondsSince(start) < 2.5);
  CHECK(r.code == 1);
  CHECK(OneLine(r));
  CHECK_THAT(r.err, Catch::Contains(c.meta_endpoint()) && Catch::Contains("refused our key"));
  CHECK(r.out.empty());
}

TEST_CASE("a key removed from authorized_keys is refused by every server soon after", "[integration][security]") {
  Cluster c(2);
  REQUIRE(c.DfsWithKey(c.client_key(), {"status"}).code == 0);
  // Rotation: the client key's line goes.
  const std::string list_path = c.dir() + "/keys/authorized_keys";
  std::string list = ReadFile(list_path), kept;
  const std::string client_public = KeysOf(c.client_key())->own.public_key;
  std::istringstream lines(list);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(client_public, 0) != 0) kept += line + "\n";
  }
  REQUIRE(kept.size() < list.size());
  std::ofstream(list_path + ".new") << kept;
  std::filesystem::rename(list_path + ".new", list_path);
  auto deadline = Clock::now() + std::chrono::seconds(15);
  bool refused_everywhere = false;
  while (!refused_everywhere && Clock::now() < deadline) {
    refused_everywhere = true;
    for (const std::string& endpoint : {c.meta_endpoint(), c.data_endpoint(0), c.data_endpoint(1)}) {
      auto reply = RawCall(endpoint, KeysOf(c.client_key()), proto::Request<proto::Op::kServerStat>(1, proto::Empty{}));
      refused_everywhere &= !reply.ok() && reply.status().code() == Code::kPermissionDenied;
    }
    if (!refused_everywhere) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  CHECK(refused_everywhere);
  CHECK(c.Dfs({"status"}).code == 0);  // the others still get in
}

TEST_CASE("a client key cannot run admin operations", "[integration][security]") {
  Cluster c(2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, std::string(5000, 'x')).code == 0);
  auto corrupt = c.DfsWithKey(c.client_key(), {"corrupt", "--server", "0", "/f"});
  CHECK(corrupt.code == 1);
  CHECK(OneLine(corrupt));
  CHECK_THAT(corrupt.err, Catch::Contains("admin"));
  auto fsck = c.DfsWithKey(c.client_key(), {"fsck", "--repair"});
  CHECK(fsck.code != 0);
  CHECK_THAT(fsck.err, Catch::Contains("admin"));

  auto client = KeysOf(c.client_key());
  auto a = ConnectWith(c, c.admin_key())->Stat("/f");
  REQUIRE(a.ok());
  proto::CorruptReq corrupt_req{a->layout(), 0, 0, 0, 1};
  auto raw_corrupt = RawCall(c.data_endpoint(0), client, proto::Request<proto::Op::kCorrupt>(1, corrupt_req));
  CHECK(ReplyStatus(raw_corrupt).code() == Code::kPermissionDenied);
  auto list_stored = RawCall(c.data_endpoint(1), client, proto::Request<proto::Op::kListStored>(1, proto::Empty{}));
  CHECK(ReplyStatus(list_stored).code() == Code::kPermissionDenied);
  auto list_keys = RawCall(c.meta_endpoint(), client, proto::Request<proto::Op::kListKeys>(1, proto::Empty{}));
  CHECK(ReplyStatus(list_keys).code() == Code::kPermissionDenied);
  auto deleted =
      RawCall(c.meta_endpoint(), client, proto::Request<proto::Op::kListDeleted>(1, proto::ListDeletedReq{}));
  CHECK(ReplyStatus(deleted).code() == Code::kPermissionDenied);
  auto delete_file =
      RawCall(c.data_endpoint(0), client, proto::Request<proto::Op::kDeleteFile>(1, proto::FileReq{a->fid, {}}));
  CHECK(ReplyStatus(delete_file).code() == Code::kPermissionDenied);
  CHECK_THAT(ReadFile(c.dir() + "/data0.log"), Catch::Contains("refused Corrupt from key " + client->own.public_key));

  // The admin still can, and nothing was damaged by the attempts.
  CHECK(c.Dfs({"cat", "/f"}).out == std::string(5000, 'x'));
  CHECK(c.Dfs({"corrupt", "--server", "0", "/f"}).code == 0);
}

TEST_CASE("a CLI user cannot read, replace or remove a 0600 file of another uid", "[integration][security]") {
  Cluster c(2);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/secret"}, "for 4343 only").code == 0);
  Chown(c, "/secret", 4343, 0600);

  auto cat = c.DfsWithKey(c.client_key(), {"cat", "/secret"});
  CHECK(cat.code == 1);
  CHECK(OneLine(cat));
  CHECK_THAT(cat.err, Catch::Contains("/secret: permission denied"));
  CHECK(cat.out.empty());
  CHECK(c.DfsWithKey(c.client_key(), {"cp", "-", "dfs:/secret"}, "mine now").code == 1);
  CHECK(c.DfsWithKey(c.client_key(), {"rm", "/secret"}).code == 1);
  CHECK(c.DfsWithKey(c.client_key(), {"mv", "/secret", "/taken"}).code == 1);
  CHECK_THAT(ReadFile(c.dir() + "/meta.log"),
             Catch::Contains("dfs meta: refused Rename from key " + KeysOf(c.client_key())->own.public_key));

  // The meta server grants the client no capability, so the raw block
  // read it could still try is refused too.
  auto stat = ConnectWith(c, c.client_key())->Stat("/secret");
  REQUIRE(stat.ok());
  CHECK(stat->cap.rights == 0);
  CHECK(stat->cap.mac.empty());
  CHECK(ReadBlock0(c, *stat, stat->cap).code() == Code::kPermissionDenied);

  // Its owner reads it; the file is as it was.
  auto owner = c.DfsWithKey(c.other_client_key(), {"cat", "/secret"});
  CHECK(owner.code == 0);
  CHECK(owner.out == "for 4343 only");
}

TEST_CASE("a reader that may not write gets the good copy and leaves the bad one to the scrubber",
          "[integration][security]") {
  Cluster c(2);
  const std::string data = dfs::testing::RandomBytes(20000, 9);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/f"}, data).code == 0);
  c.Corrupt(0, "/f");
  auto r = c.DfsWithKey(c.client_key(), {"cat", "/f"});
  CHECK(r.code == 0);
  CHECK(r.out == data);
  CHECK_THAT(r.err, Catch::Contains("left for the scrubber"));
  CHECK(c.Dfs({"fsck"}).code != 0);         // still damaged: the reader could not repair
  CHECK(c.Dfs({"cat", "/f"}).out == data);  // the admin's read repairs it
  CHECK(c.Dfs({"fsck"}).code == 0);
}

TEST_CASE("a client key creates as its own uid and cannot give files away", "[integration][security]") {
  Cluster c(2);
  REQUIRE(c.Dfs({"mkdir", "/tmp"}).code == 0);
  Chown(c, "/tmp", 0, 01777);
  REQUIRE(c.DfsWithKey(c.client_key(), {"cp", "-", "dfs:/tmp/mine"}, "x").code == 0);
  auto mine = ConnectWith(c, c.admin_key())->Stat("/tmp/mine");
  REQUIRE(mine.ok());
  CHECK(mine->uid == 4242);
  CHECK(mine->gid == 4242);

  proto::SetAttrReq give;
  give.path = "/tmp/mine";
  give.set = proto::SetAttrReq::kUid;
  give.uid = 4343;
  auto given = ConnectWith(c, c.client_key())->SetAttr(give);
  CHECK(given.status().code() == Code::kPermissionDenied);
  // The sticky directory: another user may not remove it; its owner may.
  CHECK(c.DfsWithKey(c.other_client_key(), {"rm", "/tmp/mine"}).code == 1);
  CHECK(c.DfsWithKey(c.client_key(), {"rm", "/tmp/mine"}).code == 0);
}

TEST_CASE("data servers refuse forged, stretched, misdirected and expired capabilities, and later generations",
          "[integration][security]") {
  // Capabilities last 3.6 s here.
  Cluster c(2, {"--capability-hours", "0.001"});
  REQUIRE(c.Dfs({"cp", "-", "dfs:/a"}, std::string(3000, 'a')).code == 0);
  REQUIRE(c.Dfs({"cp", "-", "dfs:/b"}, std::string(3000, 'b')).code == 0);
  auto fs = ConnectWith(c, c.client_key());
  auto a = fs->Stat("/a");
  auto b = fs->Stat("/b");
  REQUIRE((a.ok() && b.ok()));
  REQUIRE(a->cap.rights == dfs::kCapRead);  // 0644, another owner: read only
  CHECK(ReadBlock0(c, *a, a->cap).ok());    // the genuine one works

  dfs::Capability forged = a->cap;
  forged.mac[0] ^= 1;
  CHECK_THAT(ReadBlock0(c, *a, forged).message(), Catch::Contains("forged"));
  dfs::Capability stretched = a->cap;
  stretched.expires_ns += int64_t{1} << 50;
  CHECK_THAT(ReadBlock0(c, *a, stretched).message(), Catch::Contains("forged"));
  dfs::Capability promoted = a->cap;
  promoted.rights |= dfs::kCapWrite;
  CHECK_THAT(WriteBlock0(c, *a, promoted, a->generation).message(), Catch::Contains("forged"));
  CHECK_THAT(WriteBlock0(c, *a, a->cap, a->generation).message(), Catch::Contains("does not grant write"));
  CHECK_THAT(ReadBlock0(c, *b, a->cap).message(), Catch::Contains("was presented for file"));
  CHECK_THAT(ReadBlock0(c, *a, dfs::Capability{}).message(), Catch::Contains("no capability"));

  // A writer's capability covers its generation, not later ones.
  auto w = ConnectWith(c, c.admin_key())->Stat("/a");
  REQUIRE(w.ok());
  REQUIRE((w->cap.rights & dfs::kCapWrite));
  auto ahead = WriteBlock0(c, *w, w->cap, w->generation + 1);
  CHECK(ahead.code() == Code::kPermissionDenied);
  CHECK_THAT(ahead.message(), Catch::Contains("later than the capability's"));

  // Expired: the same genuine capability, after its time.
  while (dfs::WallClockNs() < a->cap.expires_ns + 100'000'000)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_THAT(ReadBlock0(c, *a, a->cap).message(), Catch::Contains("expired"));
  CHECK_THAT(ReadFile(c.dir() + "/data0.log") + ReadFile(c.dir() + "/data1.log"),
             Catch::Contains("refused ReadBlocks from key"));

  // Nothing was changed by any of it; a new command gets a new capability.
  CHECK(c.Dfs({"cat", "/a"}).out == std::string(3000, 'a'));
  CHECK(c.Dfs({"fsck"}).code == 0);
}

TEST_CASE("servers without keys refuse to start unless --insecure on loopback, which status shows",
          "[integration][security]") {
  const std::string dir = std::filesystem::temp_directory_path() / ("dfs-insecure-" + std::to_string(getpid()));
  auto ports = dfs::testing::FreePorts(3);
  const std::string meta = "tcp://127.0.0.1:" + std::to_string(ports[0]);
  const std::string servers =
      "tcp://127.0.0.1:" + std::to_string(ports[1]) + ",tcp://127.0.0.1:" + std::to_string(ports[2]);
  auto no_keys = dfs::testing::Run(
      {dfs::testing::DfsBinary(), "meta", "--dir", dir + "/meta", "--listen", meta, "--data-servers", servers});
  CHECK(no_keys.code == 2);
  CHECK_THAT(no_keys.err, Catch::Contains("--insecure"));
  auto open = dfs::testing::Run({dfs::testing::DfsBinary(), "meta", "--dir", dir + "/meta", "--listen",
                                 "tcp://0.0.0.0:" + std::to_string(ports[0]), "--data-servers", servers, "--insecure"});
  CHECK(open.code == 2);
  CHECK_THAT(open.err, Catch::Contains("only on a loopback endpoint"));

  dfs::testing::BackgroundCommand m({dfs::testing::DfsBinary(), "meta", "--dir", dir + "/meta", "--listen", meta,
                                     "--data-servers", servers, "--insecure"});
  std::vector<std::unique_ptr<dfs::testing::BackgroundCommand>> data;
  for (int i = 0; i < 2; ++i) {
    data.push_back(std::make_unique<dfs::testing::BackgroundCommand>(
        std::vector<std::string>{dfs::testing::DfsBinary(), "--meta", meta, "data", "--index", std::to_string(i),
                                 "--dir", dir + "/data" + std::to_string(i), "--insecure"}));
  }
  // A client with no key at all (no DFS_KEY, no default files).
  std::vector<std::string> status = {"env",
                                     "-u",
                                     "DFS_KEY",
                                     "HOME=" + dir,
                                     "XDG_CONFIG_HOME=" + dir,
                                     "XDG_STATE_HOME=" + dir,
                                     dfs::testing::DfsBinary(),
                                     "--meta",
                                     meta,
                                     "status"};
  CommandResult r;
  for (int tries = 0; tries < 50; ++tries) {
    r = dfs::testing::Run(status, "", 20);
    if (r.code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("INSECURE: meta, data 0, data 1 started with --insecure"));
  auto log = m.Wait(0.0);
  for (auto& d : data) d->Signal(SIGTERM);
  CHECK_THAT(log.err, Catch::Contains("INSECURE"));
  std::filesystem::remove_all(dir);
}
