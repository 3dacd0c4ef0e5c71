#include "mount/mountinfo.h"

#include <fstream>
#include <sstream>

namespace dfs::mount {
namespace {

// mountinfo writes space, tab, newline and backslash in paths as \ooo.
std::string Unescape(const std::string& s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

bool MountAt(const std::string& dir, MountEntry* found) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    // "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE ..."
    std::istringstream fields(line);
    std::string id, parent, device, root, point, word;
    fields >> id >> parent >> device >> root >> point;
    if (Unescape(point) != dir) continue;
    while (fields >> word && word != "-") {
    }
    fields >> word;
    *found = MountEntry{device, word};
    any = true;
  }
  return any;
}

}  // namespace dfs::mount
