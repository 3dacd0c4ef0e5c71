// Metrics: what a server counts for monitoring, rendered in the Prometheus
// text format (docs/metrics.md): requests by operation, errors by
// operation and code, a latency histogram per operation, bytes in and out,
// and gauges a server sets from its own state (disk, trash, scrub, rebuild).
// Thread-safety: any thread; the server loop records, the HTTP thread renders.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/common/protocol.h"
#include "transport/message.h"
#include "transport/metrics_http.h"

namespace dfs {

class Metrics {
 public:
  // `prefix`: "dfs_meta" or "dfs_data"; `labels`: for every sample, as
  // {"server", "3"}.
  Metrics(std::string prefix, std::vector<std::pair<std::string, std::string>> labels);

  // One request served: its operation and outcome (from the reply's
  // header), how long it took, and the bytes of request and reply.
  void Served(uint64_t request_bytes, const transport::Message& reply, double seconds);

  // A gauge or counter the server keeps itself; `help` says what it is.
  void Set(const std::string& name, const std::string& help, double value, bool counter = false);

  std::string Text() const;

  // Latency buckets, seconds (upper bounds; +Inf follows).
  static const std::vector<double>& Buckets();

 private:
  struct PerOp {
    uint64_t requests = 0;
    std::map<Code, uint64_t> errors;
    std::vector<uint64_t> buckets;  // counts per bucket, not cumulative
    double seconds = 0;
  };
  struct Value {
    std::string help;
    double value = 0;
    bool counter = false;
  };

  std::string Labels(const std::string& extra = "") const;

  const std::string prefix_;
  std::string labels_;  // rendered: server="3"
  mutable std::mutex mu_;
  std::map<proto::Op, PerOp> ops_;  // Op{0}: a request that could not be decoded
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  std::map<std::string, Value> values_;
};

uint64_t MessageBytes(const transport::Message& m);

// A server's Metrics, served over HTTP when it was given --metrics-listen.
class ServerMetrics {
 public:
  using Handler = std::function<transport::Message(transport::Message&&)>;

  ServerMetrics(std::string prefix, std::vector<std::pair<std::string, std::string>> labels)
      : metrics_(std::move(prefix), std::move(labels)) {}

  // Serves them on `listen` (HOST:PORT), saying so on stderr as `server`;
  // an empty `listen`: no metrics, and Wrap adds nothing. A port that
  // cannot be bound is said on stderr and the server runs without metrics
  // (monitoring must not keep storage down).
  void Start(const std::string& listen, const std::string& server);
  bool on() const { return on_; }
  Metrics& metrics() { return metrics_; }

  // `handle`, each request counted and timed when metrics are on.
  Handler Wrap(Handler handle);

 private:
  Metrics metrics_;
  transport::MetricsHttp http_;
  bool on_ = false;
};

}  // namespace dfs
