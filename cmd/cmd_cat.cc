// dfs cat: print files.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cmd/cli_common.h"

namespace dfs::cmd {

// Writes all bytes to a file descriptor.
Status WriteAll(int fd, const char* p, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status(errno == ENOSPC ? Code::kResourceExhausted : Code::kInternal,
                    "writing " + what + ": " + strerror(errno));
    }
    p += w;
    n -= w;
  }
  return Status::Ok();
}

void RegisterCat(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "cat", "Print files");
  auto paths = std::make_shared<std::vector<std::string>>();
  sub->add_option("PATH", *paths, "Files to print")->required();
  sub->callback([&run, &g, paths] {
    run = [&g, paths]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      for (const std::string& p : *paths) {
        DFS_RETURN_IF_ERROR(fs->Read(p, [](const char* b, size_t n) { return WriteAll(1, b, n, "standard output"); })
                                .WithContext("cat"));
      }
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
