#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace dfs {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kNotADirectory: return "not a directory";
    case Code::kIsADirectory: return "is a directory";
    case Code::kNotEmpty: return "directory not empty";
    case Code::kUnavailable: return "unavailable";
    case Code::kDeadlineExceeded: return "deadline exceeded";
    case Code::kDataLoss: return "data loss";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kAborted: return "aborted";
    case Code::kInternal: return "internal error";
    case Code::kResourceExhausted: return "resource exhausted";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kNameTooLong: return "name too long";
    case Code::kNoAttribute: return "no such attribute";
    case Code::kNotPermitted: return "operation not permitted";
    case Code::kBusy: return "busy";
    case Code::kFileTooLarge: return "file too large";
    case Code::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_.empty() ? CodeName(code_) : message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

void ValueOfError(const Status& status) {
  fprintf(stderr, "dfs: internal error: the value of a failed result was used (%s)\n", status.ToString().c_str());
  abort();
}

}  // namespace dfs
