// The meta server process: its keys, its socket, its request loop.
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <set>

#include "core/common/metrics.h"
#include "core/meta/meta_service.h"
#include "transport/server_loop.h"

namespace dfs::meta {
namespace {

// The meta server's keys: its own pair, and the admitted keys, re-read
// from the authorized_keys file when it changes.
class MetaKeys {
 public:
  static Result<std::unique_ptr<MetaKeys>> Load(const MetaServerOptions& o) {
    auto keys = std::make_unique<MetaKeys>();
    keys->path_ = o.authorized_keys;
    if (o.key_file.empty() || o.authorized_keys.empty()) {
      return InvalidArgument(
          "no keys: give --key FILE and --authorized-keys FILE (dfs cluster up makes them), "
          "or --insecure to serve without keys on a loopback endpoint");
    }
    DFS_ASSIGN_OR_RETURN(keys->curve_.own, transport::ReadCert(o.key_file));
    if (keys->curve_.own.secret_key.empty())
      return InvalidArgument("server key " + o.key_file + " holds no secret-key");
    DFS_ASSIGN_OR_RETURN(KeyTable table, keys->Read());
    keys->curve_.admitted = PublicKeys(table);
    keys->gate_ =
        std::make_unique<Gate>(std::move(table), CapabilityKey::FromServerSecret(keys->curve_.own.secret_key));
    return keys;
  }

  const transport::CurveServer* curve() const { return &curve_; }
  const Gate* gate() const { return gate_.get(); }

  // Re-reads the file if it changed since; a broken file keeps the old list.
  void Reload() {
    struct stat st;
    if (stat(path_.c_str(), &st) != 0 || st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec == mtime_ns_) return;
    auto table = Read();
    if (!table.ok()) {
      fprintf(stderr, "dfs meta: keeping the admitted keys as they were: %s\n", table.status().message().c_str());
      return;
    }
    (void)transport::ZapHandler::Admit(PublicKeys(*table));
    fprintf(stderr, "dfs meta: %zu keys admitted (re-read %s)\n", table->size() - 1, path_.c_str());
    gate_->Replace(std::move(*table));
  }

 private:
  Result<KeyTable> Read() {
    struct stat st;
    if (stat(path_.c_str(), &st) == 0) mtime_ns_ = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    DFS_ASSIGN_OR_RETURN(KeyTable table, ReadAuthorizedKeys(path_));
    table[curve_.own.public_key] = Identity::Server();
    return table;
  }

  std::string path_;
  int64_t mtime_ns_ = -1;
  transport::CurveServer curve_;
  std::unique_ptr<Gate> gate_;
};

}  // namespace

Status RunMetaServer(const MetaServerOptions& options) {
  MetaStoreOptions store_options;
  store_options.lease_ms = static_cast<int64_t>(options.lease_seconds * 1000);
  DFS_ASSIGN_OR_RETURN(auto store, MetaStore::Open(options.dir, store_options));
  if (!options.data_servers.empty()) {
    const auto& stored = store->config().servers;
    if (!stored.empty() && options.data_servers.size() < stored.size()) {
      return InvalidArgument("--data-servers lists " + std::to_string(options.data_servers.size()) +
                             " servers but the cluster has " + std::to_string(stored.size()) +
                             "; servers cannot be removed");
    }
    DFS_RETURN_IF_ERROR(store->SetServers(options.data_servers));
  }
  if (store->config().servers.size() < 2) {
    return InvalidArgument("a cluster needs at least 2 data servers (--data-servers EP0,EP1,...); " +
                           std::to_string(store->config().servers.size()) + " given");
  }
  if (options.block_size) DFS_RETURN_IF_ERROR(store->SetDefaultBlockSize(options.block_size));

  std::unique_ptr<MetaKeys> keys;
  if (options.insecure) {
    if (!transport::IsLoopback(options.listen)) {
      return InvalidArgument("--insecure is allowed only on a loopback endpoint, not " + options.listen);
    }
  } else {
    DFS_ASSIGN_OR_RETURN(keys, MetaKeys::Load(options));
  }
  transport::ServerLoop loop;
  DFS_RETURN_IF_ERROR(loop.Bind(options.listen, keys ? keys->curve() : nullptr));
  std::signal(SIGTERM, [](int) { transport::ServerLoop::RequestStop(); });
  std::signal(SIGINT, [](int) { transport::ServerLoop::RequestStop(); });
  fprintf(stderr, "dfs meta: cluster %s, %zu data servers, listening on %s%s\n", store->config().cluster_id.c_str(),
          store->config().servers.size(), options.listen.c_str(),
          keys ? " (CURVE keys required)"
               : "\nINSECURE: no keys (--insecure): anyone who reaches this port may change or delete every file");
  MetaService service(store.get(), keys ? keys->gate() : nullptr, options.capability_seconds);
  ServerMetrics metrics("dfs_meta", {});
  metrics.Start(options.metrics_listen, "dfs meta");
  int ticks = 0;
  loop.Run(metrics.Wrap([&](transport::Message&& m) { return service.Handle(std::move(m)); }), [&] {
    service.Tick();
    if (keys && ++ticks % 10 == 0) keys->Reload();  // about every 2 s
  });
  (void)store->Sync();
  fprintf(stderr, "dfs meta: stopped\n");
  return Status::Ok();
}

}  // namespace dfs::meta
