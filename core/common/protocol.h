// The wire schema: every request and reply between clients and servers.
// The format is written down in docs/wire-protocol.md; keep them in step.
//
// A message is a multipart ZeroMQ message. Frame 0 is a msgpack map
//   {"v": kProtocolVersion, "op": Op, "id": request id,
//    "code": status code (replies), "error": message (replies), "body": {...}}
// where "body" is the operation's Req/Rsp struct as a msgpack map keyed by
// field name. Block operations add two raw frames: packed BlockRecords
// (block_records.h) and the concatenated block data.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/common/capability.h"
#include "core/common/fields.h"
#include "core/common/file_layout.h"
#include "core/common/identity.h"
#include "core/common/op_table.h"
#include "transport/message.h"

namespace dfs::proto {

// Version 2: write leases, atomic replace, extent maps (docs/leases.md).
// Version 3: block batches carry the file layout as one nested map.
// Version 4: capabilities (Attr.cap, and on every block request), ListKeys.
inline constexpr int kProtocolVersion = 5;

// Operation ids are stable and never reused.
enum class Op : int {
#define DFS_OP_ENUM(name, id, request, reply) k##name = id,
  DFS_OPERATIONS(DFS_OP_ENUM)
#undef DFS_OP_ENUM
};

// "WriteBlocks", for logs; "op N" for an unknown one.
std::string OpName(Op op);

// 4 to 7 are special files (mknod): they exist in the namespace only.
enum class FileType : int {
  kFile = 1,
  kDirectory = 2,
  kSymlink = 3,
  kFifo = 4,
  kCharDevice = 5,
  kBlockDevice = 6,
  kSocket = 7,
};

// Metadata of one inode, as the meta server returns it.
struct Attr {
  uint64_t fid = 0;  // never reused
  int type = 0;      // FileType
  std::string name;  // last path component (Readdir)
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t nlink = 1;
  uint64_t placement_seed = 0;  // FNV-1a 64 of the path at creation
  uint32_t stripe_width = 0;    // data servers at creation
  uint32_t block_size = 0;
  uint64_t generation = 0;  // write generation of the last open-for-write
  // Blocks written before this generation are dead (the file was truncated
  // after them): they read as zeros even if a holder missed the truncate.
  uint64_t truncate_generation = 0;
  int64_t atime_ns = 0;
  std::string target;  // a symbolic link's target
  uint64_t rdev = 0;   // a device file's device number
  // Blocks that hold data (the extent map's total). Fewer than the size's
  // block count: the file has holes, which read as zeros (GetExtents).
  uint64_t data_blocks = 0;
  // Whether it has extended attributes (a mount answers "none" without
  // asking, as the kernel asks for security.capability before each write).
  bool has_xattrs = false;
  // Not stored: what the asker may do with the file's blocks, granted by
  // the meta server with each reply that carries a file's Attr.
  Capability cap;
  // Not stored: in the reply to a namespace change (Create, Mkdir, Unlink,
  // Symlink, Mknod, Link), the directory it changed as the change left it.
  // A mount answers its kernel's next getattr of that directory with it
  // instead of asking again.
  std::vector<Attr> dirs;

