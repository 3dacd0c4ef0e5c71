#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "core/common/placement.h"
#include "core/meta/meta_store.h"
#include "temp_dir.h"

using namespace dfs;
using dfs::meta::MetaStore;

namespace {

std::unique_ptr<MetaStore> OpenStore(const std::string& dir) {
  auto s = MetaStore::Open(dir);
  REQUIRE(s.ok());
  REQUIRE((*s)->SetServers({"tcp://a:1", "tcp://a:2", "tcp://a:3"}).ok());
  return std::move(*s);
}

proto::CreateReq File(const std::string& path, uint32_t block_size, bool exclusive) {
  proto::CreateReq r;
  r.path = path;
  r.block_size = block_size;
  r.exclusive = exclusive;
  return r;
}

proto::MkdirReq Dir(const std::string& path, bool parents) {
  proto::MkdirReq r;
  r.path = path;
  r.parents = parents;
  return r;
}

}  // namespace

TEST_CASE("files get their placement at creation", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto a = store->Create(File("/f", 0, false));
  REQUIRE(a.ok());
  CHECK(a->placement_seed == Fnv1a64("/f"));
  CHECK(a->stripe_width == 3);
  CHECK(a->block_size == 512);
  CHECK(a->generation > 0);
}

TEST_CASE("the namespace survives a reopen", "[unit]") {
  testing::TempDir dir;
  uint64_t fid;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->Mkdir(Dir("/d", false)).ok());
    auto a = store->Create(File("/d/f", 4096, false));
    REQUIRE(a.ok());
    fid = a->fid;
    proto::CommitReq commit;
    commit.fid = fid;
    commit.generation = a->generation;
    commit.size = 1234;
    REQUIRE(store->Commit(commit).ok());
  }
  auto store = MetaStore::Open(dir.path());
  REQUIRE(store.ok());
  CHECK((*store)->config().servers.size() == 3);
  auto a = (*store)->Lookup("/d/f");
  REQUIRE(a.ok());
  CHECK(a->fid == fid);
  CHECK(a->size == 1234);
  CHECK(a->block_size == 4096);
}

TEST_CASE("file ids and generations are never reused", "[unit]") {
  testing::TempDir dir;
  uint64_t first_fid, first_gen;
  {
    auto store = OpenStore(dir.path());
    auto a = store->Create(File("/f", 0, false));
    REQUIRE(a.ok());
    first_fid = a->fid;
    first_gen = a->generation;
    REQUIRE(store->Unlink("/f").ok());
  }
  auto store = MetaStore::Open(dir.path());
  REQUIRE(store.ok());
  auto b = (*store)->Create(File("/f", 0, false));
  REQUIRE(b.ok());
  CHECK(b->fid > first_fid);
  CHECK(b->generation > first_gen);
  auto c = (*store)->Create(File("/f", 0, false));  // truncate: new generation
  REQUIRE(c.ok());
  CHECK(c->fid == b->fid);
  CHECK(c->generation > b->generation);
  CHECK(c->truncate_generation == c->generation);
}

TEST_CASE("namespace errors have the right codes", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Mkdir(Dir("/d", false)).ok());
  REQUIRE(store->Create(File("/d/f", 0, false)).ok());
  CHECK(store->Lookup("/nope").status().code() == Code::kNotFound);
  CHECK(store->Lookup("/d/f/x").status().code() == Code::kNotADirectory);
  CHECK(store->Create(File("/d", 0, false)).status().code() == Code::kIsADirectory);
  CHECK(store->Create(File("/d/f", 0, true)).status().code() == Code::kAlreadyExists);
  CHECK(store->Create(File("/x/y", 0, false)).status().code() == Code::kNotFound);
  CHECK(store->Mkdir(Dir("/d", false)).status().code() == Code::kAlreadyExists);
  CHECK(store->Mkdir(Dir("/d", true)).ok());
  CHECK(store->Mkdir(Dir("/a/b/c", false)).status().code() == Code::kNotFound);
  CHECK(store->Mkdir(Dir("/a/b/c", true)).ok());
  CHECK(store->Rmdir("/d").code() == Code::kNotEmpty);
  CHECK(store->Rmdir("/d/f").code() == Code::kNotADirectory);
  CHECK(store->Unlink("/d").status().code() == Code::kIsADirectory);
  CHECK(store->Rename("/d", "/d/sub").code() == Code::kInvalidArgument);
}

