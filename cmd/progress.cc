#include "cmd/progress.h"

#include <unistd.h>

#include <cstdio>

#include "cmd/cli_common.h"

namespace dfs::cmd {
namespace {

Progress* shown = nullptr;  // the one progress line on the terminal, if any

constexpr auto kRedraw = std::chrono::milliseconds(100);

std::string Duration(double s) {
  char buf[32];
  if (s < 60) {
    snprintf(buf, sizeof buf, "%.0f s", s);
  } else if (s < 3600) {
    snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600, static_cast<int>(s) / 60 % 60);
  }
  return buf;
}

}  // namespace

bool ProgressWanted(bool quiet) { return !quiet && isatty(STDERR_FILENO); }

void ClearStatusLine() {
  if (shown) fprintf(stderr, "\r\033[K");
}

Progress::Progress(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), start_(std::chrono::steady_clock::now()) {
  if (enabled_) shown = this;
}

Progress::~Progress() { Done(); }

void Progress::Done() {
  if (!enabled_) return;
  if (shown_) fprintf(stderr, "\r\033[K");
  if (shown == this) shown = nullptr;
  enabled_ = false;
}

void Progress::SetTotal(uint64_t bytes, uint64_t files) {
  total_bytes_ = bytes;
  total_files_ = files;
}

void Progress::AddBytes(uint64_t n) {
  bytes_ += n;
  Draw(false);
}

void Progress::FileDone() {
  ++files_;
  Draw(false);
}

void Progress::Say(const std::string& text) {
  if (!enabled_) return;
  fprintf(stderr, "\r\033[K%s: %s", label_.c_str(), text.c_str());
  shown_ = true;
}

void Progress::Draw(bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && shown_ && now - drawn_ < kRedraw) return;
  drawn_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? bytes_ / secs : 0;
  std::string line = label_ + ": " + HumanSize(bytes_);
  if (total_bytes_) {
    line += " of " + HumanSize(total_bytes_) + " (" + std::to_string(bytes_ * 100 / total_bytes_) + "%)";
  }
  line += ", " + std::to_string(files_) + (total_files_ ? " of " + std::to_string(total_files_) : "") + " files";
  char buf[32];
  snprintf(buf, sizeof buf, ", %.0f MB/s", rate / 1e6);
  line += buf;
  if (total_bytes_ && rate > 0 && bytes_ <= total_bytes_ && secs > 0.5) {
    line += ", " + Duration((total_bytes_ - bytes_) / rate) + " left";
  }
  fprintf(stderr, "\r\033[K%s", line.c_str());
  shown_ = true;
}

}  // namespace dfs::cmd
