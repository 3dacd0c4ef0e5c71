#include <catch2/catch.hpp>
#include <filesystem>

#include "core/common/block_records.h"
#include "core/common/codec.h"
#include "core/common/protocol.h"
#include "core/data/data_service.h"
#include "core/meta/meta_service.h"

using namespace dfs;

TEST_CASE("a request round-trips through the codec", "[unit]") {
  proto::CreateReq req;
  req.path = "/a";
  req.block_size = 4096;
  auto m = proto::Encode(proto::Op::kCreate, 7, req, {"payload"});
  REQUIRE(m.frames.size() == 2);
  auto h = proto::DecodeHeader(m);
  REQUIRE(h.ok());
  CHECK(h->op == proto::Op::kCreate);
  CHECK(h->id == 7);
  proto::CreateReq back;
  REQUIRE(proto::DecodeBody(*h, &back).ok());
  CHECK(back.path == "/a");
  CHECK(back.block_size == 4096);
}

TEST_CASE("an error reply carries code and message", "[unit]") {
  auto m = proto::EncodeError(proto::Op::kLookup, 3, NotFound("/x: no such file"));
  proto::Attr a;
  Status st = proto::DecodeReply(m, &a);
  CHECK(st.code() == Code::kNotFound);
  CHECK(st.message() == "/x: no such file");
}

TEST_CASE("malformed headers are errors, not crashes", "[unit]") {
  auto bad = [](std::string frame) {
    transport::Message m;
    m.frames.push_back(std::move(frame));
    return proto::DecodeHeader(m).status().code();
  };
  CHECK(bad("") == Code::kInvalidArgument);
  CHECK(bad("\xc1") == Code::kInvalidArgument);                        // never-used msgpack byte
  CHECK(bad("\x93\x01\x02\x03") == Code::kInvalidArgument);            // an array, not a map
  CHECK(bad("\xdd\xff\xff\xff\xff") == Code::kInvalidArgument);        // array of 4G elements in 5 bytes
  CHECK(bad("\xdf\x7f\xff\xff\xff") == Code::kInvalidArgument);        // map of 2G entries
  CHECK(bad("\x82\xa1v\x01\xa2op\xa3xyz") == Code::kInvalidArgument);  // op of the wrong type
  CHECK(bad("\x82\xa1v\x09\xa2op\x01") == Code::kInvalidArgument);     // unknown protocol version
  transport::Message none;
  CHECK(proto::DecodeHeader(none).status().code() == Code::kInvalidArgument);
}

TEST_CASE("a body of the wrong shape is an error", "[unit]") {
  auto m = proto::Encode(proto::Op::kCreate, 1, std::string("not a map"));
  auto h = proto::DecodeHeader(m);
  REQUIRE(h.ok());
  proto::CreateReq req;
  CHECK(proto::DecodeBody(*h, &req).code() == Code::kInvalidArgument);
}

TEST_CASE("block records check their frame", "[unit]") {
  std::vector<BlockRecord> recs(3);
  recs[1].index = 42;
  auto packed = PackRecords(recs);
  CHECK(packed.size() == 96);
  auto back = UnpackRecords(packed, 10);
  REQUIRE(back.ok());
  CHECK((*back)[1].index == 42);
  CHECK(!UnpackRecords(packed.substr(0, 95), 10).ok());
  CHECK(!UnpackRecords(packed, 2).ok());
}

TEST_CASE("services answer garbage with an error reply", "[unit]") {
  transport::Message garbage;
  garbage.frames.push_back("\xc1\xc1\xc1");
  data::DataService data_service(nullptr, data::ServiceParts{}, "c");
  auto reply = data_service.Handle(std::move(garbage));
  auto h = proto::DecodeHeader(reply);
  REQUIRE(h.ok());
  CHECK(h->code == Code::kInvalidArgument);

  SECTION("a block batch with the wrong number of frames") {
    proto::BlockBatchReq req;
    auto m = proto::Encode(proto::Op::kWriteBlocks, 1, req);
    char dir[] = "/tmp/dfs-proto-XXXXXX";
    REQUIRE(mkdtemp(dir));
    auto store = data::BlockStore::Open(dir, "c", 0);
    REQUIRE(store.ok());
    data::DataService svc(store->get(), data::ServiceParts{}, "c");
    auto r = svc.Handle(std::move(m));
    auto rh = proto::DecodeHeader(r);
    REQUIRE(rh.ok());
    CHECK(rh->code == Code::kInvalidArgument);
    std::filesystem::remove_all(dir);
  }
}
