// The write rules of the meta store (docs/leases.md): leases, generations,
// atomic replace, the extent map. A fake clock moves time.
#include <catch2/catch.hpp>

#include "core/meta/meta_store.h"
#include "temp_dir.h"

using namespace dfs;
using dfs::meta::MetaStore;

namespace {

constexpr int64_t kLeaseMs = 60000;

struct Writer {
  uint64_t id;
  std::string name;
};
const Writer kAlice{11, "alice-host pid 1"};
const Writer kBob{22, "bob-host pid 2"};

// A store with three data servers and a clock the test moves.
class StoreFixture {
 public:
  StoreFixture() { Reopen(); }

  void Reopen() {
    store_.reset();
    meta::MetaStoreOptions options;
    options.lease_ms = kLeaseMs;
    options.clock_ms = [this] { return now_ms_; };
    auto s = MetaStore::Open(dir_.path(), options);
    REQUIRE(s.ok());
    store_ = std::move(*s);
    REQUIRE(store_->SetServers({"tcp://a:1", "tcp://a:2", "tcp://a:3"}).ok());
  }

  MetaStore& store() { return *store_; }
  void Advance(int64_t ms) { now_ms_ += ms; }

  // Create in place (the mount's O_CREAT | O_TRUNC) by `w`.
  Result<proto::Attr> CreateInPlace(const std::string& path, const Writer& w) {
    proto::CreateReq r;
    r.path = path;
    r.holder_id = w.id;
    r.holder_name = w.name;
    return store_->Create(r);
  }
  // A staged copy of `path` (dfs cp) by `w`.
  Result<proto::Attr> Stage(const std::string& path, const Writer& w) {
    proto::CreateReq r;
    r.path = path;
    r.replace = true;
    r.holder_id = w.id;
    r.holder_name = w.name;
    return store_->Create(r);
  }
  Result<proto::Attr> OpenWrite(const std::string& path, const Writer& w) {
    return store_->OpenWrite(proto::OpenWriteReq{path, w.id, w.name});
  }
  Result<proto::CommitRsp> Commit(const proto::Attr& a, const Writer& w, uint64_t size,
                                  std::vector<uint64_t> ranges = {}, bool publish = false) {
    proto::CommitReq c;
    c.fid = a.fid;
    c.generation = a.generation;
    c.size = size;
    c.ranges = std::move(ranges);
    c.publish = publish;
    c.holder_id = w.id;
    return store_->Commit(c);
  }
  Result<proto::CommitRsp> Publish(const proto::Attr& a, const Writer& w, uint64_t size) {
    return Commit(a, w, size, {0, (size + a.block_size - 1) / a.block_size}, true);
  }
  std::vector<uint64_t> Extents(uint64_t fid, uint64_t first = 0, uint32_t limit = 4096) {
    auto r = store_->Extents(proto::ExtentsReq{fid, first, limit});
    REQUIRE(r.ok());
    return r->ranges;
  }
  uint64_t FidOf(const std::string& path) {
    auto a = store_->Lookup(path);
    REQUIRE(a.ok());
    return a->fid;
  }

 private:
  testing::TempDir dir_;
  int64_t now_ms_ = 1000000;
  std::unique_ptr<MetaStore> store_;
};

}  // namespace

TEST_CASE("a commit under a stale write generation is refused", "[unit]") {
  StoreFixture f;
  auto first = f.CreateInPlace("/f", kAlice);
  REQUIRE(first.ok());
  auto reopened = f.OpenWrite("/f", kAlice);
  REQUIRE(reopened.ok());
  CHECK(reopened->generation > first->generation);
  auto stale = f.Commit(*first, kAlice, 100);
  CHECK(stale.status().code() == Code::kAborted);
  CHECK_THAT(stale.status().message(), Catch::Contains("stale"));
  CHECK(f.store().Lookup("/f")->size == 0);
  REQUIRE(f.Commit(*reopened, kAlice, 100).ok());
  CHECK(f.store().Lookup("/f")->size == 100);

  SECTION("also after a truncate by the same holder") {
    auto truncated = f.CreateInPlace("/f", kAlice);
    REQUIRE(truncated.ok());
    CHECK(f.Commit(*reopened, kAlice, 5000).status().code() == Code::kAborted);
    CHECK(f.store().Lookup("/f")->size == 0);
  }
}

