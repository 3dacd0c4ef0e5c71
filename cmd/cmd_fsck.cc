// dfs fsck: check every replica of every block under a path, report per file,
// repair with --repair. Exit codes as fsck(8): 0 clean, 1 problems found and
// all repaired, 4 problems left, 8 operational error.
#include <unistd.h>

#include <cstdio>
#include <map>

#include "cmd/cli_common.h"
#include "core/client/fsck.h"

namespace dfs::cmd {
namespace {

struct FsckFlags {
  std::string path = "/";
  bool repair = false;
  bool json = false;
};

constexpr int kExitClean = 0;
constexpr int kExitRepaired = 1;
constexpr int kExitUncorrected = 4;
constexpr int kExitOperational = 8;

std::string Range(const client::FsckProblem& p) {
  return std::to_string(p.offset) + "-" + std::to_string(p.offset + p.length);
}

std::string Outcome(const client::FsckProblem& p) {
  if (p.repaired) return "repaired";
  if (p.kind == "unverified") return "unverified";
  return p.recoverable ? "not repaired" : "unrecoverable";
}

void PrintText(const client::FsckReport& r, const std::string& status, bool verbose) {
  // Grouped per file, in the order found.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const client::FsckProblem*>> by_file;
  for (const auto& p : r.problems) {
    std::string key = p.path.empty() ? "file id " + std::to_string(p.fid) + " (orphan, no path)" : p.path;
    if (!by_file.count(key)) order.push_back(key);
    by_file[key].push_back(&p);
  }
  for (const auto& key : order) {
    printf("%s:\n", key.c_str());
    for (const auto* p : by_file[key]) {
      if (p->block < 0) {
        printf("  server %u (%s): %s blocks: %s\n", p->server, p->endpoint.c_str(), p->kind.c_str(),
               Outcome(*p).c_str());
      } else {
        printf("  block %lld (bytes %s) on server %u (%s): %s: %s\n", static_cast<long long>(p->block),
               Range(*p).c_str(), p->server, p->endpoint.c_str(), p->kind.c_str(), Outcome(*p).c_str());
      }
    }
  }
  if (!r.problems.empty() || verbose) printf("\n");
  double mb = r.replica_bytes / 1e6;
  printf("%llu files, %llu blocks, %.1f MB of replicas checked in %.2f s (%.0f MB/s)\n",
         static_cast<unsigned long long>(r.files), static_cast<unsigned long long>(r.blocks), mb, r.seconds,
         r.seconds > 0 ? mb / r.seconds : 0.0);
  printf("%llu healthy blocks, %zu problems, %llu repaired, %llu unrecoverable blocks\n",
         static_cast<unsigned long long>(r.healthy_blocks), r.problems.size(),
         static_cast<unsigned long long>(r.repaired), static_cast<unsigned long long>(r.unrecoverable));
  printf("status: %s\n", status.c_str());
}

void PrintJson(const client::FsckReport& r, const std::string& status, int code) {
  std::string out = "{\"problems\": [";
  for (size_t i = 0; i < r.problems.size(); ++i) {
    const auto& p = r.problems[i];
    out += std::string(i ? "," : "") + "\n  {\"path\": " + (p.path.empty() ? "null" : JsonString(p.path)) +
           ", \"file_id\": " + std::to_string(p.fid) + ", \"block\": " +
           (p.block < 0 ? "null" : std::to_string(p.block)) + ", \"offset\": " + std::to_string(p.offset) +
           ", \"length\": " + std::to_string(p.length) + ", \"server\": " + std::to_string(p.server) +
           ", \"endpoint\": " + JsonString(p.endpoint) + ", \"kind\": \"" + p.kind + "\", \"outcome\": \"" +
           Outcome(p) + "\"}";
  }
  out += std::string(r.problems.empty() ? "" : "\n") + "], \"summary\": {\"files\": " + std::to_string(r.files) +
         ", \"blocks\": " + std::to_string(r.blocks) + ", \"replica_bytes\": " + std::to_string(r.replica_bytes) +
         ", \"healthy_blocks\": " + std::to_string(r.healthy_blocks) + ", \"problems\": " +
         std::to_string(r.problems.size()) + ", \"repaired\": " + std::to_string(r.repaired) +
         ", \"unrecoverable_blocks\": " + std::to_string(r.unrecoverable) + ", \"seconds\": " +
         std::to_string(r.seconds) + "}, \"status\": \"" + status + "\", \"exit_code\": " + std::to_string(code) +
         "}";
  printf("%s\n", out.c_str());
}

int RunFsck(const Globals& g, const FsckFlags& f) {
  auto fail = [](const Status& st) {
    fprintf(stderr, "dfs: fsck: %s\n", st.ToString().c_str());
    return kExitOperational;
  };
  auto fs = Connect(g);
  if (!fs.ok()) return fail(fs.status());
  client::FsckOptions o;
  o.path = f.path;
  o.repair = f.repair;
  bool tty = isatty(2) && !g.quiet;
  auto started = std::chrono::steady_clock::now();
  if (tty) {
    o.progress = [started](const client::FsckProgress& p) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      double rate = secs > 0 ? p.bytes_done / secs : 0;
      double eta = rate > 0 ? (p.bytes_total - p.bytes_done) / rate : 0;
      fprintf(stderr, "\rfsck: %llu/%llu files, %.0f/%.0f MB, %.0f MB/s, ETA %.0f s   ",
              static_cast<unsigned long long>(p.files_done), static_cast<unsigned long long>(p.files_total),
              p.bytes_done / 1e6, p.bytes_total / 1e6, rate / 1e6, eta);
    };
  }
  auto report = client::Fsck(**fs, o);
  if (tty) fprintf(stderr, "\r\033[K");
  if (!report.ok()) return fail(report.status());
  bool left = false;
  for (const auto& p : report->problems) left |= !p.repaired;
  int code = report->problems.empty() ? kExitClean : left ? kExitUncorrected : kExitRepaired;
  std::string status = left ? "CORRUPT" : "HEALTHY";
  if (f.json) {
    PrintJson(*report, status, code);
  } else {
    PrintText(*report, status, g.verbose);
  }
  return code;
}

}  // namespace

void RegisterFsck(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "fsck", "Check every replica under PATH; --repair fixes what has a good copy");
  auto f = std::make_shared<FsckFlags>();
  sub->add_option("PATH", f->path, "Where to start (default /)");
  sub->add_flag("--repair", f->repair, "Rewrite bad replicas from the good one; move orphans to the trash");
  sub->add_flag("--json", f->json, "One JSON document (docs/json-output.md)");
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      g.exit_code = RunFsck(g, *f);  // fsck(8) exit codes, not the usual mapping
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
