#include "core/data/data_server.h"

#include <csignal>
#include <cstdio>
#include <thread>

#include "core/common/metrics.h"
#include "core/common/protocol.h"
#include "core/data/data_service.h"
#include "transport/server_loop.h"
#include "transport/zmq_channel.h"

namespace dfs::data {
namespace {

// The store's state as gauges and counters (docs/metrics.md).
void SetStoreMetrics(const DataService& service, Metrics* m) {
  auto st = service.Stat();
  if (!st.ok()) return;
  const proto::ServerStatRsp& s = *st;
  m->Set("up", "1 while the server serves; rebuilding is 1 in dfs_data_rebuilding.", 1);
  m->Set("rebuilding", "1 while the server restores what it lacks from its neighbours.", s.state == "rebuilding");
  m->Set("files", "Files this server holds blocks of.", static_cast<double>(s.files));
  m->Set("blocks", "Blocks stored.", static_cast<double>(s.blocks));
  m->Set("live_bytes", "Bytes of live blocks and their indexes on disk.", static_cast<double>(s.live_bytes));
  m->Set("trash_bytes", "Bytes of deleted files kept in the trash.", static_cast<double>(s.trash_bytes));
  m->Set("trash_files", "Deleted files kept in the trash.", static_cast<double>(s.trash_files));
  m->Set("disk_free_bytes", "Free bytes on the data directory's disk.", static_cast<double>(s.disk_free));
  m->Set("disk_total_bytes", "Size of the data directory's disk.", static_cast<double>(s.disk_total));
  m->Set("disk_used_bytes", "Used bytes on the data directory's disk (any owner).",
         static_cast<double>(s.disk_total - std::min(s.disk_total, s.disk_free)));
  m->Set("rebuild_blocks_total", "Blocks restored by rebuilds since start.", static_cast<double>(s.rebuild_blocks),
         true);
  m->Set("rebuild_bytes_total", "Bytes restored by rebuilds since start.", static_cast<double>(s.rebuild_bytes), true);
  m->Set("rebuild_lost_blocks_total", "Blocks a rebuild found no good copy of.", static_cast<double>(s.rebuild_lost),
         true);
  m->Set("scrub_pass_blocks", "Blocks verified so far in the scrubber's current pass.",
         static_cast<double>(s.scrub_pass_blocks));
  m->Set("scrub_last_pass_timestamp_seconds", "When the scrubber last finished a pass (0: not yet).",
         s.scrub_last_pass_ns / 1e9);
  m->Set("scrub_found_total", "Bad copies the scrubber found since start.", static_cast<double>(s.scrub_found), true);
  m->Set("repairs_total", "Bad copies repaired from the other holder (scrubber) since start.",
         static_cast<double>(s.scrub_repaired), true);
  m->Set("scrub_unrepaired_total", "Bad copies with no good copy anywhere, found by the scrubber.",
         static_cast<double>(s.scrub_unrepaired), true);
  m->Set("reclaimed_files_total", "Orphaned files moved to the trash since start.",
         static_cast<double>(s.reclaimed_files), true);
  m->Set("flushes_total", "Flush requests served (durability points).", static_cast<double>(s.flushes), true);
}

// Learns the cluster id and the data server map, waiting for the meta server
// as long as it takes, unless the server is told to stop.
Result<proto::GetMapRsp> WaitForMap(const DataServerOptions& options, const transport::Connector& connect) {
  const auto& stop = transport::ServerLoop::stopping();
  auto meta = transport::Connect(options.meta, {1000, 5000, &stop}, connect);
  bool said = false;
  while (!stop) {
    auto reply = meta->Call(proto::Request<proto::Op::kGetMap>(1, proto::Empty{}));
    if (reply.ok()) {
      proto::GetMapRsp map;
      Status st = proto::DecodeReplyTo<proto::Op::kGetMap>(*reply, &map);
      if (!st.ok()) return st.WithContext("meta server " + options.meta);
      return map;
    }
    if (reply.status().code() == Code::kPermissionDenied) return reply.status();
    if (!said) {
      fprintf(stderr, "dfs data %u: waiting for the meta server at %s\n", options.index, options.meta.c_str());
      said = true;
    }
    SleepUnlessStopped(0.5, stop);
  }
  return Status(Code::kCancelled, "stopped while waiting for the meta server at " + options.meta);
}

// The keys the meta server admits, and the server key itself.
Result<KeyTable> FetchKeys(transport::Channel* meta, const std::string& server_public) {
  DFS_ASSIGN_OR_RETURN(auto reply, meta->Call(proto::Request<proto::Op::kListKeys>(1, proto::Empty{})));
  proto::ListKeysRsp rsp;
  DFS_RETURN_IF_ERROR(proto::DecodeReplyTo<proto::Op::kListKeys>(reply, &rsp));
  KeyTable table = FromEntries(rsp.keys);
  table[server_public] = Identity::Server();
  return table;
}

// The server's keys, the connector its own calls use, its gate.
struct Security {
  transport::CurveServer curve;
  transport::Connector connect;
  std::unique_ptr<Gate> gate;
};

Result<Security> LoadKeys(const DataServerOptions& options) {
  Security sec;
  if (options.insecure) {
    sec.gate = std::make_unique<Gate>();
    return sec;
  }
  if (options.key_file.empty()) {
    return InvalidArgument(
        "no server key: give --key FILE (the cluster's server.key, made by dfs cluster up), "
        "or --insecure to serve without keys on a loopback endpoint");
  }
  DFS_ASSIGN_OR_RETURN(sec.curve.own, transport::ReadCert(options.key_file));
  if (sec.curve.own.secret_key.empty())
    return InvalidArgument("server key " + options.key_file + " holds no secret-key");
  sec.connect = transport::CurveConnector(
      std::make_shared<transport::CurveClient>(transport::CurveClient{sec.curve.own, sec.curve.own.public_key}));
  sec.gate = std::make_unique<Gate>(KeyTable{}, CapabilityKey::FromServerSecret(sec.curve.own.secret_key));
  return sec;
}

}  // namespace

Status RunDataServer(const DataServerOptions& options) {
  std::signal(SIGTERM, [](int) { transport::ServerLoop::RequestStop(); });
  std::signal(SIGINT, [](int) { transport::ServerLoop::RequestStop(); });
  const std::atomic<bool>& stop = transport::ServerLoop::stopping();

  DFS_ASSIGN_OR_RETURN(Security sec, LoadKeys(options));
  auto map = WaitForMap(options, sec.connect);
  if (!map.ok()) {
    if (map.status().code() == Code::kCancelled) {
      fprintf(stderr, "dfs data %u: stopped\n", options.index);
      return Status::Ok();
    }
    return map.status();
  }
  if (options.index >= map->servers.size()) {
    return InvalidArgument("--index " + std::to_string(options.index) + " is not in the cluster: the meta server at " +
                           options.meta + " knows " + std::to_string(map->servers.size()) + " data servers (0.." +
                           std::to_string(map->servers.size() - 1) + ")");
  }
  std::string listen = options.listen.empty() ? map->servers[options.index] : options.listen;
  if (options.insecure && !transport::IsLoopback(listen)) {
    return InvalidArgument("--insecure is allowed only on a loopback endpoint, not " + listen);
  }
  std::unique_ptr<transport::Channel> meta_keys;
  if (!options.insecure) {
    meta_keys = transport::Connect(options.meta, {1000, 5000, &stop}, sec.connect);
    DFS_ASSIGN_OR_RETURN(KeyTable table, FetchKeys(meta_keys.get(), sec.curve.own.public_key));
    sec.curve.admitted = PublicKeys(table);
    sec.gate->Replace(std::move(table));
  }
  BlockStoreOptions store_options;
  store_options.trash_grace_s = options.trash_hours * 3600;
  DFS_ASSIGN_OR_RETURN(auto store, BlockStore::Open(options.dir, map->cluster_id, options.index, store_options));

  transport::ServerLoop loop;
  DFS_RETURN_IF_ERROR(loop.Bind(listen, options.insecure ? nullptr : &sec.curve));
  fprintf(stderr, "dfs data %u: cluster %s, blocks in %s, listening on %s%s\n", options.index, map->cluster_id.c_str(),
          options.dir.c_str(), listen.c_str(),
          options.insecure ? "\nINSECURE: no keys (--insecure): anyone who reaches this port may read, write and "
                             "delete every block"
                           : " (CURVE keys required)");
  std::atomic<int64_t> last_request_ns{0};
  const uint64_t reserve =
      static_cast<uint64_t>(PosixDisk()->Space(options.dir).total * std::max(0.0, options.reserve_percent) / 100);

  // Destroyed in reverse order, after the loop ends: each joins its thread,
  // which `stop` has already told to finish.
  const Peers peers{options.meta, map->servers, sec.connect};
  Rebuilder rebuilder(store.get(), peers, &stop);
  Reclaimer reclaimer(store.get(), peers, map->cluster_id, reserve, options.reclaim_seconds, &stop);
  ScrubOptions scrub_options;
  scrub_options.pass_days = options.scrub_days;
  scrub_options.mbps = options.scrub_mbps;
  scrub_options.state_path = options.dir + "/SCRUB";
  Scrubber scrubber(store.get(), peers, &stop, &last_request_ns, &rebuilder.progress(), scrub_options);
  rebuilder.Start();
  reclaimer.Start();
  scrubber.Start();

  ServiceParts parts;
  parts.rebuild = &rebuilder.progress();
  parts.scrub = &scrubber.progress();
  parts.reclaimer = &reclaimer;
  parts.last_request_ns = &last_request_ns;
  DataService service(store.get(), parts, map->cluster_id, sec.gate.get());
  // Keys admitted or removed at the meta server reach this one within
  // key_refresh_seconds.
  std::thread refresher;
  if (meta_keys) {
    refresher = std::thread([&] {
      while (SleepUnlessStopped(options.key_refresh_seconds, stop)) {
        auto table = FetchKeys(meta_keys.get(), sec.curve.own.public_key);
        if (!table.ok()) continue;  // the meta server is away: keep the last list
        (void)transport::ZapHandler::Admit(PublicKeys(*table));
        sec.gate->Replace(std::move(*table));
      }
    });
  }
  ServerMetrics metrics("dfs_data", {{"server", std::to_string(options.index)}});
  metrics.Start(options.metrics_listen, "dfs data " + std::to_string(options.index));
  // The store's gauges, about every second, on a thread of their own:
  // measuring the store lists every file, which on the serving thread held
  // up the requests behind it (random reads fell from 1,100 to 130 a second
  // with 3,000 files per server, after a drop of the page cache).
  std::thread gauges;
  if (metrics.on()) {
    gauges = std::thread([&] {
      do {
        SetStoreMetrics(service, &metrics.metrics());
      } while (SleepUnlessStopped(1, stop));
    });
  }
  loop.Run(metrics.Wrap([&](transport::Message&& m) { return service.Handle(std::move(m)); }));
  if (gauges.joinable()) gauges.join();
  if (refresher.joinable()) refresher.join();
  fprintf(stderr, "dfs data %u: stopping\n", options.index);
  return Status::Ok();
}

}  // namespace dfs::data
