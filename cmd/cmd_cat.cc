// dfs cat, head and tail: print files, whole or their first or last bytes
// or lines.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cmd/cli_common.h"
#include "cmd/operands.h"

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

namespace {

Status ToStdout(const char* b, size_t n) { return WriteAll(1, b, n, "standard output"); }

// A file operand, symlinks followed, checked: it exists and, written with a
// trailing slash, is a directory (cat of a directory then fails as reading
// one does).
Result<client::Attr> StatOperand(client::FileSystem& fs, const DfsOperand& op) {
  DFS_ASSIGN_OR_RETURN(client::Attr a, StatFollowing(fs, op.path));
  DFS_RETURN_IF_ERROR(CheckDirOnly(op, a));
  if (client::IsDirectory(a)) return Status(Code::kIsADirectory, op.written + ": is a directory");
  if (!client::IsRegular(a)) {
    return InvalidArgument(op.written + ": is a " + client::TypeName(a) + ", not a regular file");
  }
  return a;
}

struct PartFlags {
  std::vector<std::string> paths;
  int64_t bytes = -1;  // -c N
  int64_t lines = 10;  // -n N
};

// The first `f.bytes` bytes or `f.lines` lines.
Status Head(client::FileSystem& fs, const client::Attr& a, const DfsOperand& op, const PartFlags& f) {
  if (f.bytes >= 0) return fs.Read(a, op.path, ToStdout, 0, static_cast<uint64_t>(f.bytes));
  int64_t left = f.lines;
  if (left == 0) return Status::Ok();
  static const Status kEnough(Code::kAborted, "enough lines");
  Status st = fs.Read(a, op.path, [&](const char* b, size_t n) {
    size_t take = 0;
    while (take < n && left > 0) {
      const void* nl = memchr(b + take, '\n', n - take);
      take = nl ? static_cast<const char*>(nl) - b + 1 : n;
      if (nl) --left;
    }
    DFS_RETURN_IF_ERROR(ToStdout(b, take));
    return left == 0 ? kEnough : Status::Ok();
  });
  return st.code() == Code::kAborted && st.message() == kEnough.message() ? Status::Ok() : st;
}

// The last `f.bytes` bytes or `f.lines` lines: windows read backwards from
// the end until enough newlines are seen.
Status Tail(client::FileSystem& fs, const client::Attr& a, const DfsOperand& op, const PartFlags& f) {
  if (f.bytes >= 0) {
    uint64_t n = std::min<uint64_t>(a.size, static_cast<uint64_t>(f.bytes));
    return fs.Read(a, op.path, ToStdout, a.size - n, n);
  }
  constexpr uint64_t kWindow = 64 << 10;
  std::string tail;
  uint64_t start = a.size;
  int64_t newlines = 0;
  // A last line without a newline counts as a line, as tail(1) counts.
  bool skip_last = false;
  while (start > 0) {
    uint64_t from = start > kWindow ? start - kWindow : 0;
    std::string part;
    DFS_RETURN_IF_ERROR(fs.ReadInto(a, op.path, from, start - from, &part));
    if (start == a.size && !part.empty() && part.back() == '\n') skip_last = true;
    tail = part + tail;
    start = from;
    newlines = 0;
    for (char c : tail) newlines += c == '\n';
    if (newlines - (skip_last ? 1 : 0) >= f.lines) break;
  }
  // Cut after the newline that ends the line before the last f.lines.
  int64_t keep = f.lines + (skip_last ? 1 : 0);
  size_t cut = tail.size();
  while (cut > 0 && keep > 0) {
    --cut;
    if (tail[cut] == '\n' && --keep == 0) {
      ++cut;
      break;
    }
  }
  if (keep > 0) cut = 0;
  if (f.lines == 0) cut = tail.size();
  return ToStdout(tail.data() + cut, tail.size() - cut);
}

void RegisterPart(CLI::App& app, Globals& g, Runner& run, bool head) {
  auto* sub =
      AddSubcommand(app, head ? "head" : "tail",
                    head ? "Print the first lines (or bytes) of files" : "Print the last lines (or bytes) of files");
  auto f = std::make_shared<PartFlags>();
  sub->add_option("-c,--bytes", f->bytes, "Print this many bytes")->check(CLI::NonNegativeNumber);
  sub->add_option("-n,--lines", f->lines, "Print this many lines (default 10)")->check(CLI::NonNegativeNumber);
  sub->add_option("PATH", f->paths, "Files")->required();
  sub->callback([&run, &g, f, head] {
    run = [&g, f, head]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      OperandErrors errors(g);
      const char* name = head ? "head" : "tail";
      auto ops = ExpandOperands(*fs, f->paths, errors);
      for (size_t i = 0; i < ops.size(); ++i) {
        auto a = StatOperand(*fs, ops[i]);
        if (!errors.Add(a.status().WithContext(name))) break;
        if (!a.ok()) continue;
        if (ops.size() > 1) printf("%s==> %s <==\n", i ? "\n" : "", ops[i].written.c_str());
        fflush(stdout);
        Status st = head ? Head(*fs, *a, ops[i], *f) : Tail(*fs, *a, ops[i], *f);
        if (!errors.Add(st.WithContext(name))) break;
      }
      return errors.Done();
    };
  });
}

}  // namespace

void RegisterCat(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = AddSubcommand(app, "cat", "Print files");
  auto paths = std::make_shared<std::vector<std::string>>();
  sub->add_option("PATH", *paths, "Files to print")->required();
  sub->callback([&run, &g, paths] {
    run = [&g, paths]() -> Status {
      DFS_ASSIGN_OR_RETURN(auto fs, Connect(g));
      OperandErrors errors(g);
      for (const DfsOperand& op : ExpandOperands(*fs, *paths, errors)) {
        auto a = StatOperand(*fs, op);
        Status st = a.ok() ? fs->Read(*a, op.path, ToStdout) : a.status();
        if (!errors.Add(st.WithContext("cat"))) break;
      }
      return errors.Done();
    };
  });
  RegisterPart(app, g, run, /*head=*/true);
  RegisterPart(app, g, run, /*head=*/false);
}

}  // namespace dfs::cmd
