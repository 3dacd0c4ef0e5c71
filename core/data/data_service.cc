#include "core/data/data_service.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/common/block_records.h"
#include "core/common/protocol.h"
#include "transport/channel.h"
#include "transport/server_loop.h"

namespace dfs::data {
namespace {

using proto::Op;

constexpr size_t kMaxBatchRecords = 1 << 20;

// Checks a block batch is meant for this server and has `frames` frames;
// returns its records.
Result<std::vector<BlockRecord>> BatchRecords(const transport::Message& request, uint32_t target, uint32_t self,
                                              size_t frames) {
  if (target != self) {
    return Status(Code::kFailedPrecondition,
                  "this is data server " + std::to_string(self) + ", not " + std::to_string(target));
  }
  if (request.parts() != frames) {
    return InvalidArgument("block batch has " + std::to_string(request.parts()) + " frames, not " +
                           std::to_string(frames));
  }
  return UnpackRecords(request.part(1), kMaxBatchRecords);
}

}  // namespace

transport::Message DataService::Handle(transport::Message&& request) {
  if (parts_.last_request_ns) {
    *parts_.last_request_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
  }
  return proto::Guarded("data server", [&] { return Dispatch(std::move(request)); });
}

Status DataService::Allow(const Identity& who, const Capability& cap, uint64_t fid, uint32_t right,
                          const std::vector<BlockRecord>* writes) const {
  if (who.role == Role::kServer || who.insecure) return Status::Ok();
  DFS_RETURN_IF_ERROR(gate_->cap_key().Check(cap, fid, right, WallClockNs()));
  if (writes) {
    for (const BlockRecord& r : *writes) {
      if (VersionGeneration(r.version) > cap.generation) {
        return Status(Code::kPermissionDenied, "block " + std::to_string(r.index) + " of file " + std::to_string(fid) +
                                                   " carries a version of write generation " +
                                                   std::to_string(VersionGeneration(r.version)) +
                                                   ", later than the capability's " + std::to_string(cap.generation));
      }
    }
  }
  return Status::Ok();
}

transport::Message DataService::Dispatch(transport::Message&& request) {
  auto header = proto::DecodeHeader(request);
  if (!header.ok()) return proto::EncodeError(Op{0}, 0, header.status());
  const proto::Header& h = *header;
  auto fail = [&](const Status& st) { return proto::EncodeError(h.op, h.id, st); };
  Result<Identity> identity = gate_ ? gate_->Who(request.peer) : Identity::Insecure();
  if (!identity.ok()) return fail(identity.status());
  const Identity& who = *identity;
  // A refusal of the key's rights: logged, with the key.
  auto refuse = [&](const Status& st) {
    LogRefusal("dfs data " + std::to_string(store_->index()), proto::OpName(h.op), request.peer, st);
    return fail(st);
  };
  switch (h.op) {
    case Op::kWriteBlocks:
    case Op::kReadBlocks: {
      static_assert(std::is_same_v<proto::OpSpec<Op::kWriteBlocks>::Request, proto::OpSpec<Op::kReadBlocks>::Request>);
      proto::BlockBatchReq req;
      if (Status st = proto::DecodeRequest<Op::kReadBlocks>(h, &req); !st.ok()) return fail(st);
      bool write = h.op == Op::kWriteBlocks;
      auto records = BatchRecords(request, req.server, store_->index(), write ? 3 : 2);
      if (!records.ok()) return fail(records.status());
      if (Status st = Allow(who, req.cap, req.file.fid, write ? kCapWrite : kCapRead, write ? &*records : nullptr);
          !st.ok()) {
        return refuse(st);
      }
      if (write) {
        Status st = store_->Write(req.file, *records, request.part(2));
        if (!st.ok()) return fail(st);
        for (const BlockRecord& r : *records) {
          if (r.flags & kRepairWrite) {
            fprintf(stderr, "dfs data %u: repaired block %llu of file id %llu from the other replica\n",
                    store_->index(), static_cast<unsigned long long>(r.index),
                    static_cast<unsigned long long>(req.file.fid));
          }
        }
        return proto::Reply<Op::kWriteBlocks>(h.id, proto::Empty{});
      }
      std::string data;
      Status st = store_->Read(req.file, &*records, &data);
      if (!st.ok()) return fail(st);
      return proto::Reply<Op::kReadBlocks>(h.id, proto::Empty{}, {PackRecords(*records), std::move(data)});
    }
    case Op::kWriteFiles: {
      proto::WriteFilesReq req;
      if (Status st = proto::DecodeRequest<Op::kWriteFiles>(h, &req); !st.ok()) return fail(st);
      auto records = BatchRecords(request, req.server, store_->index(), 3);
      if (!records.ok()) return fail(records.status());
      // Split the records and data among the files, checking every count.
      size_t next = 0;
      uint64_t offset = 0;
      const std::string_view data = request.part(2);
      for (const proto::FileRun& f : req.files) {
        if (f.count > records->size() - next) return fail(InvalidArgument("file runs cover more records than sent"));
        std::vector<BlockRecord> mine(records->begin() + next, records->begin() + next + f.count);
        uint64_t bytes = 0;
        for (const auto& r : mine) bytes += r.length;
        if (bytes > data.size() - offset) return fail(InvalidArgument("file runs cover more data than sent"));
        if (Status st = Allow(who, f.cap, f.file.fid, kCapWrite, &mine); !st.ok()) return refuse(st);
        Status st = store_->Write(f.file, mine, data.substr(offset, bytes));
        if (!st.ok()) return fail(st.WithContext("file id " + std::to_string(f.file.fid)));
        next += f.count;
        offset += bytes;
      }
      if (next != records->size() || offset != data.size()) {
        return fail(InvalidArgument("file runs do not cover the batch"));
      }
      return proto::Reply<Op::kWriteFiles>(h.id, proto::Empty{});
    }
    case Op::kCorrupt: {
      proto::CorruptReq req;
      if (Status st = proto::DecodeRequest<Op::kCorrupt>(h, &req); !st.ok()) return fail(st);
      if (!who.admin()) return refuse(Status(Code::kPermissionDenied, "dfs corrupt needs an admin key"));
      proto::CorruptRsp rsp;
      rsp.block = req.block;
      rsp.offset = req.offset;
      Status st = store_->Corrupt(req.file, req.block, req.offset, req.length, &rsp.old_bytes, &rsp.new_bytes);
      if (!st.ok()) return fail(st);
      fprintf(stderr,
              "dfs data %u: corrupted %u bytes at offset %u of block %llu of file id %llu (dfs "
              "corrupt)\n",
              store_->index(), req.length, req.offset, static_cast<unsigned long long>(req.block),
              static_cast<unsigned long long>(req.file.fid));
      return proto::Reply<Op::kCorrupt>(h.id, rsp);
    }
    case Op::kListStored: {
      if (!who.admin()) return refuse(Status(Code::kPermissionDenied, "listing stored files needs an admin key"));
      proto::ListStoredRsp rsp;
      for (const StoredFile& f : store_->ListFiles()) {
        rsp.fids.push_back(f.fid);
        rsp.bytes.push_back(f.bytes);
      }
      return proto::Reply<Op::kListStored>(h.id, rsp);
    }
    case Op::kDeleteFile: {
      proto::FileReq req;
      if (Status st = proto::DecodeRequest<Op::kDeleteFile>(h, &req); !st.ok()) return fail(st);
      // An admin deletes orphans (fsck --repair), which no capability can name.
      if (Status st = who.admin() ? Status::Ok() : Allow(who, req.cap, req.fid, kCapWrite); !st.ok()) {
        return refuse(st);
      }
      if (Status st = store_->Delete(req.fid); !st.ok()) return fail(st);
      return proto::Reply<Op::kDeleteFile>(h.id, proto::Empty{});
    }
    case Op::kFlush: {
      if (Status st = store_->Flush(); !st.ok()) return fail(st);
      ++flushes_;
      return proto::Reply<Op::kFlush>(h.id, proto::Empty{});
    }
    case Op::kServerStat: {
      auto stats = store_->Stats();
      if (!stats.ok()) return fail(stats.status());
      return proto::Reply<Op::kServerStat>(h.id, ServerStat(*stats));
    }
    default:
      return fail(
          InvalidArgument("unknown operation " + std::to_string(static_cast<int>(h.op)) + " for a data server"));
  }
}

Result<proto::ServerStatRsp> DataService::Stat() const {
  DFS_ASSIGN_OR_RETURN(StoreStats stats, store_->Stats());
  return ServerStat(stats);
}

proto::ServerStatRsp DataService::ServerStat(const StoreStats& stats) const {
  proto::ServerStatRsp rsp;
  rsp.index = store_->index();
  rsp.cluster_id = cluster_id_;
  rsp.insecure = !gate_ || !gate_->secure();
  const RebuildProgress* rebuild = parts_.rebuild;
  rsp.state = rebuild && rebuild->running ? "rebuilding" : "up";
  if (rebuild) {
    rsp.rebuild_blocks = rebuild->blocks_restored;
    rsp.rebuild_bytes = rebuild->bytes_restored;
    rsp.rebuild_lost = rebuild->blocks_lost;
  }
  if (const ScrubProgress* scrub = parts_.scrub) {
    rsp.scrub_last_pass_ns = scrub->last_pass_ns;
    rsp.scrub_pass_blocks = scrub->pass_blocks;
    rsp.scrub_found = scrub->found;
    rsp.scrub_repaired = scrub->repaired;
    rsp.scrub_unrepaired = scrub->unrepaired;
    rsp.reclaimed_files += scrub->orphan_files;
  }
  if (parts_.reclaimer) {
    rsp.reclaimed_files += parts_.reclaimer->files_reclaimed();
    rsp.reserve_bytes = parts_.reclaimer->reserve_bytes();
  }
  rsp.files = stats.files;
  rsp.flushes = flushes_;
  rsp.blocks = stats.blocks;
  rsp.bytes = stats.bytes;
  rsp.live_bytes = stats.live_bytes;
  rsp.trash_bytes = stats.trash_bytes;
  rsp.trash_files = stats.trash_files;
  rsp.disk_free = stats.disk_free;
  rsp.disk_total = stats.disk_total;
  return rsp;
}

}  // namespace dfs::data
