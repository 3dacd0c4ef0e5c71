// Block data is not copied on its way through the client and the transport
// (issue 12, item 7): the bytes a batch was built with are the bytes sent,
// and again on a resend; a server gets a large batch where it arrived.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/client/data_client.h"
#include "core/common/protocol.h"
#include "fake_network.h"
#include "loopback.h"
#include "transport/server_loop.h"
#include "transport/zmq_channel.h"

using namespace dfs;

namespace {

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

}  // namespace

TEST_CASE("a write batch is sent from its own buffer, and resent from it after a lost reply") {
  testing::FakeNetwork net;
  std::vector<const char*> seen;  // where each request's block data was
  std::vector<std::string> got;
  net.Serve("d0", [&](transport::Message&& request) {
    seen.push_back(request.part(2).data());
    got.emplace_back(request.part(2));
    return proto::Reply<proto::Op::kWriteBlocks>(proto::DecodeHeader(request)->id, proto::Empty{});
  });
  net.DropReplies("d0", 1);
  client::ClientOptions options;
  options.connect = net.connector();
  client::DataClient data({"d0"}, options);

  client::Batch b;
  b.op = proto::Op::kWriteBlocks;
  b.req.server = 0;
  b.retry_while_down = true;
  b.records.resize(1);
  b.data = Bytes(4096);
  const std::string want = b.data;
  REQUIRE(data.RunWrites({&b}).ok());
  REQUIRE(seen.size() == 2);  // the first reply was lost: sent twice
  CHECK(seen[0] == b.sealed.bytes.data());
  CHECK(seen[1] == b.sealed.bytes.data());
  CHECK(got[0] == want);
  CHECK(got[1] == want);
}

TEST_CASE("a large last frame crosses ZeroMQ without a copy at either end") {
  transport::ServerLoop loop;
  const std::string endpoint = testing::BindLoopback(loop, 26000);
  REQUIRE_FALSE(endpoint.empty());
  bool left_in_place = false;
  std::string got;
  std::thread server([&] {
    loop.Run([&](transport::Message&& m) {
      left_in_place = static_cast<bool>(m.tail);
      got = std::string(m.part(m.parts() - 1));
      return transport::Message{{"ok"}, {}, {}};
    });
  });
  transport::ZmqChannel channel(endpoint, {1000, 5000});

  SECTION("block data: shared by the sender, left where it arrived by the server") {
    auto data = std::make_shared<const std::string>(Bytes(1 << 20));
    transport::Message m{{"header", "records"}, transport::SharedBytes::Of(data), {}};
    auto reply = channel.Call(std::move(m));
    REQUIRE(reply.ok());
    CHECK(left_in_place);
    CHECK(got == *data);
    // ZeroMQ let go of the sender's buffer once it was sent.
    for (int i = 0; i < 100 && data.use_count() > 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(data.use_count() == 1);
  }
  SECTION("a small frame is simply copied") {
    auto reply = channel.Call(transport::Message{{"header", "records", "small"}, {}, {}});
    REQUIRE(reply.ok());
    CHECK_FALSE(left_in_place);
    CHECK(got == "small");
  }
  loop.Stop();
  server.join();
}
