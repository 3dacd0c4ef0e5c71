// dfs ls: list directories, as ls(1): several operands (files first, then
// each directory under a header), dot files hidden unless -a, sorted by
// name, time (-t) or size (-S), -r reversed, -d for directories themselves.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/cli_common.h"
#include "cmd/operands.h"
#include "core/common/path.h"

namespace dfs::cmd {
namespace {

struct LsFlags {
  std::vector<std::string> paths;
  bool long_format = false;
  bool recursive = false;
  bool human = false;
  bool json = false;
  bool escape = false;
  bool all = false;
  bool directory = false;
  bool by_time = false;
  bool by_size = false;
  bool reverse = false;
  NameStyle style = NameStyle::kLiteral;
};

// An entry to show: its attributes and the name it is shown under.
struct Shown {
  client::Attr attr;
  std::string name;
  std::string path;  // full path, for JSON and recursion
};

std::string ModeString(const client::Attr& a) {
  static const char kTypes[] = "--dlpcbs";  // by FileType
  std::string s(1, a.type >= 1 && a.type <= 7 ? kTypes[a.type] : '-');
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (a.mode & (0400 >> i)) ? rwx[i] : '-';
  if (a.mode & 04000) s[3] = s[3] == 'x' ? 's' : 'S';
  if (a.mode & 02000) s[6] = s[6] == 'x' ? 's' : 'S';
  if (a.mode & 01000) s[9] = s[9] == 'x' ? 't' : 'T';
  return s;
}

void Sort(const LsFlags& f, std::vector<Shown>* list) {
  std::stable_sort(list->begin(), list->end(), [&](const Shown& x, const Shown& y) {
    if (f.by_size && x.attr.size != y.attr.size) return x.attr.size > y.attr.size;
    if (f.by_time && !f.by_size && x.attr.mtime_ns != y.attr.mtime_ns) return x.attr.mtime_ns > y.attr.mtime_ns;
    return x.name < y.name;
  });
  if (f.reverse) std::reverse(list->begin(), list->end());
}

// One group of entries, columns aligned as ls -l aligns them.
void Print(const LsFlags& f, const std::vector<Shown>& list) {
  if (!f.long_format) {
    for (const Shown& s : list) printf("%s\n", ShowName(s.name, f.style).c_str());
    return;
  }
  struct Row {
    std::string links, user, group, size;
  };
  std::vector<Row> rows;
  size_t w[4] = {0, 0, 0, 0};
  for (const Shown& s : list) {
    Row r{std::to_string(s.attr.nlink), UserName(s.attr.uid), GroupName(s.attr.gid),
          f.human ? HumanSize(s.attr.size) : std::to_string(s.attr.size)};
    w[0] = std::max(w[0], r.links.size());
    w[1] = std::max(w[1], r.user.size());
    w[2] = std::max(w[2], r.group.size());
    w[3] = std::max(w[3], r.size.size());
    rows.push_back(std::move(r));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const client::Attr& a = list[i].attr;
    const Row& r = rows[i];
    std::string target = client::IsSymlink(a) ? " -> " + ShowName(a.target, f.style) : "";
    printf("%s %*s %-*s %-*s %*s %s %s%s\n", ModeString(a).c_str(), static_cast<int>(w[0]), r.links.c_str(),
           static_cast<int>(w[1]), r.user.c_str(), static_cast<int>(w[2]), r.group.c_str(), static_cast<int>(w[3]),
           r.size.c_str(), FormatTime(a.mtime_ns).c_str(), ShowName(list[i].name, f.style).c_str(), target.c_str());
  }
}

// One entry as a JSON object. Names are exact: control characters escaped
// as JSON does (a byte sequence that is not UTF-8 shows as U+FFFD).
nlohmann::ordered_json JsonEntry(const client::Attr& a, const std::string& path) {
  char seed[24];
  snprintf(seed, sizeof seed, "%016llx", static_cast<unsigned long long>(a.placement_seed));
  nlohmann::ordered_json j = {{"path", path},     {"name", BaseName(path)}, {"type", client::TypeName(a)},
                              {"size", a.size},   {"mode", a.mode},         {"mtime_ns", a.mtime_ns},
                              {"file_id", a.fid}, {"uid", a.uid},           {"gid", a.gid},
                              {"nlink", a.nlink}};
  if (client::IsSymlink(a)) j["target"] = a.target;
  if (client::IsRegular(a)) {
    j["block_size"] = a.block_size;
    j["placement_seed"] = a.placement_seed;
    j["placement_seed_hex"] = seed;
    j["stripe_width"] = a.stripe_width;
  }
  return j;
}

class Lister {
 public:
  Lister(client::FileSystem& fs, const LsFlags& f, OperandErrors& errors) : fs_(fs), f_(f), errors_(errors) {}

