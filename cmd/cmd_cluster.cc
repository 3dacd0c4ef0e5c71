// dfs cluster up|down|status: a whole local cluster on loopback, in the
// background: meta on the base port (7100), data servers on the next ports.
// State, logs and pid files live under --dir.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "cmd/cli_common.h"
#include "cmd/progress.h"
#include "core/common/identity.h"
#include "transport/curve.h"

namespace dfs::cmd {
namespace {

namespace fs = std::filesystem;

struct ClusterFlags {
  std::string action;
  std::string dir;
  uint32_t servers = 0;    // 0: what the cluster has, or 5
  uint32_t base_port = 0;  // 0: what the cluster has, or 7100
  bool insecure = false;   // up: servers without keys (a new cluster only)
};

std::string Endpoint(uint32_t port) { return "tcp://127.0.0.1:" + std::to_string(port); }

// Prometheus metrics of a local cluster: the meta server on the base port
// + 1000, data server i on the next ones.
constexpr uint32_t kMetricsOffset = 1000;
std::string MetricsAt(uint32_t port) { return "127.0.0.1:" + std::to_string(port + kMetricsOffset); }

// The real path of `arg` as process `pid` sees it (relative to its cwd).
std::string RealPathOf(pid_t pid, const std::string& arg) {
  std::string path = arg.empty() || arg[0] == '/' ? arg : "/proc/" + std::to_string(pid) + "/cwd/" + arg;
  char real[PATH_MAX];
  return realpath(path.c_str(), real) ? std::string(real) : path;
}

// True if `pid` is a live dfs server with `--dir server_dir`.
bool IsServerOf(pid_t pid, const std::string& server_dir) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string all((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t i = 0; i < all.size();) {
    size_t end = all.find('\0', i);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(i, end - i));
    i = end + 1;
  }
  char real[PATH_MAX];
  const std::string want = realpath(server_dir.c_str(), real) ? real : server_dir;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--dir" && RealPathOf(pid, args[i + 1]) == want) return true;
  }
  return false;
}

pid_t PidIn(const std::string& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  return in >> pid ? pid : 0;
}

// The live server of `server_dir`: the pid `cluster up` recorded, or the
// one the server wrote itself (restarted by hand); 0 if none runs.
pid_t ServerPid(const std::string& pid_file, const std::string& server_dir) {
  for (pid_t pid : {PidIn(pid_file), PidIn(ServerProcess::PidFile(server_dir))}) {
    if (IsServerOf(pid, server_dir)) return pid;
  }
  return 0;
}

Result<pid_t> Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Internal(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    setsid();
    int in = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  return pid;
}

struct Layout {
  std::string dir;
  uint32_t servers;
  uint32_t base_port;
  std::string meta_pid() const { return dir + "/pids/meta.pid"; }
  std::string data_pid(uint32_t i) const { return dir + "/pids/data-" + std::to_string(i) + ".pid"; }
  std::string meta_dir() const { return dir + "/meta"; }
  std::string data_dir(uint32_t i) const { return dir + "/data/" + std::to_string(i); }
  pid_t meta() const { return ServerPid(meta_pid(), meta_dir()); }
  pid_t data(uint32_t i) const { return ServerPid(data_pid(i), data_dir(i)); }
  // The cluster's id, as `cluster up` noted it (or a data server stamped
  // its directory with it); empty before it first ran.
  std::string cluster_id() const {
    std::string id;
    if (std::ifstream(dir + "/cluster.id") >> id) return id;
    for (uint32_t i = 0; i < servers; ++i) {
      if (std::ifstream(data_dir(i) + "/STAMP") >> id) return id;
    }
    return "";
  }
};

Result<Layout> LoadLayout(const ClusterFlags& f, bool creating) {
  Layout l{f.dir.empty() ? DefaultClusterDir() : f.dir, 0, 0};
  std::ifstream conf(l.dir + "/cluster.conf");
  uint32_t servers = 0, port = 0;
  if (conf >> servers >> port) {
    if (f.servers && f.servers < servers) {
      return InvalidArgument("the cluster in " + l.dir + " has " + std::to_string(servers) +
                             " data servers; it cannot shrink to " + std::to_string(f.servers));
    }
    if (f.base_port && f.base_port != port) {
      return InvalidArgument("the cluster in " + l.dir + " uses base port " + std::to_string(port) + "; --base-port " +
                             std::to_string(f.base_port) +
                             " would cut it off from its data (leave it out, or use another --dir)");
    }
    l.servers = f.servers ? f.servers : servers;
    l.base_port = port;
  } else {
    if (!creating) return NotFound("no cluster in " + l.dir + " (start one with: dfs cluster up)");
    l.servers = f.servers ? f.servers : 5;
    l.base_port = f.base_port ? f.base_port : 7100;
  }
  if (l.servers < 2) return InvalidArgument("a cluster needs at least 2 data servers (--servers)");
  if (l.base_port + kMetricsOffset + l.servers > 65535)
    return InvalidArgument("--base-port too high for " + std::to_string(l.servers) + " servers");
  return l;
}

