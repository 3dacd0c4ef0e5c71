#include "cmd/operands.h"

#include <fnmatch.h>

#include <algorithm>

#include "core/common/path.h"

namespace dfs::cmd {

Result<DfsOperand> ParseOperand(const std::string& written) {
  DfsOperand op;
  op.written = written;
  DFS_ASSIGN_OR_RETURN(op.path, NormalizePath(written));
  op.dir_only = op.path != "/" && !written.empty() && written.back() == '/';
  return op;
}

Status CheckDirOnly(const DfsOperand& op, const client::Attr& a) {
  if (op.dir_only && !client::IsDirectory(a)) return Status(Code::kNotADirectory, op.written + ": not a directory");
  return Status::Ok();
}

namespace {

constexpr int kMaxSymlinkHops = 40;  // as the kernel's ELOOP limit

// A dfs symlink's target as a dfs path: relative to the link's directory,
// with "." and ".." resolved.
Result<std::string> ResolveTarget(const std::string& link, const std::string& target) {
  std::vector<std::string> parts;
  if (target.empty() || target[0] != '/') parts = SplitPath(ParentPath(link));
  size_t i = 0;
  while (i <= target.size()) {
    size_t j = target.find('/', i);
    if (j == std::string::npos) j = target.size();
    std::string c = target.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (const std::string& c : parts) out += "/" + c;
  return NormalizePath(out.empty() ? "/" : out);
}

}  // namespace

Result<client::Attr> StatFollowing(client::FileSystem& fs, const std::string& path) {
  const Status loop(Code::kFailedPrecondition, path + ": too many levels of symbolic links");
  std::string at = path;
  int hops = 0;
  while (true) {
    auto a = fs.Stat(at);
    if (a.ok() && !client::IsSymlink(*a)) return a;
    if (a.ok()) {
      if (++hops > kMaxSymlinkHops) return loop;
      DFS_ASSIGN_OR_RETURN(at, ResolveTarget(at, a->target));
      continue;
    }
    if (a.status().code() != Code::kNotFound && a.status().code() != Code::kNotADirectory) return a.status();
    // The meta server follows no symlink on the way: find the first
    // directory of the path that is one, and go on from its target.
    const std::vector<std::string> parts = SplitPath(at);
    std::string prefix = "/";
    bool moved = false;
    for (size_t i = 0; i + 1 < parts.size() && !moved; ++i) {
      prefix = JoinPath(prefix, parts[i]);
      auto d = fs.Stat(prefix);
      if (!d.ok()) break;  // missing here: so is the rest
      if (!client::IsSymlink(*d)) continue;
      if (++hops > kMaxSymlinkHops) return loop;
      DFS_ASSIGN_OR_RETURN(std::string target, ResolveTarget(prefix, d->target));
      for (size_t j = i + 1; j < parts.size(); ++j) target = JoinPath(target, parts[j]);
      at = target;
      moved = true;
    }
    if (!moved) return a.status();
  }
}

bool HasGlob(const std::string& path) { return path.find_first_of("*?[") != std::string::npos; }

Result<std::vector<std::string>> ExpandGlob(client::FileSystem& fs, const std::string& pattern) {
  if (!HasGlob(pattern)) return std::vector<std::string>{pattern};
  const std::vector<std::string> parts = SplitPath(pattern);
  std::vector<std::string> found = {"/"};
  for (const std::string& part : parts) {
    std::vector<std::string> next;
    for (const std::string& dir : found) {
      if (!HasGlob(part)) {
        next.push_back(JoinPath(dir, part));
        continue;
      }
      auto entries = fs.ListDir(dir);
      if (!entries.ok()) {
        // Not a directory or gone: it just matches nothing here, as in a shell.
        Code c = entries.status().code();
        if (c == Code::kNotFound || c == Code::kNotADirectory || c == Code::kPermissionDenied) continue;
        return entries.status();
      }
      for (const client::Attr& e : *entries) {
        if (fnmatch(part.c_str(), e.name.c_str(), FNM_PERIOD) == 0) next.push_back(JoinPath(dir, e.name));
      }
    }
    found = std::move(next);
    if (found.empty()) break;
  }
  // The last pattern component checked the names; plain ones after it did not.
  const bool checked = HasGlob(parts.back());
  std::vector<std::string> out;
  for (std::string& p : found) {
    if (!checked && !fs.Stat(p).ok()) continue;
    out.push_back(std::move(p));
  }
  if (out.empty()) return std::vector<std::string>{pattern};
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<DfsOperand> ExpandOperands(client::FileSystem& fs, const std::vector<std::string>& written,
                                       OperandErrors& errors) {
  std::vector<DfsOperand> out;
  for (const std::string& w : written) {
    auto op = ParseOperand(w);
    if (!errors.Add(op.status())) break;
    if (!op.ok()) continue;
    auto paths = ExpandGlob(fs, op->path);
    if (!errors.Add(paths.status())) break;
    if (!paths.ok()) continue;
    for (std::string& p : *paths) {
      DfsOperand one = *op;
      if (p != op->path) one.written = p + (op->dir_only ? "/" : "");
      one.path = std::move(p);
      out.push_back(std::move(one));
    }
  }
  return out;
}

}  // namespace dfs::cmd
