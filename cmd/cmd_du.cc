// dfs du: bytes under paths, as the files' sizes add up (logical) and as
// the data servers store them (each block that holds data, twice). dfs df:
// the cluster's capacity, used and free, from every data server's disk.
#include <cstdio>
#include <set>

#include "cmd/cli_common.h"
#include "cmd/operands.h"
#include "core/common/path.h"

namespace dfs::cmd {
namespace {

constexpr uint64_t kCopies = 2;

struct Usage {
  uint64_t logical = 0;
  uint64_t stored = 0;  // both copies; holes cost nothing
};

struct DuFlags {
  std::vector<std::string> paths;
  bool summary = false;
  bool human = false;
};

class Du {
 public:
  Du(client::FileSystem& fs, const DuFlags& f, OperandErrors& errors) : fs_(fs), f_(f), errors_(errors) {}

  // Adds what `a` (at `path`) holds; prints each directory unless -s.
  // False when the command must stop.
  bool Add(const std::string& path, const client::Attr& a, Usage* total) {
    if (Interrupted()) return errors_.Add(Status(Code::kCancelled, "interrupted"));
    if (!client::IsDirectory(a)) {
      // A file with several names counts once, as du(1) counts it.
      if (a.nlink > 1 && !seen_.insert(a.fid).second) return true;
      total->logical += a.size;
      if (client::IsRegular(a)) {
        uint64_t data = proto::Dense(a) ? a.size : std::min<uint64_t>(a.size, a.data_blocks * a.block_size);
        total->stored += kCopies * data;
      }
      return true;
    }
    Usage here;
    auto entries = fs_.ListDir(path);
    if (!errors_.Add(entries.status().WithContext("du"))) return false;
    if (entries.ok()) {
      for (const client::Attr& e : *entries) {
        if (!Add(JoinPath(path, e.name), e, &here)) return false;
      }
    }
    if (!f_.summary) Print(here, path);
    total->logical += here.logical;
    total->stored += here.stored;
    return true;
  }

  void Print(const Usage& u, const std::string& path) const {
    auto show = [&](uint64_t n) { return f_.human ? HumanSize(n) : std::to_string(n); };
    printf("%-10s %-10s %s\n", show(u.logical).c_str(), show(u.stored).c_str(), path.c_str());
  }

 private:
  client::FileSystem& fs_;
  const DuFlags& f_;
  OperandErrors& errors_;
  std::set<uint64_t> seen_;
};

std::string Percent(uint64_t used, uint64_t total) {
  return total ? std::to_string((used * 100 + total - 1) / total) + "%" : "-";
}

}  // namespace

void RegisterDu(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "du", "Bytes under paths: logical (file sizes) and stored (both copies, no holes)");
  auto f = std::make_shared<DuFlags>();
  sub->add_flag("-s,--summarize", f->summary, "One line per operand");
  sub->add_flag("-h,--human-readable", f->human, "Sizes as 1.5K, 20M");
  sub->add_option("PATH", f->paths, "Files and directories (default /)");
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      if (f->paths.empty()) f->paths.push_back("/");
      CatchInterrupts();
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      OperandErrors errors(g);
      Du du(*fs, *f, errors);
      for (const DfsOperand& op : ExpandOperands(*fs, f->paths, errors)) {
        auto a = fs->Stat(op.path);
        Status st = a.ok() ? CheckDirOnly(op, *a) : a.status();
        if (!errors.Add(st.WithContext("du"))) break;
        if (!st.ok()) continue;
        Usage total;
        if (!du.Add(op.path, *a, &total)) break;
        if (f->summary || !client::IsDirectory(*a)) du.Print(total, op.written);
      }
      return errors.Done();
    };
  });
}

void RegisterDf(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "df", "The cluster's disk capacity, used and free (-v: per data server)");
  auto human = std::make_shared<bool>(false);
  auto verbose = std::make_shared<bool>(false);
  sub->add_flag("-h,--human-readable", *human, "Sizes as 1.5K, 20M");
  sub->add_flag("-v,--servers", *verbose, "A line per data server");
  sub->callback([&run, &g, human, verbose] {
    run = [&g, human, verbose]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      auto show = [&](uint64_t n) { return *human ? HumanSize(n) : std::to_string(n); };
      uint64_t size = 0, used = 0, avail = 0;
      size_t up = 0;
      const auto servers = fs->ServerStatuses();
      for (const auto& s : servers) {
        if (!s.status.ok()) continue;
        ++up;
        size += s.stat.disk_total;
        used += s.stat.disk_total - std::min(s.stat.disk_total, s.stat.disk_free);
        avail += s.stat.disk_free;
      }
      printf("%-30s %12s %12s %12s %5s  %s\n", "cluster", "size", "used", "avail", "use%", "servers");
      printf("%-30s %12s %12s %12s %5s  %zu of %zu up\n", g.meta.c_str(), show(size).c_str(), show(used).c_str(),
             show(avail).c_str(), Percent(used, size).c_str(), up, servers.size());
      if (*verbose) {
        for (const auto& s : servers) {
          std::string name = "data " + std::to_string(s.index) + " " + s.endpoint;
          if (!s.status.ok()) {
            printf("%-30s %12s %12s %12s %5s  down: %s\n", name.c_str(), "-", "-", "-", "-",
                   s.status.message().c_str());
            continue;
          }
          const uint64_t t = s.stat.disk_total, fr = s.stat.disk_free, u = t - std::min(t, fr);
          printf("%-30s %12s %12s %12s %5s  %s, %s live, %s trash\n", name.c_str(), show(t).c_str(), show(u).c_str(),
                 show(fr).c_str(), Percent(u, t).c_str(), s.stat.state.c_str(), show(s.stat.live_bytes).c_str(),
                 show(s.stat.trash_bytes).c_str());
        }
      }
      if (!g.quiet) {
        printf("every block is stored twice: about %s of new data fits%s\n", show(avail / kCopies).c_str(),
               up < servers.size() ? " (down servers not counted)" : "");
      }
      if (up < servers.size()) g.exit_code = 1;
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
