#include "core/common/metrics.h"

#include <algorithm>
#include <cstdio>

namespace dfs {
namespace {

std::string Number(double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A label value, escaped as the text format wants.
std::string Escaped(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

uint64_t MessageBytes(const transport::Message& m) {
  uint64_t n = 0;
  for (size_t i = 0; i < m.parts(); ++i) n += m.part(i).size();
  return n;
}

const std::vector<double>& Metrics::Buckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return kBuckets;
}

Metrics::Metrics(std::string prefix, std::vector<std::pair<std::string, std::string>> labels)
    : prefix_(std::move(prefix)) {
  for (const auto& [k, v] : labels) labels_ += (labels_.empty() ? "" : ",") + k + "=\"" + Escaped(v) + "\"";
}

std::string Metrics::Labels(const std::string& extra) const {
  std::string all = labels_;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? "" : "{" + all + "}";
}

void Metrics::Served(uint64_t request_bytes, const transport::Message& reply, double seconds) {
  // Names are made when rendered, not per request.
  auto header = proto::DecodeHeader(reply);
  const proto::Op op = header.ok() ? header->op : proto::Op{0};
  const Code code = header.ok() ? header->code : Code::kInvalidArgument;
  const auto& bounds = Buckets();
  std::lock_guard<std::mutex> lock(mu_);
  PerOp& p = ops_[op];
  if (p.buckets.empty()) p.buckets.assign(bounds.size() + 1, 0);
  ++p.requests;
  p.seconds += seconds;
  p.buckets[std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin()]++;
  if (code != Code::kOk) ++p.errors[code];
  bytes_in_ += request_bytes;
  bytes_out_ += MessageBytes(reply);
}

void Metrics::Set(const std::string& name, const std::string& help, double value, bool counter) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[name] = Value{help, value, counter};
}

namespace {

std::string OpLabel(proto::Op op) { return "op=\"" + (op == proto::Op{0} ? "malformed" : proto::OpName(op)) + "\""; }

// "not found" -> not_found
std::string CodeLabel(Code code) {
  std::string name = CodeName(code);
  std::replace(name.begin(), name.end(), ' ', '_');
  return "code=\"" + name + "\"";
}

}  // namespace

std::string Metrics::Text() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto head = [&](const std::string& name, const char* type, const std::string& help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  const std::string requests = prefix_ + "_requests_total";
  head(requests, "counter", "Requests served, by operation.");
  for (const auto& [op, p] : ops_) out += requests + Labels(OpLabel(op)) + " " + std::to_string(p.requests) + "\n";
  const std::string errors = prefix_ + "_request_errors_total";
  head(errors, "counter", "Requests answered with an error, by operation and error code.");
  for (const auto& [op, p] : ops_) {
    for (const auto& [code, n] : p.errors) {
      out += errors + Labels(OpLabel(op) + "," + CodeLabel(code)) + " " + std::to_string(n) + "\n";
    }
  }
  const std::string latency = prefix_ + "_request_seconds";
  head(latency, "histogram", "Time to serve a request, by operation.");
  const auto& bounds = Buckets();
  for (const auto& [op, p] : ops_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += p.buckets[i];
      const std::string le = i < bounds.size() ? Number(bounds[i]) : "+Inf";
      out += latency + "_bucket" + Labels(OpLabel(op) + ",le=\"" + le + "\"") + " " + std::to_string(cumulative) + "\n";
    }
    out += latency + "_sum" + Labels(OpLabel(op)) + " " + Number(p.seconds) + "\n";
    out += latency + "_count" + Labels(OpLabel(op)) + " " + std::to_string(p.requests) + "\n";
  }
  head(prefix_ + "_received_bytes_total", "counter", "Bytes of requests received (headers and block data).");
  out += prefix_ + "_received_bytes_total" + Labels() + " " + std::to_string(bytes_in_) + "\n";
  head(prefix_ + "_sent_bytes_total", "counter", "Bytes of replies sent (headers and block data).");
  out += prefix_ + "_sent_bytes_total" + Labels() + " " + std::to_string(bytes_out_) + "\n";
  for (const auto& [name, v] : values_) {
    head(prefix_ + "_" + name, v.counter ? "counter" : "gauge", v.help);
    out += prefix_ + "_" + name + Labels() + " " + Number(v.value) + "\n";
  }
  return out;
}

void ServerMetrics::Start(const std::string& listen, const std::string& server) {
  if (listen.empty()) return;
  if (Status st = http_.Start(listen, [this] { return metrics_.Text(); }); !st.ok()) {
    // Monitoring must not keep storage down: the server serves without.
    fprintf(stderr, "%s: %s; serving without metrics\n", server.c_str(), st.message().c_str());
    return;
  }
  fprintf(stderr, "%s: metrics on http://%s/metrics\n", server.c_str(), listen.c_str());
  on_ = true;
}

ServerMetrics::Handler ServerMetrics::Wrap(Handler handle) {
  if (!on_) return handle;
  return [this, handle = std::move(handle)](transport::Message&& request) {
    const auto start = std::chrono::steady_clock::now();
    const uint64_t in = MessageBytes(request);  // before the handler takes it
    transport::Message reply = handle(std::move(request));
    metrics_.Served(in, reply, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return reply;
  };
}

}  // namespace dfs
