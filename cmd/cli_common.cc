#include "cmd/cli_common.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>

namespace dfs::cmd {
namespace {

std::atomic<bool> interrupted{false};

void OnInterrupt(int sig) {
  interrupted = true;
  signal(sig, SIG_DFL);  // a second Ctrl-C kills at once
}

}  // namespace

void CatchInterrupts() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool Interrupted() { return interrupted.load(); }

CLI::App* AddSubcommand(CLI::App& app, const std::string& name, const std::string& description) {
  CLI::App* sub = app.add_subcommand(name, description);
  sub->set_help_flag("--help", "Print this help and exit");
  sub->fallthrough();
  return sub;
}

std::string DefaultClusterDir() {
  if (const char* x = getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/dfs/cluster";
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/state/dfs/cluster";
}

std::string ClusterKeyDir(const std::string& cluster_dir) { return cluster_dir + "/keys"; }

Result<transport::Connector> ClientKey(const Globals& g) {
  std::string path = g.key;
  if (path == kNoKey) return transport::Connector(nullptr);
  if (path.empty()) {
    std::string config;
    if (const char* x = getenv("XDG_CONFIG_HOME"); x && *x) {
      config = std::string(x) + "/dfs/key";
    } else if (const char* home = getenv("HOME"); home && *home) {
      config = std::string(home) + "/.config/dfs/key";
    }
    const std::string local = ClusterKeyDir(DefaultClusterDir()) + "/admin.key";
    for (const std::string& candidate : {config, local}) {
      if (!candidate.empty() && access(candidate.c_str(), R_OK) == 0) {
        path = candidate;
        break;
      }
    }
    if (path.empty()) return transport::Connector(nullptr);
  }
  auto keys = transport::ReadClientCert(path);
  if (!keys.ok()) return Status(Code::kInvalidArgument, keys.status().message() + " (--key, DFS_KEY)");
  return transport::CurveConnector(std::make_shared<transport::CurveClient>(std::move(*keys)));
}

Result<client::ClientOptions> MakeOptions(const Globals& g) {
  client::ClientOptions o;
  DFS_ASSIGN_OR_RETURN(o.connect, ClientKey(g));
  o.meta = g.meta;
  o.write_timeout_s = g.timeout;
  o.verbose = g.verbose;
  o.cancel = &interrupted;
  bool quiet = g.quiet;
  o.notice = [quiet](const std::string& message) {
    if (!quiet) fprintf(stderr, "dfs: %s\n", message.c_str());
  };
  return o;
}

Result<std::unique_ptr<client::FileSystem>> Connect(const Globals& g) {
  DFS_ASSIGN_OR_RETURN(client::ClientOptions options, MakeOptions(g));
  return client::FileSystem::Connect(options);
}

std::string HumanSize(uint64_t bytes) {
  const char* units = "BKMGTPE";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(bytes));
  } else if (v < 10) {
    snprintf(buf, sizeof buf, "%.1f%c", v, units[u]);
  } else {
    snprintf(buf, sizeof buf, "%.0f%c", v, units[u]);
  }
  return buf;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// \n, \t, ... or \ooo.
std::string CEscape(unsigned char c) {
  switch (c) {
    case '\a':
      return "\\a";
    case '\b':
      return "\\b";
    case '\t':
      return "\\t";
    case '\n':
      return "\\n";
    case '\v':
      return "\\v";
    case '\f':
      return "\\f";
    case '\r':
      return "\\r";
    default: {
      char buf[8];
      snprintf(buf, sizeof buf, "\\%03o", c);
      return buf;
    }
  }
}

}  // namespace

std::string ShowName(const std::string& name, NameStyle style) {
  if (style == NameStyle::kLiteral) return name;
  if (style == NameStyle::kEscape) {
    std::string out;
    for (unsigned char c : name) {
      if (c == '\\') {
        out += "\\\\";
      } else if (IsControl(c)) {
        out += CEscape(c);
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }
  bool plain = true;
  for (unsigned char c : name) plain &= !IsControl(c);
  if (plain) return name;
  // Runs of printable bytes in '...', control characters in $'...'.
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    if (IsControl(static_cast<unsigned char>(name[i]))) {
      out += "$'";
      while (i < name.size() && IsControl(static_cast<unsigned char>(name[i]))) {
        out += CEscape(static_cast<unsigned char>(name[i++]));
      }
      out += "'";
    } else {
      out += "'";
      while (i < name.size() && !IsControl(static_cast<unsigned char>(name[i]))) {
        if (name[i] == '\'') {
          out += "'\\''";
        } else {
          out += name[i];
        }
        ++i;
      }
      out += "'";
    }
  }
  return out;
}

NameStyle NameStyleFor(bool escape) {
  if (escape) return NameStyle::kEscape;
  return isatty(STDOUT_FILENO) ? NameStyle::kShell : NameStyle::kLiteral;
}

std::string FormatTime(int64_t ns) {
  time_t t = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace dfs::cmd