TEST_CASE("rename moves, replaces a file, and keeps the placement", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Mkdir(Dir("/d", false)).ok());
  auto a = store->Create(File("/a", 0, false));
  REQUIRE(store->Create(File("/d/b", 0, false)).ok());
  REQUIRE(store->Rename("/a", "/d/b").ok());
  CHECK(store->Lookup("/a").status().code() == Code::kNotFound);
  auto b = store->Lookup("/d/b");
  REQUIRE(b.ok());
  CHECK(b->fid == a->fid);
  CHECK(b->placement_seed == Fnv1a64("/a"));  // no block moves
  auto listing = store->Readdir("/d", "", 10);
  REQUIRE(listing.ok());
  CHECK(listing->entries.size() == 1);
}

TEST_CASE("readdir pages", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 25; ++i) REQUIRE(store->Create(File("/f" + std::to_string(100 + i), 0, false)).ok());
  auto page = store->Readdir("/", "", 10);
  REQUIRE(page.ok());
  CHECK(page->entries.size() == 10);
  CHECK(page->more);
  auto next = store->Readdir("/", page->entries.back().name, 100);
  REQUIRE(next.ok());
  CHECK(next->entries.size() == 15);
  CHECK(!next->more);
  auto files = store->ListFiles(0, 100);
  REQUIRE(files.ok());
  CHECK(files->files.size() == 25);
  CHECK(files->files[0].name == "/f100");
}

TEST_CASE("directories count their subdirectories and entries move their times", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Mkdir(Dir("/d", false)).ok());
  auto before = store->Lookup("/d");
  REQUIRE(before.ok());
  CHECK(before->nlink == 2);
  REQUIRE(store->Mkdir(Dir("/d/a", false)).ok());
  REQUIRE(store->Mkdir(Dir("/d/b", false)).ok());
  REQUIRE(store->Create(File("/d/f", 0, false)).ok());
  auto after = store->Lookup("/d");
  CHECK(after->nlink == 4);
  CHECK(after->mtime_ns > before->mtime_ns);
  CHECK(after->ctime_ns == after->mtime_ns);
  REQUIRE(store->Rmdir("/d/a").ok());
  CHECK(store->Lookup("/d")->nlink == 3);
  REQUIRE(store->Mkdir(Dir("/e", false)).ok());
  REQUIRE(store->Rename("/d/b", "/e/b").ok());
  CHECK(store->Lookup("/d")->nlink == 2);
  CHECK(store->Lookup("/e")->nlink == 3);
  CHECK(store->Lookup("/")->nlink == 4);
}

TEST_CASE("setattr changes only the named fields and moves ctime", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto f = File("/f", 0, false);
  f.mode = 0640;
  f.uid = 1000;
  f.gid = 100;
  auto a = store->Create(f);
  REQUIRE(a.ok());
  CHECK(a->mode == 0640);
  CHECK(a->uid == 1000);
  CHECK(a->atime_ns == a->mtime_ns);
  proto::SetAttrReq req;
  req.path = "/f";
  req.set = proto::SetAttrReq::kMode | proto::SetAttrReq::kMtime;
  req.mode = 04711;
  req.mtime_ns = 1234567890123;
  req.uid = 7;  // not in `set`: unchanged
  REQUIRE(store->SetAttr(req).ok());
  auto b = store->Lookup("/f");
  CHECK(b->mode == 04711);
  CHECK(b->uid == 1000);
  CHECK(b->gid == 100);
  CHECK(b->mtime_ns == 1234567890123);
  CHECK(b->atime_ns == a->atime_ns);
  CHECK(b->ctime_ns > a->ctime_ns);
  req.set = proto::SetAttrReq::kUid | proto::SetAttrReq::kGid;
  req.uid = 0;
  req.gid = 0;
  REQUIRE(store->SetAttr(req).ok());
  CHECK(store->Lookup("/f")->uid == 0);
  req.path = "/nope";
  CHECK(store->SetAttr(req).status().code() == Code::kNotFound);
}

