#include "cluster_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace dfs::testing {

using Clock = std::chrono::steady_clock;

uint64_t JsonNumber(const std::string& json, const std::string& key) {
  std::smatch m;
  REQUIRE(std::regex_search(json, m, std::regex("\"" + key + "\": ?(\\d+)")));
  return std::stoull(m[1]);
}

std::string DfsBinary() {
  const char* bin = getenv("DFS_BIN");
  return bin && *bin ? bin : "dfs";
}

CommandResult Run(const std::vector<std::string>& argv, const std::string& input, double timeout_s) {
  signal(SIGPIPE, SIG_IGN);  // a command that stops reading its input must not kill the test
  int in[2], out[2], err[2];
  REQUIRE(pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    closefrom(3);  // no test file (a file in a FUSE mount, say) leaks into the child
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  CommandResult r;
  size_t written = 0;
  if (input.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    struct pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out[0], POLLIN, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (in[1] >= 0) fds[n++] = {in[1], POLLOUT, 0};
    poll(fds, n, 100);
    char buf[65536];
    for (int k = 0; k < n; ++k) {
      if (!fds[k].revents) continue;
      if (fds[k].fd == in[1]) {
        ssize_t w = write(in[1], input.data() + written, input.size() - written);
        if (w > 0) written += w;
        if (w < 0 && errno != EAGAIN) written = input.size();
        if (written == input.size()) {
          close(in[1]);
          in[1] = -1;
        }
        continue;
      }
      ssize_t got = read(fds[k].fd, buf, sizeof buf);
      if (got <= 0) {
        (fds[k].fd == out[0] ? out_open : err_open) = false;
      } else {
        (fds[k].fd == out[0] ? r.out : r.err).append(buf, got);
      }
    }
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      break;
    }
  }
  if (in[1] >= 0) close(in[1]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv) {
  char out_tmpl[] = "/tmp/dfs-bg-out-XXXXXX";
  char err_tmpl[] = "/tmp/dfs-bg-err-XXXXXX";
  int out = mkstemp(out_tmpl);
  int err = mkstemp(err_tmpl);
  REQUIRE((out >= 0 && err >= 0));
  out_path_ = out_tmpl;
  err_path_ = err_tmpl;
  int in[2];
  REQUIRE(pipe2(in, O_CLOEXEC) == 0);
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    dup2(in[0], 0);
    dup2(out, 1);
    dup2(err, 2);
    closefrom(3);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out);
  close(err);
  in_ = in[1];
  signal(SIGPIPE, SIG_IGN);  // a child that stopped reading must not kill the test
}