TEST_CASE("one writer per file: the second is busy until the first's lease lapses", "[unit]") {
  StoreFixture f;
  auto alice = f.CreateInPlace("/f", kAlice);
  REQUIRE(alice.ok());
  auto bob = f.OpenWrite("/f", kBob);
  CHECK(bob.status().code() == Code::kBusy);
  CHECK_THAT(bob.status().message(), Catch::Contains("/f: being written by alice-host pid 1"));
  CHECK(f.CreateInPlace("/f", kBob).status().code() == Code::kBusy);
  CHECK(f.Stage("/f", kBob).status().code() == Code::kBusy);
  // The holder itself may open again (two handles of one mount).
  CHECK(f.OpenWrite("/f", kAlice).ok());

  SECTION("renewing keeps it") {
    for (int i = 0; i < 5; ++i) {
      f.Advance(kLeaseMs * 2 / 3);
      auto renewed = f.store().RenewLeases(proto::LeaseReq{kAlice.id, kAlice.name, {alice->fid}, false, {}});
      CHECK(renewed.lost.empty());
    }
    CHECK(f.OpenWrite("/f", kBob).status().code() == Code::kBusy);
  }
  SECTION("a writer that stops renewing loses it, and its late commit is refused") {
    f.Advance(kLeaseMs + 1);
    auto taken = f.OpenWrite("/f", kBob);
    REQUIRE(taken.ok());
    auto late = f.Commit(*alice, kAlice, 10);
    CHECK(late.status().code() == Code::kAborted);
    auto renewed = f.store().RenewLeases(proto::LeaseReq{kAlice.id, kAlice.name, {alice->fid}, false, {}});
    CHECK(renewed.lost == std::vector<uint64_t>{alice->fid});
  }
  SECTION("released, it is free at once") {
    REQUIRE(f.store().ReleaseLeases(proto::LeaseReq{kAlice.id, kAlice.name, {alice->fid}, false, {}}).ok());
    CHECK(f.OpenWrite("/f", kBob).ok());
  }
  SECTION("a release of an older write generation leaves the lease of a later open") {
    // A mount gives a closed file's lease back from another thread; the
    // file may be open for writing again by the time the release arrives.
    auto again = f.OpenWrite("/f", kAlice);
    REQUIRE(again.ok());
    REQUIRE(again->generation != alice->generation);
    proto::LeaseReq late{kAlice.id, kAlice.name, {alice->fid}, false, {}};
    late.generations = {alice->generation};
    REQUIRE(f.store().ReleaseLeases(late).ok());
    CHECK(f.OpenWrite("/f", kBob).status().code() == Code::kBusy);
    proto::LeaseReq current = late;
    current.generations = {again->generation};
    REQUIRE(f.store().ReleaseLeases(current).ok());
    CHECK(f.OpenWrite("/f", kBob).ok());
  }
  SECTION("a commit by a client without the lease is refused") {
    auto gen = f.store().Lookup("/f");
    proto::CommitReq c;
    c.fid = gen->fid;
    c.generation = gen->generation;
    c.size = 7;
    c.holder_id = kBob.id;
    CHECK(f.store().Commit(c).status().code() == Code::kBusy);
  }
}

TEST_CASE("a staged copy takes the name only when it is published", "[unit]") {
  StoreFixture f;
  auto old = f.CreateInPlace("/f", kAlice);
  REQUIRE(old.ok());
  REQUIRE(f.Commit(*old, kAlice, 1000, {0, 2}).ok());
  REQUIRE(f.store().ReleaseLeases(proto::LeaseReq{kAlice.id, kAlice.name, {old->fid}, false, {}}).ok());

  auto copy = f.Stage("/f", kBob);
  REQUIRE(copy.ok());
  CHECK(copy->fid != old->fid);
  // Readers still see the old file, whole.
  CHECK(f.FidOf("/f") == old->fid);
  CHECK(f.store().Lookup("/f")->size == 1000);
  CHECK(f.store().Readdir("/", "", 100)->entries.size() == 1);

  auto published = f.Publish(*copy, kBob, 300);
  REQUIRE(published.ok());
  CHECK(f.FidOf("/f") == copy->fid);
  CHECK(f.store().Lookup("/f")->size == 300);
  CHECK(f.store().Lookup("/f")->nlink == 1);
  CHECK(published->replaced.fid == old->fid);  // its blocks may go now
  CHECK(f.store().Readdir("/", "", 100)->entries.size() == 1);
  // The lease ended with the publish.
  CHECK(f.OpenWrite("/f", kAlice).ok());
}

