// dfs sum: the SHA-256 of each file's bytes, printed as sha256sum(1) prints
// it, so `dfs sum /f` and `dfs cat /f | sha256sum` agree.
#include <cstdio>

#include "cmd/cli_common.h"
#include "cmd/operands.h"
#include "core/common/sha256.h"

namespace dfs::cmd {
namespace {

Result<std::string> FileSha256(client::FileSystem& fs, const DfsOperand& op) {
  DFS_ASSIGN_OR_RETURN(client::Attr a, StatFollowing(fs, op.path));
  DFS_RETURN_IF_ERROR(CheckDirOnly(op, a));
  if (client::IsDirectory(a)) return Status(Code::kIsADirectory, op.written + ": is a directory");
  if (!client::IsRegular(a)) return InvalidArgument(op.written + ": is a " + client::TypeName(a) + ", not a file");
  dfs::Sha256 sha;
  DFS_RETURN_IF_ERROR(fs.Read(a, op.path, [&](const char* b, size_t n) {
    sha.Update(b, n);
    return Status::Ok();
  }));
  return sha.HexDigest();
}

}  // namespace

void RegisterSum(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "sum", "Print the SHA-256 of files, as sha256sum does");
  auto paths = std::make_shared<std::vector<std::string>>();
  sub->add_option("PATH", *paths, "Files")->required();
  sub->callback([&run, &g, paths] {
    run = [&g, paths]() -> Status {
      CatchInterrupts();
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      OperandErrors errors(g);
      for (const DfsOperand& op : ExpandOperands(*fs, *paths, errors)) {
        auto hex = FileSha256(*fs, op);
        if (hex.ok()) printf("%s  %s\n", hex->c_str(), op.written.c_str());
        if (!errors.Add(hex.status().WithContext("sum"))) break;
      }
      return errors.Done();
    };
  });
}

}  // namespace dfs::cmd
