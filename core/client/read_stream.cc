#include "core/client/read_stream.h"

#include <algorithm>
#include <cstring>

namespace dfs::client {
namespace {

constexpr uint64_t kSequentialWindow = 8 << 20;  // of a sequential read
constexpr size_t kAheadWindows = 2;              // fetched ahead of a sequential read

}  // namespace

void ReadStream::CancelAhead() {
  for (Ahead& a : ahead_) a.cancel->store(true);
  ahead_.clear();
}

void ReadStream::Drop() {
  window_ = Window{};
  attr_stale_ = true;
  CancelAhead();
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
    size_t n = std::min<uint64_t>(size - done, window_.offset + window_.bytes.size() - pos);
    memcpy(out + done, window_.bytes.data() + (pos - window_.offset), n);
    done += n;
  }
  return done;
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
  }
  if (offset >= attr_.size) {
    Drop();
    return Status::Ok();
  }
  size = std::min(size, attr_.size - offset);
  const bool sequential = offset == 0 || offset == window_.offset + window_.bytes.size();
  Window w;
  // Windows this read skipped past are no use.
  while (!ahead_.empty() && ahead_.front().offset + kSequentialWindow <= offset) {
    ahead_.front().cancel->store(true);
    ahead_.pop_front();
  }
  if (!ahead_.empty() && offset >= ahead_.front().offset) {
    w = ahead_.front().window.get();  // usually ready: fetched while earlier windows were served
    ahead_.pop_front();
  }
  if (!w.status.ok() || !w.Holds(offset)) {
    CancelAhead();
    if (!sequential) {
      // A seek: the bytes asked for, on this thread, now.
      w = Window{offset, "", Status::Ok()};
      w.status = fs_->ReadInto(attr_, attr_.name, offset, size, &w.bytes);
      DFS_RETURN_IF_ERROR(w.status);
      window_ = std::move(w);
      return Status::Ok();
    }
    uint64_t length = std::max(size, kSequentialWindow);
    w = prefetcher_->Fetch(attr_, attr_.name, offset, length).get();
    // A block lost beyond the bytes asked for fails only the reads of it.
    if (!w.status.ok() && length > size) w = prefetcher_->Fetch(attr_, attr_.name, offset, size).get();
    DFS_RETURN_IF_ERROR(w.status);
  }
  window_ = std::move(w);
  if (sequential) {
    // Keep kAheadWindows on their way, so the fetching thread never idles.
    uint64_t next = ahead_.empty() ? window_.offset + window_.bytes.size() : ahead_.back().offset + kSequentialWindow;
    while (ahead_.size() < kAheadWindows && next < attr_.size) {
      auto cancel = std::make_shared<std::atomic<bool>>(false);
      ahead_.push_back({next, prefetcher_->Fetch(attr_, attr_.name, next, kSequentialWindow, cancel), cancel});
      next += kSequentialWindow;
    }
  }
  return Status::Ok();
}

}  // namespace dfs::client
