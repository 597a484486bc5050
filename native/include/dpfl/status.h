// Status codes returned by every core kernel. The core never throws across its API; only the
// Node addon turns a Status into a JavaScript error.
#pragma once

namespace dpfl {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // a size, norm, weight or option outside its domain
  kEntropyUnavailable = 2,  // the OS CSPRNG could not be read (secure noise refuses to run)
  kOutOfMemory = 3,
};

struct Status {
  StatusCode code = StatusCode::kOk;
  // Static string naming the argument and the expectation; never owns memory.
  const char* message = "";

  bool ok() const { return code == StatusCode::kOk; }
  static Status Ok() { return {}; }
  static Status Invalid(const char* msg) { return {StatusCode::kInvalidArgument, msg}; }
};

}  // namespace dpfl
