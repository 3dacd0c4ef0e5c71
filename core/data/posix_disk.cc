// The real disk: POSIX files, pread/pwrite, SEEK_DATA, fallocate, fdatasync, syncfs.
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/data/disk.h"

namespace dfs::data {
namespace {

Status IoError(const std::string& what) {
  std::string msg = what + ": " + strerror(errno);
  if (errno == ENOSPC || errno == EDQUOT) return Status(Code::kResourceExhausted, msg);
  if (errno == EFBIG) return Status(Code::kFileTooLarge, msg + " (past what this server's file system holds)");
  if (errno == ENOENT) return NotFound(msg);
  if (errno == EEXIST) return Status(Code::kAlreadyExists, msg);
  return Internal(msg);
}

// `call` (fsync, syncfs) on directory `dir`.
Status OnDirectory(const std::string& dir, int (*call)(int), const char* what) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open " + dir);
  int rc = call(fd);
  int err = errno;
  close(fd);
  errno = err;  // IoError says what the call failed with
  if (rc != 0) return IoError(std::string(what) + " " + dir);
  return Status::Ok();
}

class PosixFile : public DiskFile {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { close(fd_); }

  Status Sync() override {
    if (fdatasync(fd_) != 0) return IoError("fdatasync " + path_);
    return Status::Ok();
  }

  Status Write(uint64_t offset, const char* p, size_t n) override {
    while (n > 0) {
      ssize_t w = pwrite(fd_, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return IoError("write " + path_);
      }
      p += w;
      n -= static_cast<size_t>(w);
      offset += static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }

  Status Read(uint64_t offset, char* p, size_t n) override {
    while (n > 0) {
      ssize_t r = pread(fd_, p, n, static_cast<off_t>(offset));
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoError("read " + path_);
      }
      if (r == 0) {
        memset(p, 0, n);
        break;
      }
      p += r;
      n -= static_cast<size_t>(r);
      offset += static_cast<uint64_t>(r);
    }
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return IoError("stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

  uint64_t NextData(uint64_t offset) override {
    off_t data = lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
    if (data >= 0) return static_cast<uint64_t>(data);
    auto size = Size();
    return size.ok() ? *size : offset;
  }

  void Punch(uint64_t offset, uint64_t length) override {
    (void)fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(length));
  }

  bool Unlinked() override {
    struct stat st;
    return fstat(fd_, &st) != 0 || st.st_nlink == 0;
  }

 private:
  int fd_;
  std::string path_;
};

class Posix : public Disk {
 public:
  Result<std::unique_ptr<DiskFile>> Open(const std::string& path, OpenMode mode) override {
    int flags = O_RDWR | O_CLOEXEC;
    if (mode == OpenMode::kCreate) flags |= O_CREAT;
    if (mode == OpenMode::kCreateNew) flags |= O_CREAT | O_EXCL;
    int fd = open(path.c_str(), flags, 0644);
    if (fd < 0) return IoError("open " + path);
    return std::unique_ptr<DiskFile>(new PosixFile(fd, path));
  }

  Status MakeDirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Internal("cannot create " + dir + ": " + ec.message());
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) return IoError("rename " + from + " to " + to);
    utimes(to.c_str(), nullptr);
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return IoError("remove " + path);
    return Status::Ok();
  }

  bool Exists(const std::string& path) override { return access(path.c_str(), F_OK) == 0; }

  std::vector<DiskEntry> List(const std::string& dir, bool recursive) override {
    std::vector<DiskEntry> out;
    ListInto(dir, recursive, &out);
    return out;
  }

  Status SyncAll(const std::string& dir) override { return OnDirectory(dir, syncfs, "syncfs"); }
  Status SyncDir(const std::string& dir) override { return OnDirectory(dir, fsync, "fsync"); }

  DiskSpace Space(const std::string& dir) override {
    DiskSpace s;
    struct statvfs v;
    if (statvfs(dir.c_str(), &v) == 0) {
      s.free = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
      s.total = static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
    }
    return s;
  }

  Result<std::string> ReadWhole(const std::string& path) override {
    DFS_ASSIGN_OR_RETURN(auto f, Open(path, OpenMode::kExisting));
    DFS_ASSIGN_OR_RETURN(uint64_t size, f->Size());
    std::string bytes(size, '\0');
    DFS_RETURN_IF_ERROR(f->Read(0, bytes.data(), bytes.size()));
    return bytes;
  }

  Status WriteWhole(const std::string& path, const std::string& bytes) override {
    std::string tmp = path + ".tmp";
    {
      DFS_ASSIGN_OR_RETURN(auto f, Open(tmp, OpenMode::kCreate));
      DFS_RETURN_IF_ERROR(f->Write(0, bytes.data(), bytes.size()));
    }
    if (truncate(tmp.c_str(), static_cast<off_t>(bytes.size())) != 0) return IoError("truncate " + tmp);
    if (rename(tmp.c_str(), path.c_str()) != 0) return IoError("rename " + tmp);
    return Status::Ok();
  }

 private:
  static void ListInto(const std::string& dir, bool recursive, std::vector<DiskEntry>* out) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) continue;
      std::string path = dir + "/" + e->d_name;
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        if (recursive) ListInto(path, true, out);
      } else if (S_ISREG(st.st_mode)) {
        out->push_back({path, static_cast<uint64_t>(st.st_blocks) * 512,
                        int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec});
      }
    }
    closedir(d);
  }
};

}  // namespace

Disk* PosixDisk() {
  static Posix* disk = new Posix;
  return disk;
}

}  // namespace dfs::data
