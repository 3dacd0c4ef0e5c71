#include "core/client/file_system.h"

#include <chrono>
#include <thread>

#include "core/client/patch_writer.h"
#include "core/common/path.h"
#include "core/common/placement.h"

namespace dfs::client {
namespace {

// A mount gives a file's write lease back when the kernel releases the file,
// which it does a moment after close(2) returns: a writer that finds the
// file busy tries again for this long before it says so.
constexpr auto kBusyGrace = std::chrono::milliseconds(1000);

// Calls `take` until it is not Busy, or the grace is over.
template <typename T>
Result<T> TakeLease(const std::function<Result<T>()>& take) {
  auto deadline = std::chrono::steady_clock::now() + kBusyGrace;
  while (true) {
    Result<T> r = take();
    if (r.ok() || r.status().code() != Code::kBusy || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

Result<std::unique_ptr<FileSystem>> FileSystem::Connect(const ClientOptions& options) {
  std::unique_ptr<FileSystem> fs(new FileSystem(options));
  fs->meta_ = std::make_unique<MetaClient>(options.meta, options.connect);
  DFS_RETURN_IF_ERROR(fs->meta_->Call<proto::Op::kGetMap>(proto::Empty{}, &fs->map_));
  fs->data_ = std::make_unique<DataClient>(fs->map_.servers, options);
  fs->leases_ =
      std::make_shared<LeaseKeeper>(options.meta, LeaseHolderId::ForThisProcess(), fs->map_.lease_ms, options.connect);
  return fs;
}

Result<std::unique_ptr<FileSystem>> FileSystem::ConnectAnother() const {
  std::unique_ptr<FileSystem> fs(new FileSystem(options_));
  fs->meta_ = std::make_unique<MetaClient>(options_.meta, options_.connect);
  fs->map_ = map_;
  fs->data_ = std::make_unique<DataClient>(fs->map_.servers, options_);
  fs->leases_ = leases_;
  return fs;
}

FileSystem::~FileSystem() = default;

Result<Attr> FileSystem::Stat(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  Attr a;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kLookup>(proto::PathReq{p}, &a));
  return a;
}

Result<Attr> FileSystem::StatFile(uint64_t fid) {
  Attr a;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kStatFile>(proto::FileReq{fid, {}}, &a));
  return a;
}

Result<Attr> FileSystem::Mkdir(const std::string& path, bool parents, const NewEntry& entry) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  Attr a;
  proto::MkdirReq req;
  req.path = p;
  req.parents = parents;
  req.mode = entry.mode;
  req.uid = entry.uid;
  req.gid = entry.gid;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kMkdir>(req, &a));
  DirsChanged({p}, a.dirs);
  if (options_.on_dir_changed) options_.on_dir_changed(p, a);
  return a;
}

Result<std::vector<Attr>> FileSystem::ListDir(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  std::vector<Attr> out;
  proto::ReaddirReq req;
  req.path = p;
  while (true) {
    proto::ReaddirRsp rsp;
    DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kReaddir>(req, &rsp));
    for (auto& e : rsp.entries) out.push_back(std::move(e));
    if (!rsp.more || out.empty()) break;
    req.after = out.back().name;
  }
  return out;
}

Status FileSystem::Remove(const std::string& path, bool delete_blocks) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  Attr a;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kUnlink>(proto::PathReq{p}, &a));
  DirsChanged({p}, a.dirs);
  if (!delete_blocks) return Status::Ok();
  if (a.type != static_cast<int>(proto::FileType::kFile)) return Status::Ok();  // a link has no blocks
  if (a.nlink > 0) return Status::Ok();  // another hard link still names the file
  // The namespace entry is gone; the blocks go to each holder's trash now.
  data_->DeleteBlocks(a);
  return Status::Ok();
}

Status FileSystem::Rmdir(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  proto::DirsRsp rsp;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kRmdir>(proto::PathReq{p}, &rsp));
  DirsChanged({p}, rsp.dirs);
  return Status::Ok();
}

Status FileSystem::Rename(const std::string& src, const std::string& dst) {
  DFS_ASSIGN_OR_RETURN(std::string s, NormalizePath(src));
  DFS_ASSIGN_OR_RETURN(std::string d, NormalizePath(dst));
  proto::DirsRsp rsp;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kRename>(proto::RenameReq{s, d}, &rsp));
  DirsChanged({s, d}, rsp.dirs);
  return Status::Ok();
}

Result<Attr> FileSystem::Link(const std::string& src, const std::string& dst) {
  DFS_ASSIGN_OR_RETURN(std::string s, NormalizePath(src));
  DFS_ASSIGN_OR_RETURN(std::string d, NormalizePath(dst));
  Attr a;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kLink>(proto::LinkReq{s, d}, &a));
  DirsChanged({d}, a.dirs);
  return a;
}

