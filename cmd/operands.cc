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

bool HasGlob(const std::string& path) { return path.find_first_of("*?[") != std::string::npos; }

Result<std::vector<std::string>> ExpandGlob(client::FileSystem& fs, const std::string& pattern) {
  if (!HasGlob(pattern)) return std::vector<std::string>{pattern};
  std::vector<std::string> found = {"/"};
  for (const std::string& part : SplitPath(pattern)) {
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
  std::vector<std::string> out;
  for (std::string& p : found) {
    if (!HasGlob(SplitPath(pattern).back()) && !fs.Stat(p).ok()) continue;
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
