// Errors as values. A Status carries a code that tells the caller what to do
// next (abseil-style) and a message that names the path, block and server.
// Result<T> is a Status or a value. Neither throws.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dfs {

enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,     // bad input: do not retry
  kNotFound = 2,            // no such file or directory
  kAlreadyExists = 3,
  kNotADirectory = 4,
  kIsADirectory = 5,
  kNotEmpty = 6,
  kUnavailable = 7,         // a server is down or did not answer: retry may help
  kDeadlineExceeded = 8,    // gave up waiting (--timeout)
  kDataLoss = 9,            // no good copy of a block is left
  kFailedPrecondition = 10, // the system is in a state where this cannot work
  kAborted = 11,            // restart the operation
  kInternal = 12,
  kResourceExhausted = 13,  // disk full, message too large
  kPermissionDenied = 14,
  kNameTooLong = 15,        // a name or path over NAME_MAX / PATH_MAX
  kNoAttribute = 16,        // no such extended attribute
  kNotPermitted = 17,       // not allowed for this kind of entry (EPERM)
  kBusy = 18,               // another client holds the file's write lease (EBUSY)
  kFileTooLarge = 19,       // past the largest file size (EFBIG)
  kCancelled = 20,          // the user interrupted the operation (Ctrl-C)
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Prefixes the message with context ("reading /a: ...").
  Status WithContext(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
inline Status DataLoss(std::string m) { return Status(Code::kDataLoss, std::move(m)); }

// Aborts the process: a Result's value was used although it holds `status`.
[[noreturn]] void ValueOfError(const Status& status);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(Status status) : status_(std::move(status)) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok(). Checked in every build: using the value of an error
  // aborts, naming the error, instead of reading an empty optional.
  T& value() { return *Checked(); }
  const T& value() const { return *Checked(); }
  T& operator*() { return *Checked(); }
  const T& operator*() const { return *Checked(); }
  T* operator->() { return Checked(); }
  const T* operator->() const { return Checked(); }

 private:
  T* Checked() {
    if (!value_) ValueOfError(status_);
    return &*value_;
  }
  const T* Checked() const {
    if (!value_) ValueOfError(status_);
    return &*value_;
  }

  Status status_;
  std::optional<T> value_;
};

#define DFS_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::dfs::Status _st = (expr);            \
    if (!_st.ok()) return _st;             \
  } while (0)

#define DFS_CONCAT_INNER(a, b) a##b
#define DFS_CONCAT(a, b) DFS_CONCAT_INNER(a, b)
#define DFS_ASSIGN_OR_RETURN(lhs, expr) \
  DFS_ASSIGN_OR_RETURN_IMPL(DFS_CONCAT(_res_, __LINE__), lhs, expr)
#define DFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)

}  // namespace dfs
