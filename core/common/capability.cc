#include "core/common/capability.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstring>

namespace dfs {
namespace {

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CapabilityKey CapabilityKey::FromServerSecret(const std::string& server_secret) {
  const std::string input = "dfs capability key v1\n" + server_secret;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  CapabilityKey k;
  k.key_.assign(reinterpret_cast<const char*>(digest), sizeof digest);
  return k;
}

std::string CapabilityKey::Mac(const Capability& cap) const {
  std::string msg = "dfs-cap-v1";
  PutU64(&msg, cap.fid);
  PutU64(&msg, cap.rights);
  PutU64(&msg, cap.generation);
  PutU64(&msg, static_cast<uint64_t>(cap.expires_ns));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

Capability CapabilityKey::Issue(uint64_t fid, uint32_t rights, uint64_t generation, int64_t expires_ns) const {
  Capability cap{fid, rights, generation, expires_ns, ""};
  cap.mac = Mac(cap);
  return cap;
}

Status CapabilityKey::Check(const Capability& cap, uint64_t fid, uint32_t right, int64_t now_ns) const {
  const std::string file = "file " + std::to_string(fid);
  if (cap.mac.empty()) return Status(Code::kPermissionDenied, "no capability for " + file + " was presented");
  const std::string want = Mac(cap);
  if (cap.mac.size() != want.size() || CRYPTO_memcmp(cap.mac.data(), want.data(), want.size()) != 0) {
    return Status(Code::kPermissionDenied, "a forged capability was presented for " + file);
  }
  if (cap.fid != fid) {
    return Status(Code::kPermissionDenied,
                  "a capability for file " + std::to_string(cap.fid) + " was presented for " + file);
  }
  if ((cap.rights & right) != right) {
    return Status(Code::kPermissionDenied, std::string("the capability for ") + file + " does not grant " +
                                               (right == kCapWrite ? "write" : "read"));
  }
  if (cap.expires_ns <= now_ns) return Status(Code::kPermissionDenied, "the capability for " + file + " has expired");
  return Status::Ok();
}

}  // namespace dfs