// A cluster's own commands use its admin key (none for a cluster started
// with --insecure, which has no keys).
Globals ClusterGlobals(const Layout& l, const Globals& g) {
  Globals cg = g;
  cg.meta = Endpoint(l.base_port);
  cg.key = ClusterKeyDir(l.dir) + "/admin.key";
  if (access(cg.key.c_str(), F_OK) != 0) cg.key = kNoKey;
  return cg;
}

// The cluster's keys, made once: the servers' key pair (server.key), an
// admin key for its owner (admin.key, trusted: a mount with it acts for
// the calling user), and the list of admitted keys (authorized_keys).
Status EnsureKeys(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create " + dir + ": " + ec.message());
  chmod(dir.c_str(), 0700);
  const std::string server = dir + "/server.key", admin = dir + "/admin.key", list = dir + "/authorized_keys";
  transport::KeyPair server_keys;
  if (access(server.c_str(), R_OK) == 0) {
    DFS_ASSIGN_OR_RETURN(server_keys, transport::ReadCert(server));
  } else {
    DFS_ASSIGN_OR_RETURN(server_keys, transport::NewKeyPair());
    DFS_RETURN_IF_ERROR(transport::WriteCert(server, server_keys));
  }
  if (access(admin.c_str(), R_OK) == 0) return Status::Ok();
  DFS_ASSIGN_OR_RETURN(transport::KeyPair admin_keys, transport::NewKeyPair());
  DFS_RETURN_IF_ERROR(transport::WriteCert(admin, admin_keys, server_keys.public_key));
  std::ofstream out(list, std::ios::app);
  out << "# Keys the cluster admits: KEY ROLE(client|admin|server) UID GID [trusted]; see docs/security.md\n"
      << AuthorizedKeyLine(admin_keys.public_key, Identity{Role::kAdmin, getuid(), getgid(), true, false}) << "\n";
  if (!out.flush()) return Internal("cannot write " + list);
  return Status::Ok();
}

