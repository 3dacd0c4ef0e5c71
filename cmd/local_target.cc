#include "cmd/local_target.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cmd/cli_common.h"

namespace dfs::cmd {
namespace {

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string NameOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<LocalTarget> LocalTarget::Open(const std::string& dest, mode_t new_mode) {
  LocalTarget t;
  t.path_ = dest;
  struct stat st;
  bool exists = stat(dest.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return Status(Code::kIsADirectory, dest + ": is a directory");
  if (exists && !S_ISREG(st.st_mode)) {
    // /dev/null, a FIFO, a terminal: nothing to replace, just write.
    t.in_place_ = true;
    t.fd_ = open(dest.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (t.fd_ < 0) return ErrnoStatus(dest);
    return t;
  }
  if (exists) {
    // A symlink to a file: the file is what gets replaced.
    if (char* real = realpath(dest.c_str(), nullptr)) {
      t.path_ = real;
      free(real);
    }
  }
  const mode_t mode = exists ? (st.st_mode & 07777) : (new_mode & 07777);
  const std::string dir = DirOf(t.path_);
  t.fd_ = open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (t.fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string tmpl = dir + "/." + NameOf(t.path_) + ".dfs-XXXXXX";
    t.fd_ = mkostemp(tmpl.data(), O_CLOEXEC);
    if (t.fd_ >= 0) t.temp_name_ = tmpl;
  }
  if (t.fd_ < 0) return ErrnoStatus(dest);
  // O_TMPFILE and mkostemp apply the umask or 0600: the destination's mode
  // (or a new file's mode less the umask) is wanted.
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(t.fd_, exists ? mode : mode & ~mask);
  return t;
}

LocalTarget::LocalTarget(LocalTarget&& o) noexcept
    : path_(std::move(o.path_)),
      temp_name_(std::move(o.temp_name_)),
      in_place_(o.in_place_),
      fd_(o.fd_),
      committed_(o.committed_) {
  o.fd_ = -1;
  o.temp_name_.clear();
}

LocalTarget::~LocalTarget() {
  if (fd_ >= 0) close(fd_);
  if (!committed_ && !temp_name_.empty()) unlink(temp_name_.c_str());
}

Status LocalTarget::Commit() {
  int fd = fd_;
  fd_ = -1;
  if (in_place_) {
    committed_ = true;
    if (close(fd) != 0) return ErrnoStatus("closing " + path_);
    return Status::Ok();
  }
  std::string temp = temp_name_;
  if (temp.empty()) {
    // Give the unnamed file a hidden name, then rename it into place.
    temp = DirOf(path_) + "/." + NameOf(path_) + ".dfs-" + std::to_string(getpid());
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    unlink(temp.c_str());
    if (linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      Status st = ErrnoStatus("linking the copy of " + path_);
      close(fd);
      return st;
    }
    temp_name_ = temp;
  }
  if (close(fd) != 0) return ErrnoStatus("closing " + temp);
  if (rename(temp.c_str(), path_.c_str()) != 0) return ErrnoStatus("renaming " + temp + " to " + path_);
  committed_ = true;
  temp_name_.clear();
  return Status::Ok();
}

}  // namespace dfs::cmd
