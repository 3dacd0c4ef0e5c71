#include "core/data/data_server.h"

#include <csignal>
#include <cstdio>

#include "core/common/protocol.h"
#include "core/data/data_service.h"
#include "transport/server_loop.h"
#include "transport/zmq_channel.h"

namespace dfs::data {
namespace {

// Learns the cluster id and the data server map, waiting for the meta server
// as long as it takes, unless the server is told to stop.
Result<proto::GetMapRsp> WaitForMap(const DataServerOptions& options) {
  const auto& stop = transport::ServerLoop::stopping();
  transport::ZmqChannel meta(options.meta, {1000, 5000, &stop});
  bool said = false;
  while (!stop) {
    auto reply = meta.Call(proto::Request<proto::Op::kGetMap>(1, proto::Empty{}));
    if (reply.ok()) {
      proto::GetMapRsp map;
      Status st = proto::DecodeReplyTo<proto::Op::kGetMap>(*reply, &map);
      if (!st.ok()) return st.WithContext("meta server " + options.meta);
      return map;
    }
    if (!said) {
      fprintf(stderr, "dfs data %u: waiting for the meta server at %s\n", options.index, options.meta.c_str());
      said = true;
    }
    SleepUnlessStopped(0.5, stop);
  }
  return Status(Code::kCancelled, "stopped while waiting for the meta server at " + options.meta);
}

}  // namespace

Status RunDataServer(const DataServerOptions& options) {
  std::signal(SIGTERM, [](int) { transport::ServerLoop::RequestStop(); });
  std::signal(SIGINT, [](int) { transport::ServerLoop::RequestStop(); });
  const std::atomic<bool>& stop = transport::ServerLoop::stopping();

  auto map = WaitForMap(options);
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
  BlockStoreOptions store_options;
  store_options.trash_grace_s = options.trash_hours * 3600;
  DFS_ASSIGN_OR_RETURN(auto store, BlockStore::Open(options.dir, map->cluster_id, options.index, store_options));

  transport::ServerLoop loop;
  DFS_RETURN_IF_ERROR(loop.Bind(listen));
  fprintf(stderr, "dfs data %u: cluster %s, blocks in %s, listening on %s\n", options.index, map->cluster_id.c_str(),
          options.dir.c_str(), listen.c_str());
  std::atomic<int64_t> last_request_ns{0};
  const uint64_t reserve =
      static_cast<uint64_t>(PosixDisk()->Space(options.dir).total * std::max(0.0, options.reserve_percent) / 100);

  // Destroyed in reverse order, after the loop ends: each joins its thread,
  // which `stop` has already told to finish.
  const Peers peers{options.meta, map->servers, nullptr};
  Rebuilder rebuilder(store.get(), peers, &stop);
  Reclaimer reclaimer(store.get(), peers, map->cluster_id, reserve, options.reclaim_seconds, &stop);
  ScrubOptions scrub_options;
  scrub_options.pass_days = options.scrub_days;
  scrub_options.mbps = options.scrub_mbps;
  scrub_options.state_path = options.dir + "/SCRUB";
  Scrubber scrubber(store.get(), peers, &stop, &last_request_ns, &rebuilder.progress(),
                    scrub_options);
  rebuilder.Start();
  reclaimer.Start();
  scrubber.Start();

  ServiceParts parts;
  parts.rebuild = &rebuilder.progress();
  parts.scrub = &scrubber.progress();
  parts.reclaimer = &reclaimer;
  parts.last_request_ns = &last_request_ns;
  DataService service(store.get(), parts, map->cluster_id);
  loop.Run([&](transport::Message&& m) { return service.Handle(std::move(m)); });
  fprintf(stderr, "dfs data %u: stopping\n", options.index);
  return Status::Ok();
}

}  // namespace dfs::data