Result<std::unique_ptr<FileWriter>> FileSystem::Create(const std::string& path, uint32_t block_size,
                                                       const NewEntry& entry) {
  return OpenWriter(path, block_size, entry, /*staged=*/false);
}

Result<std::unique_ptr<FileWriter>> FileSystem::CreateNew(const std::string& path, const NewEntry& entry) {
  return OpenWriter(path, 0, entry, /*staged=*/false, /*exclusive=*/true);
}

Result<std::unique_ptr<FileWriter>> FileSystem::CreateReplacing(const std::string& path, uint32_t block_size,
                                                                const NewEntry& entry) {
  return OpenWriter(path, block_size, entry, /*staged=*/true);
}

Result<std::unique_ptr<FileWriter>> FileSystem::OpenWriter(const std::string& path, uint32_t block_size,
                                                           const NewEntry& entry, bool staged, bool exclusive) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  proto::CreateReq req = leases_->CreateRequest(p, block_size, entry);
  req.replace = staged;
  req.exclusive = exclusive;
  DFS_ASSIGN_OR_RETURN(Attr a, CreateCall(req));
  return std::make_unique<FileWriter>(data_.get(), meta_.get(), leases_.get(), std::move(a), staged);
}

Result<Attr> FileSystem::CreateEmpty(const std::string& path, const NewEntry& entry) {
  proto::CreateReq req;
  DFS_ASSIGN_OR_RETURN(req.path, NormalizePath(path));
  req.mode = entry.mode;
  req.uid = entry.uid;
  req.gid = entry.gid;
  req.exclusive = true;
  Attr a;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kCreate>(req, &a));
  DirsChanged({req.path}, a.dirs);
  return a;
}

Result<Attr> FileSystem::CreateCall(const proto::CreateReq& req) {
  DFS_ASSIGN_OR_RETURN(Attr a, TakeLease<Attr>([&]() -> Result<Attr> {
                         Attr got;
                         DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kCreate>(req, &got));
                         return got;
                       }));
  Hold(a.fid);
  DirsChanged({req.path}, a.dirs);  // none for a staged file: it changes its directory at its commit
  return a;
}

void FileSystem::DirsChanged(std::initializer_list<std::string> paths, const std::vector<Attr>& dirs) {
  if (!options_.on_dir_changed || dirs.size() != paths.size()) return;
  const Attr* dir = dirs.data();
  for (const std::string& p : paths) options_.on_dir_changed(ParentPath(p), *dir++);
}

void FileSystem::EndWrite(uint64_t fid) {
  leases_->Drop(fid);
  proto::LeaseRsp rsp;
  // Not told, the meta server lets the lease lapse instead.
  (void)meta_->Call<proto::Op::kReleaseLeases>(leases_->LeaseRequest({fid}, /*abandon=*/false), &rsp);
}

Result<proto::ExtentsRsp> FileSystem::Extents(uint64_t fid, uint64_t first) { return ExtentsFrom(*meta_, fid, first); }

ExtentCursor::Fetch FileSystem::ExtentFetch() {
  return [this](uint64_t fid, uint64_t first) { return Extents(fid, first); };
}

Result<Attr> FileSystem::Symlink(const std::string& target, const std::string& path, const NewEntry& entry) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  Attr a;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kSymlink>(proto::SymlinkReq{p, target, entry.uid, entry.gid}, &a));
  DirsChanged({p}, a.dirs);
  return a;
}

Result<Attr> FileSystem::Mknod(const std::string& path, proto::FileType type, uint64_t rdev, const NewEntry& entry) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  Attr a;
  proto::MknodReq req{p, static_cast<int>(type), entry.mode, rdev, entry.uid, entry.gid};
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kMknod>(req, &a));
  DirsChanged({p}, a.dirs);
  return a;
}

Result<Attr> FileSystem::SetAttr(proto::SetAttrReq req) {
  DFS_ASSIGN_OR_RETURN(req.path, NormalizePath(req.path));
  Attr a;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kSetAttr>(req, &a));
  if (IsDirectory(a) && options_.on_dir_changed) options_.on_dir_changed(req.path, a);
  return a;
}

Status FileSystem::SetXattr(const std::string& path, const std::string& name, const std::string& value,
                            uint32_t flags) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  proto::Empty e;
  return meta_->Call<proto::Op::kSetXattr>(proto::XattrReq{p, name, value, flags}, &e);
}

Result<std::string> FileSystem::GetXattr(const std::string& path, const std::string& name) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  proto::XattrRsp rsp;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kGetXattr>(proto::XattrReq{p, name, "", 0}, &rsp));
  return rsp.value;
}

