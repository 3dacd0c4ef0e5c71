#include "core/client/open_file.h"

#include <cstdio>

namespace dfs::client {

void OpenFile::Restart(std::unique_ptr<FileWriter> writer) {
  patch_.reset();
  error_ = Status::Ok();
  writer_ = std::move(writer);
  written_ = 0;
}

Status OpenFile::Patch() {
  if (writing()) return Status::Ok();
  return UsePatch();
}

Status OpenFile::Fail(const char* what, Status st) {
  if (!st.ok()) {
    fprintf(stderr, "dfs: %s %s failed: %s\n", what, path_.c_str(), st.message().c_str());
    error_ = st;
  }
  return st;
}

Status OpenFile::UsePatch() {
  if (patch_) return Status::Ok();
  if (writer_) DFS_RETURN_IF_ERROR(Close());
  DFS_ASSIGN_OR_RETURN(patch_, fs_->OpenForPatch(path_));
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
  if (writer_ && offset != written_) st = UsePatch();
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
  return patch_->Truncate(size);
}

Status OpenFile::Publish() {
  DFS_RETURN_IF_ERROR(error_);
  if (!writing()) return Status::Ok();
  RenewCapability();
  return Fail("write of", writer_ ? writer_->Flush() : patch_->Flush());
}

Status OpenFile::Flush() {
  if (!writing()) return error_;
  Status st = Publish();
  if (st.ok()) st = fs_->Sync();
  return Fail("flush of", st);
}

Status OpenFile::Close() {
  DFS_RETURN_IF_ERROR(error_);
  if (patch_) {
    Status st = Flush();
    patch_.reset();
    return st;
  }
  if (!writer_) return Status::Ok();
  Status st = writer_->Close();
  if (st.ok()) st = fs_->Sync();
  writer_.reset();
  if (!st.ok()) error_ = st;
  return st;
}

Status OpenFile::CloseAndRelease() {
  Status st = Close();
  fs_->EndWrite(fid_);
  return st;
}

}  // namespace dfs::client
