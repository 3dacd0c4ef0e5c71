// MetaService: the meta server's request handler. It only decodes a request,
// calls the MetaStore, and encodes the reply; malformed requests get an error
// reply. It never throws.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "core/common/gate.h"
#include "core/meta/meta_store.h"
#include "transport/message.h"

namespace dfs::meta {

class MetaService {
 public:
  // `gate` null: every request is trusted (--insecure, tests). Capabilities
  // it issues last `capability_seconds`.
  explicit MetaService(MetaStore* store, const Gate* gate = nullptr, double capability_seconds = 86400)
      : store_(store), gate_(gate), capability_ns_(static_cast<int64_t>(capability_seconds * 1e9)) {}
  transport::Message Handle(transport::Message&& request);
  // Between requests: ends the write leases nobody renewed.
  void Tick();

 private:
  transport::Message Dispatch(transport::Message&& request);
  // The namespace operations, checked against `who`'s permissions.
  transport::Message Namespace(const proto::Header& h, const Identity& who, const std::string& peer);
  // Gives `a` the capability `who` has on its blocks: read and write as
  // the mode allows, both for a file `opened` for writing.
  void Grant(proto::Attr* a, const Identity& who, bool opened) const;
  proto::CreateManyRsp CreateMany(const proto::CreateManyReq& r, const Identity& who);
  // The parent directories of `paths` as a change just left them, in that
  // order (proto::Attr::dirs); none if one cannot be found.
  std::vector<proto::Attr> ParentsOf(std::initializer_list<std::string> paths);
  // `a` with its parent directory attached (Attr::dirs), if it was made.
  Result<proto::Attr> WithParent(Result<proto::Attr> a, const std::string& path);

  MetaStore* store_;
  const Gate* gate_;
  int64_t capability_ns_;
};

struct MetaServerOptions {
  std::string dir;
  std::string listen;
  std::vector<std::string> data_servers;  // empty: use the stored map
  std::string metrics_listen;             // HOST:PORT for Prometheus metrics over HTTP; empty: none
  uint32_t block_size = 0;                // 0: keep the stored default (512)
  double lease_seconds = 60;              // a writer that stops renewing loses its lease after this
  std::string key_file;                   // the cluster's server key pair (zcert)
  std::string authorized_keys;            // the admitted client keys (identity.h), re-read when it changes
  bool insecure = false;                  // no keys: every request trusted (loopback endpoints only)
  double capability_seconds = 86400;      // how long a capability stays valid
};

// Runs the meta server until SIGINT/SIGTERM (meta_server.cc). Returns why
// it could not start.
Status RunMetaServer(const MetaServerOptions& options);

}  // namespace dfs::meta
