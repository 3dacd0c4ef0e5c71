#include "core/client/prefetcher.h"

#include <algorithm>
#include <chrono>

namespace dfs::client {
namespace {

// A read-ahead yields the thread after this many bytes when other work
// waits, so that one long sequential read does not hold up the others.
constexpr uint64_t kTurnBytes = 64 << 20;
// How long a read-ahead whose reader holds all it may waits for the reader
// to take a window before it stops (its windows on their way are then
// dropped, and read again when the reader comes back).
constexpr auto kReaderWait = std::chrono::milliseconds(200);
// Recycled buffers a read-ahead keeps.
constexpr size_t kSpareBuffers = 1;

Status Cancelled(const std::string& path) { return Status(Code::kCancelled, "read-ahead of " + path + " cancelled"); }

}  // namespace

uint64_t ReadAhead::next() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_.empty() ? pos_ : ready_.front().offset;
}

Window ReadAhead::Take() {
  Window w;
  bool resume = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // It stopped for the reader (who held all it may), or its turn ended.
    auto stopped = [&] { return !queued_ && !cancelled_ && !failed_ && pos_ < attr_.size; };
    if (ready_.empty() && stopped()) {
      queued_ = true;
      lock.unlock();
      owner_->Resume(shared_from_this());
      lock.lock();
    }
    cv_.wait(lock, [&] { return !ready_.empty() || cancelled_ || failed_ || pos_ >= attr_.size; });
    if (ready_.empty()) {
      w.offset = pos_;
      w.status = cancelled_ || failed_ ? Cancelled(path_)
                                       : Status(Code::kFailedPrecondition, path_ + ": read-ahead past its end");
      return w;
    }
    w = std::move(ready_.front());
    ready_.pop_front();
    resume = ready_.size() < max_ready_ && stopped();
    if (resume) queued_ = true;
  }
  cv_.notify_all();  // a run waiting for room goes on
  if (resume) owner_->Resume(shared_from_this());
  return w;
}

void ReadAhead::Recycle(std::string bytes) {
  bytes.clear();
  std::lock_guard<std::mutex> lock(mu_);
  if (spare_.size() < kSpareBuffers) spare_.push_back(std::move(bytes));
}

void ReadAhead::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    ready_.clear();
  }
  cv_.notify_all();
}

bool ReadAhead::Run(FileSystem* fs) {
  uint64_t from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_ || failed_ || pos_ >= attr_.size) {
      queued_ = false;
      cv_.notify_all();
      return false;
    }
    from = pos_;
  }
  // Why the stream stopped before the end of the file, other than an error.
  enum class Stop { kNo, kReader, kTurn } stop = Stop::kNo;
  Status st = fs->ReadChunks(attr_, path_, from, attr_.size - from, [&](uint64_t offset, std::string* bytes) -> Status {
    owner_->bytes_read_ += bytes->size();
    std::unique_lock<std::mutex> lock(mu_);
    if (cancelled_) return Cancelled(path_);
    Window w;
    w.offset = offset;
    w.bytes.swap(*bytes);
    if (!spare_.empty()) {
      bytes->swap(spare_.front());  // the engine fills a recycled buffer next
      spare_.pop_front();
    }
    pos_ = w.end();
    ready_.push_back(std::move(w));
    cv_.notify_all();
    if (pos_ >= attr_.size) return Status::Ok();
    if (ready_.size() >= max_ready_) {
      // The reader holds all it may: wait for it to take one, unless
      // other work needs the thread.
      cv_.wait_for(lock, kReaderWait,
                   [&] { return cancelled_ || ready_.size() < max_ready_ || owner_->OthersWaiting(); });
      if (cancelled_) return Cancelled(path_);
      if (ready_.size() >= max_ready_) {
        stop = Stop::kReader;
        return Cancelled(path_);
      }
    }
    if (pos_ - from >= kTurnBytes && owner_->OthersWaiting()) {
      stop = Stop::kTurn;
      return Cancelled(path_);
    }
    return Status::Ok();
  });
  std::lock_guard<std::mutex> lock(mu_);
  if (!st.ok() && !cancelled_ && stop == Stop::kNo) {
    // The reader learns it at this window (and reads its own bytes again:
    // a block lost beyond them fails only the reads of it).
    Window w;
    w.offset = pos_;
    w.status = st;
    ready_.push_back(std::move(w));
    failed_ = true;
  }
  // After its turn, to the back of the queue; stopped for its reader, the
  // reader's next Take queues it again.
  const bool again = stop == Stop::kTurn && !cancelled_;
  if (!again) queued_ = false;
  cv_.notify_all();
  return again;
}

Result<std::unique_ptr<Prefetcher>> Prefetcher::Start(const ClientOptions& options) {
  DFS_ASSIGN_OR_RETURN(auto fs, FileSystem::Connect(options));
  std::unique_ptr<Prefetcher> ra(new Prefetcher(std::move(fs)));
  ra->worker_ = std::thread([r = ra.get()] { r->Loop(); });
  return ra;
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void Prefetcher::Queue(std::function<void()> work) {
  std::shared_ptr<ReadAhead> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(work));
    running = running_;
  }
  cv_.notify_one();
  if (running) {
    // A read-ahead waiting for its reader yields to this work at once.
    { std::lock_guard<std::mutex> lock(running->mu_); }
    running->cv_.notify_all();
  }
}

bool Prefetcher::OthersWaiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return !queue_.empty();
}

std::shared_ptr<ReadAhead> Prefetcher::StartReadAhead(const Attr& attr, const std::string& path, uint64_t offset,
                                                      size_t max_ready) {
  std::shared_ptr<ReadAhead> ra(new ReadAhead(this, attr, path, offset, std::max<size_t>(1, max_ready)));
  ra->queued_ = true;
  Resume(ra);
  return ra;
}

void Prefetcher::Resume(const std::shared_ptr<ReadAhead>& ra) {
  Queue([this, ra] {
    {
      std::lock_guard<std::mutex> lock(ra->mu_);
      if (ra->cancelled_) {
        ra->queued_ = false;
        ra->cv_.notify_all();
        return;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = ra;
    }
    const bool again = ra->Run(fs_.get());
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.reset();
    }
    if (again) Resume(ra);  // its turn ended: to the back of the queue
  });
}

void Prefetcher::Loop() {
  while (true) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace dfs::client
