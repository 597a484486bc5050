// The async form of every heavy kernel: Execute runs a closure over raw pointers on a libuv thread
// (no N-API there); the completion settles the promise on the JS thread.
//
// Buffers (the rule documented in README.md, "Buffers and async kernels"): while the work runs,
// JS may detach (transfer) or shrink an ArrayBuffer it passed, and V8 then frees that memory;
// a reference keeps the JS object alive, not its memory, and N-API offers no way to pin it. So an
// async kernel never touches JS memory from the thread pool: at the call, HeldArrays copies every
// input into addon-owned memory and gives every output an addon-owned buffer; at completion the
// outputs are copied back only when every array is still attached with its length, otherwise the
// promise rejects with ERR_DPFL_DETACHED and no output is written. Views over a SharedArrayBuffer
// are used in place: such memory can be neither detached nor shrunk, and lives while referenced.
//
// Teardown: when a worker thread is terminated with work in flight, Node still runs the completion,
// but calls into JS fail there and node-addon-api would turn each failure into a C++ exception that
// nothing can catch (std::terminate). The completion is therefore raw N-API, checks every status,
// and lets no exception out; once the environment's cleanup hook has run it builds no JS value.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "args.h"
#include "dpfl/status.h"

namespace dpfl_addon {

// The JS typed arrays one async call touches, with the addon-owned memory the work uses instead.
class HeldArrays {
 public:
  enum class Role { kIn, kOut, kInOut };  // kIn: copied in; kOut: copied back; kInOut: both

  HeldArrays() = default;
  HeldArrays(HeldArrays&&) = default;
  HeldArrays& operator=(HeldArrays&&) = default;

  // JS thread, at the call: references `array` and returns the memory the work reads or writes in
  // its place (its own memory when it is backed by a SharedArrayBuffer). Throws
  // ERR_DPFL_OUT_OF_MEMORY when the copy cannot be allocated.
  void* Hold(Napi::Env env, const Napi::TypedArray& array, Role role);
  template <typename T>
  T* Hold(Napi::Env env, const Napi::TypedArray& array, Role role) {
    return static_cast<T*>(Hold(env, array, role));
  }

  // JS thread, at completion; never throws. True when every array is still attached with the byte
  // length it had at the call; then (and only then) the outputs are copied back.
  bool CopyBack(napi_env env) noexcept;

 private:
  struct BlockDeleter {  // returns a copy block to the reuse cache (async_work.cc)
    BlockDeleter() : capacity(0) {}
    explicit BlockDeleter(size_t c) : capacity(c) {}
    size_t capacity;
    void operator()(uint8_t* block) const noexcept;
  };
  struct Held {
    napi_ref ref = nullptr;
    size_t byte_length = 0;
    Role role = Role::kIn;
    void* data = nullptr;             // what the work uses
    std::unique_ptr<uint8_t, BlockDeleter> copy;  // null for SharedArrayBuffer-backed arrays (used in place)
  };
  struct RefDeleter {
    napi_env env = nullptr;
    void operator()(Held* h) const noexcept;
  };
  std::vector<std::unique_ptr<Held, RefDeleter>> held_;
};

// The error of a promise whose buffer was detached or shrunk while its work ran.
Napi::Error DetachedError(Napi::Env env);

class KernelWorker {
 public:
  using Work = std::function<dpfl::Status()>;
  // Builds the resolution value on the JS thread; may throw a Napi::Error to reject with it.
  using Result = std::function<Napi::Value(Napi::Env)>;

  // held: every array Work touches (Work must use only their held memory).
  static Napi::Promise Start(Napi::Env env, HeldArrays held, Work work, Result result);

 private:
  KernelWorker(HeldArrays held, Work work, Result result)
      : held_(std::move(held)), work_(std::move(work)), result_(std::move(result)) {}

  static void Execute(napi_env env, void* data) noexcept;
  static void Complete(napi_env env, napi_status status, void* data) noexcept;
  // Settles the promise; may throw (node-addon-api) but only before the deferred is concluded.
  void Settle(napi_env env);
  void Conclude(napi_env env, napi_value value, bool resolve) noexcept;

  napi_async_work async_ = nullptr;
  napi_deferred deferred_ = nullptr;  // null once concluded
  HeldArrays held_;
  Work work_;
  Result result_;
  dpfl::Status status_;
};

}  // namespace dpfl_addon
