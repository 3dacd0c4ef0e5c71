// A temporary directory removed at the end of the test.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace dfs::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dfs-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace dfs::testing