  // Lists the directory `dir` (attributes `attr`), with a header if asked.
  // False when the command must stop.
  bool Directory(const std::string& dir, const client::Attr& attr, bool header) {
    auto entries = fs_.ListDir(dir);
    if (!errors_.Add(entries.status().WithContext("ls"))) return false;
    if (!entries.ok()) return true;
    std::vector<Shown> list;
    if (f_.all) {
      list.push_back({attr, ".", dir});
      auto parent = dir == "/" ? Result<client::Attr>(attr) : fs_.Stat(ParentPath(dir));
      if (parent.ok()) list.push_back({*parent, "..", ParentPath(dir)});
    }
    for (client::Attr& e : *entries) {
      if (!f_.all && !e.name.empty() && e.name[0] == '.') continue;
      std::string path = JoinPath(dir, e.name);
      std::string name = e.name;
      list.push_back({std::move(e), std::move(name), std::move(path)});
    }
    Sort(f_, &list);
    if (header && !f_.json) printf("%s%s:\n", printed_ ? "\n" : "", ShowName(dir, f_.style).c_str());
    Emit(list);
    if (!f_.recursive) return true;
    for (const Shown& s : list) {
      if (!client::IsDirectory(s.attr) || s.name == "." || s.name == "..") continue;
      if (!Directory(s.path, s.attr, true)) return false;
    }
    return true;
  }

  void Emit(const std::vector<Shown>& list) {
    printed_ = true;
    if (!f_.json) return Print(f_, list);
    for (const Shown& s : list) json_.push_back(JsonEntry(s.attr, s.path));
  }

  void PrintJson() { printf("%s\n", JsonLines(json_).c_str()); }

 private:
  client::FileSystem& fs_;
  const LsFlags& f_;
  OperandErrors& errors_;
  bool printed_ = false;
  nlohmann::ordered_json json_ = nlohmann::ordered_json::array();
};

Status RunLs(Globals& g, LsFlags& f) {
  f.style = NameStyleFor(f.escape);
  if (f.paths.empty()) f.paths.push_back("/");
  DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
  OperandErrors errors(g);
  std::vector<DfsOperand> ops = ExpandOperands(*fs, f.paths, errors);
  // Files (and with -d directories) first, as one group; then each directory.
  std::vector<Shown> files, dirs;
  for (const DfsOperand& op : ops) {
    auto a = fs->Stat(op.path);
    Status st = a.ok() ? CheckDirOnly(op, *a) : a.status();
    if (!errors.Add(st.WithContext("ls"))) return errors.Done();
    if (!st.ok()) continue;
    const bool dir = client::IsDirectory(*a) && !f.directory;
    (dir ? dirs : files).push_back({std::move(*a), op.written, op.path});
  }
  Lister lister(*fs, f, errors);
  Sort(f, &files);
  Sort(f, &dirs);
  if (!files.empty()) lister.Emit(files);
  const bool headers = f.recursive || files.size() + dirs.size() > 1 || errors.any();
  for (const Shown& d : dirs) {
    if (!lister.Directory(d.path, d.attr, headers)) break;
  }
  if (f.json) lister.PrintJson();
  return errors.Done();
}

}  // namespace

void RegisterLs(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "ls", "List directories and files");
  auto f = std::make_shared<LsFlags>();
  sub->add_option("PATH", f->paths, "Directories or files (default /); globs as '/logs/*.gz'");
  sub->add_flag("-l", f->long_format, "Long format: mode, links, owner, group, size, time, name");
  sub->add_flag("-a,--all", f->all, "Show names that start with '.', and . and ..");
  sub->add_flag("-d,--directory", f->directory, "List directories themselves, not what they hold");
  sub->add_flag("-t", f->by_time, "Newest first");
  sub->add_flag("-S", f->by_size, "Largest first");
  sub->add_flag("-r,--reverse", f->reverse, "Reverse the order");
  sub->add_flag("-R,--recursive", f->recursive, "List subdirectories too");
  sub->add_flag("-h,--human-readable", f->human, "Sizes as 1.5K, 20M");
  sub->add_flag("--json", f->json, "One JSON array of entries (docs/json-output.md)");
  sub->add_flag("-b,--escape", f->escape, "Show control characters in names as C escapes (\\n, \\ooo)");
  sub->callback([&run, &g, f] { run = [&g, f]() { return RunLs(g, *f); }; });
}

}  // namespace dfs::cmd