TEST_CASE("a set-group-ID directory passes on its group", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto d = Dir("/g", false);
  d.mode = 02775;
  d.gid = 50;
  REQUIRE(store->Mkdir(d).ok());
  auto f = File("/g/f", 0, false);
  f.gid = 100;
  CHECK(store->Create(f)->gid == 50);
  auto sub = Dir("/g/sub", false);
  sub.gid = 100;
  sub.mode = 0755;
  auto s = store->Mkdir(sub);
  CHECK(s->gid == 50);
  CHECK((s->mode & 02000) != 0);
}

TEST_CASE("symbolic links keep their target and survive a restart", "[unit]") {
  testing::TempDir dir;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->Symlink({"/l", "../some/where", 5, 6}).ok());
    CHECK(store->Symlink({"/l", "x", 0, 0}).status().code() == Code::kAlreadyExists);
    CHECK(store->Symlink({"/m", std::string(5000, 'x'), 0, 0}).status().code() == Code::kNameTooLong);
    CHECK(store->Create(File("/l", 0, false)).status().code() == Code::kInvalidArgument);
  }
  auto store = OpenStore(dir.path());
  auto l = store->Lookup("/l");
  REQUIRE(l.ok());
  CHECK(l->type == static_cast<int>(proto::FileType::kSymlink));
  CHECK(l->target == "../some/where");
  CHECK(l->size == 13);
  CHECK(l->uid == 5);
  REQUIRE(store->Unlink("/l").ok());
  CHECK(store->Lookup("/l").status().code() == Code::kNotFound);
}

TEST_CASE("extended attributes: create, replace, list, remove", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Create(File("/f", 0, false)).ok());
  std::string binary("a\0b\xff", 4);
  REQUIRE(store->SetXattr({"/f", "user.one", binary, 0}).ok());
  REQUIRE(store->SetXattr({"/f", "user.two", "2", proto::XattrReq::kCreate}).ok());
  CHECK(store->SetXattr({"/f", "user.two", "x", proto::XattrReq::kCreate}).code() == Code::kAlreadyExists);
  CHECK(store->SetXattr({"/f", "user.three", "x", proto::XattrReq::kReplace}).code() == Code::kNoAttribute);
  REQUIRE(store->SetXattr({"/f", "user.two", "22", proto::XattrReq::kReplace}).ok());
  CHECK(*store->GetXattr("/f", "user.one") == binary);
  CHECK(*store->GetXattr("/f", "user.two") == "22");
  CHECK(store->GetXattr("/f", "user.none").status().code() == Code::kNoAttribute);
  CHECK(*store->ListXattr("/f") == std::vector<std::string>{"user.one", "user.two"});
  CHECK(store->SetXattr({"/f", std::string(256, 'n'), "", 0}).code() == Code::kNameTooLong);
  CHECK(store->SetXattr({"/f", "user.big", std::string(65537, 'v'), 0}).code() == Code::kResourceExhausted);
  REQUIRE(store->RemoveXattr("/f", "user.one").ok());
  CHECK(store->RemoveXattr("/f", "user.one").code() == Code::kNoAttribute);
  CHECK(*store->ListXattr("/f") == std::vector<std::string>{"user.two"});
  // A new file in the old one's place starts with none.
  REQUIRE(store->Unlink("/f").ok());
  REQUIRE(store->Create(File("/f", 0, false)).ok());
  CHECK(store->ListXattr("/f")->empty());
}

