// The FUSE tests' mount: a Cluster mounted on a fresh directory, and the
// check that says a test was skipped because this machine cannot mount.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../integration/cluster_fixture.h"

namespace dfs::testing {

// Mounts the cluster on a fresh directory; unmounts at the end.
class Mount {
 public:
  // `key`: the key file the mount presents (default: the cluster's admin
  // key, which is trusted).
  explicit Mount(Cluster& c, std::vector<std::string> options = {}, const std::string& name = "mnt",
                 const std::string& key = "")
      : c_(c), dir_(c.dir() + "/" + name) {
    std::filesystem::create_directories(dir_);
    std::string log = c.dir() + (name == "mnt" ? "/mount.log" : "/" + name + ".log");
    std::vector<std::string> args = {"mount", "--log", log, dir_};
    for (const auto& o : options) args.insert(args.end(), {"-o", o});
    auto r = c_.DfsWithKey(key.empty() ? c.admin_key() : key, args, "", 30);
    mounted_ = r.code == 0;
    error_ = r.err;
  }
  ~Mount() {
    if (mounted_ && c_.Dfs({"umount", dir_}, "", 30).code != 0) {
      dfs::testing::Run({"fusermount3", "-u", "-z", dir_});  // busy: detach lazily
    }
  }
  // True (and says so) if the mount failed on this machine.
  bool Skipped() const {
    if (!mounted_) WARN("SKIPPED: cannot mount here: " << error_);
    return !mounted_;
  }
  std::string Path(const std::string& rel) const { return dir_ + rel; }

 private:
  Cluster& c_;
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

inline std::string Why() {
  if (access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse is not usable here";
  return "";
}

// True (and says so) when this machine cannot run FUSE tests.
inline bool Skipped() {
  std::string why = Why();
  if (!why.empty()) WARN("SKIPPED: " << why);
  return !why.empty();
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace dfs::testing
