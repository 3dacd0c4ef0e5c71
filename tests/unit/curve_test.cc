// CURVE on the real transport (issue 13 item 1, the mechanism): a server
// given keys admits only the client keys it lists; an unknown key or none
// is refused during the handshake, with an error naming the server, in
// well under 2 s.
#include "transport/curve.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "loopback.h"
#include "temp_dir.h"
#include "transport/server_loop.h"
#include "transport/zmq_channel.h"

using namespace dfs;
using Clock = std::chrono::steady_clock;

TEST_CASE("key files: a pair round-trips in zcert format, and a public certificate holds no secret") {
  testing::TempDir dir;
  auto keys = transport::NewKeyPair();
  REQUIRE(keys.ok());
  CHECK(keys->public_key.size() == 40);
  CHECK(keys->secret_key.size() == 40);
  REQUIRE(transport::WriteCert(dir.path() + "/k", *keys).ok());
  auto back = transport::ReadCert(dir.path() + "/k");
  REQUIRE(back.ok());
  CHECK(back->public_key == keys->public_key);
  CHECK(back->secret_key == keys->secret_key);
  REQUIRE(transport::WriteCert(dir.path() + "/k.pub", {keys->public_key, ""}).ok());
  auto pub = transport::ReadCert(dir.path() + "/k.pub");
  REQUIRE(pub.ok());
  CHECK(pub->secret_key.empty());
  CHECK(transport::ReadCert(dir.path() + "/missing").status().code() == Code::kNotFound);
}

TEST_CASE("a CURVE server admits the keys it lists and refuses others at once, naming itself") {
  auto server_keys = transport::NewKeyPair();
  auto admitted = transport::NewKeyPair();
  auto stranger = transport::NewKeyPair();
  REQUIRE((server_keys.ok() && admitted.ok() && stranger.ok()));
  transport::CurveServer curve{*server_keys, {admitted->public_key}};

  transport::ServerLoop loop;
  const std::string endpoint = testing::BindLoopback(loop, 31000, &curve);
  REQUIRE_FALSE(endpoint.empty());
  std::thread server([&] { loop.Run([](transport::Message&& m) { return m; }); });

  auto channel_with = [&](const transport::KeyPair* own) {
    transport::ChannelOptions options{5000, 5000};  // a refusal must not wait out the connect timeout
    if (own)
      options.curve = std::make_shared<transport::CurveClient>(transport::CurveClient{*own, server_keys->public_key});
    return std::make_unique<transport::ZmqChannel>(endpoint, options);
  };
  SECTION("an admitted key is served") {
    auto reply = channel_with(&*admitted)->Call(transport::Message{{"hello"}, {}, {}});
    REQUIRE(reply.ok());
    CHECK(reply->frames == std::vector<std::string>{"hello"});
  }
  SECTION("an unknown key is refused") {
    auto start = Clock::now();
    auto reply = channel_with(&*stranger)->Call(transport::Message{{"hello"}, {}, {}});
    CHECK(reply.status().code() == Code::kPermissionDenied);
    CHECK_THAT(reply.status().message(), Catch::Contains(endpoint) && Catch::Contains("refused our key"));
    CHECK(Clock::now() - start < std::chrono::seconds(2));
  }
  SECTION("a client with no key is refused") {
    auto start = Clock::now();
    auto reply = channel_with(nullptr)->Call(transport::Message{{"hello"}, {}, {}});
    CHECK_FALSE(reply.ok());
    CHECK_THAT(reply.status().message(), Catch::Contains(endpoint));
    CHECK(Clock::now() - start < std::chrono::seconds(2));
  }
  loop.Stop();
  server.join();
}