TEST_CASE("special files keep their type and device number", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  proto::MknodReq req{"/dev0", static_cast<int>(proto::FileType::kBlockDevice), 0660, 0x0801, 0, 6};
  REQUIRE(store->Mknod(req).ok());
  auto a = store->Lookup("/dev0");
  REQUIRE(a.ok());
  CHECK(a->type == static_cast<int>(proto::FileType::kBlockDevice));
  CHECK(a->rdev == 0x0801);
  CHECK(a->mode == 0660);
  CHECK(store->Mknod(req).status().code() == Code::kAlreadyExists);
  req.path = "/x";
  req.type = static_cast<int>(proto::FileType::kFile);
  CHECK(store->Mknod(req).status().code() == Code::kInvalidArgument);
  CHECK(store->OpenWrite(proto::OpenWriteReq{"/dev0", 0, ""}).status().code() == Code::kInvalidArgument);
  // Device nodes are root's to make, as with mknod(2); FIFOs and sockets anyone's.
  proto::MknodReq user{"/dev1", static_cast<int>(proto::FileType::kCharDevice), 0666, 0x0103, 1000, 1000};
  CHECK(store->Mknod(user).status().code() == Code::kNotPermitted);
  user.type = static_cast<int>(proto::FileType::kBlockDevice);
  CHECK(store->Mknod(user).status().code() == Code::kNotPermitted);
  user.type = static_cast<int>(proto::FileType::kFifo);
  CHECK(store->Mknod(user).ok());
}

TEST_CASE("hard links: one file under two names until the last goes", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Mkdir(Dir("/d", false)).ok());
  auto a = store->Create(File("/a", 0, false));
  REQUIRE(a.ok());
  auto linked = store->Link("/a", "/d/b");
  REQUIRE(linked.ok());
  CHECK(linked->fid == a->fid);
  CHECK(linked->nlink == 2);
  CHECK(store->Lookup("/a")->nlink == 2);
  CHECK(store->Lookup("/d/b")->fid == a->fid);
  auto listing = store->Readdir("/d", "", 10);
  REQUIRE(listing.ok());
  REQUIRE(listing->entries.size() == 1);
  CHECK(listing->entries[0].name == "b");
  CHECK(listing->entries[0].fid == a->fid);

  CHECK(store->Link("/d", "/e").status().code() == Code::kNotPermitted);
  CHECK(store->Link("/a", "/d/b").status().code() == Code::kAlreadyExists);
  CHECK(store->Link("/nope", "/x").status().code() == Code::kNotFound);

  // Renaming one name onto another name of the same file changes nothing.
  REQUIRE(store->Rename("/a", "/d/b").ok());
  CHECK(store->Lookup("/a").ok());
  CHECK(store->Lookup("/d/b").ok());

  // The first name goes: the file stays under the other, with its data.
  auto gone = store->Unlink("/a");
  REQUIRE(gone.ok());
  CHECK(gone->nlink == 1);
  auto b = store->Lookup("/d/b");
  REQUIRE(b.ok());
  CHECK(b->nlink == 1);
  auto files = store->ListFiles(0, 10);
  REQUIRE(files.ok());
  REQUIRE(files->files.size() == 1);
  CHECK(files->files[0].name == "/d/b");  // its path is the name left

  // A name can be taken again while the file lives on under another.
  REQUIRE(store->Create(File("/a", 0, false)).ok());
  CHECK(store->Lookup("/a")->fid != a->fid);

  // Renaming the last name keeps the file; unlinking it ends it.
  REQUIRE(store->Rename("/d/b", "/c").ok());
  CHECK(store->ListFiles(0, 10)->files.size() == 2);
  auto last = store->Unlink("/c");
  REQUIRE(last.ok());
  CHECK(last->nlink == 0);
  CHECK(store->Lookup("/c").status().code() == Code::kNotFound);
  CHECK(store->ListFiles(0, 10)->files.size() == 1);
}

