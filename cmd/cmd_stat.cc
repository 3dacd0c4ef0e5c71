// dfs stat: a file's metadata, and with --blocks where each block lives and
// what each holder says of its copy.
#include <cstdio>

#include "cmd/cli_common.h"
#include "core/common/path.h"
#include "core/common/placement.h"

namespace dfs::cmd {
namespace {

struct StatFlags {
  std::string path;
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

}  // namespace

void RegisterStat(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "stat", "Show a file's metadata and block placement");
  auto f = std::make_shared<StatFlags>();
  sub->add_option("PATH", f->path, "File or directory")->required();
  sub->add_flag("--blocks", f->blocks, "List every block with its servers, checksum and version");
  sub->add_flag("--json", f->json, "One JSON document (docs/json-output.md)");
  sub->callback([&run, &g, f] {
    run = [&g, f]() -> Status {
      DFS_ASSIGN_OR_RETURN(std::string path, NormalizePath(f->path));
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      auto stat = fs->Stat(path);
      if (!stat.ok()) return stat.status().WithContext("stat");
      const client::Attr& a = *stat;
      bool file = client::IsRegular(a);
      std::vector<client::BlockReport> blocks;
      if (f->blocks && file) {
        DFS_ASSIGN_OR_RETURN(blocks, fs->InspectBlocks(a));
      }
      if (f->json) {
        std::string out = "{\"path\": " + JsonString(path) + ", \"type\": \"" + client::TypeName(a) +
                          "\", \"file_id\": " + std::to_string(a.fid) + ", \"size\": " + std::to_string(a.size) +
                          ", \"mode\": " + std::to_string(a.mode) + ", \"mtime_ns\": " + std::to_string(a.mtime_ns) +
                          ", \"ctime_ns\": " + std::to_string(a.ctime_ns) +
                          ", \"atime_ns\": " + std::to_string(a.atime_ns) + ", \"uid\": " + std::to_string(a.uid) +
                          ", \"gid\": " + std::to_string(a.gid) + ", \"nlink\": " + std::to_string(a.nlink);
        if (client::IsSymlink(a)) out += ", \"target\": " + JsonString(a.target);
        if (file) {
          out += ", \"block_size\": " + std::to_string(a.block_size) +
                 ", \"block_count\": " + std::to_string(BlockCount(a.size, a.block_size)) +
                 ", \"data_blocks\": " + std::to_string(a.data_blocks) +
                 ", \"allocated_bytes\": " + std::to_string(AllocatedBytes(a)) +
                 ", \"placement_seed\": " + std::to_string(a.placement_seed) + ", \"placement_seed_hex\": \"" +
                 SeedHex(a.placement_seed) + "\", \"stripe_width\": " + std::to_string(a.stripe_width) +
                 ", \"generation\": " + std::to_string(a.generation);
        }
        if (f->blocks && file) {
          out += ", \"blocks\": [";
          for (size_t i = 0; i < blocks.size(); ++i) {
            const auto& b = blocks[i];
            out += std::string(i ? "," : "") + "\n  {\"index\": " + std::to_string(b.index) +
                   ", \"offset\": " + std::to_string(b.index * a.block_size) +
                   ", \"length\": " + std::to_string(BlockLength(a.size, a.block_size, b.index)) + ", \"servers\": [" +
                   std::to_string(b.replicas[0].server) + ", " + std::to_string(b.replicas[1].server) +
                   "], \"replicas\": [";
            for (int h = 0; h < 2; ++h) {
              const auto& r = b.replicas[h];
              char crc[16];
              snprintf(crc, sizeof crc, "%08x", r.record.crc);
              out += std::string(h ? ", " : "") + "{\"server\": " + std::to_string(r.server) + ", \"state\": \"" +
                     ReplicaState(r) + "\", \"crc32c\": \"" + crc +
                     "\", \"version\": " + std::to_string(r.record.version) +
                     ", \"length\": " + std::to_string(r.record.length) + "}";
            }
            out += "]}";
          }
          out += "\n]";
        }
        printf("%s}\n", out.c_str());
        return Status::Ok();
      }
      printf("  path: %s\n  type: %s\n  size: %llu\n  file id: %llu\n  mode: %04o\n  owner: %u:%u\n  mtime: %s\n",
             path.c_str(), client::TypeName(a), static_cast<unsigned long long>(a.size),
             static_cast<unsigned long long>(a.fid), a.mode, a.uid, a.gid, FormatTime(a.mtime_ns).c_str());
      if (client::IsSymlink(a)) printf("  target: %s\n", a.target.c_str());
      if (file) {
        const uint64_t holes =
            BlockCount(a.size, a.block_size) - std::min(a.data_blocks, BlockCount(a.size, a.block_size));
        printf("  allocated: %llu (%llu %s data", static_cast<unsigned long long>(AllocatedBytes(a)),
               static_cast<unsigned long long>(a.data_blocks), a.data_blocks == 1 ? "block holds" : "blocks hold");
        if (holes) printf("; %llu are holes, which read as zeros", static_cast<unsigned long long>(holes));
        printf(")\n");
        printf("  block size: %u\n  blocks: %llu\n  placement seed: %llu (0x%s)\n  stripe width: %u\n", a.block_size,
               static_cast<unsigned long long>(BlockCount(a.size, a.block_size)),
               static_cast<unsigned long long>(a.placement_seed), SeedHex(a.placement_seed).c_str(), a.stripe_width);
      }
      if (!blocks.empty()) {
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
          printf("  %-8llu %-12s %u,%-6u%s\n", static_cast<unsigned long long>(b.index), range.c_str(),
                 b.replicas[0].server, b.replicas[1].server, reps.c_str());
        }
      }
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
