// dfs touch, chmod and chown: a file's times, permission bits and owner,
// as the coreutils of the same names change them.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <functional>

#include "cmd/cli_common.h"
#include "cmd/operands.h"
#include "core/common/path.h"

namespace dfs::cmd {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

mode_t Umask() {
  mode_t mask = umask(0);
  umask(mask);
  return mask;
}

// Calls `change` on `path` and, with `recursive`, on everything under it.
Status Walk(client::FileSystem& fs, const std::string& path, const client::Attr& a, bool recursive,
            const std::function<Status(const std::string&, const client::Attr&)>& change, OperandErrors& errors,
            const char* name) {
  if (!errors.Add(change(path, a).WithContext(name))) return Status(Code::kCancelled, "interrupted");
  if (!recursive || !client::IsDirectory(a)) return Status::Ok();
  auto entries = fs.ListDir(path);
  if (!errors.Add(entries.status().WithContext(name))) return Status(Code::kCancelled, "interrupted");
  if (!entries.ok()) return Status::Ok();
  for (const client::Attr& e : *entries) {
    DFS_RETURN_IF_ERROR(Walk(fs, JoinPath(path, e.name), e, recursive, change, errors, name));
  }
  return Status::Ok();
}

// Runs `change` on every operand (and below it with -r).
Status ForEachOperand(Globals& g, const std::vector<std::string>& paths, bool recursive, const char* name,
                      const std::function<Status(client::FileSystem&, const std::string&, const client::Attr&)>& fn) {
  CatchInterrupts();
  DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
  OperandErrors errors(g);
  auto change = [&](const std::string& p, const client::Attr& a) { return fn(*fs, p, a); };
  for (const DfsOperand& op : ExpandOperands(*fs, paths, errors)) {
    auto a = fs->Stat(op.path);
    Status st = a.ok() ? CheckDirOnly(op, *a) : a.status();
    if (!errors.Add(st.WithContext(name))) break;
    if (!st.ok()) continue;
    if (!Walk(*fs, op.path, *a, recursive, change, errors, name).ok()) break;
  }
  return errors.Done();
}

// "755", "0644", or symbolic as chmod(1): [ugoa]*[+-=][rwxXst]*, comma-separated.
Result<uint32_t> ApplyModeSpec(const std::string& spec, uint32_t old, bool is_dir, uint32_t umask_bits) {
  const std::string bad = "'" + spec + "' is not a mode; write it as 755 or u+x,go-w";
  if (!spec.empty() && spec.find_first_not_of("01234567") == std::string::npos) {
    if (spec.size() > 4) return InvalidArgument(bad);
    return static_cast<uint32_t>(std::stoul(spec, nullptr, 8));
  }
  uint32_t mode = old & 07777;
  size_t i = 0;
  while (i <= spec.size()) {
    uint32_t who = 0;
    for (; i < spec.size() && strchr("ugoa", spec[i]); ++i) {
      who |= spec[i] == 'u' ? 04700 : spec[i] == 'g' ? 02070 : spec[i] == 'o' ? 01007 : 07777;
    }
    const bool masked = who == 0;  // no "who": as a, less the umask
    if (masked) who = 07777;
    if (i >= spec.size() || !strchr("+-=", spec[i])) return InvalidArgument(bad);
    while (i < spec.size() && strchr("+-=", spec[i])) {
      const char op = spec[i++];
      uint32_t bits = 0;
      for (; i < spec.size() && strchr("rwxXst", spec[i]); ++i) {
        switch (spec[i]) {
          case 'r':
            bits |= 0444;
            break;
          case 'w':
            bits |= 0222;
            break;
          case 'x':
            bits |= 0111;
            break;
          case 'X':
            if (is_dir || (mode & 0111)) bits |= 0111;
            break;
          case 's':
            bits |= 06000;
            break;
          case 't':
            bits |= 01000;
            break;
        }
      }
      bits &= who;
      if (masked) bits &= ~umask_bits;
      if (op == '+') mode |= bits;
      if (op == '-') mode &= ~bits;
      if (op == '=') mode = (mode & ~who) | bits;  // as chmod(1): =r clears all, umask or not
    }
    if (i == spec.size()) break;
    if (spec[i] != ',') return InvalidArgument(bad);
    ++i;
  }
  return mode;
}

}  // namespace

