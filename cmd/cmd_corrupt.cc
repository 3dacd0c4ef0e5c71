// dfs corrupt: the corruption simulator. Changes stored bytes of one block on
// one data server without touching its checksum, and says what it changed.
#include <cstdio>
#include <random>

#include "cmd/cli_common.h"
#include "core/common/path.h"
#include "core/common/placement.h"

namespace dfs::cmd {
namespace {

struct CorruptFlags {
  std::string path;
  uint32_t server = 0;
  int64_t block = -1;   // -1: random among the blocks the server holds
  int64_t offset = -1;  // -1: random
  uint32_t bytes = 1;
};

std::string Hex(const std::string& bytes) {
  std::string out;
  char buf[4];
  for (unsigned char c : bytes) {
    snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

Status RunCorrupt(const Globals& g, const CorruptFlags& f) {
  DFS_ASSIGN_OR_RETURN(std::string path, NormalizePath(f.path));
  DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
  auto stat = fs->Stat(path);
  if (!stat.ok()) return stat.status().WithContext("corrupt");
  const client::Attr& a = *stat;
  if (client::IsDirectory(a)) return Status(Code::kIsADirectory, "corrupt: " + path + ": is a directory");
  if (!client::IsRegular(a)) return InvalidArgument("corrupt: " + path + ": not a regular file");
  if (f.server >= fs->map().servers.size()) {
    return InvalidArgument("corrupt: no data server " + std::to_string(f.server) + " (the cluster has " +
                           std::to_string(fs->map().servers.size()) + ")");
  }
  uint64_t count = BlockCount(a.size, a.block_size);
  std::random_device rd;
  std::mt19937_64 rng(rd());
  uint64_t block;
  if (f.block >= 0) {
    block = static_cast<uint64_t>(f.block);
    if (block >= count) {
      return InvalidArgument("corrupt: " + path + " has " + std::to_string(count) + " blocks; there is no block " +
                             std::to_string(block));
    }
    if (!HoldsBlock(a.placement_seed, a.stripe_width, f.server, block)) {
      ReplicaPair p = PlaceBlock(a.placement_seed, a.stripe_width, block);
      return Status(Code::kNotFound, "corrupt: server " + std::to_string(f.server) + " does not hold block " +
                                         std::to_string(block) + " of " + path + " (servers " +
                                         std::to_string(p.first) + " and " + std::to_string(p.second) + " do)");
    }
  } else {
    std::vector<uint64_t> held;
    for (uint64_t i = 0; i < count; ++i) {
      if (HoldsBlock(a.placement_seed, a.stripe_width, f.server, i)) held.push_back(i);
    }
    if (held.empty()) {
      return Status(Code::kNotFound, "corrupt: server " + std::to_string(f.server) + " holds no block of " + path);
    }
    block = held[rng() % held.size()];
  }
  uint32_t length = BlockLength(a.size, a.block_size, block);
  if (f.bytes == 0 || f.bytes > length) {
    return InvalidArgument("corrupt: block " + std::to_string(block) + " is " + std::to_string(length) +
                           " bytes; --bytes must be 1.." + std::to_string(length));
  }
  if (f.offset >= 0 && static_cast<uint64_t>(f.offset) + f.bytes > length) {
    return InvalidArgument("corrupt: block " + std::to_string(block) + " is " + std::to_string(length) + " bytes; " +
                           std::to_string(f.bytes) + " at offset " + std::to_string(f.offset) + " does not fit");
  }
  uint32_t offset =
      f.offset >= 0 ? static_cast<uint32_t>(f.offset) : static_cast<uint32_t>(rng() % (length - f.bytes + 1));
  auto done = fs->Corrupt(a, f.server, block, offset, f.bytes);
  if (!done.ok()) return done.status().WithContext("corrupt " + path);
  if (!g.quiet) {
    printf("corrupted %s block %llu on server %u (%s): %u byte%s at offset %u: %s -> %s\n", path.c_str(),
           static_cast<unsigned long long>(done->block), f.server, fs->map().servers[f.server].c_str(), f.bytes,
           f.bytes == 1 ? "" : "s", done->offset, Hex(done->old_bytes).c_str(), Hex(done->new_bytes).c_str());
  }
  return Status::Ok();
}

}  // namespace

void RegisterCorrupt(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "corrupt", "Corruption simulator: change stored bytes of a block on one server");
  auto f = std::make_shared<CorruptFlags>();
  sub->add_option("--server", f->server, "Data server index")->required();
  sub->add_option("PATH", f->path, "File")->required();
  sub->add_option("--block", f->block, "Block index (default: a random block the server holds)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--offset", f->offset, "Byte offset in the block (default: random)")->check(CLI::NonNegativeNumber);
  sub->add_option("--bytes", f->bytes, "How many bytes to change (default 1)");
  sub->callback([&run, &g, f] { run = [&g, f]() { return RunCorrupt(g, *f); }; });
}

}  // namespace dfs::cmd
