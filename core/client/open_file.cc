#include "core/client/open_file.h"

#include <cstdio>

namespace dfs::client {

void OpenFile::Restart(std::unique_ptr<FileWriter> writer, FileSystem* fs) {
  patch_.reset();
  fs_ = fs;
  error_ = Status::Ok();
  writer_ = std::move(writer);
  generation_ = writer_->attr().generation;
  written_ = 0;
  changed_ = false;  // Create left it empty, as it is
}

Status OpenFile::Patch() {
  if (writing()) return Status::Ok();
  return UsePatch();
}

Status OpenFile::Fail(const char* what, Status st) {
  if (!st.ok()) {
    fprintf(stderr, "dfs: %s %s failed: %s\n", what, path().c_str(), st.message().c_str());
    error_ = st;
  }
  return st;
}

Status OpenFile::UsePatch() {
  if (patch_) return Status::Ok();
  if (writer_) DFS_RETURN_IF_ERROR(Close());
  DFS_ASSIGN_OR_RETURN(patch_, fs_->OpenForPatch(path()));
  generation_ = patch_->attr().generation;
  return Status::Ok();
}

void OpenFile::RenewCapability() {
  constexpr int64_t kBeforeNs = int64_t{600} * 1000000000;  // ten minutes
  const Capability& cap = writer_ ? writer_->attr().cap : patch_->attr().cap;
  if (cap.mac.empty() || cap.expires_ns - WallClockNs() > kBeforeNs) return;
  auto fresh = fs_->StatFile(fid_);
  if (!fresh.ok()) return;  // the write will say what is wrong
  if (writer_) writer_->RenewCapability(fresh->cap);
  if (patch_) patch_->RenewCapability(fresh->cap);
}

Status OpenFile::Write(uint64_t offset, const char* bytes, size_t size) {
  DFS_RETURN_IF_ERROR(error_);
  if (writing()) RenewCapability();
  Status st;
  // A stream gets only appends; a file closed since (another open
  // truncated it) is opened again, for patches.
  if (!writing() || (writer_ && offset != written_)) st = UsePatch();
  changed_ = true;  // after UsePatch, which may close (and flush) a stream
  if (st.ok() && patch_) {
    st = patch_->Write(offset, bytes, size);
  } else if (st.ok()) {
    st = writer_->Write(bytes, size);
    if (st.ok()) written_ += size;
  }
  return Fail("write to", st);
}

Status OpenFile::Truncate(uint64_t size) {
  if (writer_ && size == written_) return Status::Ok();  // e.g. O_TRUNC then ftruncate(0)
  DFS_RETURN_IF_ERROR(UsePatch());
  changed_ = true;  // after UsePatch, which may close (and flush) a stream
  return patch_->Truncate(size);
}

Status OpenFile::Publish() {
  DFS_RETURN_IF_ERROR(error_);
  if (!writing()) return Status::Ok();
  RenewCapability();
  return Fail("write of", writer_ ? writer_->Flush() : patch_->Flush());
}

Status OpenFile::Flush() {
  // Nothing since the last flush (a second close, a close after fsync, a
  // file only read or created empty): nothing to wait for.
  if (!writing() || !changed_) return error_;
  Status st = Publish();
  if (st.ok()) st = fs_->SyncData();
  if (st.ok()) changed_ = false;
  return Fail("flush of", st);
}

Status OpenFile::Fsync() {
  DFS_RETURN_IF_ERROR(Flush());
  return Fail("fsync of", fs_->SyncNamespace());
}

Status OpenFile::Close() {
  DFS_RETURN_IF_ERROR(error_);
  if (patch_) {
    Status st = Flush();
    patch_.reset();
    return st;
  }
  if (!writer_) return Status::Ok();
  // Unchanged since the last flush, the stream is durable and committed
  // (a partial last block kept for later appends is stored as it is).
  Status st = changed_ ? writer_->Close() : Status::Ok();
  if (st.ok() && changed_) st = fs_->SyncData();
  writer_.reset();
  changed_ = false;
  if (!st.ok()) error_ = st;
  return st;
}

Status OpenFile::CloseAndRelease() {
  Status st = Close();
  fs_->EndWriteSoon(fid_, generation_);
  return st;
}

}  // namespace dfs::client
