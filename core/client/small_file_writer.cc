#include "core/client/small_file_writer.h"

#include "core/client/file_writer.h"
#include "core/client/stripe_batcher.h"
#include "core/common/placement.h"

namespace dfs::client {

Status SmallFileWriter::Add(std::string path, std::string bytes, const NewEntry& entry) {
  pending_bytes_ += bytes.size();
  pending_.emplace_back(std::move(path), std::move(bytes));
  pending_entries_.push_back(entry);
  if (pending_.size() >= kMaxFiles || pending_bytes_ >= kMaxBytes) return Finish();
  return Status::Ok();
}

Status SmallFileWriter::Finish() {
  if (pending_.empty()) return Status::Ok();
  auto group = std::move(pending_);
  auto entries = std::move(pending_entries_);
  pending_.clear();
  pending_entries_.clear();
  pending_bytes_ = 0;

  proto::CreateManyReq create;
  for (size_t k = 0; k < group.size(); ++k) {
    proto::CreateReq r = leases_->CreateRequest(group[k].first, block_size_, entries[k]);
    r.replace = true;
    create.files.push_back(r);
  }
  proto::CreateManyRsp created;
  DFS_RETURN_IF_ERROR(meta_->Call<proto::Op::kCreateMany>(create, &created));
  if (created.files.size() != group.size() || created.codes.size() != group.size()) {
    return Internal("the meta server answered CreateMany for the wrong number of files");
  }
  std::vector<uint64_t> staged;
  Status failed;
  for (size_t k = 0; k < group.size(); ++k) {
    if (created.codes[k] == 0) {
      staged.push_back(created.files[k].fid);
      leases_->Hold(created.files[k].fid);
    } else if (failed.ok()) {
      failed = Status(static_cast<Code>(created.codes[k]), created.errors[k]);
    }
  }
  if (!failed.ok()) {
    Abandon(staged);
    return failed;
  }

  StripeBatcher batcher(proto::Op::kWriteFiles, data_->size());
  for (size_t k = 0; k < group.size(); ++k) {
    const proto::Attr& a = created.files[k];
    if (a.stripe_width > data_->size()) {
      return Status(Code::kFailedPrecondition, group[k].first + ": stripe width exceeds the cluster");
    }
    const std::string& bytes = group[k].second;
    const uint64_t version = MakeVersion(a.generation, 0);
    for (size_t off = 0; off < bytes.size(); off += a.block_size) {
      uint32_t len = static_cast<uint32_t>(std::min<size_t>(a.block_size, bytes.size() - off));
      batcher.AddBlock(a, off / a.block_size, version, bytes.data() + off, len);
    }
  }
  if (Status st = data_->RunWrites(batcher.List()); !st.ok()) {
    Abandon(staged);
    return st;
  }

  proto::CommitManyReq commit;
  for (size_t k = 0; k < group.size(); ++k) {
    const proto::Attr& a = created.files[k];
    proto::CommitReq c;
    c.fid = a.fid;
    c.generation = a.generation;
    c.size = group[k].second.size();
    if (c.size > 0) c.ranges = {0, BlockCount(c.size, a.block_size)};
    c.publish = true;
    c.holder_id = leases_->holder().id;
    commit.files.push_back(std::move(c));
  }
  proto::CommitManyRsp committed;
  if (Status st = meta_->Call<proto::Op::kCommitMany>(commit, &committed); !st.ok()) {
    Abandon(staged);
    return st;
  }
  if (committed.codes.size() != group.size() || committed.replaced.size() != group.size()) {
    Abandon(staged);
    return Internal("the meta server answered CommitMany for the wrong number of files");
  }
  std::vector<uint64_t> unpublished;
  for (size_t k = 0; k < group.size(); ++k) {
    if (committed.codes[k] != 0) {
      unpublished.push_back(created.files[k].fid);
      if (failed.ok()) failed = Status(static_cast<Code>(committed.codes[k]), committed.errors[k]);
      continue;
    }
    leases_->Drop(created.files[k].fid);
    if (committed.replaced[k].fid) data_->DeleteBlocks(committed.replaced[k]);
  }
  Abandon(unpublished);
  return failed;
}

void SmallFileWriter::Abandon(const std::vector<uint64_t>& fids) { AbandonCopies(meta_, data_, leases_, fids); }

}  // namespace dfs::client
