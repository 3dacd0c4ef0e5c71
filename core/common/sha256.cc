#include "core/common/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace dfs {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  // Only an allocation failure can stop SHA-256 from starting.
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) abort();
}

Sha256::~Sha256() = default;

void Sha256::Update(const char* data, size_t n) {
  if (EVP_DigestUpdate(impl_->ctx, data, n) != 1) abort();
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, digest, &len) != 1) abort();
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    char buf[3];
    snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

}  // namespace dfs
