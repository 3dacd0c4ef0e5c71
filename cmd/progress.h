// Progress: one line on stderr that updates itself while a long command
// runs (dfs cp, dfs cluster up), as rsync --info=progress2 and curl show it:
// bytes and files done, of how many when known, rate and time left. Only
// on a terminal and without -q; otherwise it prints nothing. Other messages
// call ClearStatusLine() first so they never mix with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dfs::cmd {

class Progress {
 public:
  // `label`: what is shown first ("cp"); `enabled`: stderr is a terminal
  // and the command was not asked to be quiet.
  Progress(std::string label, bool enabled);
  ~Progress();  // erases the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  // What the whole job is, when it can be known up front (0: unknown).
  void SetTotal(uint64_t bytes, uint64_t files);
  void AddBytes(uint64_t n);
  void FileDone();
  // A free-form line instead of the byte counts (cluster up).
  void Say(const std::string& text);
  // Erases the line now and shows nothing more.
  void Done();

 private:
  void Draw(bool force);

  std::string label_;
  bool enabled_;
  uint64_t bytes_ = 0, files_ = 0, total_bytes_ = 0, total_files_ = 0;
  std::chrono::steady_clock::time_point start_, drawn_;
  bool shown_ = false;
};

// True if stderr is a terminal and -q was not given: progress may be shown.
bool ProgressWanted(bool quiet);

// Erases the progress line, if one is shown, before other stderr output.
void ClearStatusLine();

}  // namespace dfs::cmd