void RegisterChmod(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "chmod", "Change permission bits (755, u+x,go-w)");
  auto mode = std::make_shared<std::string>();
  auto paths = std::make_shared<std::vector<std::string>>();
  auto recursive = std::make_shared<bool>(false);
  sub->add_flag("-R,--recursive", *recursive, "Change everything below directories too");
  sub->add_option("MODE", *mode, "Octal (644) or symbolic (u+x,go-w, a=r, +X)")->required();
  sub->add_option("PATH", *paths, "Files and directories")->required();
  sub->callback([&run, &g, mode, paths, recursive] {
    run = [&g, mode, paths, recursive]() -> Status {
      const uint32_t mask = Umask();
      DFS_RETURN_IF_ERROR(ApplyModeSpec(*mode, 0, false, mask).status().WithContext("chmod"));
      return ForEachOperand(g, *paths, *recursive, "chmod",
                            [&](client::FileSystem& fs, const std::string& p, const client::Attr& a) -> Status {
                              if (client::IsSymlink(a)) return Status::Ok();  // as chmod -R: links have no mode
                              DFS_ASSIGN_OR_RETURN(uint32_t m,
                                                   ApplyModeSpec(*mode, a.mode, client::IsDirectory(a), mask));
                              proto::SetAttrReq req;
                              req.path = p;
                              req.set = proto::SetAttrReq::kMode;
                              req.mode = m;
                              return fs.SetAttr(req).status();
                            });
    };
  });
}

namespace {

// "alice", "1001", "alice:staff", ":staff", "alice:" (the user's group).
Status ParseOwner(const std::string& spec, proto::SetAttrReq* req) {
  const std::string bad = "'" + spec + "' is not an owner; write USER, USER:GROUP or :GROUP";
  size_t colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  auto number = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!user.empty()) {
    req->set |= proto::SetAttrReq::kUid;
    if (number(user)) {
      req->uid = static_cast<uint32_t>(std::stoul(user));
    } else if (struct passwd* pw = getpwnam(user.c_str())) {
      req->uid = pw->pw_uid;
      if (colon != std::string::npos && group.empty()) {
        req->set |= proto::SetAttrReq::kGid;
        req->gid = pw->pw_gid;
      }
    } else {
      return InvalidArgument("no user '" + user + "' on this system; give a number");
    }
  }
  if (!group.empty()) {
    req->set |= proto::SetAttrReq::kGid;
    if (number(group)) {
      req->gid = static_cast<uint32_t>(std::stoul(group));
    } else if (struct group* gr = getgrnam(group.c_str())) {
      req->gid = gr->gr_gid;
    } else {
      return InvalidArgument("no group '" + group + "' on this system; give a number");
    }
  }
  if (req->set == 0) return InvalidArgument(bad);
  return Status::Ok();
}

}  // namespace

void RegisterChown(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "chown", "Change owner and group (USER, USER:GROUP, :GROUP; names or numbers)");
  auto owner = std::make_shared<std::string>();
  auto paths = std::make_shared<std::vector<std::string>>();
  auto recursive = std::make_shared<bool>(false);
  sub->add_flag("-R,--recursive", *recursive, "Change everything below directories too");
  sub->add_option("OWNER", *owner, "USER, USER:GROUP or :GROUP")->required();
  sub->add_option("PATH", *paths, "Files and directories")->required();
  sub->callback([&run, &g, owner, paths, recursive] {
    run = [&g, owner, paths, recursive]() -> Status {
      proto::SetAttrReq change;
      DFS_RETURN_IF_ERROR(ParseOwner(*owner, &change).WithContext("chown"));
      return ForEachOperand(g, *paths, *recursive, "chown",
                            [&](client::FileSystem& fs, const std::string& p, const client::Attr&) -> Status {
                              proto::SetAttrReq req = change;
                              req.path = p;
                              return fs.SetAttr(req).status();
                            });
    };
  });
}

void RegisterTouch(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "touch", "Set access and modification times to now; create missing files empty");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto no_create = std::make_shared<bool>(false);
  sub->add_flag("-c,--no-create", *no_create, "Do not create missing files");
  sub->add_option("PATH", *paths, "Files")->required();
  sub->callback([&run, &g, paths, no_create] {
    run = [&g, paths, no_create]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      OperandErrors errors(g);
      client::NewEntry entry = client::NewEntry::File();
      entry.mode = 0666 & ~Umask();
      for (const std::string& w : *paths) {
        Status st = [&]() -> Status {
          DFS_ASSIGN_OR_RETURN(DfsOperand op, ParseOperand(w));
          auto a = fs->Stat(op.path);
          if (!a.ok() && a.status().code() == Code::kNotFound) {
            if (*no_create) return Status::Ok();
            if (op.dir_only) return Status(Code::kNotADirectory, op.written + ": not a directory");
            auto made = fs->CreateEmpty(op.path, entry);
            if (made.ok() || made.status().code() != Code::kAlreadyExists) return made.status();
          } else if (!a.ok()) {
            return a.status();
          } else {
            DFS_RETURN_IF_ERROR(CheckDirOnly(op, *a));
          }
          proto::SetAttrReq req;
          req.path = op.path;
          req.set = proto::SetAttrReq::kAtime | proto::SetAttrReq::kMtime;
          req.atime_ns = req.mtime_ns = NowNs();
          return fs->SetAttr(req).status();
        }();
        if (!errors.Add(st.WithContext("touch"))) break;
      }
      return errors.Done();
    };
  });
}

}  // namespace dfs::cmd