TEST_CASE("rename over another name of a linked file drops one link", "[unit]") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto a = store->Create(File("/a", 0, false));
  auto c = store->Create(File("/c", 0, false));
  REQUIRE(store->Link("/a", "/b").ok());
  REQUIRE(store->Rename("/c", "/a").ok());  // /a named the linked file
  CHECK(store->Lookup("/a")->fid == c->fid);
  auto b = store->Lookup("/b");
  REQUIRE(b.ok());
  CHECK(b->fid == a->fid);
  CHECK(b->nlink == 1);
  // The links survive a reopen.
  store.reset();
  store = OpenStore(dir.path());
  CHECK(store->Lookup("/b")->fid == a->fid);
  CHECK(store->Lookup("/a")->fid == c->fid);
}

TEST_CASE("a version 2 store is upgraded to named entries", "[unit]") {
  testing::TempDir dir;
  {
    // The tables as version 2 made them, with a directory and a file in it.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path() + "/meta.db").c_str(), &db) == SQLITE_OK);
    const char* v2 = R"sql(
      CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE servers(idx INTEGER PRIMARY KEY, endpoint TEXT NOT NULL);
      CREATE TABLE inodes(fid INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name TEXT NOT NULL,
        type INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL DEFAULT 0,
        gid INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0, mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL, nlink INTEGER NOT NULL DEFAULT 1, seed INTEGER NOT NULL DEFAULT 0,
        stripe INTEGER NOT NULL DEFAULT 0, block_size INTEGER NOT NULL DEFAULT 0,
        generation INTEGER NOT NULL DEFAULT 0, truncate_generation INTEGER NOT NULL DEFAULT 0,
        atime_ns INTEGER NOT NULL DEFAULT 0, target TEXT NOT NULL DEFAULT '',
        rdev INTEGER NOT NULL DEFAULT 0, UNIQUE(parent, name));
      CREATE TABLE deleted(fid INTEGER PRIMARY KEY, seed INTEGER, stripe INTEGER, block_size INTEGER,
        deleted_ns INTEGER);
      CREATE TABLE xattrs(fid INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL,
        PRIMARY KEY(fid, name));
      INSERT INTO config VALUES ('cluster_id', 'old'), ('next_fid', '4'), ('next_generation', '2');
      INSERT INTO servers VALUES (0, 'tcp://a:1'), (1, 'tcp://a:2');
      INSERT INTO inodes(fid, parent, name, type, mode, mtime_ns, ctime_ns, nlink)
        VALUES (1, 0, '', 2, 493, 1, 1, 3);
      INSERT INTO inodes(fid, parent, name, type, mode, mtime_ns, ctime_ns, nlink)
        VALUES (2, 1, 'd', 2, 493, 1, 1, 2);
      INSERT INTO inodes(fid, parent, name, type, mode, size, mtime_ns, ctime_ns, seed, stripe,
        block_size, generation) VALUES (3, 2, 'f', 1, 420, 5, 1, 1, 7, 2, 512, 1);
      PRAGMA user_version = 2;
    )sql";
    REQUIRE(sqlite3_exec(db, v2, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto opened = MetaStore::Open(dir.path());
  REQUIRE(opened.ok());
  auto& store = *opened;
  auto f = store->Lookup("/d/f");
  REQUIRE(f.ok());
  CHECK(f->fid == 3);
  CHECK(f->size == 5);
  auto listing = store->Readdir("/d", "", 10);
  REQUIRE(listing.ok());
  REQUIRE(listing->entries.size() == 1);
  CHECK(listing->entries[0].name == "f");
  REQUIRE(store->Link("/d/f", "/g").ok());
  CHECK(store->Lookup("/g")->nlink == 2);
  CHECK(store->Rmdir("/d").code() == Code::kNotEmpty);
}