Status Up(const ClusterFlags& f, const Globals& g) {
  DFS_ASSIGN_OR_RETURN(Layout l, LoadLayout(f, true));
  std::error_code ec;
  for (const char* sub : {"", "/meta", "/data", "/logs", "/pids"}) fs::create_directories(l.dir + sub, ec);
  if (ec) return InvalidArgument("cannot create " + l.dir + ": " + ec.message());
  {
    std::ofstream conf(l.dir + "/cluster.conf");
    conf << l.servers << " " << l.base_port << "\n";
  }
  const std::string keys = ClusterKeyDir(l.dir);
  if (f.insecure && access((keys + "/server.key").c_str(), F_OK) == 0) {
    return InvalidArgument("the cluster in " + l.dir + " has keys; --insecure is for a new cluster only");
  }
  if (!f.insecure && access((keys + "/server.key").c_str(), F_OK) != 0) {
    bool running = l.meta() != 0;
    for (uint32_t i = 0; i < l.servers; ++i) running |= l.data(i) != 0;
    if (running) {
      return Status(Code::kFailedPrecondition, "the cluster in " + l.dir +
                                                   " runs without keys; stop it (dfs cluster down) to start it with "
                                                   "keys, or keep it so with --insecure");
    }
  }
  if (!f.insecure) DFS_RETURN_IF_ERROR(EnsureKeys(keys));
  // Each server's key flags, or --insecure (loopback only, said in its log).
  std::vector<std::string> meta_keys = {"--insecure"}, data_keys = {"--insecure"};
  if (!f.insecure) {
    meta_keys = {"--key", keys + "/server.key", "--authorized-keys", keys + "/authorized_keys"};
    data_keys = {"--key", keys + "/server.key"};
  }
  std::string self = "dfs";
  std::string meta = Endpoint(l.base_port);
  std::map<std::string, pid_t> spawned;  // pid file -> child started now
  auto start = [&](const std::string& pid_file, const std::string& server_dir, const std::vector<std::string>& args,
                   const std::string& log) -> Status {
    if (ServerPid(pid_file, server_dir)) return Status::Ok();
    DFS_ASSIGN_OR_RETURN(pid_t pid, Spawn(args, log));
    std::ofstream(pid_file) << pid << "\n";
    spawned[pid_file] = pid;
    return Status::Ok();
  };
  // A child of ours that exited did not start; others are checked by pid file.
  auto running = [&](const std::string& pid_file, const std::string& server_dir) {
    auto it = spawned.find(pid_file);
    if (it == spawned.end()) return ServerPid(pid_file, server_dir) != 0;
    return waitpid(it->second, nullptr, WNOHANG) == 0;
  };
  std::string servers;
  for (uint32_t i = 0; i < l.servers; ++i) servers += (i ? "," : "") + Endpoint(l.base_port + 1 + i);
  std::vector<std::string> meta_args = {self,       "meta", "--dir",          l.meta_dir(),
                                        "--listen", meta,   "--data-servers", servers};
  meta_args.insert(meta_args.end(), meta_keys.begin(), meta_keys.end());
  meta_args.insert(meta_args.end(), {"--metrics-listen", MetricsAt(l.base_port)});
  DFS_RETURN_IF_ERROR(start(l.meta_pid(), l.meta_dir(), meta_args, l.dir + "/logs/meta.log"));
  for (uint32_t i = 0; i < l.servers; ++i) {
    std::vector<std::string> data_args = {self,      "--meta",          meta,    "data",
                                          "--index", std::to_string(i), "--dir", l.data_dir(i)};
    data_args.insert(data_args.end(), data_keys.begin(), data_keys.end());
    data_args.insert(data_args.end(), {"--metrics-listen", MetricsAt(l.base_port + 1 + i)});
    DFS_RETURN_IF_ERROR(
        start(l.data_pid(i), l.data_dir(i), data_args, l.dir + "/logs/data-" + std::to_string(i) + ".log"));
  }
  // Wait until every server answers.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  Status last;
  Progress progress("dfs cluster up", ProgressWanted(g.quiet));
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running(l.meta_pid(), l.meta_dir())) {
      return Unavailable("the meta server did not start; see " + l.dir + "/logs/meta.log");
    }
    for (uint32_t i = 0; i < l.servers; ++i) {
      if (!running(l.data_pid(i), l.data_dir(i))) {
        return Unavailable("data server " + std::to_string(i) + " did not start; see " + l.dir + "/logs/data-" +
                           std::to_string(i) + ".log");
      }
    }
    auto fsys = Connect(ClusterGlobals(l, g));
    if (fsys.ok()) {
      size_t up = 0;
      for (const auto& s : (*fsys)->ServerStatuses()) {
        up += s.status.ok();
        if (!s.status.ok()) last = s.status;
      }
      progress.Say("the meta server and " + std::to_string(up) + " of " + std::to_string(l.servers) +
                   " data servers answer");
      if (up == l.servers) {
        progress.Done();
        std::ofstream(l.dir + "/cluster.id") << (*fsys)->map().cluster_id << "\n";
        if (!g.quiet) {
          printf("dfs cluster up: meta %s, %u data servers on ports %u-%u; state and logs in %s\n", meta.c_str(),
                 l.servers, l.base_port + 1, l.base_port + l.servers, l.dir.c_str());
          printf("metrics (Prometheus): http://%s/metrics (meta), ports %u-%u (data servers)\n",
                 MetricsAt(l.base_port).c_str(), l.base_port + kMetricsOffset + 1,
                 l.base_port + kMetricsOffset + l.servers);
          if (meta != "tcp://127.0.0.1:7100") printf("export DFS_META=%s\n", meta.c_str());
          if (f.insecure) {
            printf("INSECURE: no keys (--insecure): anyone who reaches these loopback ports is trusted\n");
            printf("export DFS_KEY=%s\n", kNoKey);
          } else {
            printf("export DFS_KEY=%s/admin.key\n", keys.c_str());
          }
        }
        return Status::Ok();
      }
    } else {
      last = fsys.status();
      progress.Say("waiting for the meta server at " + meta);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Unavailable("the cluster in " + l.dir + " did not come up in 20 s: " + last.message() + "; see " + l.dir +
                     "/logs");
}

