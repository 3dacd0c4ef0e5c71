#include "cmd/cli_common.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>

#include "cmd/progress.h"

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

bool OperandErrors::Add(const Status& st) {
  if (st.ok()) return true;
  if (st.code() == Code::kCancelled || Interrupted()) {
    if (stop_.ok()) stop_ = st.code() == Code::kCancelled ? st : Status(Code::kCancelled, "interrupted");
    return false;
  }
  ClearStatusLine();
  fprintf(stderr, "dfs: %s\n", st.ToString().c_str());
  exit_code_ = std::max(exit_code_, st.code() == Code::kInvalidArgument ? 2 : 1);
  return true;
}

Status OperandErrors::Done() {
  if (!stop_.ok()) return stop_;
  g_.exit_code = std::max(g_.exit_code, exit_code_);
  return Status::Ok();
}

Status CheckEndpoint(const std::string& endpoint, const std::string& flag, bool listen) {
  const std::string form = flag + ": '" + endpoint + "' is not an endpoint; write tcp://HOST:PORT" +
                           (listen ? " (HOST may be *)" : "") + ", e.g. tcp://127.0.0.1:7100";
  const std::string scheme = "tcp://";
  if (endpoint.compare(0, scheme.size(), scheme) != 0) return InvalidArgument(form);
  const std::string rest = endpoint.substr(scheme.size());
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return InvalidArgument(form);
  const std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return InvalidArgument(form);
  }
  if (host == "*") return listen ? Status::Ok() : InvalidArgument(form);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 4) return InvalidArgument(form);
    return host.find_first_not_of("0123456789abcdefABCDEF:.", 1) == host.size() - 1 ? Status::Ok()
                                                                                    : InvalidArgument(form);
  }
  for (char c : host) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') return InvalidArgument(form);
  }
  return Status::Ok();
}

ServerProcess::ServerProcess(const std::string& name, const std::string& dir) : pid_file_(PidFile(dir)) {
  prctl(PR_SET_NAME, name.substr(0, 15).c_str(), 0, 0, 0);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (FILE* f = fopen(pid_file_.c_str(), "r")) {
    // A server that runs on this directory keeps its file (this one will
    // be refused the directory).
    int pid = 0;
    bool alive = fscanf(f, "%d", &pid) == 1 && pid > 0 && pid != getpid() && kill(pid, 0) == 0;
    fclose(f);
    if (alive) return;
  }
  if (FILE* f = fopen(pid_file_.c_str(), "w")) {
    fprintf(f, "%d\n", static_cast<int>(getpid()));
    fclose(f);
  }
}

ServerProcess::~ServerProcess() {
  // Only if it is still ours: a second server on the directory was refused
  // and must not take the running one's file away.
  if (FILE* f = fopen(pid_file_.c_str(), "r")) {
    int pid = 0;
    bool ours = fscanf(f, "%d", &pid) == 1 && pid == getpid();
    fclose(f);
    if (ours) unlink(pid_file_.c_str());
  }
}

std::string VersionString() {
  return std::string("dfs ") + DFS_VERSION + " (wire protocol " + std::to_string(proto::kProtocolVersion) + ")";
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
  DFS_RETURN_IF_ERROR(CheckEndpoint(g.meta, "--meta (or DFS_META)"));
  DFS_ASSIGN_OR_RETURN(o.connect, ClientKey(g));
  o.meta = g.meta;
  o.write_timeout_s = g.timeout;
  o.verbose = g.verbose;
  o.cancel = &interrupted;
  bool quiet = g.quiet;
  o.notice = [quiet](const std::string& message) {
    if (quiet) return;
    ClearStatusLine();
    fprintf(stderr, "dfs: %s\n", message.c_str());
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

std::string JsonLine(const nlohmann::ordered_json& v) {
  if (v.is_object()) {
    std::string out = "{";
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += (it == v.begin() ? "" : ", ") + nlohmann::ordered_json(it.key()).dump() + ": " + JsonLine(it.value());
    }
    return out + "}";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + JsonLine(v[i]);
    return out + "]";
  }
  return v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string JsonLines(const nlohmann::ordered_json& v, const std::string& array_key) {
  auto lines = [](const nlohmann::ordered_json& array) {
    if (array.empty()) return std::string("[]");
    std::string out = "[";
    for (size_t i = 0; i < array.size(); ++i) out += (i ? ",\n  " : "\n  ") + JsonLine(array[i]);
    return out + "\n]";
  };
  if (v.is_array()) return lines(v);
  if (!v.is_object() || array_key.empty() || !v.contains(array_key)) return JsonLine(v);
  std::string out = "{";
  for (auto it = v.begin(); it != v.end(); ++it) {
    out += (it == v.begin() ? "" : ", ") + nlohmann::ordered_json(it.key()).dump() + ": " +
           (it.key() == array_key ? lines(it.value()) : JsonLine(it.value()));
  }
  return out + "}";
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

Status ErrnoStatus(const std::string& what) {
  const int e = errno;
  Code code = e == ENOENT    ? Code::kNotFound
              : e == ENOTDIR ? Code::kNotADirectory
              : e == EISDIR  ? Code::kIsADirectory
              : e == EACCES  ? Code::kPermissionDenied
              : e == EPERM   ? Code::kNotPermitted
              : e == EEXIST  ? Code::kAlreadyExists
              : e == ENOSPC  ? Code::kResourceExhausted
                             : Code::kInternal;
  return Status(code, what + ": " + strerror(e));
}

std::string UserName(uint32_t uid) {
  static std::map<uint32_t, std::string> known;
  auto it = known.find(uid);
  if (it != known.end()) return it->second;
  struct passwd pw, *found = nullptr;
  char buf[4096];
  std::string name = getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found ? pw.pw_name : std::to_string(uid);
  return known[uid] = name;
}

std::string GroupName(uint32_t gid) {
  static std::map<uint32_t, std::string> known;
  auto it = known.find(gid);
  if (it != known.end()) return it->second;
  struct group gr, *found = nullptr;
  char buf[4096];
  std::string name = getgrgid_r(gid, &gr, buf, sizeof buf, &found) == 0 && found ? gr.gr_name : std::to_string(gid);
  return known[gid] = name;
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
