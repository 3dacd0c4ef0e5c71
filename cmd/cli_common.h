// What every subcommand shares: the global flags, connecting to the cluster,
// output helpers. Each subcommand lives in its own cmd_*.cc file and exposes
// one Register* function; its run function returns a Status that main turns
// into the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
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

// The chosen subcommand's work, run by main after parsing.
using Runner = std::function<Status()>;

// Registration: adds the subcommand to `app`; its callback stores the runner.
using Registrar = void (*)(CLI::App& app, Globals& globals, Runner& run);

void RegisterMeta(CLI::App& app, Globals& g, Runner& run);
void RegisterKeygen(CLI::App& app, Globals& g, Runner& run);
void RegisterData(CLI::App& app, Globals& g, Runner& run);
void RegisterCluster(CLI::App& app, Globals& g, Runner& run);
void RegisterCp(CLI::App& app, Globals& g, Runner& run);
void RegisterCat(CLI::App& app, Globals& g, Runner& run);
void RegisterLs(CLI::App& app, Globals& g, Runner& run);
void RegisterStat(CLI::App& app, Globals& g, Runner& run);
void RegisterMkdir(CLI::App& app, Globals& g, Runner& run);
void RegisterRm(CLI::App& app, Globals& g, Runner& run);
void RegisterMv(CLI::App& app, Globals& g, Runner& run);
void RegisterLn(CLI::App& app, Globals& g, Runner& run);
void RegisterStatus(CLI::App& app, Globals& g, Runner& run);
void RegisterCorrupt(CLI::App& app, Globals& g, Runner& run);
void RegisterFsck(CLI::App& app, Globals& g, Runner& run);
void RegisterMount(CLI::App& app, Globals& g, Runner& run);  // mount and umount

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

Result<client::ClientOptions> MakeOptions(const Globals& g);
Result<std::unique_ptr<client::FileSystem>> Connect(const Globals& g);

// "1.5K", "20M", as ls -h.
std::string HumanSize(uint64_t bytes);
// Escapes a string for a JSON document.
std::string JsonString(const std::string& s);
// How a name is shown: as it is (to a pipe, as GNU ls), with C escapes for
// control characters (ls -b), or quoted for a shell where it has any (on a
// terminal, as GNU ls: 'a'$'\n''b'), so no name can forge lines of output.
enum class NameStyle { kLiteral, kEscape, kShell };
std::string ShowName(const std::string& name, NameStyle style);
// kShell when stdout is a terminal, else kLiteral; kEscape if `escape`.
NameStyle NameStyleFor(bool escape);
// "2026-11-29 21:40" in local time.
std::string FormatTime(int64_t ns);

}  // namespace dfs::cmd
