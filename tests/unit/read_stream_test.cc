#include <catch2/catch.hpp>

// An open handle's reads (ReadStream): a seek cancels the read-ahead not
// yet started and reads its own bytes, on the fake network.
#include "core/client/prefetcher.h"
#include "core/client/read_stream.h"
#include "fake_cluster.h"

namespace dfs {
namespace {

using testing::FakeCluster;

TEST_CASE("a seek cancels the read-ahead not yet started and reads just the bytes asked for", "[unit]") {
  FakeCluster cluster(3, 4096);
  auto fs = cluster.Connect();
  const std::string data = testing::Pattern(40 << 20, 7);
  REQUIRE(testing::Write(*fs, "/f", data).ok());
  auto attr = fs->Stat("/f");
  REQUIRE(attr.ok());
  // Every data server answers 150 ms late: a window of read-ahead is still
  // on its way when the seek comes.
  for (const std::string& ep : cluster.data_endpoints) cluster.network.Delay(ep, 150);
  auto prefetcher = client::Prefetcher::Start(cluster.Options());
  REQUIRE(prefetcher.ok());
  client::Prefetcher& ahead = **prefetcher;
  client::ReadStream stream(fs.get(), &ahead, *attr);
  std::string buf(4096, '\0');
  auto read_at = [&](uint64_t offset) {
    REQUIRE(*stream.Read(offset, buf.data(), buf.size()) == buf.size());
    CHECK(buf == data.substr(offset, buf.size()));
  };
  // Sequential from 0: the first window, and two more queued behind it.
  read_at(0);
  // A seek past both: the one not yet started is skipped.
  read_at((35 << 20) + 100);
  // The prefetcher serves in order: once a fetch queued now is done, it has
  // passed every window queued before.
  auto settled = [&] { return ahead.Fetch(*attr, "/f", 0, 1).get().status.ok(); };
  REQUIRE(settled());
  const uint64_t after_forward = ahead.skipped();
  CHECK(after_forward >= 1);
  // Sequential from 12 MiB, then a seek back before its read-ahead.
  read_at(12 << 20);
  read_at((12 << 20) + 4096);
  read_at(1 << 20);
  REQUIRE(settled());
  CHECK(ahead.skipped() > after_forward);
}

}  // namespace
}  // namespace dfs
