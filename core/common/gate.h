// Gate: what a server knows of who may do what. The identities of the
// admitted keys (identity.h) and the capability key (capability.h), or, on
// a server started with --insecure, nothing: every request is trusted.
// Thread-safety: every method from any thread.
#pragma once

#include <mutex>
#include <string>

#include "base/status.h"
#include "core/common/capability.h"
#include "core/common/identity.h"

namespace dfs {

class Gate {
 public:
  // Trusts every request (--insecure).
  Gate() = default;
  Gate(KeyTable keys, CapabilityKey cap_key) : secure_(true), keys_(std::move(keys)), cap_key_(std::move(cap_key)) {}

  bool secure() const { return secure_; }
  const CapabilityKey& cap_key() const { return cap_key_; }
  void Replace(KeyTable keys);
  KeyTable keys() const;

  // The identity of the key a request came with ("" on a plain connection).
  Result<Identity> Who(const std::string& peer) const;

 private:
  const bool secure_ = false;
  mutable std::mutex mu_;
  KeyTable keys_;          // guarded by mu_
  CapabilityKey cap_key_;  // set once, at construction
};

// "dfs data 3: refused WriteBlocks from key XXXX...: why" on stderr: every
// refusal of a request that got past the key check is logged.
void LogRefusal(const std::string& server, const std::string& op, const std::string& peer, const Status& why);

}  // namespace dfs