TEST_CASE("a new name appears only when its copy is published", "[unit]") {
  StoreFixture f;
  auto copy = f.Stage("/new", kAlice);
  REQUIRE(copy.ok());
  CHECK(f.store().Lookup("/new").status().code() == Code::kNotFound);
  CHECK(f.store().Readdir("/", "", 100)->entries.empty());
  auto published = f.Publish(*copy, kAlice, 10);
  REQUIRE(published.ok());
  CHECK(published->replaced.fid == 0);
  CHECK(f.FidOf("/new") == copy->fid);
}

TEST_CASE("two copies to one name: the second is busy", "[unit]") {
  StoreFixture f;
  auto alice = f.Stage("/x", kAlice);
  REQUIRE(alice.ok());
  auto bob = f.Stage("/x", kBob);
  CHECK(bob.status().code() == Code::kBusy);
  CHECK_THAT(bob.status().message(), Catch::Contains("alice-host pid 1"));
  // A writer in place of the file the name will get is refused too.
  REQUIRE(f.Publish(*alice, kAlice, 10).ok());
  auto bob2 = f.Stage("/x", kBob);
  REQUIRE(bob2.ok());
  CHECK(f.OpenWrite("/x", kAlice).status().code() == Code::kBusy);
  CHECK(f.CreateInPlace("/x", kAlice).status().code() == Code::kBusy);
}

TEST_CASE("a copy whose writer dies is deleted, and the name keeps what it had", "[unit]") {
  StoreFixture f;
  auto old = f.Stage("/f", kAlice);
  REQUIRE(f.Publish(*old, kAlice, 100).ok());
  auto copy = f.Stage("/f", kBob);
  REQUIRE(copy.ok());
  f.Advance(kLeaseMs / 2);
  CHECK(f.store().ExpireLeases().empty());
  f.Advance(kLeaseMs);
  auto expired = f.store().ExpireLeases();
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].fid == copy->fid);
  CHECK(f.FidOf("/f") == old->fid);
  auto late = f.Publish(*copy, kBob, 5);
  CHECK(late.status().code() == Code::kNotFound);
  CHECK(f.FidOf("/f") == old->fid);
  CHECK(f.store().Lookup("/f")->size == 100);
  // The next writer gets the name.
  CHECK(f.Stage("/f", kAlice).ok());
}

TEST_CASE("an abandoned copy is deleted at once", "[unit]") {
  StoreFixture f;
  auto copy = f.Stage("/f", kAlice);
  REQUIRE(copy.ok());
  auto released = f.store().ReleaseLeases(proto::LeaseReq{kAlice.id, kAlice.name, {copy->fid}, true, {}});
  REQUIRE(released.ok());
  REQUIRE(released->deleted.size() == 1);
  CHECK(released->deleted[0].fid == copy->fid);
  auto bobs = f.Stage("/f", kBob);
  REQUIRE(bobs.ok());
  // Another client cannot abandon what it does not hold.
  auto not_hers = f.store().ReleaseLeases(proto::LeaseReq{kAlice.id, kAlice.name, {bobs->fid}, true, {}});
  REQUIRE(not_hers.ok());
  CHECK(not_hers->deleted.empty());
  CHECK(f.Publish(*bobs, kBob, 10).ok());
}

