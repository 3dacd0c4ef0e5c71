#include "core/common/path.h"

namespace dfs {

bool IsDfsUri(std::string_view arg) { return arg.substr(0, 4) == "dfs:"; }

Result<std::string> NormalizePath(std::string_view path) {
  std::string_view p = path;
  if (IsDfsUri(p)) p.remove_prefix(4);
  if (p.find('\0') != std::string_view::npos) {
    return InvalidArgument("path contains a NUL byte");
  }
  if (p.empty() || p[0] != '/') {
    return InvalidArgument("'" + std::string(path) + "': dfs paths must be absolute (start with /)");
  }
  std::string out;
  size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    size_t j = i;
    while (j < p.size() && p[j] != '/') ++j;
    if (j == i) break;
    std::string_view name = p.substr(i, j - i);
    if (name == "." || name == "..") {
      return InvalidArgument("'" + std::string(path) + "': '" + std::string(name) +
                             "' components are not allowed in dfs paths");
    }
    if (name.size() > kMaxNameLength) {
      return Status(Code::kNameTooLong, "'" + std::string(path).substr(0, 64) + "...': a name is longer than " +
                                            std::to_string(kMaxNameLength) + " bytes");
    }
    out += '/';
    out += name;
    i = j;
  }
  if (out.empty()) out = "/";
  if (out.size() > kMaxPathLength) {
    return Status(Code::kNameTooLong, "path is longer than " + std::to_string(kMaxPathLength) + " bytes");
  }
  return out;
}

std::vector<std::string> SplitPath(const std::string& normalised) {
  std::vector<std::string> parts;
  size_t i = 1;
  while (i < normalised.size()) {
    size_t j = normalised.find('/', i);
    if (j == std::string::npos) j = normalised.size();
    parts.push_back(normalised.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string ParentPath(const std::string& normalised) {
  size_t slash = normalised.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return normalised.substr(0, slash);
}

std::string BaseName(const std::string& normalised) {
  size_t slash = normalised.rfind('/');
  return slash == std::string::npos ? normalised : normalised.substr(slash + 1);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace dfs