Result<std::vector<std::string>> FileSystem::ListXattr(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  proto::XattrRsp rsp;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kListXattr>(proto::XattrReq{p, "", "", 0}, &rsp));
  return rsp.names;
}

Status FileSystem::RemoveXattr(const std::string& path, const std::string& name) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  proto::Empty e;
  return meta_->Call<proto::Op::kRemoveXattr>(proto::XattrReq{p, name, "", 0}, &e);
}

Result<std::unique_ptr<PatchWriter>> FileSystem::OpenForPatch(const std::string& path) {
  DFS_ASSIGN_OR_RETURN(std::string p, NormalizePath(path));
  proto::OpenWriteReq req{p, leases_->holder().id, leases_->holder().name};
  DFS_ASSIGN_OR_RETURN(Attr a, TakeLease<Attr>([&]() -> Result<Attr> {
                         Attr got;
                         DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kOpenWrite>(req, &got));
                         return got;
                       }));
  Hold(a.fid);
  return std::make_unique<PatchWriter>(this, data_.get(), meta_.get(), leases_->holder().id, std::move(a), p);
}

std::unique_ptr<SmallFileWriter> FileSystem::NewSmallFileWriter(uint32_t block_size) {
  return std::make_unique<SmallFileWriter>(data_.get(), meta_.get(), leases_.get(), block_size);
}

Status FileSystem::Read(const std::string& path, const Sink& sink, uint64_t offset, uint64_t length) {
  DFS_ASSIGN_OR_RETURN(Attr a, Stat(path));
  if (IsDirectory(a)) return Status(Code::kIsADirectory, path + ": is a directory");
  if (IsSymlink(a)) return InvalidArgument(path + ": is a symbolic link to " + a.target);
  if (!IsRegular(a)) return InvalidArgument(path + ": is a " + TypeName(a) + ", not a regular file");
  return Read(a, path, sink, offset, length);
}

Status FileSystem::MayRead(const Attr& attr, const std::string& path) const {
  // A cluster with keys grants a read capability with the Attr of every
  // file the asker may read; without one the data servers would refuse.
  if (map_.insecure || (attr.cap.rights & kCapRead)) return Status::Ok();
  return Status(Code::kPermissionDenied, path + ": permission denied");
}

Status FileSystem::Read(const Attr& attr, const std::string& path, const Sink& sink, uint64_t offset, uint64_t length) {
  DFS_RETURN_IF_ERROR(MayRead(attr, path));
  FileReader reader(data_.get(), options_, attr, path, ExtentFetch());
  return reader.Read(offset, length, sink);
}

Status FileSystem::ReadInto(const Attr& attr, const std::string& path, uint64_t offset, uint64_t length,
                            std::string* out) {
  DFS_RETURN_IF_ERROR(MayRead(attr, path));
  FileReader reader(data_.get(), options_, attr, path, ExtentFetch());
  return reader.ReadInto(offset, length, out);
}

Status FileSystem::ReadChunks(const Attr& attr, const std::string& path, uint64_t offset, uint64_t length,
                              const ChunkSink& sink) {
  DFS_RETURN_IF_ERROR(MayRead(attr, path));
  FileReader reader(data_.get(), options_, attr, path, ExtentFetch());
  return reader.ReadChunks(offset, length, sink);
}

Status FileSystem::ListAllFiles(std::vector<Attr>* files, uint64_t* next_fid) {
  proto::ListFilesReq req;
  req.limit = 10000;
  bool first = true;
  while (true) {
    proto::ListFilesRsp page;
    DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kListFiles>(req, &page));
    if (first) *next_fid = page.next_fid;
    first = false;
    for (auto& f : page.files) files->push_back(std::move(f));
    if (!page.more || page.files.empty()) return Status::Ok();
    req.after_fid = files->back().fid;
  }
}

Result<proto::ListStoredRsp> FileSystem::StoredFiles(uint32_t server) {
  DFS_ASSIGN_OR_RETURN(auto reply, data_->Call(server, proto::Request<proto::Op::kListStored>(1, proto::Empty{})));
  proto::ListStoredRsp rsp;
  DFS_RETURN_IF_ERROR(proto::DecodeReplyTo<proto::Op::kListStored>(reply, &rsp));
  return rsp;
}

Status FileSystem::DeleteStored(uint32_t server, uint64_t fid) {
  DFS_ASSIGN_OR_RETURN(auto reply,
                       data_->Call(server, proto::Request<proto::Op::kDeleteFile>(1, proto::FileReq{fid, {}})));
  proto::Empty e;
  return proto::DecodeReplyTo<proto::Op::kDeleteFile>(reply, &e);
}

