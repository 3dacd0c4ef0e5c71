// dfs ls: list directories.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/cli_common.h"
#include "core/common/path.h"

namespace dfs::cmd {
namespace {

struct LsFlags {
  std::string path = "/";
  bool long_format = false;
  bool recursive = false;
  bool human = false;
  bool json = false;
  bool escape = false;
  NameStyle style = NameStyle::kLiteral;
};

std::string ModeString(const client::Attr& a) {
  static const char kTypes[] = "--dlpcbs";  // by FileType
  std::string s(1, a.type >= 1 && a.type <= 7 ? kTypes[a.type] : '-');
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (a.mode & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

void PrintEntry(const LsFlags& f, const client::Attr& a, const std::string& raw_name) {
  const std::string name = ShowName(raw_name, f.style);
  if (!f.long_format) {
    printf("%s\n", name.c_str());
    return;
  }
  std::string size = f.human ? HumanSize(a.size) : std::to_string(a.size);
  std::string target = client::IsSymlink(a) ? " -> " + ShowName(a.target, f.style) : "";
  printf("%s %5u %5u %8s %s %s%s\n", ModeString(a).c_str(), a.uid, a.gid, size.c_str(), FormatTime(a.mtime_ns).c_str(),
         name.c_str(), target.c_str());
}

// One entry as a JSON object, on one line. Names are exact: control
// characters escaped as JSON does (a byte sequence that is not UTF-8 shows
// as U+FFFD).
std::string JsonEntry(const client::Attr& a, const std::string& path) {
  char seed[24];
  snprintf(seed, sizeof seed, "%016llx", static_cast<unsigned long long>(a.placement_seed));
  nlohmann::ordered_json j = {{"path", path},     {"name", BaseName(path)}, {"type", client::TypeName(a)},
                              {"size", a.size},   {"mode", a.mode},         {"mtime_ns", a.mtime_ns},
                              {"file_id", a.fid}, {"uid", a.uid},           {"gid", a.gid}};
  if (client::IsSymlink(a)) j["target"] = a.target;
  if (client::IsRegular(a)) {
    j["block_size"] = a.block_size;
    j["placement_seed"] = a.placement_seed;
    j["placement_seed_hex"] = seed;
    j["stripe_width"] = a.stripe_width;
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Status List(client::FileSystem& fs, const LsFlags& f, const std::string& dir, bool header,
            std::vector<std::string>* json) {
  DFS_ASSIGN_OR_RETURN(auto entries, fs.ListDir(dir));
  if (header && !f.json) printf("%s:\n", ShowName(dir, f.style).c_str());
  for (const auto& e : entries) {
    if (f.json) {
      json->push_back(JsonEntry(e, JoinPath(dir, e.name)));
    } else {
      PrintEntry(f, e, e.name);
    }
  }
  if (f.recursive) {
    for (const auto& e : entries) {
      if (!client::IsDirectory(e)) continue;
      if (!f.json) printf("\n");
      DFS_RETURN_IF_ERROR(List(fs, f, JoinPath(dir, e.name), true, json));
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterLs(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "ls", "List a directory");
  auto f = std::make_shared<LsFlags>();
  sub->add_option("PATH", f->path, "Directory or file (default /)");
  sub->add_flag("-l", f->long_format, "Long format: mode, size, time, name");
  sub->add_flag("-R,--recursive", f->recursive, "List subdirectories too");
  sub->add_flag("-h,--human-readable", f->human, "Sizes as 1.5K, 20M");
  sub->add_flag("--json", f->json, "One JSON document (docs/json-output.md)");
  sub->add_flag("-b,--escape", f->escape, "Show control characters in names as C escapes (\\n, \\ooo)");
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      DFS_ASSIGN_OR_RETURN(std::string path, NormalizePath(f->path));
      f->style = NameStyleFor(f->escape);
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      auto stat = fs->Stat(path);
      if (!stat.ok()) return stat.status().WithContext("ls");
      const client::Attr& attr = *stat;
      std::vector<std::string> json;
      if (!client::IsDirectory(attr)) {
        if (f->json) {
          json.push_back(JsonEntry(attr, path));
        } else {
          PrintEntry(*f, attr, path);
        }
      } else {
        DFS_RETURN_IF_ERROR(List(*fs, *f, path, f->recursive, &json).WithContext("ls"));
      }
      if (f->json) {
        printf("[");
        for (size_t i = 0; i < json.size(); ++i) printf("%s\n  %s", i ? "," : "", json[i].c_str());
        printf("%s]\n", json.empty() ? "" : "\n");
      }
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
