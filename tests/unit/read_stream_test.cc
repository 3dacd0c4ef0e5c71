#include <catch2/catch.hpp>

// An open handle's reads (ReadStream) and the read-ahead behind them
// (Prefetcher, ReadAhead), on the fake network.
#include <chrono>
#include <thread>

#include "core/client/prefetcher.h"
#include "core/client/read_stream.h"
#include "core/common/placement.h"
#include "fake_cluster.h"

namespace dfs {
namespace {

using testing::FakeCluster;

// Writes `data` to `path` and returns its attributes.
client::Attr Written(client::FileSystem& fs, const std::string& path, const std::string& data) {
  REQUIRE(testing::Write(fs, path, data).ok());
  auto attr = fs.Stat(path);
  REQUIRE(attr.ok());
  return *attr;
}

// Starts a prefetcher of the cluster.
std::unique_ptr<client::Prefetcher> Prefetcher(FakeCluster& cluster) {
  auto p = client::Prefetcher::Start(cluster.Options());
  REQUIRE(p.ok());
  return std::move(*p);
}

// Waits until the prefetcher has read nothing new for a second (at most
// 20 s), and returns what it read in all.
uint64_t SettledBytes(const client::Prefetcher& p) {
  uint64_t seen = p.bytes_read();
  auto still_since = std::chrono::steady_clock::now();
  const auto give_up = still_since + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    uint64_t now = p.bytes_read();
    if (now != seen) {
      seen = now;
      still_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - still_since > std::chrono::seconds(1)) {
      break;
    }
  }
  return seen;
}

TEST_CASE("a read-ahead keeps at most max_ready windows ahead of its reader, and goes on as they are taken", "[unit]") {
  FakeCluster cluster(3, 4096);
  auto fs = cluster.Connect();
  const std::string data = testing::Pattern(40 << 20, 3);
  const client::Attr attr = Written(*fs, "/f", data);
  auto prefetcher = Prefetcher(cluster);
  client::Prefetcher& p = *prefetcher;
  // A window is 1 MiB per data server: 3 MiB here.
  const uint64_t window = 3 << 20;
  auto ahead = p.StartReadAhead(attr, "/f", 0, 2);
  // Nobody takes: it reads two windows, and stops there.
  for (int i = 0; i < 2000 && p.bytes_read() < 2 * window; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(p.bytes_read() == 2 * window);
  // Taken in order, it reads on to the end, byte-exact.
  std::string got;
  while (ahead->next() < ahead->end()) {
    client::Window w = ahead->Take();
    REQUIRE(w.status.ok());
    REQUIRE(w.offset == got.size());
    got += w.bytes;
    ahead->Recycle(std::move(w.bytes));
  }
  CHECK(got == data);
  CHECK(p.bytes_read() == data.size());
}

TEST_CASE("a cancelled read-ahead stops reading, and its reader gets no more windows", "[unit]") {
  FakeCluster cluster(3, 4096);
  auto fs = cluster.Connect();
  const std::string data = testing::Pattern(40 << 20, 5);
  const client::Attr attr = Written(*fs, "/f", data);
  // Every data server answers 100 ms late: windows are on their way when
  // the cancel comes.
  for (const std::string& ep : cluster.data_endpoints) cluster.network.Delay(ep, 100);
  auto prefetcher = Prefetcher(cluster);
  client::Prefetcher& p = *prefetcher;
  auto ahead = p.StartReadAhead(attr, "/f", 0, 8);
  client::Window first = ahead->Take();
  REQUIRE(first.status.ok());
  CHECK(first.bytes == data.substr(0, first.bytes.size()));
  ahead->Cancel();
  CHECK(ahead->Take().status.code() == Code::kCancelled);
  // It stopped where it was: eight windows ahead would be 27 MiB.
  CHECK(SettledBytes(p) < (12u << 20));
  // The thread is free for other work.
  auto other = p.StartReadAhead(attr, "/f", 100, 1);
  client::Window w = other->Take();
  REQUIRE(w.status.ok());
  CHECK(w.bytes == data.substr(100, w.bytes.size()));
  other->Cancel();
}

TEST_CASE("a long read-ahead yields the thread to others after its turn", "[unit]") {
  FakeCluster cluster(3, 65536);
  auto fs = cluster.Connect();
  const std::string big = testing::Pattern(100 << 20, 17);
  const std::string small = testing::Pattern(1 << 20, 19);
  const client::Attr big_attr = Written(*fs, "/big", big);
  const client::Attr small_attr = Written(*fs, "/small", small);
  auto prefetcher = Prefetcher(cluster);
  client::Prefetcher& p = *prefetcher;
  // Nobody takes the big file's windows, and it may keep them all.
  auto a = p.StartReadAhead(big_attr, "/big", 0, 1000);
  auto b = p.StartReadAhead(small_attr, "/small", 0, 1000);
  client::Window w = b->Take();
  REQUIRE(w.status.ok());
  CHECK(w.bytes == small);
  // The big one had its turn (64 MiB), not the whole file, first.
  CHECK(p.bytes_read() < big.size());
  a->Cancel();
}

TEST_CASE("a seek cancels the read-ahead and reads just the bytes asked for", "[unit]") {
  FakeCluster cluster(3, 4096);
  auto fs = cluster.Connect();
  const std::string data = testing::Pattern(40 << 20, 7);
  const client::Attr attr = Written(*fs, "/f", data);
  // Every data server answers 150 ms late: the read-ahead is still on its
  // way when the seek comes.
  for (const std::string& ep : cluster.data_endpoints) cluster.network.Delay(ep, 150);
  auto prefetcher = Prefetcher(cluster);
  client::Prefetcher& ahead = *prefetcher;
  client::ReadStream stream(fs.get(), &ahead, attr);
  std::string buf(4096, '\0');
  auto read_at = [&](uint64_t offset) {
    REQUIRE(*stream.Read(offset, buf.data(), buf.size()) == buf.size());
    CHECK(buf == data.substr(offset, buf.size()));
  };
  // Sequential from 0: the read-ahead starts.
  read_at(0);
  read_at(4096);
  // A seek past it: served on this thread, not behind the read-ahead, which
  // stops (the file is not read to its end).
  read_at((35 << 20) + 100);
  const uint64_t after_forward = SettledBytes(ahead);
  CHECK(after_forward < (20u << 20));
  // Sequential from 12 MiB, then a seek back before it: both byte-exact.
  read_at(12 << 20);
  read_at((12 << 20) + 4096);
  read_at(1 << 20);
  CHECK(SettledBytes(ahead) - after_forward < (20u << 20));
}

TEST_CASE("reads of any size through a ReadStream are byte-exact across windows and at the end", "[unit]") {
  FakeCluster cluster(3, 512);
  auto fs = cluster.Connect();
  const std::string data = testing::Pattern((9 << 20) + 777, 11);
  const client::Attr attr = Written(*fs, "/f", data);
  auto prefetcher = Prefetcher(cluster);
  client::ReadStream stream(fs.get(), prefetcher.get(), attr);
  // Sizes that cross window and block edges anywhere, from an odd offset.
  std::string got;
  uint64_t at = 3;
  std::string buf((128 << 10) + 1, '\0');
  while (true) {
    auto n = stream.Read(at, buf.data(), buf.size());
    REQUIRE(n.ok());
    if (*n == 0) break;
    got.append(buf.data(), *n);
    at += *n;
  }
  CHECK(at == data.size());
  CHECK(got == data.substr(3));
}

TEST_CASE("a block with no good copy fails only the reads of it, also when the read-ahead met it first", "[unit]") {
  FakeCluster cluster(3, 4096);
  auto fs = cluster.Connect();
  const std::string data = testing::Pattern(8 << 20, 13);
  const client::Attr attr = Written(*fs, "/f", data);
  const uint64_t lost = 1000;  // 3.9 MiB in: inside the read-ahead's second window
  ReplicaPair pair = PlaceBlock(attr.placement_seed, attr.stripe_width, lost);
  std::string was, now;
  REQUIRE(cluster.store(pair.first).Corrupt(attr.layout(), lost, 10, 4, &was, &now).ok());
  REQUIRE(cluster.store(pair.second).Corrupt(attr.layout(), lost, 10, 4, &was, &now).ok());
  auto prefetcher = Prefetcher(cluster);
  client::ReadStream stream(fs.get(), prefetcher.get(), attr);
  std::string buf(64 << 10, '\0');
  uint64_t at = 0;
  // Up to the lost block, byte-exact.
  while (at + buf.size() <= lost * 4096) {
    auto n = stream.Read(at, buf.data(), buf.size());
    REQUIRE(n.ok());
    REQUIRE(*n == buf.size());
    CHECK(buf == data.substr(at, buf.size()));
    at += *n;
  }
  // The read of it fails, naming it.
  auto bad = stream.Read(lost * 4096, buf.data(), 4096);
  REQUIRE(!bad.ok());
  CHECK(bad.status().code() == Code::kDataLoss);
  // The next block reads.
  auto after = stream.Read((lost + 1) * 4096, buf.data(), 4096);
  REQUIRE(after.ok());
  CHECK(buf.substr(0, 4096) == data.substr((lost + 1) * 4096, 4096));
}

}  // namespace
}  // namespace dfs
