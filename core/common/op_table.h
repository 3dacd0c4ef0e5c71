// Every operation of the wire protocol, once: name, id, request body and
// reply body (docs/wire-protocol.md). protocol.h makes the Op enum and the
// OpSpec<op> traits from it; clients send with proto::Request<op> and
// MetaClient::Call<op>, servers decode with proto::DecodeRequest<op> and
// answer with proto::Reply<op>, so a body of the wrong type for its
// operation does not compile. Adding an operation: one line here, one
// handler, one caller.
//
// Block data and packed block records travel in frames after the body
// (ReadBlocks, WriteBlocks, WriteFiles, Flush).
#pragma once

// X(name, id, request, reply)
#define DFS_OPERATIONS(X)                            \
  /* meta server */                                  \
  X(GetMap, 1, Empty, GetMapRsp)                     \
  X(Lookup, 2, PathReq, Attr)                        \
  X(Create, 3, CreateReq, Attr)                      \
  X(Mkdir, 4, MkdirReq, Attr)                        \
  X(Readdir, 5, ReaddirReq, ReaddirRsp)              \
  X(Unlink, 6, PathReq, Attr)                        \
  X(Rmdir, 7, PathReq, DirsRsp)                      \
  X(Rename, 8, RenameReq, DirsRsp)                   \
  X(Commit, 9, CommitReq, CommitRsp)                 \
  X(ListFiles, 10, ListFilesReq, ListFilesRsp)       \
  X(Sync, 11, Empty, Empty)                          \
  X(CreateMany, 12, CreateManyReq, CreateManyRsp)    \
  X(CommitMany, 13, CommitManyReq, CommitManyRsp)    \
  X(OpenWrite, 14, OpenWriteReq, Attr)               \
  X(SetAttr, 15, SetAttrReq, Attr)                   \
  X(Symlink, 16, SymlinkReq, Attr)                   \
  X(SetXattr, 17, XattrReq, Empty)                   \
  X(GetXattr, 18, XattrReq, XattrRsp)                \
  X(ListXattr, 19, XattrReq, XattrRsp)               \
  X(RemoveXattr, 20, XattrReq, Empty)                \
  X(Mknod, 21, MknodReq, Attr)                       \
  X(Link, 22, LinkReq, Attr)                         \
  X(RenewLeases, 23, LeaseReq, LeaseRsp)             \
  X(ReleaseLeases, 24, LeaseReq, LeaseRsp)           \
  X(GetExtents, 25, ExtentsReq, ExtentsRsp)          \
  X(ListDeleted, 26, ListDeletedReq, ListDeletedRsp) \
  X(ListKeys, 27, Empty, ListKeysRsp)                \
  X(StatFile, 28, FileReq, Attr)                     \
  /* data servers */                                 \
  X(WriteBlocks, 100, BlockBatchReq, Empty)          \
  X(ReadBlocks, 101, BlockBatchReq, Empty)           \
  X(DeleteFile, 102, FileReq, Empty)                 \
  X(Flush, 103, BlockBatchReq, Empty)                \
  X(ServerStat, 104, Empty, ServerStatRsp)           \
  X(WriteFiles, 105, WriteFilesReq, Empty)           \
  X(Corrupt, 106, CorruptReq, CorruptRsp)            \
  X(ListStored, 107, Empty, ListStoredRsp)
