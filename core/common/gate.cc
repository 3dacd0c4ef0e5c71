#include "core/common/gate.h"

#include <cstdio>

namespace dfs {

void Gate::Replace(KeyTable keys) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_ = std::move(keys);
}

KeyTable Gate::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_;
}

Result<Identity> Gate::Who(const std::string& peer) const {
  if (!secure_) return Identity::Insecure();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(peer);
  if (it == keys_.end()) {
    return Status(Code::kPermissionDenied, peer.empty() ? "a key is required" : "key " + peer + " is not admitted");
  }
  return it->second;
}

void LogRefusal(const std::string& server, const std::string& op, const std::string& peer, const Status& why) {
  fprintf(stderr, "%s: refused %s from key %s: %s\n", server.c_str(), op.c_str(),
          peer.empty() ? "(none)" : peer.c_str(), why.message().c_str());
}

}  // namespace dfs
