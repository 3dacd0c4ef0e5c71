// Helpers for scripts/bench that the shell does not have:
//   bench_tool tcp [MiB]         loopback TCP throughput, MB/s
//   bench_tool run CMD ARGS...   runs a command; prints "SECONDS MAX_RSS_KIB
//                                USER_CPU_SECONDS" (user-space work, such as
//                                copies of the bytes it moves)
//                                (stdout of the command goes to /dev/null)
//   bench_tool fresh [MiB]       first touch of new memory, MB/s: what filling
//                                new page cache costs (a read through the mount
//                                fills 1 GiB of it; on a VM that returned its
//                                free pages to the host, much)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int Tcp(size_t mib) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 1) != 0) {
    perror("bench_tool tcp: bind");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  pid_t pid = fork();
  if (pid == 0) {
    int s = accept(listener, nullptr, nullptr);
    std::vector<char> buf(1 << 20);
    while (read(s, buf.data(), buf.size()) > 0) {
    }
    _exit(0);
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    perror("bench_tool tcp: connect");
    return 1;
  }
  std::vector<char> buf(1 << 20, 'x');
  auto start = Clock::now();
  for (size_t i = 0; i < mib; ++i) {
    size_t off = 0;
    while (off < buf.size()) {
      ssize_t w = write(s, buf.data() + off, buf.size() - off);
      if (w <= 0) return 1;
      off += w;
    }
  }
  close(s);
  waitpid(pid, nullptr, 0);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  printf("%.0f\n", mib * 1048576.0 / secs / 1e6);
  return 0;
}

int Fresh(size_t mib) {
  size_t bytes = mib << 20;
  auto start = Clock::now();
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("bench_tool fresh: mmap");
    return 1;
  }
  for (size_t off = 0; off < bytes; off += 4096) static_cast<volatile char*>(p)[off] = 1;
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  munmap(p, bytes);
  printf("%.0f\n", bytes / secs / 1e6);
  return 0;
}

int Run(char** argv) {
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execvp(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  printf("%.3f %ld %.3f\n", secs, ru.ru_maxrss, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "tcp") == 0) return Tcp(argc >= 3 ? std::strtoul(argv[2], nullptr, 10) : 2048);
  if (argc >= 3 && strcmp(argv[1], "run") == 0) return Run(argv + 2);
  if (argc >= 2 && strcmp(argv[1], "fresh") == 0) return Fresh(argc >= 3 ? std::strtoul(argv[2], nullptr, 10) : 1024);
  fprintf(stderr, "usage: bench_tool tcp [MiB] | bench_tool run CMD ARGS... | bench_tool fresh [MiB]\n");
  return 2;
}