TEST_CASE("staged copies and their leases survive a meta server restart", "[unit]") {
  StoreFixture f;
  auto copy = f.Stage("/f", kAlice);
  REQUIRE(copy.ok());
  f.Reopen();
  CHECK(f.Stage("/f", kBob).status().code() == Code::kBusy);
  REQUIRE(f.Publish(*copy, kAlice, 10).ok());
  CHECK(f.FidOf("/f") == copy->fid);

  SECTION("and lapse after one lease period if nobody renews them") {
    auto second = f.Stage("/g", kAlice);
    REQUIRE(second.ok());
    f.Reopen();
    f.Advance(kLeaseMs + 1);
    CHECK(f.store().ExpireLeases().size() == 1);
    CHECK(f.Publish(*second, kAlice, 10).status().code() == Code::kNotFound);
  }
}

TEST_CASE("publishing over one of two hard links replaces that name only", "[unit]") {
  StoreFixture f;
  auto a = f.Stage("/a", kAlice);
  REQUIRE(f.Publish(*a, kAlice, 100).ok());
  REQUIRE(f.store().Link("/a", "/b").ok());
  auto copy = f.Stage("/a", kBob);
  REQUIRE(copy.ok());
  auto published = f.Publish(*copy, kBob, 7);
  REQUIRE(published.ok());
  CHECK(published->replaced.fid == 0);  // /b still names it
  CHECK(f.FidOf("/a") == copy->fid);
  CHECK(f.FidOf("/b") == a->fid);
  CHECK(f.store().Lookup("/b")->nlink == 1);
  CHECK(f.store().Lookup("/b")->size == 100);
}

TEST_CASE("a copy is not published into a directory removed meanwhile", "[unit]") {
  StoreFixture f;
  proto::MkdirReq d;
  d.path = "/d";
  REQUIRE(f.store().Mkdir(d).ok());
  auto copy = f.Stage("/d/f", kAlice);
  REQUIRE(copy.ok());
  REQUIRE(f.store().Rmdir("/d").ok());  // empty: the copy has no name yet
  CHECK(f.Publish(*copy, kAlice, 10).status().code() == Code::kNotFound);
}

TEST_CASE("CreateMany and CommitMany: each file succeeds or fails alone", "[unit]") {
  StoreFixture f;
  REQUIRE(f.Stage("/busy", kBob).ok());
  std::vector<proto::CreateReq> reqs(3);
  reqs[0].path = "/a";
  reqs[1].path = "/busy";
  reqs[2].path = "/c";
  for (auto& r : reqs) {
    r.replace = true;
    r.holder_id = kAlice.id;
    r.holder_name = kAlice.name;
  }
  auto created = f.store().CreateMany(reqs);
  REQUIRE(created.size() == 3);
  CHECK(created[0].ok());
  CHECK(created[1].status().code() == Code::kBusy);
  CHECK(created[2].ok());
  std::vector<proto::CommitReq> commits(2);
  for (int k : {0, 1}) {
    const proto::Attr& a = *created[k == 0 ? 0 : 2];
    commits[k].fid = a.fid;
    commits[k].generation = a.generation;
    commits[k].size = 10;
    commits[k].publish = true;
    commits[k].holder_id = kAlice.id;
  }
  commits[1].generation -= 1;  // stale
  commits[1].ranges = {0, 1};
  // A third into a directory removed since it was staged.
  proto::MkdirReq d;
  d.path = "/d";
  REQUIRE(f.store().Mkdir(d).ok());
  auto in_d = f.Stage("/d/x", kAlice);
  REQUIRE(in_d.ok());
  REQUIRE(f.store().Rmdir("/d").ok());
  proto::CommitReq third = commits[0];
  third.fid = in_d->fid;
  third.generation = in_d->generation;
  third.ranges = {0, 1};
  commits.push_back(third);
  auto committed = f.store().CommitMany(commits);
  REQUIRE(committed.codes.size() == 3);
  CHECK(committed.codes[0] == 0);
  CHECK(committed.codes[1] == static_cast<int>(Code::kAborted));
  CHECK(committed.codes[2] == static_cast<int>(Code::kNotFound));
  CHECK(f.store().Lookup("/a").ok());
  CHECK(f.store().Lookup("/c").status().code() == Code::kNotFound);
  // The files that failed were left as they were.
  CHECK(f.Extents(created[2]->fid).empty());
  CHECK(f.Extents(in_d->fid).empty());
}

