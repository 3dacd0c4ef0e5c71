// Sha256: a whole-file SHA-256 computed as the bytes stream by (dfs sum).
// OpenSSL stays behind this header, in core/common.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace dfs {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const char* data, size_t n);
  // The digest as 64 lowercase hex digits, as sha256sum prints it. Once.
  std::string HexDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dfs
