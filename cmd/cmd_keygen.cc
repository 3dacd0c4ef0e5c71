// dfs keygen: a CURVE key pair, as ZeroMQ certificates (zcert text format):
// FILE holds both keys (mode 0600), FILE.pub the public key alone. With
// --server-key, FILE also names the cluster's server key, which makes it a
// client key. Prints the key's authorized_keys line, for the meta server's
// list (docs/security.md).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "cmd/cli_common.h"
#include "core/common/identity.h"
#include "transport/curve.h"

namespace dfs::cmd {
namespace {

struct KeygenFlags {
  std::string file;
  bool force = false;
  std::string server_key;  // a certificate holding the servers' public key
  std::string role = "client";
  uint32_t uid = getuid();
  uint32_t gid = getgid();
  bool trusted = false;
};

Status Keygen(const KeygenFlags& f) {
  struct stat st;
  for (const std::string& path : {f.file, f.file + ".pub"}) {
    if (!f.force && stat(path.c_str(), &st) == 0) {
      return Status(Code::kAlreadyExists, "keygen: " + path + " exists (-f replaces it)");
    }
  }
  std::string server_public;
  if (!f.server_key.empty()) {
    DFS_ASSIGN_OR_RETURN(transport::KeyPair server, transport::ReadCert(f.server_key));
    server_public = server.public_key;
  }
  DFS_ASSIGN_OR_RETURN(transport::KeyPair keys, transport::NewKeyPair());
  DFS_RETURN_IF_ERROR(transport::WriteCert(f.file, keys, server_public).WithContext("keygen"));
  DFS_RETURN_IF_ERROR(transport::WriteCert(f.file + ".pub", {keys.public_key, ""}).WithContext("keygen"));
  Identity id;
  id.role = f.role == "admin" ? Role::kAdmin : f.role == "server" ? Role::kServer : Role::kClient;
  id.uid = f.uid;
  id.gid = f.gid;
  id.trusted = f.trusted;
  printf("%s\n", AuthorizedKeyLine(keys.public_key, id).c_str());
  return Status::Ok();
}

}  // namespace

void RegisterKeygen(CLI::App& app, Globals&, Runner& run) {
  auto* sub =
      AddSubcommand(app, "keygen", "Make a key pair: FILE (secret, 0600) and FILE.pub; print its authorized_keys line");
  auto f = std::make_shared<KeygenFlags>();
  sub->add_option("FILE", f->file, "Where the key pair goes")->required();
  sub->add_flag("-f,--force", f->force, "Replace FILE and FILE.pub if they exist");
  sub->add_option("--server-key", f->server_key,
                  "The cluster's server key (server.key or its .pub): makes FILE a client key of that cluster");
  sub->add_option("--role", f->role, "Role in the printed line: client (default), admin or server")
      ->check(CLI::IsMember({"client", "admin", "server"}));
  sub->add_option("--uid", f->uid, "uid in the printed line (default: yours)");
  sub->add_option("--gid", f->gid, "gid in the printed line (default: yours)");
  sub->add_flag("--trusted", f->trusted, "Mark the printed line trusted: a mount with it acts for the calling user");
  sub->callback([&run, f] { run = [f]() { return Keygen(*f); }; });
}

}  // namespace dfs::cmd