BackgroundCommand::~BackgroundCommand() {
  if (!waited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  if (in_ >= 0) close(in_);
  unlink(out_path_.c_str());
  unlink(err_path_.c_str());
}

bool BackgroundCommand::Feed(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = write(in_, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

void BackgroundCommand::CloseInput() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

void BackgroundCommand::Signal(int sig) { kill(pid_, sig); }

CommandResult BackgroundCommand::Wait(double timeout_s) {
  CloseInput();
  CommandResult r;
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  waited_ = true;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out_path_);
  r.err = slurp(err_path_);
  return r;
}

// `n` distinct free loopback ports: each socket stays bound until all are
// picked, or the kernel may hand out one port twice.
std::vector<int> FreePorts(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  return ports;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    memcpy(&s[i], &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

Cluster::Cluster(int data_servers, const std::vector<std::string>& meta_args, const std::vector<std::string>& data_args)
    : meta_args_(meta_args), data_args_(data_args) {
  char tmpl[] = "/tmp/dfs-cluster-XXXXXX";
  dir_ = mkdtemp(tmpl);
  std::vector<int> ports = FreePorts(data_servers + 1);
  meta_port_ = ports[0];
  data_ports_.assign(ports.begin() + 1, ports.end());
  data_pids_.assign(data_servers, 0);
  try {
    MakeKeys();
    StartMeta();
    for (int i = 0; i < data_servers; ++i) StartData(i);
    WaitUntilUp();
  } catch (...) {
    StopAll();  // a constructor that throws gets no destructor: stop what started
    throw;
  }
}

Cluster::~Cluster() { StopAll(); }

void Cluster::MakeKeys() {
  std::filesystem::create_directories(dir_ + "/keys");
  auto keygen = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {DfsBinary(), "keygen"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = Run(argv, "", 30);
    if (r.code != 0) throw std::runtime_error("dfs keygen failed (exit " + std::to_string(r.code) + "): " + r.err);
    return r.out;
  };
  keygen({server_key()});
  std::string list = keygen({"--server-key", server_key(), "--role", "admin", "--trusted", admin_key()});
  list += keygen({"--server-key", server_key(), "--uid", "4242", "--gid", "4242", client_key()});
  list += keygen({"--server-key", server_key(), "--uid", "4343", "--gid", "4343", other_client_key()});
  std::ofstream(dir_ + "/keys/authorized_keys") << list;
}

std::shared_ptr<const transport::CurveClient> Cluster::admin_curve() const {
  auto keys = transport::ReadClientCert(admin_key());
  if (!keys.ok()) throw std::runtime_error(keys.status().message());
  return std::make_shared<transport::CurveClient>(*keys);
}

void Cluster::StopAll() {
  for (pid_t& pid : data_pids_) Kill(pid, SIGKILL);
  Kill(meta_pid_, SIGKILL);
  std::filesystem::remove_all(dir_);
}

std::string Cluster::meta_endpoint() const { return "tcp://127.0.0.1:" + std::to_string(meta_port_); }
std::string Cluster::data_endpoint(int i) const { return "tcp://127.0.0.1:" + std::to_string(data_ports_[i]); }

pid_t Cluster::Spawn(const std::vector<std::string>& args, const std::string& log, double delay_s) {
  std::vector<std::string> argv = {DfsBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  // A delayed child first closes what it inherited, and says so: a file open
  // in a FUSE mount, written and not yet flushed, would otherwise be flushed
  // only at its exec, and that flush waits for the very server it starts.
  int closed[2] = {-1, -1};
  if (delay_s > 0) REQUIRE(pipe(closed) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (delay_s > 0) {
      close_range(3, closed[1] - 1, 0);
      close_range(closed[1] + 1, ~0U, 0);
      (void)!write(closed[1], "c", 1);
      close(closed[1]);
      usleep(static_cast<useconds_t>(delay_s * 1e6));
    }
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    closefrom(3);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  if (delay_s > 0) {
    close(closed[1]);
    char c;
    (void)!read(closed[0], &c, 1);
    close(closed[0]);
  }
  return pid;
}

void Cluster::Kill(pid_t& pid, int sig) {
  if (pid <= 0) return;
  kill(pid, sig);
  int status;
  waitpid(pid, &status, 0);
  pid = 0;
}

void Cluster::StartMeta() {
  std::string servers;
  for (int i = 0; i < size(); ++i) servers += (i ? "," : "") + data_endpoint(i);
  std::vector<std::string> args = {"meta",
                                   "--dir",
                                   dir_ + "/meta",
                                   "--listen",
                                   meta_endpoint(),
                                   "--data-servers",
                                   servers,
                                   "--key",
                                   server_key(),
                                   "--authorized-keys",
                                   dir_ + "/keys/authorized_keys"};
  args.insert(args.end(), meta_args_.begin(), meta_args_.end());
  meta_pid_ = Spawn(args, dir_ + "/meta.log");
}

void Cluster::KillMeta() { Kill(meta_pid_, SIGKILL); }

std::vector<std::string> Cluster::DataArgs(int i) const {
  std::vector<std::string> args = {
      "--meta", meta_endpoint(), "data", "--index", std::to_string(i), "--dir", dir_ + "/data" + std::to_string(i),
      "--key",  server_key()};
  args.insert(args.end(), data_args_.begin(), data_args_.end());
  return args;
}

void Cluster::StartData(int i) { data_pids_[i] = Spawn(DataArgs(i), dir_ + "/data" + std::to_string(i) + ".log"); }

void Cluster::StartDataAfter(int i, double seconds) {
  data_pids_[i] = Spawn(DataArgs(i), dir_ + "/data" + std::to_string(i) + ".log", seconds);
}

void Cluster::KillData(int i) { Kill(data_pids_[i], SIGKILL); }

void Cluster::KillDataAndRestartAfter(int i, double seconds) {
  pid_t running = data_pids_[i];
  StartDataAfter(i, seconds);
  Kill(running, SIGKILL);
}
void Cluster::StopData(int i) { Kill(data_pids_[i], SIGTERM); }

namespace {

double TimedStop(pid_t& pid, int sig) {
  if (pid <= 0) return 0;
  auto start = Clock::now();
  kill(pid, sig);
  int status;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (Clock::now() - start > std::chrono::seconds(10)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid = 0;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

double Cluster::SignalData(int i, int sig) { return TimedStop(data_pids_[i], sig); }
double Cluster::SignalMeta(int sig) { return TimedStop(meta_pid_, sig); }

void Cluster::WipeData(int i) {
  REQUIRE(data_pids_[i] == 0);
  std::filesystem::remove_all(dir_ + "/data" + std::to_string(i));
}

std::vector<std::pair<int, int>> Cluster::Placement(const std::string& path) {
  auto r = Dfs({"stat", "--blocks", "--json", path});
  REQUIRE(r.code == 0);
  std::vector<std::pair<int, int>> out;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  for (const auto& b : doc.at("blocks")) out.emplace_back(b["servers"][0], b["servers"][1]);
  return out;
}

int64_t Cluster::Corrupt(int i, const std::string& path, int64_t block) {
  std::vector<std::string> args = {"corrupt", "--server", std::to_string(i), path};
  if (block >= 0) {
    args.push_back("--block");
    args.push_back(std::to_string(block));
  }
  auto r = Dfs(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  size_t at = r.out.find(" block ");
  REQUIRE(at != std::string::npos);
  return std::stoll(r.out.substr(at + 7));
}

// The data servers' states from dfs status --json; empty if it did not answer.
std::vector<std::string> Cluster::States() {
  auto r = Dfs({"status", "--json"}, "", 10);
  std::vector<std::string> states;
  auto doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("data_servers")) return states;
  for (const auto& s : doc["data_servers"]) states.push_back(s.value("state", ""));
  return states;
}

void Cluster::WaitUntilUp(double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    auto states = States();
    // Down servers are fine only if we stopped them.
    bool all = static_cast<int>(states.size()) == size();
    for (int i = 0; all && i < size(); ++i) {
      if (DataRunning(i) && states[i] == "down") all = false;
    }
    if (all) return;
    if (Clock::now() > deadline) {
      auto r = Dfs({"status", "--json"}, "", 10);
      FAIL("cluster did not come up: exit " << r.code << ": " << r.err << r.out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Cluster::WaitUntilRebuilt(double timeout_s) {
  WaitUntilUp();
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    auto states = States();
    if (!states.empty() && std::find(states.begin(), states.end(), "rebuilding") == states.end()) return;
    if (Clock::now() > deadline) FAIL("still rebuilding after " << timeout_s << " s: " << Dfs({"status"}).out);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

CommandResult Cluster::Dfs(const std::vector<std::string>& args, const std::string& input, double timeout_s) {
  return DfsWithKey(admin_key(), args, input, timeout_s);
}

CommandResult Cluster::DfsWithKey(const std::string& key, const std::vector<std::string>& args,
                                  const std::string& input, double timeout_s) {
  std::vector<std::string> argv = {DfsBinary(), "--meta", meta_endpoint(), "--key", key};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, input, timeout_s);
}

std::unique_ptr<BackgroundCommand> Cluster::StartDfs(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {DfsBinary(), "--meta", meta_endpoint(), "--key", admin_key()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<BackgroundCommand>(argv);
}

std::string Cluster::LocalFile(const std::string& name, const std::string& bytes) {
  std::string path = dir_ + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string Cluster::ReadLocal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace dfs::testing
