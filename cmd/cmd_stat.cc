// dfs stat: a file's metadata, and with --blocks where each block lives and
// what each holder says of its copy.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/cli_common.h"
#include "cmd/operands.h"
#include "core/common/path.h"
#include "core/common/placement.h"

namespace dfs::cmd {
namespace {

struct StatFlags {
  std::vector<std::string> paths;
  bool blocks = false;
  bool json = false;
};

std::string SeedHex(uint64_t seed) {
  char buf[24];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(seed));
  return buf;
}

// Bytes of the file that hold data (one copy): holes cost nothing.
uint64_t AllocatedBytes(const client::Attr& a) {
  if (proto::Dense(a)) return a.size;
  return std::min<uint64_t>(a.size, a.data_blocks * a.block_size);
}

std::string ReplicaState(const client::ReplicaReport& r) {
  if (!r.status.ok()) return "unreachable";
  return BlockStateName(static_cast<BlockState>(r.record.state));
}

nlohmann::ordered_json JsonOf(const std::string& path, const client::Attr& a,
                              const std::vector<client::BlockReport>& blocks, bool with_blocks) {
  nlohmann::ordered_json j = {{"path", path},           {"type", client::TypeName(a)},
                              {"file_id", a.fid},       {"size", a.size},
                              {"mode", a.mode},         {"mtime_ns", a.mtime_ns},
                              {"ctime_ns", a.ctime_ns}, {"atime_ns", a.atime_ns},
                              {"uid", a.uid},           {"gid", a.gid},
                              {"nlink", a.nlink}};
  if (client::IsSymlink(a)) j["target"] = a.target;
  if (!client::IsRegular(a)) return j;
  j["block_size"] = a.block_size;
  j["block_count"] = BlockCount(a.size, a.block_size);
  j["data_blocks"] = a.data_blocks;
  j["allocated_bytes"] = AllocatedBytes(a);
  j["placement_seed"] = a.placement_seed;
  j["placement_seed_hex"] = SeedHex(a.placement_seed);
  j["stripe_width"] = a.stripe_width;
  j["generation"] = a.generation;
  if (!with_blocks) return j;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& b : blocks) {
    nlohmann::ordered_json reps = nlohmann::ordered_json::array();
    for (const auto& r : b.replicas) {
      char crc[16];
      snprintf(crc, sizeof crc, "%08x", r.record.crc);
      reps.push_back({{"server", r.server},
                      {"state", ReplicaState(r)},
                      {"crc32c", crc},
                      {"version", r.record.version},
                      {"length", r.record.length}});
    }
    list.push_back({{"index", b.index},
                    {"offset", b.index * a.block_size},
                    {"length", BlockLength(a.size, a.block_size, b.index)},
                    {"servers", {b.replicas[0].server, b.replicas[1].server}},
                    {"replicas", reps}});
  }
  j["blocks"] = list;
  return j;
}

void PrintText(const std::string& path, const client::Attr& a, const std::vector<client::BlockReport>& blocks) {
  const bool file = client::IsRegular(a);
  printf(
      "  path: %s\n  type: %s\n  size: %llu\n  file id: %llu\n  mode: %04o\n  links: %u\n  owner: %s:%s\n"
      "  mtime: %s\n",
      path.c_str(), client::TypeName(a), static_cast<unsigned long long>(a.size),
      static_cast<unsigned long long>(a.fid), a.mode, a.nlink, UserName(a.uid).c_str(), GroupName(a.gid).c_str(),
      FormatTime(a.mtime_ns).c_str());
  if (client::IsSymlink(a)) printf("  target: %s\n", a.target.c_str());
  if (file) {
    const uint64_t holes = BlockCount(a.size, a.block_size) - std::min(a.data_blocks, BlockCount(a.size, a.block_size));
    printf("  allocated: %llu (%llu %s data", static_cast<unsigned long long>(AllocatedBytes(a)),
           static_cast<unsigned long long>(a.data_blocks), a.data_blocks == 1 ? "block holds" : "blocks hold");
    if (holes) printf("; %llu are holes, which read as zeros", static_cast<unsigned long long>(holes));
    printf(")\n");
    printf("  block size: %u\n  blocks: %llu\n  placement seed: %llu (0x%s)\n  stripe width: %u\n", a.block_size,
           static_cast<unsigned long long>(BlockCount(a.size, a.block_size)),
           static_cast<unsigned long long>(a.placement_seed), SeedHex(a.placement_seed).c_str(), a.stripe_width);
  }
  if (blocks.empty()) return;
  printf("  %-8s %-12s %-8s %s\n", "block", "bytes", "servers", "replicas (server: state crc32c version)");
  for (const auto& b : blocks) {
    std::string range =
        std::to_string(b.index * a.block_size) + "+" + std::to_string(BlockLength(a.size, a.block_size, b.index));
    std::string reps;
    for (const auto& r : b.replicas) {
      char buf[96];
      snprintf(buf, sizeof buf, "  %u: %s %08x %llu", r.server, ReplicaState(r).c_str(), r.record.crc,
               static_cast<unsigned long long>(r.record.version));
      reps += buf;
    }
    printf("  %-8llu %-12s %u,%-6u%s\n", static_cast<unsigned long long>(b.index), range.c_str(), b.replicas[0].server,
           b.replicas[1].server, reps.c_str());
  }
}

}  // namespace

void RegisterStat(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "stat", "Show metadata and block placement of files and directories");
  auto f = std::make_shared<StatFlags>();
  sub->add_option("PATH", f->paths, "Files or directories")->required();
  sub->add_flag("--blocks", f->blocks, "List every block with its servers, checksum and version");
  sub->add_flag("--json", f->json, "JSON: one object, an array of them for several paths (docs/json-output.md)");
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      OperandErrors errors(g);
      std::vector<DfsOperand> ops = ExpandOperands(*fs, f->paths, errors);
      nlohmann::ordered_json all = nlohmann::ordered_json::array();
      for (size_t i = 0; i < ops.size(); ++i) {
        std::vector<client::BlockReport> blocks;
        auto a = fs->Stat(ops[i].path);
        Status st = a.ok() ? CheckDirOnly(ops[i], *a) : a.status();
        if (st.ok() && f->blocks && client::IsRegular(*a)) {
          auto got = fs->InspectBlocks(*a);
          if (got.ok()) blocks = std::move(*got);
          st = got.status();
        }
        if (!errors.Add(st.WithContext("stat"))) break;
        if (!st.ok()) continue;
        if (f->json) {
          all.push_back(JsonOf(ops[i].path, *a, blocks, f->blocks));
        } else {
          if (i) printf("\n");
          PrintText(ops[i].path, *a, blocks);
        }
      }
      if (f->json && ops.size() == 1 && !all.empty()) printf("%s\n", JsonLines(all[0], "blocks").c_str());
      if (f->json && ops.size() > 1) {
        std::string out = "[";
        for (size_t i = 0; i < all.size(); ++i) out += (i ? ",\n" : "") + JsonLines(all[i], "blocks");
        printf("%s]\n", out.c_str());
      }
      return errors.Done();
    };
  });
}

}  // namespace dfs::cmd
