#include "core/client/read_stream.h"

#include <algorithm>
#include <cstring>

namespace dfs::client {
namespace {

// Windows a read-ahead keeps read ahead of its reader (each about 1 MiB per
// data server).
constexpr size_t kAheadWindows = 2;
// A read this far past what the read-ahead has read is a seek: it would
// otherwise wait for everything in between.
constexpr uint64_t kSkipBytes = 16 << 20;

}  // namespace

void ReadStream::StopAhead() {
  if (ahead_) ahead_->Cancel();
  ahead_.reset();
}

void ReadStream::Drop() {
  window_ = Window{};
  attr_stale_ = true;
  StopAhead();
}

void ReadStream::Hold(Window w) {
  if (ahead_ && window_.bytes.capacity() > 0) ahead_->Recycle(std::move(window_.bytes));
  window_ = std::move(w);
}

Result<size_t> ReadStream::Read(uint64_t offset, char* out, size_t size) {
  // A read may span two windows.
  size_t done = 0;
  while (done < size) {
    const uint64_t pos = offset + done;
    if (!Holds(pos)) {
      Status st = Fill(pos, size - done);
      if (!st.ok()) {
        Drop();
        return st;
      }
      if (!Holds(pos)) break;  // at the end of the file
    }
    size_t n = std::min<uint64_t>(size - done, window_.end() - pos);
    memcpy(out + done, window_.bytes.data() + (pos - window_.offset), n);
    done += n;
  }
  return done;
}

bool ReadStream::TakeAhead(uint64_t offset) {
  if (!ahead_) return false;
  const uint64_t next = ahead_->next();
  if (offset < next || offset - next > kSkipBytes || next >= ahead_->end()) {
    StopAhead();
    return false;
  }
  while (true) {
    Window w = ahead_->Take();
    if (!w.status.ok()) break;  // the caller reads its own bytes, and learns why
    if (w.Holds(offset)) {
      Hold(std::move(w));
      return true;
    }
    ahead_->Recycle(std::move(w.bytes));  // skipped past
  }
  StopAhead();
  return false;
}

Status ReadStream::Fill(uint64_t offset, uint64_t size) {
  // The size may have moved since it was learnt: asked again when it is
  // old, and before saying a read is past the end.
  const auto now = std::chrono::steady_clock::now();
  if (attr_stale_ || std::chrono::duration<double>(now - attr_at_).count() >= attr_max_age_s_ ||
      offset + size > attr_.size) {
    DFS_ASSIGN_OR_RETURN(attr_, fs_->StatFile(attr_.fid));
    attr_at_ = now;
    attr_stale_ = false;
    // A read-ahead of what the file was is no use.
    if (ahead_ && (ahead_->end() != attr_.size || ahead_->attr().truncate_generation != attr_.truncate_generation)) {
      StopAhead();
    }
  }
  if (offset >= attr_.size) {
    Drop();
    return Status::Ok();
  }
  size = std::min(size, attr_.size - offset);
  if (TakeAhead(offset)) return Status::Ok();
  const bool sequential = offset == 0 || offset == window_.end();
  if (sequential) {
    ahead_ = prefetcher_->StartReadAhead(attr_, attr_.name, offset, kAheadWindows);
    if (TakeAhead(offset)) return Status::Ok();
  }
  // A seek, or the read-ahead failed: the bytes asked for, on this thread,
  // now (a block lost beyond them fails only the reads of it).
  Window w{offset, "", Status::Ok()};
  DFS_RETURN_IF_ERROR(fs_->ReadInto(attr_, attr_.name, offset, size, &w.bytes));
  Hold(std::move(w));
  return Status::Ok();
}

}  // namespace dfs::client
