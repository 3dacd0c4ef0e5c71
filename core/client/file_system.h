// FileSystem: the engine's facade, shared by the CLI and the FUSE mount.
// Namespace calls go to the meta server; block I/O to the data servers
// through FileWriter and FileReader. Paths are dfs paths ("/a" or "dfs:/a"),
// validated here.
// Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/client/data_client.h"
#include "core/client/file_reader.h"
#include "core/client/file_writer.h"
#include "core/client/lease_keeper.h"
#include "core/client/meta_client.h"
#include "core/client/options.h"
#include "core/client/small_file_writer.h"
#include "core/common/protocol.h"

namespace dfs::client {

using proto::Attr;
class PatchWriter;

inline bool IsDirectory(const Attr& a) { return a.type == static_cast<int>(proto::FileType::kDirectory); }
inline bool IsSymlink(const Attr& a) { return a.type == static_cast<int>(proto::FileType::kSymlink); }
inline bool IsRegular(const Attr& a) { return a.type == static_cast<int>(proto::FileType::kFile); }
// "file", "directory", "symlink", "fifo", "char", "block" or "socket", as
// the CLI and its JSON say it.
inline const char* TypeName(const Attr& a) {
  static const char* const kNames[] = {"file", "file", "directory", "symlink", "fifo", "char", "block", "socket"};
  return a.type >= 1 && a.type <= 7 ? kNames[a.type] : "file";
}

// What one holder says of its copy of a block, without sending the data.
struct ReplicaReport {
  uint32_t server = 0;
  Status status;       // Ok if the server answered
  BlockRecord record;  // state, version, crc, length when it answered
};

struct BlockReport {
  uint64_t index = 0;
  ReplicaReport replicas[2];  // first and second holder
};

struct ServerStatus {
  uint32_t index = 0;
  std::string endpoint;
  Status status;              // Ok if it answered
  proto::ServerStatRsp stat;  // when it answered
};

class FileSystem {
 public:
  // Connects to the meta server and learns the data server map.
  static Result<std::unique_ptr<FileSystem>> Connect(const ClientOptions& options);
  // Another engine of this client, for another thread: its own
  // connections, the same options, map and write leases (one holder: a
  // lease taken through one engine is renewed, and given back, through any).
  Result<std::unique_ptr<FileSystem>> ConnectAnother() const;
  ~FileSystem();

  const proto::GetMapRsp& map() const { return map_; }
  const ClientOptions& options() const { return options_; }

  Result<Attr> Stat(const std::string& path);
  // A regular file by id, whatever its name is now (its name field holds
  // its full path, empty for a staged file); NotFound once it is deleted.
  Result<Attr> StatFile(uint64_t fid);
  Result<Attr> Mkdir(const std::string& path, bool parents, const NewEntry& entry = NewEntry::Directory());
  Result<std::vector<Attr>> ListDir(const std::string& path);
  // Removes a file's name; its blocks go once no name is left: at once,
  // from here, or (`delete_blocks` false: the call waits for the meta
  // server only) by the data servers' reclaimers, which delete what the
  // meta server lists as deleted every few seconds.
  Status Remove(const std::string& path, bool delete_blocks = true);
  Status Rmdir(const std::string& path);
  Status Rename(const std::string& src, const std::string& dst);
  // A hard link: `dst` becomes another name of the file at `src`.
  Result<Attr> Link(const std::string& src, const std::string& dst);
  // A symbolic link at `path` to `target` (stored as given, not checked).
  Result<Attr> Symlink(const std::string& target, const std::string& path, const NewEntry& entry = NewEntry());
  // A FIFO, device or socket (FileType 4 to 7): a namespace entry only.
  Result<Attr> Mknod(const std::string& path, proto::FileType type, uint64_t rdev, const NewEntry& entry);
  // chmod, chown, utimens: the fields named in req.set change.
  Result<Attr> SetAttr(proto::SetAttrReq req);

  // Extended attributes; flags as setxattr(2) (XATTR_CREATE, XATTR_REPLACE).
  Status SetXattr(const std::string& path, const std::string& name, const std::string& value, uint32_t flags);
  Result<std::string> GetXattr(const std::string& path, const std::string& name);
  Result<std::vector<std::string>> ListXattr(const std::string& path);
  Status RemoveXattr(const std::string& path, const std::string& name);

  // Writes (docs/leases.md). Every writer holds the file's write lease,
  // renewed in the background while this FileSystem lives: another client
  // that tries to write the same file gets Busy, naming this one.
  //
  // Creates (or truncates, keeping the file) a file where it is and returns
  // a writer for its bytes; the lease is held until EndWrite(fid). As
  // open(O_CREAT | O_TRUNC): the mount. block_size 0 takes the cluster default.
  Result<std::unique_ptr<FileWriter>> Create(const std::string& path, uint32_t block_size = 0,
                                             const NewEntry& entry = NewEntry::File());

