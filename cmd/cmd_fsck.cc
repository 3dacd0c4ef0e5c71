// dfs fsck: check every replica of every block under a path where it lives,
// repair with --repair. One line per damaged file and per server (a down
// one, one with orphans waiting to be reclaimed); per-block detail with
// --blocks, and always in --json, which is streamed. Exit codes as fsck(8):
// 0 clean, 1 problems found and all repaired, 4 problems left, 8
// operational error (docs/fsck.md).
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cmd/cli_common.h"
#include "core/client/fsck.h"

namespace dfs::cmd {
namespace {

using Json = nlohmann::ordered_json;

struct FsckFlags {
  std::string path = "/";
  bool repair = false;
  bool json = false;
  bool blocks = false;
};

constexpr int kExitClean = 0;
constexpr int kExitRepaired = 1;
constexpr int kExitUncorrected = 4;
constexpr int kExitOperational = 8;

std::string Outcome(const client::FsckProblem& p) {
  if (p.repaired) return "repaired";
  if (p.kind == "unverified") return "unverified";
  return p.recoverable ? "not repaired" : "unrecoverable";
}

// 1234567 -> "1,234,567"
std::string Count(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

void PrintFileLine(const client::FsckFile& f, bool blocks) {
  if (f.damaged()) {
    std::map<std::string, uint64_t> kinds;
    for (const auto& p : f.problems) {
      if (p.kind != "unverified") ++kinds[p.kind];
    }
    std::string what;
    for (const auto& [kind, n] : kinds) what += (what.empty() ? "" : ", ") + kind + " " + Count(n);
    uint64_t fixable = 0;
    for (const auto& p : f.problems) fixable += p.kind != "unverified" && p.recoverable && !p.repaired;
    std::string outcome = f.unrecoverable ? Count(f.unrecoverable) + " blocks have no good copy left"
                          : fixable       ? "a good copy exists: dfs fsck --repair fixes it"
                                          : "all repaired";
    printf("%s: %s damaged blocks (%s replicas); %s\n", f.path.c_str(), Count(f.damaged_blocks).c_str(), what.c_str(),
           outcome.c_str());
  } else if (blocks) {
    printf("%s: %s blocks unverified\n", f.path.c_str(), Count(f.unverified_blocks).c_str());
  }
  if (!blocks) return;
  for (const auto& p : f.problems) {
    printf("  block %lld (bytes %llu-%llu) on server %u (%s): %s: %s\n", static_cast<long long>(p.block),
           static_cast<unsigned long long>(p.offset), static_cast<unsigned long long>(p.offset + p.length), p.server,
           p.endpoint.c_str(), p.kind.c_str(), Outcome(p).c_str());
  }
}

void PrintServerLines(const client::FsckReport& r, bool repair) {
  for (const auto& s : r.servers) {
    if (s.down) {
      std::string copies = s.unverified_unprotected == 0
                               ? "all have a verified copy on the other holder"
                               : Count(s.unverified_unprotected) + " have no verified copy on the other holder";
      printf("server %u (%s) down: %s blocks in %s files unverified; %s\n", s.index, s.endpoint.c_str(),
             Count(s.unverified_blocks).c_str(), Count(s.unverified_files).c_str(), copies.c_str());
    }
    if (s.orphan_files) {
      printf("server %u (%s): %s orphan files (%s) %s\n", s.index, s.endpoint.c_str(), Count(s.orphan_files).c_str(),
             HumanSize(s.orphan_bytes).c_str(),
             repair ? ("moved to the trash: " + Count(s.orphans_removed)).c_str() : "waiting to be reclaimed");
    }
  }
}

Json FileJson(const client::FsckFile& f) {
  Json problems = Json::array();
  for (const auto& p : f.problems) {
    problems.push_back(Json{{"block", p.block},
                            {"offset", p.offset},
                            {"length", p.length},
                            {"server", p.server},
                            {"endpoint", p.endpoint},
                            {"kind", p.kind},
                            {"outcome", Outcome(p)}});
  }
  return Json{{"path", f.path},
              {"file_id", f.fid},
              {"blocks", f.blocks},
              {"damaged_blocks", f.damaged_blocks},
              {"unverified_blocks", f.unverified_blocks},
              {"repaired", f.repaired},
              {"unrecoverable_blocks", f.unrecoverable},
              {"problems", problems}};
}

Json TailJson(const client::FsckReport& r, const std::string& status, int code) {
  Json servers = Json::array();
  for (const auto& s : r.servers) {
    servers.push_back(Json{{"index", s.index},
                           {"endpoint", s.endpoint},
                           {"down", s.down},
                           {"unverified_blocks", s.unverified_blocks},
                           {"unverified_files", s.unverified_files},
                           {"unverified_without_copy", s.unverified_unprotected},
                           {"orphan_files", s.orphan_files},
                           {"orphan_bytes", s.orphan_bytes},
                           {"orphans_removed", s.orphans_removed}});
  }
  Json summary{{"files", r.files},
               {"blocks", r.blocks},
               {"replica_bytes", r.replica_bytes},
               {"healthy_blocks", r.healthy_blocks},
               {"damaged_files", r.damaged_files},
               {"damaged_blocks", r.damaged_blocks},
               {"unverified_blocks", r.unverified_blocks},
               {"problems", r.problems},
               {"repaired", r.repaired},
               {"unrecoverable_blocks", r.unrecoverable},
               {"seconds", r.seconds}};
  return Json{{"servers", servers}, {"summary", summary}, {"status", status}, {"exit_code", code}};
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
  auto clear_progress = [tty] {
    if (tty) fprintf(stderr, "\r\033[K");
  };
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
  bool first = true;
  if (f.json) {
    printf("{\"files\": [");
    o.on_file = [&](const client::FsckFile& file) {
      printf("%s\n  %s", first ? "" : ",", FileJson(file).dump().c_str());
      first = false;
      fflush(stdout);
    };
  } else {
    o.on_file = [&](const client::FsckFile& file) {
      if (!file.damaged() && !f.blocks) return;
      clear_progress();
      PrintFileLine(file, f.blocks);
      fflush(stdout);
    };
  }
  auto report = client::Fsck(**fs, o);
  clear_progress();
  if (!report.ok()) {
    if (f.json) printf("]}\n");
    return fail(report.status());
  }
  const client::FsckReport& r = *report;
  bool unverified_left = r.unverified_blocks > 0;
  for (const auto& s : r.servers) unverified_left |= s.down;
  // A server that is down leaves its copies unchecked: problems left.
  int code = unverified_left || !r.clean() ? kExitUncorrected : r.problems == 0 ? kExitClean : kExitRepaired;
  std::string status = r.damage_left ? "CORRUPT" : unverified_left ? "DEGRADED" : "HEALTHY";
  if (f.json) {
    Json tail = TailJson(r, status, code);
    std::string rest = tail.dump();
    printf("%s], %s\n", first ? "" : "\n", rest.substr(1).c_str());  // the tail's members, after "files"
    return code;
  }
  PrintServerLines(r, f.repair);
  double mb = r.replica_bytes / 1e6;
  printf("%s files, %s blocks, %.1f MB of replicas checked in %.2f s (%.0f MB/s)\n", Count(r.files).c_str(),
         Count(r.blocks).c_str(), mb, r.seconds, r.seconds > 0 ? mb / r.seconds : 0.0);
  printf("%s healthy blocks, %s damaged in %s files, %s unverified, %s repaired, %s unrecoverable\n",
         Count(r.healthy_blocks).c_str(), Count(r.damaged_blocks).c_str(), Count(r.damaged_files).c_str(),
         Count(r.unverified_blocks).c_str(), Count(r.repaired).c_str(), Count(r.unrecoverable).c_str());
  printf("status: %s\n", status.c_str());
  return code;
}

}  // namespace

void RegisterFsck(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "fsck", "Check every replica under PATH; --repair fixes what has a good copy");
  auto f = std::make_shared<FsckFlags>();
  sub->add_option("PATH", f->path, "Where to start (default /)");
  sub->add_flag("--repair", f->repair, "Rewrite bad replicas from the good one; move orphans to the trash");
  sub->add_flag("--blocks", f->blocks, "List every bad or unverified replica, block by block");
  sub->add_flag("--json", f->json, "One JSON document, streamed, with every block's detail (docs/fsck.md)");
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      g.exit_code = RunFsck(g, *f);  // fsck(8) exit codes, not the usual mapping
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
