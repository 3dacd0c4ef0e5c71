// A real cluster for integration and fault tests: one `dfs meta` and N
// `dfs data` processes on free loopback ports in a temporary directory,
// driven through the `dfs` binary like a user. Every process is stopped by
// its pid when the fixture goes away.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "transport/curve.h"

namespace dfs::testing {

namespace transport = dfs::transport;

struct CommandResult {
  int code = -1;  // exit code; -1 if it had to be killed
  std::string out;
  std::string err;
};

// Runs a program with arguments, feeding `input` on stdin; kills it after
// `timeout_s` seconds.
CommandResult Run(const std::vector<std::string>& argv, const std::string& input = "", double timeout_s = 120);

// A command running in the background: the test feeds its stdin, signals
// it, and collects what it printed when it ends. Killed if still running
// when it goes away.
class BackgroundCommand {
 public:
  explicit BackgroundCommand(const std::vector<std::string>& argv);
  ~BackgroundCommand();
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;

  pid_t pid() const { return pid_; }
  // Writes to its stdin (blocking); false once it stopped reading.
  bool Feed(const std::string& bytes);
  void CloseInput();
  void Signal(int sig);
  // Waits for it to end (killing it after `timeout_s`).
  CommandResult Wait(double timeout_s = 120);

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  std::string out_path_, err_path_;
  bool waited_ = false;
};

// The first integer value of "key" in a JSON document (fails the test if none).
uint64_t JsonNumber(const std::string& json, const std::string& key);

// Path of the dfs binary under test (env DFS_BIN).
std::string DfsBinary();

// `n` distinct free loopback ports (free when picked).
std::vector<int> FreePorts(int n);

// Random bytes, reproducible from the seed.
std::string RandomBytes(size_t n, uint32_t seed);

class Cluster {
 public:
  explicit Cluster(int data_servers = 5, const std::vector<std::string>& meta_args = {},
                   const std::vector<std::string>& data_args = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& dir() const { return dir_; }
  // Keys (docs/security.md), made before the servers start: the servers'
  // pair, an admin key (trusted, this process's uid), and two client keys
  // that act as uid/gid 4242 and 4343. The servers admit all of them.
  std::string server_key() const { return dir_ + "/keys/server.key"; }
  std::string admin_key() const { return dir_ + "/keys/admin.key"; }
  std::string client_key() const { return dir_ + "/keys/client.key"; }
  std::string other_client_key() const { return dir_ + "/keys/other.key"; }
  // The admin key as a raw ZeroMQ channel presents it (ChannelOptions::curve).
  std::shared_ptr<const transport::CurveClient> admin_curve() const;
  std::string meta_endpoint() const;
  std::string data_endpoint(int i) const;
  int size() const { return static_cast<int>(data_pids_.size()); }

  // Runs `dfs --meta <this cluster> --key <admin key> args...`.
  CommandResult Dfs(const std::vector<std::string>& args, const std::string& input = "", double timeout_s = 120);
  // The same with another key file.
  CommandResult DfsWithKey(const std::string& key, const std::vector<std::string>& args, const std::string& input = "",
                           double timeout_s = 120);
  // Starts it in the background.
  std::unique_ptr<BackgroundCommand> StartDfs(const std::vector<std::string>& args);

  // Writes `bytes` to a local file under the cluster directory; returns its path.
  std::string LocalFile(const std::string& name, const std::string& bytes);
  std::string ReadLocal(const std::string& path);

  void StartMeta();
  void KillMeta();  // kill -9
  void StartData(int i);
  // Starts data server i after `seconds`, from a process forked now: a test
  // holding files open in a FUSE mount must not fork while the mount waits
  // for that very server (the child's close would wait behind it).
  void StartDataAfter(int i, double seconds);
  void KillData(int i);  // kill -9
  // kill -9 of data server i, and a restart `seconds` later from a process
  // forked before the kill (see Spawn: it may have to flush a mount's file).
  void KillDataAndRestartAfter(int i, double seconds);
  void StopData(int i);  // SIGTERM, wait
  // Sends `sig` to data server i (or the meta server) and returns the
  // seconds it took to exit (killed -9 after 10 s).
  double SignalData(int i, int sig);
  double SignalMeta(int sig);
  void WipeData(int i);  // rm -rf its directory (server must be stopped)
  // The holders of each block of `path`, from dfs stat --blocks --json.
  std::vector<std::pair<int, int>> Placement(const std::string& path);

  // dfs corrupt of one block (random if block < 0) on server i; returns the
  // block index it corrupted.
  int64_t Corrupt(int i, const std::string& path, int64_t block = -1);
  bool DataRunning(int i) const { return data_pids_[i] > 0; }
  // Waits until every running data server answers `dfs status`.
  void WaitUntilUp(double timeout_s = 15);
  // Waits until no data server reports "rebuilding".
  void WaitUntilRebuilt(double timeout_s = 60);
  // Each data server's state in dfs status ("up", "rebuilding", "down").
  std::vector<std::string> States();
  pid_t DataPid(int i) const { return data_pids_[i]; }
  pid_t MetaPid() const { return meta_pid_; }

 private:
  void MakeKeys();
  void StopAll();  // kill -9 every server started, remove the directory
  pid_t Spawn(const std::vector<std::string>& args, const std::string& log, double delay_s = 0);
  void Kill(pid_t& pid, int sig);
  std::vector<std::string> DataArgs(int i) const;

  std::string dir_;
  int meta_port_;
  std::vector<int> data_ports_;
  std::vector<std::string> meta_args_;
  std::vector<std::string> data_args_;
  pid_t meta_pid_ = 0;
  std::vector<pid_t> data_pids_;
};

}  // namespace dfs::testing