  // As Create, but only a new file: AlreadyExists if the name is taken
  // (open(O_CREAT) without O_TRUNC truncates nothing).
  Result<std::unique_ptr<FileWriter>> CreateNew(const std::string& path, const NewEntry& entry = NewEntry::File());
  // A writer for a new copy of the file at `path` (dfs cp): its bytes go to
  // a new file id, which takes the name only when the writer closes, in one
  // meta transaction (atomic replace). Until then readers see what the name
  // held; a writer destroyed before Close leaves nothing behind.
  Result<std::unique_ptr<FileWriter>> CreateReplacing(const std::string& path, uint32_t block_size = 0,
                                                      const NewEntry& entry = NewEntry::File());

  // An empty file at `path`, created only if nothing has that name
  // (AlreadyExists otherwise): touch. No write lease is taken.
  Result<Attr> CreateEmpty(const std::string& path, const NewEntry& entry = NewEntry::File());

  // Opens an existing file for writes at any offset and truncates
  // (a new write generation; the bytes stay); the lease is held until
  // EndWrite(fid).
  Result<std::unique_ptr<PatchWriter>> OpenForPatch(const std::string& path);

  // Gives back the write lease Create or OpenForPatch took.
  void EndWrite(uint64_t fid);
  // EndWrite without waiting: the lease goes back soon, unless the file is
  // opened for writing again after write generation `generation`
  // (LeaseKeeper::Release).
  void EndWriteSoon(uint64_t fid, uint64_t generation) { leases_->Release(fid, generation); }

  // A writer for many small files at once (see SmallFileWriter), each
  // replacing its name atomically as CreateReplacing does.
  std::unique_ptr<SmallFileWriter> NewSmallFileWriter(uint32_t block_size = 0);

  // The blocks of [first, end) pairs of the file that hold data, from block
  // `first` on: a page of its extent map.
  Result<proto::ExtentsRsp> Extents(uint64_t fid, uint64_t first);

  // Streams [offset, offset + length) of the file at `path` into `sink`.
  Status Read(const std::string& path, const Sink& sink, uint64_t offset = 0, uint64_t length = UINT64_MAX);
  Status Read(const Attr& attr, const std::string& path, const Sink& sink, uint64_t offset = 0,
              uint64_t length = UINT64_MAX);
  // As Read, appending the bytes to `out`.
  Status ReadInto(const Attr& attr, const std::string& path, uint64_t offset, uint64_t length, std::string* out);
  // As Read, a window of MiBs at a time, which `sink` may take (ChunkSink).
  Status ReadChunks(const Attr& attr, const std::string& path, uint64_t offset, uint64_t length, const ChunkSink& sink);

  // Every file in the namespace, with its full path in `name`, and the
  // file id counter when the listing began (ids below it were handed out).
  Status ListAllFiles(std::vector<Attr>* files, uint64_t* next_fid);

  // File ids data server `server` stores blocks of, with their bytes.
  Result<proto::ListStoredRsp> StoredFiles(uint32_t server);

  // Moves a file id's blocks on one server to its trash.
  Status DeleteStored(uint32_t server, uint64_t fid);

  // Asks both holders of every data block of a file (holes have none) to
  // verify their copy and report checksum, version and state (no data
  // crosses the network), in block order.
  Result<std::vector<BlockReport>> InspectBlocks(const Attr& attr);

  // The corruption simulator: asks `server` to change stored bytes of a block
  // (DESIGN.md section 7).
  Result<proto::CorruptRsp> Corrupt(const Attr& attr, uint32_t server, uint64_t block, uint32_t offset,
                                    uint32_t length);

  // Makes everything written through this FileSystem durable on the data
  // servers (one flush round per command, not per block) and the
  // namespace durable on the meta server's disk: SyncData, SyncNamespace.
  Status Sync();
  Status SyncData();
  // Every namespace change acknowledged so far survives a crash of the
  // meta server process already; this makes them survive a power loss.
  Status SyncNamespace();

  std::vector<ServerStatus> ServerStatuses();

 private:
  Status MayRead(const Attr& attr, const std::string& path) const;
  FileSystem(const ClientOptions& options) : options_(options) {}
  ExtentCursor::Fetch ExtentFetch();
  Result<std::unique_ptr<FileWriter>> OpenWriter(const std::string& path, uint32_t block_size, const NewEntry& entry,
                                                 bool staged, bool exclusive = false);
  // Create with the lease (waiting out a closing writer's release), held.
  Result<Attr> CreateCall(const proto::CreateReq& req);
  // Tells options_.on_dir_changed of `dirs`, the parents of `paths` after
  // a change (the meta server's reply lists them in that order).
  void DirsChanged(std::initializer_list<std::string> paths, const std::vector<Attr>& dirs);
  // Takes the lease Create or OpenForPatch returned.
  void Hold(uint64_t fid) { leases_->Hold(fid); }

  ClientOptions options_;
  std::unique_ptr<MetaClient> meta_;
  std::unique_ptr<DataClient> data_;
  proto::GetMapRsp map_;
  std::shared_ptr<LeaseKeeper> leases_;  // shared by ConnectAnother's engines
};

}  // namespace dfs::client
