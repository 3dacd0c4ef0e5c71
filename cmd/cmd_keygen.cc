// dfs keygen: a CURVE key pair, as ZeroMQ certificates (zcert text format):
// FILE holds both keys (mode 0600), FILE.pub the public key alone, the part
// a cluster lists to admit its holder.
#include <sys/stat.h>

#include <cstdio>

#include "cmd/cli_common.h"
#include "transport/curve.h"

namespace dfs::cmd {

void RegisterKeygen(CLI::App& app, Globals&, Runner& run) {
  auto* sub = AddSubcommand(app, "keygen", "Make a key pair: FILE (secret, 0600) and FILE.pub");
  auto file = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("FILE", *file, "Where the key pair goes")->required();
  sub->add_flag("-f,--force", *force, "Replace FILE and FILE.pub if they exist");
  sub->callback([&run, file, force] {
    run = [file, force]() -> Status {
      struct stat st;
      for (const std::string& path : {*file, *file + ".pub"}) {
        if (!*force && stat(path.c_str(), &st) == 0) {
          return Status(Code::kAlreadyExists, "keygen: " + path + " exists (-f replaces it)");
        }
      }
      DFS_ASSIGN_OR_RETURN(transport::KeyPair keys, transport::NewKeyPair());
      DFS_RETURN_IF_ERROR(transport::WriteCert(*file, keys).WithContext("keygen"));
      DFS_RETURN_IF_ERROR(transport::WriteCert(*file + ".pub", {keys.public_key, ""}).WithContext("keygen"));
      printf("%s\n", keys.public_key.c_str());
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