Result<std::vector<BlockReport>> FileSystem::InspectBlocks(const Attr& attr) {
  const uint32_t n = attr.stripe_width;
  if (n > data_->size() || n < 2)
    return Status(Code::kFailedPrecondition, "file has stripe width " + std::to_string(n));
  const uint64_t count = BlockCount(attr.size, attr.block_size);
  std::vector<BlockReport> out;
  out.reserve(std::min<uint64_t>(attr.data_blocks, uint64_t{1} << 24));
  ExtentCursor extents(attr, ExtentFetch());
  constexpr uint64_t kWindow = 1 << 16;  // blocks asked per round
  uint64_t next = 0;
  while (next < count) {
    // The next kWindow data blocks, holes skipped.
    std::vector<uint64_t> window;
    while (next < count && window.size() < kWindow) {
      DFS_ASSIGN_OR_RETURN(auto range, extents.Next(next));
      if (range.first >= count) {
        next = count;
        break;
      }
      next = std::max(next, range.first);
      for (; next < range.second && window.size() < kWindow; ++next) window.push_back(next);
    }
    if (window.empty()) break;
    std::vector<Batch> batches(n);
    for (uint32_t s = 0; s < n; ++s) {
      batches[s].op = proto::Op::kReadBlocks;
      batches[s].req = {attr.layout(), s, attr.cap};
    }
    for (uint64_t i : window) {
      ReplicaPair pair = PlaceBlock(attr.placement_seed, n, i);
      for (uint32_t s : {pair.first, pair.second}) {
        BlockRecord r;
        r.index = i;
        batches[s].records.push_back(r);
      }
    }
    std::vector<Batch*> list;
    for (auto& b : batches) {
      if (!b.records.empty()) list.push_back(&b);
    }
    DFS_RETURN_IF_ERROR(data_->RunAll(list));
    std::vector<size_t> cursor(n, 0);
    for (uint64_t i : window) {
      ReplicaPair pair = PlaceBlock(attr.placement_seed, n, i);
      BlockReport report;
      report.index = i;
      uint32_t servers[2] = {pair.first, pair.second};
      for (int h = 0; h < 2; ++h) {
        Batch& b = batches[servers[h]];
        ReplicaReport& r = report.replicas[h];
        r.server = servers[h];
        r.status = b.status;
        size_t k = cursor[servers[h]]++;
        if (b.status.ok()) r.record = b.reply_records[k];
      }
      out.push_back(std::move(report));
    }
  }
  return out;
}

Result<proto::CorruptRsp> FileSystem::Corrupt(const Attr& attr, uint32_t server, uint64_t block, uint32_t offset,
                                              uint32_t length) {
  if (server >= data_->size()) {
    return InvalidArgument("no data server " + std::to_string(server) + " (the cluster has " +
                           std::to_string(data_->size()) + ")");
  }
  proto::CorruptReq req;
  req.file = attr.layout();
  req.server = server;
  req.block = block;
  req.offset = offset;
  req.length = length;
  DFS_ASSIGN_OR_RETURN(auto reply, data_->Call(server, proto::Request<proto::Op::kCorrupt>(1, req)));
  proto::CorruptRsp rsp;
  DFS_RETURN_IF_ERROR(proto::DecodeReplyTo<proto::Op::kCorrupt>(reply, &rsp));
  return rsp;
}

Status FileSystem::Sync() {
  DFS_RETURN_IF_ERROR(SyncData());
  return SyncNamespace();
}

Status FileSystem::SyncNamespace() {
  proto::Empty e;
  return meta_->Call<proto::Op::kSync>(proto::Empty{}, &e);
}

Status FileSystem::SyncData() {
  // Flush every server written to, in parallel; a server that is down is
  // waited for, as any write is (R10).
  std::set<uint32_t> servers = data_->unsynced();
  std::vector<std::unique_ptr<Batch>> flushes;
  for (uint32_t s : servers) {
    auto b = std::make_unique<Batch>();
    b->op = proto::Op::kFlush;
    b->req.server = s;
    b->retry_while_down = true;
    flushes.push_back(std::move(b));
  }
  std::vector<Batch*> list;
  for (auto& b : flushes) list.push_back(b.get());
  DFS_RETURN_IF_ERROR(data_->RunWrites(list));
  data_->MarkSynced(servers);
  return Status::Ok();
}

std::vector<ServerStatus> FileSystem::ServerStatuses() {
  std::vector<ServerStatus> out;
  for (uint32_t s = 0; s < map_.servers.size(); ++s) {
    ServerStatus st;
    st.index = s;
    st.endpoint = map_.servers[s];
    auto reply = data_->Call(s, proto::Request<proto::Op::kServerStat>(1, proto::Empty{}));
    st.status = reply.ok() ? proto::DecodeReplyTo<proto::Op::kServerStat>(*reply, &st.stat) : reply.status();
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace dfs::client
