// One AsyncWorker for every kernel: Execute runs a closure over raw pointers on a libuv thread
// (no N-API there); the JS inputs stay alive through references until the promise settles;
// OnOK resolves with a value built on the JS thread, or rejects with the Status error.
#pragma once
#include <napi.h>

#include <functional>
#include <utility>
#include <vector>

#include "args.h"
#include "dpfl/status.h"

namespace dpfl_addon {

class KernelWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<dpfl::Status()>;
  using Result = std::function<Napi::Value(Napi::Env)>;

  // keepAlive: every JS value whose memory Work touches.
  static Napi::Promise Start(Napi::Env env, const std::vector<Napi::Value>& keepAlive, Work work,
                             Result result) {
    auto* worker = new KernelWorker(env, std::move(work), std::move(result));
    for (const Napi::Value& v : keepAlive) {
      if (!v.IsEmpty() && !v.IsUndefined() && !v.IsNull()) {
        worker->refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
      }
    }
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override { status_ = work_(); }

  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) {
      deferred_.Reject(StatusError(env, status_).Value());
      return;
    }
    try {
      deferred_.Resolve(result_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  KernelWorker(Napi::Env env, Work work, Result result)
      : Napi::AsyncWorker(env, "dpfl.kernel"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Result result_;
  dpfl::Status status_;
  std::vector<Napi::ObjectReference> refs_;
};

}  // namespace dpfl_addon