Status Down(const ClusterFlags& f, const Globals& g) {
  DFS_ASSIGN_OR_RETURN(Layout l, LoadLayout(f, false));
  std::vector<std::string> pid_files;
  std::vector<pid_t> pids;
  for (uint32_t i = 0; i < l.servers; ++i) {
    pid_files.push_back(l.data_pid(i));
    if (pid_t pid = l.data(i)) pids.push_back(pid);
  }
  pid_files.push_back(l.meta_pid());
  if (pid_t pid = l.meta()) pids.push_back(pid);
  for (pid_t pid : pids) kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (pid_t pid : pids) {
    while (kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
      waitpid(pid, nullptr, WNOHANG);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (kill(pid, 0) == 0) kill(pid, SIGKILL);
  }
  for (const auto& pf : pid_files) unlink(pf.c_str());
  if (!g.quiet) printf("dfs cluster down: stopped %zu servers in %s\n", pids.size(), l.dir.c_str());
  return Status::Ok();
}

// Each server is up only if its own process (by pid and --dir) runs and
// what answers on its port is of this cluster: another cluster on the same
// ports is not mistaken for this one.
Status ClusterStatus(const ClusterFlags& f, const Globals& g) {
  DFS_ASSIGN_OR_RETURN(Layout l, LoadLayout(f, false));
  const std::string meta = Endpoint(l.base_port);
  const std::string id = l.cluster_id();
  printf("cluster %s in %s\n", id.empty() ? "(never started)" : id.c_str(), l.dir.c_str());
  printf("%-8s %-24s %-8s %s\n", "server", "endpoint", "pid", "state");
  const pid_t mp = l.meta();
  auto fsys = Connect(ClusterGlobals(l, g));
  const bool ours = fsys.ok() && (id.empty() || (*fsys)->map().cluster_id == id);
  std::string state = !mp ? "down" : !fsys.ok() ? "not answering" : ours ? "up" : "another cluster answers";
  if (!mp && fsys.ok()) state += " (another process answers on its port)";
  printf("%-8s %-24s %-8s %s\n", "meta", meta.c_str(), mp ? std::to_string(mp).c_str() : "-", state.c_str());
  std::vector<client::ServerStatus> statuses;
  if (mp && ours) statuses = (*fsys)->ServerStatuses();
  size_t bad = state == "up" ? 0 : 1;
  for (uint32_t i = 0; i < l.servers; ++i) {
    const pid_t pid = l.data(i);
    std::string data_state = pid ? "not answering" : "down";
    if (pid && i < statuses.size() && statuses[i].status.ok()) {
      const proto::ServerStatRsp& s = statuses[i].stat;
      data_state = s.cluster_id == (*fsys)->map().cluster_id && s.index == i ? s.state : "another cluster answers";
    }
    bad += data_state != "up";
    printf("%-8s %-24s %-8s %s\n", ("data " + std::to_string(i)).c_str(), Endpoint(l.base_port + 1 + i).c_str(),
           pid ? std::to_string(pid).c_str() : "-", data_state.c_str());
  }
  if (bad) return Unavailable(std::to_string(bad) + " of " + std::to_string(l.servers + 1) + " servers are not up");
  return Status::Ok();
}

}  // namespace

void RegisterCluster(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "cluster", "Start, stop or inspect a local cluster on loopback");
  auto f = std::make_shared<ClusterFlags>();
  sub->add_option("ACTION", f->action, "up, down or status")
      ->required()
      ->check(CLI::IsMember({"up", "down", "status"}));
  sub->add_option("--dir", f->dir, "State, logs and pid files (default ~/.local/state/dfs/cluster)");
  sub->add_flag("--insecure", f->insecure,
                "up: a new cluster whose servers run without keys (loopback, for tests and comparisons)");
  sub->add_option("--servers", f->servers, "Number of data servers for up (default 5)")->check(CLI::Range(2u, 1000u));
  sub->add_option("--base-port", f->base_port, "Meta server port; data servers use the next ones (default 7100)")
      ->check(CLI::Range(1u, 65535u));
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      if (f->action == "up") return Up(*f, g);
      if (f->action == "down") return Down(*f, g);
      return ClusterStatus(*f, g);
    };
  });
}

}  // namespace dfs::cmd
