// dfs: one command, git-style subcommands. Parses the global flags, lets the
// chosen subcommand run, and turns its Status into a one-line error and a
// non-zero exit code.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>

#include "cmd/cli_common.h"

namespace {

int ExitCode(dfs::Code code) {
  switch (code) {
    case dfs::Code::kOk:
      return 0;
    case dfs::Code::kInvalidArgument:
      return 2;
    case dfs::Code::kCancelled:
      return 130;  // as a shell reports SIGINT
    default:
      return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dfs::cmd;
  // Batches are MiB-sized buffers allocated and freed all the time; served
  // from mmap each would page-fault on every byte (measured: half the CPU of
  // a read). Keep them on the heap and keep the heap.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app("dfs: a fault-tolerant distributed file system", "dfs");
  app.set_help_flag("--help", "Print this help and exit");
  app.require_subcommand(1);
  app.fallthrough();

  Globals g;
  if (const char* env = std::getenv("DFS_META"); env && *env) g.meta = env;
  app.add_option("--meta", g.meta, "Meta server endpoint (env DFS_META)")->capture_default_str();
  if (const char* env = std::getenv("DFS_KEY"); env && *env) g.key = env;
  app.add_option("--key", g.key,
                 "This client's key file, or none for servers run with --insecure (env DFS_KEY; default "
                 "~/.config/dfs/key, then the local cluster's admin key)");
  app.add_option("--timeout", g.timeout, "Seconds a write waits for a data server that is down (default: forever)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", g.quiet, "Print only errors");
  app.add_flag("-v,--verbose", g.verbose, "Report repairs and more");

  app.set_version_flag("--version", VersionString(), "Print the version and exit");

  Runner run;
  for (Registrar r : {RegisterMeta,    RegisterData,  RegisterCluster, RegisterCp,     RegisterCat, RegisterLs,
                      RegisterStat,    RegisterMkdir, RegisterRm,      RegisterMv,     RegisterLn,  RegisterTouch,
                      RegisterChmod,   RegisterChown, RegisterSum,     RegisterDu,     RegisterDf,  RegisterStatus,
                      RegisterCorrupt, RegisterFsck,  RegisterMount,   RegisterKeygen, RegisterHelp}) {
    r(app, g, run);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.empty() || e.get_exit_code() == 0) return app.exit(e);
    // Name the word that is not a subcommand rather than "a subcommand is required".
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--meta" || arg == "--timeout" || arg == "--key") {
        ++i;
        continue;
      }
      if (arg.empty() || arg[0] == '-') continue;
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands({})) known |= sub->get_name() == arg;
      if (!known) what = "unknown subcommand '" + arg + "'";
      break;
    }
    for (char& c : what) {
      if (c == '\n') c = ' ';
    }
    fprintf(stderr, "dfs: %s (see dfs --help)\n", what.c_str());
    return 2;
  }
  if (!run) return 0;
  dfs::Status st = run();
  if (!st.ok()) {
    fprintf(stderr, "dfs: %s\n", st.ToString().c_str());
    return ExitCode(st.code());
  }
  return g.exit_code;
}