TEST_CASE("the extent map: holes cost nothing, writes merge, shrinks cut", "[unit]") {
  StoreFixture f;
  auto a = f.CreateInPlace("/f", kAlice);
  REQUIRE(a.ok());
  const uint64_t bs = a->block_size;
  REQUIRE(f.Commit(*a, kAlice, 10 * bs, {0, 2, 5, 6}).ok());
  CHECK(f.Extents(a->fid) == std::vector<uint64_t>{0, 2, 5, 6});
  CHECK(f.store().Lookup("/f")->data_blocks == 3);
  CHECK_FALSE(proto::Dense(*f.store().Lookup("/f")));

  REQUIRE(f.Commit(*a, kAlice, 10 * bs, {2, 5}).ok());
  CHECK(f.Extents(a->fid) == std::vector<uint64_t>{0, 6});
  CHECK(f.store().Lookup("/f")->data_blocks == 6);
  CHECK(f.Extents(a->fid, 3) == std::vector<uint64_t>{0, 6});
  CHECK(f.Extents(a->fid, 6).empty());

  // Shrunk to 3 blocks and 100 bytes, then grown again and block 8 written:
  // blocks 4 and 5 are a hole now, whatever the servers still hold.
  proto::CommitReq c;
  c.fid = a->fid;
  c.generation = a->generation;
  c.size = 10 * bs;
  c.cut = true;
  c.cut_size = 3 * bs + 100;
  c.ranges = {8, 9};
  c.holder_id = kAlice.id;
  REQUIRE(f.store().Commit(c).ok());
  CHECK(f.Extents(a->fid) == std::vector<uint64_t>{0, 4, 8, 9});
  CHECK(f.store().Lookup("/f")->data_blocks == 5);

  // A commit never leaves data past the size.
  REQUIRE(f.Commit(*a, kAlice, 2 * bs, {}).ok());
  CHECK(f.Extents(a->fid) == std::vector<uint64_t>{0, 2});
  CHECK(proto::Dense(*f.store().Lookup("/f")));

  SECTION("a truncate in place empties it") {
    auto t = f.CreateInPlace("/f", kAlice);
    REQUIRE(t.ok());
    CHECK(f.Extents(a->fid).empty());
    CHECK(t->data_blocks == 0);
  }
}

TEST_CASE("a petabyte file with one block of data is one extent", "[unit]") {
  StoreFixture f;
  auto a = f.CreateInPlace("/huge", kAlice);
  REQUIRE(a.ok());
  const uint64_t size = uint64_t{1} << 50;
  const uint64_t far = 1000000000000ull / a->block_size;
  REQUIRE(f.Commit(*a, kAlice, size, {far, far + 1}).ok());
  auto attr = f.store().Lookup("/huge");
  CHECK(attr->size == size);
  CHECK(attr->data_blocks == 1);
  CHECK(f.Extents(a->fid) == std::vector<uint64_t>{far, far + 1});
  CHECK(f.Extents(a->fid, far + 1).empty());
  CHECK(f.Commit(*a, kAlice, (uint64_t{1} << 60) + 1).status().code() == Code::kFileTooLarge);
}

TEST_CASE("the extent map comes in pages", "[unit]") {
  StoreFixture f;
  auto a = f.CreateInPlace("/f", kAlice);
  REQUIRE(a.ok());
  std::vector<uint64_t> ranges;
  for (uint64_t i = 0; i < 10; ++i) {
    ranges.push_back(2 * i);
    ranges.push_back(2 * i + 1);
  }
  REQUIRE(f.Commit(*a, kAlice, 20 * a->block_size, ranges).ok());
  auto page = f.store().Extents(proto::ExtentsReq{a->fid, 0, 4});
  REQUIRE(page.ok());
  CHECK(page->ranges == std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(page->more);
  page = f.store().Extents(proto::ExtentsReq{a->fid, 13, 4});
  CHECK(page->ranges == std::vector<uint64_t>{14, 15, 16, 17, 18, 19});
  CHECK_FALSE(page->more);
}