  FileLayout layout() const { return FileLayout{fid, placement_seed, stripe_width, block_size}; }
  DFS_FIELDS(fid, type, name, mode, uid, gid, size, mtime_ns, ctime_ns, nlink, placement_seed, stripe_width, block_size,
             generation, truncate_generation, atime_ns, target, rdev, data_blocks, has_xattrs, cap, dirs);
};

// True when every block up to the size holds data: no extent map needed.
inline bool Dense(const Attr& a) {
  return a.block_size == 0 || a.data_blocks >= (a.size + a.block_size - 1) / a.block_size;
}

struct Empty {
  DFS_FIELDS();
};

// The reply to Rmdir and Rename: the directories they changed as they left
// them (Attr::dirs), the source's parent first.
struct DirsRsp {
  std::vector<Attr> dirs;
  DFS_FIELDS(dirs);
};

struct GetMapRsp {
  std::string cluster_id;
  std::vector<std::string> servers;  // endpoint of data server i at position i
  uint32_t block_size = 0;           // default for new files
  uint32_t lease_ms = 0;             // a write lease lasts this long unless renewed
  bool insecure = false;             // the meta server was started with --insecure: no keys
  DFS_FIELDS(cluster_id, servers, block_size, lease_ms, insecure);
};

struct PathReq {
  std::string path;
  DFS_FIELDS(path);
};

// Creates a file, or truncates an existing one to 0 (a new write generation),
// and gives the holder the file's write lease. With `replace`, the name is
// left alone: a new, nameless file is staged, and Commit with `publish`
// puts it in place of whatever the name holds then (atomic replace).
struct CreateReq {
  std::string path;
  uint32_t block_size = 0;  // 0: the cluster default
  uint32_t mode = 0644;
  bool exclusive = false;  // fail if it exists
  uint32_t uid = 0;        // owner of a new file
  uint32_t gid = 0;        // its group, unless the directory is set-group-ID
  bool replace = false;
  uint64_t holder_id = 0;   // who writes: a random id per client; 0 takes no lease
  std::string holder_name;  // "host pid N", for the busy message others get
  DFS_FIELDS(path, block_size, mode, exclusive, uid, gid, replace, holder_id, holder_name);
};

// Opens an existing file for writes in place: a new write generation and
// the write lease.
struct OpenWriteReq {
  std::string path;
  uint64_t holder_id = 0;
  std::string holder_name;
  DFS_FIELDS(path, holder_id, holder_name);
};

// Many small files at once: one transaction, one round trip.
struct CreateManyReq {
  std::vector<CreateReq> files;
  DFS_FIELDS(files);
};

struct CreateManyRsp {
  std::vector<Attr> files;          // fid 0 where that file failed
  std::vector<int> codes;           // per file: Code
  std::vector<std::string> errors;  // per file: message
  DFS_FIELDS(files, codes, errors);
};

struct MkdirReq {
  std::string path;
  bool parents = false;
  uint32_t mode = 0755;
  uint32_t uid = 0;
  uint32_t gid = 0;
  DFS_FIELDS(path, parents, mode, uid, gid);
};

// chmod, chown, utimens: only the fields named in `set` change; ctime moves.
struct SetAttrReq {
  enum : uint32_t { kMode = 1, kUid = 2, kGid = 4, kAtime = 8, kMtime = 16 };
  std::string path;
  uint32_t set = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  DFS_FIELDS(path, set, mode, uid, gid, atime_ns, mtime_ns);
};

struct SymlinkReq {
  std::string path;    // the link to create
  std::string target;  // what it points to, stored as given
  uint32_t uid = 0;
  uint32_t gid = 0;
  DFS_FIELDS(path, target, uid, gid);
};

// A special file (FIFO, device, socket): type is a FileType from 4 to 7.
struct MknodReq {
  std::string path;
  int type = 0;
  uint32_t mode = 0;
  uint64_t rdev = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  DFS_FIELDS(path, type, mode, rdev, uid, gid);
};

// Extended attributes. SetXattr flags: 1 create only, 2 replace only (as
// XATTR_CREATE and XATTR_REPLACE).
struct XattrReq {
  enum : uint32_t { kCreate = 1, kReplace = 2 };
  std::string path;
  std::string name;
  std::string value;  // msgpack bin
  uint32_t flags = 0;
  DFS_FIELDS(path, name, value, flags);
};

struct XattrRsp {
  std::string value;
  std::vector<std::string> names;  // ListXattr
  DFS_FIELDS(value, names);
};

struct ReaddirReq {
  std::string path;
  std::string after;  // page cursor: names greater than this
  uint32_t limit = 1000;
  DFS_FIELDS(path, after, limit);
};

struct ReaddirRsp {
  std::vector<Attr> entries;
  bool more = false;
  DFS_FIELDS(entries, more);
};

struct RenameReq {
  std::string src;
  std::string dst;
  DFS_FIELDS(src, dst);
};
using LinkReq = RenameReq;  // {src, dst}: dst becomes a second name of src

// Size moves only after the blocks are on both replicas (commit after data).
// Refused unless `generation` is the file's current write generation and no
// other client holds its lease. The extent map first loses every block past
// `cut_size` (when `cut`: the file was shrunk since the last commit), then
// gains `ranges` (block ranges written: first, end, first, end, ...), and
// never reaches past the new size. `publish` puts a staged file (Create with
// `replace`) at its name and ends the lease.
struct CommitReq {
  uint64_t fid = 0;
  uint64_t generation = 0;
  uint64_t size = 0;
  std::vector<uint64_t> ranges;
  bool cut = false;
  uint64_t cut_size = 0;
  bool publish = false;
  uint64_t holder_id = 0;
  DFS_FIELDS(fid, generation, size, ranges, cut, cut_size, publish, holder_id);
};

struct CommitRsp {
  Attr file;
  Attr replaced;  // a file that lost its last name to a publish (fid 0: none): its blocks may go
  DFS_FIELDS(file, replaced);
};

struct CommitManyReq {
  std::vector<CommitReq> files;
  DFS_FIELDS(files);
};

// Each file commits or fails alone, in one transaction.
struct CommitManyRsp {
  std::vector<Attr> replaced;       // per file, as CommitRsp::replaced
  std::vector<int> codes;           // per file: Code
  std::vector<std::string> errors;  // per file: message
  DFS_FIELDS(replaced, codes, errors);
};

// RenewLeases: the holder is still writing these files. ReleaseLeases: it is
// done with them; with `abandon`, staged files (never published) are deleted.
struct LeaseReq {
  uint64_t holder_id = 0;
  std::string holder_name;
  std::vector<uint64_t> fids;
  bool abandon = false;
  // Release, if as many as fids: the write generation each was closed at.
  // A file opened for writing again since (a newer generation) keeps its
  // lease: a release sent late never takes the lease of a later open.
  std::vector<uint64_t> generations;
  DFS_FIELDS(holder_id, holder_name, fids, abandon, generations);
};

struct LeaseRsp {
  std::vector<uint64_t> lost;  // Renew: leases another client holds now, or of files gone
  std::vector<Attr> deleted;   // Release with abandon: staged files deleted (their blocks may go)
  DFS_FIELDS(lost, deleted);
};

// The data ranges of a file from block `first` on: [first, end) pairs of
// block indexes, in order, at most `limit` of them.
struct ExtentsReq {
  uint64_t fid = 0;
  uint64_t first = 0;
  uint32_t limit = 4096;
  DFS_FIELDS(fid, first, limit);
};

struct ExtentsRsp {
  std::vector<uint64_t> ranges;  // first, end, first, end, ...
  bool more = false;
  DFS_FIELDS(ranges, more);
};

struct ListFilesReq {
  uint64_t after_fid = 0;
  uint32_t limit = 1000;
  DFS_FIELDS(after_fid, limit);
};

struct ListFilesRsp {
  std::vector<Attr> files;  // name holds the full path
  bool more = false;
  uint64_t next_fid = 0;  // every file id below this was handed out already
  DFS_FIELDS(files, more, next_fid);
};

// Identifies one file's blocks on one data server.
struct BlockBatchReq {
  FileLayout file;
  uint32_t server = 0;  // the index the client believes it is talking to
  Capability cap;       // from the file's Attr; none needed from a server
  DFS_FIELDS(file, server, cap);
};

// One file's share of a WriteFiles batch: the next `count` records.
struct FileRun {
  FileLayout file;
  uint32_t count = 0;
  Capability cap;
  DFS_FIELDS(file, count, cap);
};

// Blocks of many small files for one server in one message.
struct WriteFilesReq {
  uint32_t server = 0;
  std::vector<FileRun> files;
  DFS_FIELDS(server, files);
};

// The corruption simulator: change `length` stored bytes at `offset` of
// block `block` without touching its checksum.
struct CorruptReq {
  FileLayout file;
  uint32_t server = 0;
  uint64_t block = 0;
  uint32_t offset = 0;
  uint32_t length = 1;
  DFS_FIELDS(file, server, block, offset, length);
};

struct CorruptRsp {
  uint64_t block = 0;
  uint32_t offset = 0;
  std::string old_bytes;
  std::string new_bytes;
  DFS_FIELDS(block, offset, old_bytes, new_bytes);
};

// File ids a data server stores blocks of, with their bytes on disk.
struct ListStoredRsp {
  std::vector<uint64_t> fids;
  std::vector<uint64_t> bytes;
  DFS_FIELDS(fids, bytes);
};

// Files deleted from the namespace, in the order they went, after position
// `after`: data servers reclaim their blocks.
struct ListDeletedReq {
  uint64_t after = 0;
  uint32_t limit = 10000;
  DFS_FIELDS(after, limit);
};

struct ListDeletedRsp {
  std::string cluster_id;
  std::vector<uint64_t> fids;
  uint64_t next = 0;  // the position to ask from next time
  bool more = false;
  DFS_FIELDS(cluster_id, fids, next, more);
};

struct FileReq {
  uint64_t fid = 0;
  Capability cap;  // a write capability, from a client
  DFS_FIELDS(fid, cap);
};

// Every key the meta server admits, for the data servers' key checks.
struct ListKeysRsp {
  std::vector<KeyEntry> keys;
  DFS_FIELDS(keys);
};

struct ServerStatRsp {
  uint32_t index = 0;
  std::string cluster_id;
  std::string state;  // "up", "rebuilding"
  uint64_t files = 0;
  uint64_t blocks = 0;
  uint64_t bytes = 0;
  uint64_t disk_free = 0;
  uint64_t disk_total = 0;
  uint64_t rebuild_blocks = 0;  // blocks restored by this run's rebuild
  uint64_t rebuild_bytes = 0;
  uint64_t flushes = 0;      // Flush requests served since the server started
  uint64_t live_bytes = 0;   // blocks and indexes of files, on disk
  uint64_t trash_bytes = 0;  // deleted blocks kept for the grace period
  uint64_t trash_files = 0;
  uint64_t reserve_bytes = 0;  // below this much free space the trash is emptied
  // The scrubber: last full pass (0: none yet), this pass's progress, and
  // what it found and repaired since the server started.
  int64_t scrub_last_pass_ns = 0;
  uint64_t scrub_pass_blocks = 0;
  uint64_t scrub_found = 0;
  uint64_t scrub_repaired = 0;
  uint64_t scrub_unrepaired = 0;  // no good copy anywhere
  uint64_t reclaimed_files = 0;   // orphan files moved to the trash since start
  uint64_t rebuild_lost = 0;      // blocks the rebuild found no good copy of
  bool insecure = false;          // started with --insecure: no keys
  DFS_FIELDS(index, cluster_id, state, files, blocks, bytes, disk_free, disk_total, rebuild_blocks, rebuild_bytes,
             flushes, live_bytes, trash_bytes, trash_files, reserve_bytes, scrub_last_pass_ns, scrub_pass_blocks,
             scrub_found, scrub_repaired, scrub_unrepaired, reclaimed_files, rebuild_lost, insecure);
};

// The undecoded body of a message (codec.h).
struct Body;

// A decoded frame 0. Keeps the unpacked buffer alive for `body`.
struct Header {
  int version = 0;
  Op op{};
  uint64_t id = 0;
  Code code = Code::kOk;
  std::string error;
  std::shared_ptr<const Body> body;
};

// Decodes frame 0 with bounded msgpack limits; never throws.
Result<Header> DecodeHeader(const transport::Message& message);

// A reply that carries only an error.
transport::Message EncodeError(Op op, uint64_t id, const Status& status);

// Runs a server's request handler so that no exception escapes it: one
// (std::bad_alloc, a library's error) becomes an Internal error reply that
// names `server`, and a line in its log.
template <typename Handle>
transport::Message Guarded(const char* server, Handle&& handle) {
  try {
    return handle();
  } catch (const std::exception& e) {
    fprintf(stderr, "dfs: %s: a request failed: %s\n", server, e.what());
    return EncodeError(Op{0}, 0, Internal(std::string(server) + ": request failed: " + e.what()));
  }
}

// What the table (op_table.h) says of each operation.
template <Op op>
struct OpSpec;
#define DFS_OP_SPEC(name, id, request, reply) \
  template <>                                 \
  struct OpSpec<Op::k##name> {                \
    using Request = request;                  \
    using Reply = reply;                      \
  };
DFS_OPERATIONS(DFS_OP_SPEC)
#undef DFS_OP_SPEC

// The typed ends of every operation, instantiated once per operation of the
// table in op_codec.cc: a body of the wrong type does not compile (or link).

// A request of operation `op`, with `payload` frames after its header.
template <Op op>
transport::Message Request(uint64_t id, const typename OpSpec<op>::Request& body,
                           std::vector<std::string> payload = {});

// A reply to `op`.
template <Op op>
transport::Message Reply(uint64_t id, const typename OpSpec<op>::Reply& body, std::vector<std::string> payload = {});

// Decodes the body of a request the server switched to as `op`.
template <Op op>
Status DecodeRequest(const Header& header, typename OpSpec<op>::Request* out);

// Decodes a reply to `op`: its status, then the table's reply type.
template <Op op>
Status DecodeReplyTo(const transport::Message& reply, typename OpSpec<op>::Reply* out);

}  // namespace dfs::proto
