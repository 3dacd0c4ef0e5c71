// What every subcommand shares: the global flags, connecting to the cluster,
// output helpers. Each subcommand lives in its own cmd_*.cc file and exposes
// one Register* function; its run function returns a Status that main turns
// into the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "core/client/file_system.h"

namespace dfs::cmd {

struct Globals {
  std::string meta = "tcp://127.0.0.1:7100";
  std::string key;     // --key or env DFS_KEY: the client's key file
  double timeout = 0;  // seconds a write waits for a down server; 0 = forever
  bool quiet = false;
  bool verbose = false;
  // Set by a subcommand whose exit codes follow another convention (fsck(8)).
  int exit_code = 0;
};

// Several operands, as coreutils take them: a failure is printed when it
// happens ("dfs: rm: /x: no such file or directory") and the command goes on
// with the next operand; at the end the exit code is 1 if any failed (2 if
// one was a bad argument). An interrupt (Ctrl-C) stops at once.
class OperandErrors {
 public:
  explicit OperandErrors(Globals& g) : g_(g) {}
  // Reports `st` if it failed. False when the command must stop.
  bool Add(const Status& st);
  bool any() const { return exit_code_ != 0; }
  // What the command returns: Ok with the exit code set, or the interrupt.
  Status Done();

 private:
  Globals& g_;
  int exit_code_ = 0;
  Status stop_;
};

// The chosen subcommand's work, run by main after parsing.
using Runner = std::function<Status()>;

// Registration: adds the subcommand to `app`; its callback stores the runner.
using Registrar = void (*)(CLI::App& app, Globals& globals, Runner& run);

void RegisterMeta(CLI::App& app, Globals& g, Runner& run);
void RegisterKeygen(CLI::App& app, Globals& g, Runner& run);
void RegisterData(CLI::App& app, Globals& g, Runner& run);
void RegisterCluster(CLI::App& app, Globals& g, Runner& run);
void RegisterCp(CLI::App& app, Globals& g, Runner& run);
void RegisterCat(CLI::App& app, Globals& g, Runner& run);  // cat, head and tail
void RegisterLs(CLI::App& app, Globals& g, Runner& run);
void RegisterStat(CLI::App& app, Globals& g, Runner& run);
void RegisterMkdir(CLI::App& app, Globals& g, Runner& run);
void RegisterRm(CLI::App& app, Globals& g, Runner& run);
void RegisterMv(CLI::App& app, Globals& g, Runner& run);  // cmd_mv.cc: mv and ln
void RegisterLn(CLI::App& app, Globals& g, Runner& run);
void RegisterStatus(CLI::App& app, Globals& g, Runner& run);
void RegisterCorrupt(CLI::App& app, Globals& g, Runner& run);
void RegisterFsck(CLI::App& app, Globals& g, Runner& run);
void RegisterMount(CLI::App& app, Globals& g, Runner& run);  // mount and umount
void RegisterTouch(CLI::App& app, Globals& g, Runner& run);
void RegisterChmod(CLI::App& app, Globals& g, Runner& run);
void RegisterChown(CLI::App& app, Globals& g, Runner& run);
void RegisterSum(CLI::App& app, Globals& g, Runner& run);
void RegisterDu(CLI::App& app, Globals& g, Runner& run);
void RegisterDf(CLI::App& app, Globals& g, Runner& run);
void RegisterHelp(CLI::App& app, Globals& g, Runner& run);  // help and completion

// Adds a subcommand with the house conventions (--help only; -h is free).
CLI::App* AddSubcommand(CLI::App& app, const std::string& name, const std::string& description);

// From now on SIGINT and SIGTERM stop block transfers (Cancelled) instead of
// killing the process, so a command can clean up; a second one kills.
void CatchInterrupts();
bool Interrupted();

// The client's key, as channels that present it: --key (or env DFS_KEY),
// else ~/.config/dfs/key, else the admin key of the local cluster `dfs
// cluster up` made in its default directory; none of them: plain channels
// (a server with keys refuses them, saying so).
// `--key none` (or DFS_KEY=none): no key, a plain connection, for servers
// started with --insecure.
Result<transport::Connector> ClientKey(const Globals& g);
inline constexpr const char* kNoKey = "none";
// Where `dfs cluster up` keeps a cluster's keys.
std::string ClusterKeyDir(const std::string& cluster_dir);
std::string DefaultClusterDir();

// A ZeroMQ TCP endpoint, tcp://HOST:PORT (HOST a name, an IPv4 address, [an
// IPv6 one], or * to listen on every address), checked before any network
// call: InvalidArgument naming `flag` and the form expected.
Status CheckEndpoint(const std::string& endpoint, const std::string& flag, bool listen = false);

Result<client::ClientOptions> MakeOptions(const Globals& g);
Result<std::unique_ptr<client::FileSystem>> Connect(const Globals& g);

// A server process says what it is: its name in ps and top ("dfs data 3",
// "dfs meta"), and `<dir>/server.pid`, so `dfs cluster down` finds it also
// when it was restarted by hand. The pid file goes when the server ends.
class ServerProcess {
 public:
  ServerProcess(const std::string& name, const std::string& dir);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  static std::string PidFile(const std::string& dir) { return dir + "/server.pid"; }

 private:
  std::string pid_file_;
};

// The program's version, and the wire protocol it speaks.
std::string VersionString();

// A JSON value on one line, spaced as people write it ({"a": 1, "b": [2, 3]}),
// invalid UTF-8 shown as U+FFFD. JsonLines: a top-level array, or the array
// under `array_key` of a top-level object, gets one element per line.
std::string JsonLine(const nlohmann::ordered_json& value);
std::string JsonLines(const nlohmann::ordered_json& value, const std::string& array_key = "");

// "1.5K", "20M", as ls -h.
std::string HumanSize(uint64_t bytes);
// How a name is shown: as it is (to a pipe, as GNU ls), with C escapes for
// control characters (ls -b), or quoted for a shell where it has any (on a
// terminal, as GNU ls: 'a'$'\n''b'), so no name can forge lines of output.
enum class NameStyle { kLiteral, kEscape, kShell };
std::string ShowName(const std::string& name, NameStyle style);
// kShell when stdout is a terminal, else kLiteral; kEscape if `escape`.
NameStyle NameStyleFor(bool escape);
// `what: strerror(errno)` with the Code that says what errno means.
Status ErrnoStatus(const std::string& what);

// A user or group name as the local system knows it (getpwuid, getgrgid),
// else the number.
std::string UserName(uint32_t uid);
std::string GroupName(uint32_t gid);

// "2026-11-29 21:40" in local time.
std::string FormatTime(int64_t ns);

}  // namespace dfs::cmd
