#include "fault_disk.h"

#include <chrono>
#include <cstring>

namespace dfs::testing {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class FaultFile : public data::DiskFile {
 public:
  FaultFile(FaultDisk* disk, std::string path, std::shared_ptr<FaultDisk::Node> node)
      : disk_(disk), path_(std::move(path)), node_(std::move(node)) {}

  Status Write(uint64_t offset, const char* bytes, size_t n) override {
    return disk_->WriteAt(node_, offset, bytes, n);
  }
  Status Read(uint64_t offset, char* bytes, size_t n) override {
    std::lock_guard<std::mutex> lock(disk_->mu());
    const std::string& d = node_->data;
    size_t have = offset < d.size() ? std::min<size_t>(n, d.size() - offset) : 0;
    if (have) memcpy(bytes, d.data() + offset, have);
    memset(bytes + have, 0, n - have);
    return Status::Ok();
  }
  Result<uint64_t> Size() override {
    std::lock_guard<std::mutex> lock(disk_->mu());
    return static_cast<uint64_t>(node_->data.size());
  }
  uint64_t NextData(uint64_t offset) override {
    std::lock_guard<std::mutex> lock(disk_->mu());
    return std::min<uint64_t>(offset, node_->data.size());
  }
  void Punch(uint64_t offset, uint64_t length) override {
    std::lock_guard<std::mutex> lock(disk_->mu());
    std::string& d = node_->data;
    if (offset < d.size()) memset(d.data() + offset, 0, std::min<uint64_t>(length, d.size() - offset));
  }
  bool Unlinked() override { return !disk_->IsLive(path_, node_); }
  Status Sync() override { return disk_->SyncNode(node_); }

 private:
  FaultDisk* disk_;
  std::string path_;
  std::shared_ptr<FaultDisk::Node> node_;
};

}  // namespace

void FaultDisk::FailWrite(int after, Status why) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_write_at_ = writes_ + after;
  fail_write_why_ = std::move(why);
}

void FaultDisk::TearWrite(int after, size_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  tear_write_at_ = writes_ + after;
  tear_keep_ = keep;
}

void FaultDisk::FailSync(int after, Status why) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_sync_at_ = syncs_ + after;
  fail_sync_why_ = std::move(why);
}

void FaultDisk::PowerCut() {
  std::lock_guard<std::mutex> lock(mu_);
  live_.clear();
  std::map<Node*, std::shared_ptr<Node>> after;  // hard-linked names stay one file
  for (const auto& [path, old] : durable_) {
    auto& node = after[old.get()];
    if (!node) {
      node = std::make_shared<Node>();
      node->data = node->synced = old->synced;
    }
    live_[path] = node;
  }
  durable_ = live_;
}

void FaultDisk::Scribble(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string& d = live_.at(path)->data;
  if (d.size() < offset + bytes.size()) d.resize(offset + bytes.size(), '\0');
  memcpy(d.data() + offset, bytes.data(), bytes.size());
}

std::string FaultDisk::Contents(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(path);
  return it == live_.end() ? std::string() : it->second->data;
}

uint64_t FaultDisk::UsedLocked() const {
  uint64_t used = 0;
  for (const auto& [path, node] : live_) used += node->data.size();
  return used;
}

uint64_t FaultDisk::used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return UsedLocked();
}

Status FaultDisk::WriteAt(const std::shared_ptr<Node>& node, uint64_t offset, const char* bytes, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  int at = writes_++;
  if (at == fail_write_at_) return fail_write_why_;
  size_t keep = n;
  bool torn = at == tear_write_at_;
  if (torn) {
    uint64_t boundary = (offset + tear_keep_ + 511) / 512 * 512;  // a sector boundary of the file
    keep = static_cast<size_t>(std::min<uint64_t>(n, boundary > offset ? boundary - offset : 0));
  }
  std::string& d = node->data;
  uint64_t grow = offset + keep > d.size() ? offset + keep - d.size() : 0;
  if (UsedLocked() + grow > capacity_) return Status(Code::kResourceExhausted, "write: No space left on device");
  if (d.size() < offset + keep) d.resize(offset + keep, '\0');
  memcpy(d.data() + offset, bytes, keep);
  node->mtime_ns = NowNs();
  if (torn) return Internal("write torn at byte " + std::to_string(keep) + " (a crash)");
  return Status::Ok();
}

bool FaultDisk::IsLive(const std::string& path, const std::shared_ptr<Node>& node) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(path);
  return it != live_.end() && it->second == node;
}

Result<std::unique_ptr<data::DiskFile>> FaultDisk::Open(const std::string& path, data::OpenMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(path);
  if (it == live_.end()) {
    if (mode == data::OpenMode::kExisting) return NotFound("open " + path + ": No such file or directory");
    auto node = std::make_shared<Node>();
    node->mtime_ns = NowNs();
    it = live_.emplace(path, node).first;
  } else if (mode == data::OpenMode::kCreateNew) {
    return Status(Code::kAlreadyExists, "open " + path + ": File exists");
  }
  return std::unique_ptr<data::DiskFile>(new FaultFile(this, path, it->second));
}

Status FaultDisk::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(from);
  if (it == live_.end()) return NotFound("rename " + from + ": No such file or directory");
  auto node = it->second;
  live_.erase(it);
  node->mtime_ns = NowNs();
  live_[to] = node;
  return Status::Ok();
}

Status FaultDisk::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (live_.erase(path) == 0) return NotFound("remove " + path + ": No such file or directory");
  return Status::Ok();
}

bool FaultDisk::Exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.count(path) > 0;
}

std::vector<data::DiskEntry> FaultDisk::List(const std::string& dir, bool recursive) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<data::DiskEntry> out;
  const std::string prefix = dir + "/";
  for (const auto& [path, node] : live_) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    if (!recursive && path.find('/', prefix.size()) != std::string::npos) continue;
    out.push_back({path, node->data.size(), node->mtime_ns});
  }
  return out;
}

Status FaultDisk::SyncNode(const std::shared_ptr<Node>& node) {
  std::lock_guard<std::mutex> lock(mu_);
  if (syncs_++ == fail_sync_at_) return fail_sync_why_;
  node->synced = node->data;
  return Status::Ok();
}

Status FaultDisk::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (syncs_++ == fail_sync_at_) return fail_sync_why_;
  const std::string prefix = dir + "/";
  auto in_dir = [&](const std::string& path) {
    return path.compare(0, prefix.size(), prefix) == 0 && path.find('/', prefix.size()) == std::string::npos;
  };
  for (auto it = durable_.begin(); it != durable_.end();) it = in_dir(it->first) ? durable_.erase(it) : std::next(it);
  for (const auto& [path, node] : live_) {
    if (in_dir(path)) durable_[path] = node;
  }
  return Status::Ok();
}

Status FaultDisk::SyncAll(const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  if (syncs_++ == fail_sync_at_) return fail_sync_why_;
  durable_ = live_;
  for (auto& [path, node] : live_) node->synced = node->data;
  return Status::Ok();
}

data::DiskSpace FaultDisk::Space(const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t used = UsedLocked();
  return {capacity_ > used ? capacity_ - used : 0, capacity_};
}

Result<std::string> FaultDisk::ReadWhole(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(path);
  if (it == live_.end()) return NotFound(path + ": No such file or directory");
  return it->second->data;
}

Status FaultDisk::WriteWhole(const std::string& path, const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto node = std::make_shared<Node>();
  node->data = bytes;
  node->mtime_ns = NowNs();
  live_[path] = node;
  return Status::Ok();
}

}  // namespace dfs::testing
