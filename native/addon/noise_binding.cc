// N-API glue for Gaussian noise: addGaussianNoise(Async).
#include <memory>

#include "args.h"
#include "async_work.h"
#include "bindings.h"
#include "dpfl/kernels.h"

namespace dpfl_addon {
namespace {

struct NoiseCall {
  float* x = nullptr;
  int64_t n = 0;
  double stddev = 0.0;
  dpfl::NoiseKey key;
  uint64_t offset = 0;
};

// (x, std, seed: bigint|null (null = secure mode, key from the OS CSPRNG), stream, offset).
// held: null for the sync kernel (x used in place).
std::shared_ptr<NoiseCall> ReadNoiseCall(const Napi::CallbackInfo& info, Napi::Float32Array* x, HeldArrays* held) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<NoiseCall>();
  *x = Float32Arg(info, 0, "x");
  call->n = static_cast<int64_t>(x->ElementLength());
  call->stddev = NumberArg(info, 1, "std");
  if (info[2].IsNull() || info[2].IsUndefined()) {
    ThrowIfFailed(env, dpfl::make_secure_key(&call->key));
  } else {
    call->key.seed = Uint64Arg(info, 2, "seed");
  }
  call->key.stream = Uint64Arg(info, 3, "stream");
  call->offset = Uint64Arg(info, 4, "offset");
  call->x = held == nullptr ? x->Data() : held->Hold<float>(env, *x, HeldArrays::Role::kInOut);
  return call;
}

dpfl::Status RunNoise(NoiseCall* c) { return dpfl::add_gaussian_noise(c->x, c->n, c->stddev, c->key, c->offset); }

Napi::Value AddGaussianNoise(const Napi::CallbackInfo& info) {
  Napi::Float32Array x;
  std::shared_ptr<NoiseCall> call = ReadNoiseCall(info, &x, nullptr);
  ThrowIfFailed(info.Env(), RunNoise(call.get()));
  return x;
}

Napi::Value AddGaussianNoiseAsync(const Napi::CallbackInfo& info) {
  Napi::Float32Array x;
  HeldArrays held;
  std::shared_ptr<NoiseCall> call = ReadNoiseCall(info, &x, &held);
  auto ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(x.As<Napi::Object>()));
  return KernelWorker::Start(
      info.Env(), std::move(held), [call] { return RunNoise(call.get()); }, [ref](Napi::Env) { return ref->Value(); });
}

}  // namespace

void RegisterNoise(Napi::Env env, Napi::Object exports) {
  exports.Set("addGaussianNoise", Napi::Function::New(env, AddGaussianNoise, "addGaussianNoise"));
  exports.Set("addGaussianNoiseAsync", Napi::Function::New(env, AddGaussianNoiseAsync, "addGaussianNoiseAsync"));
}

}  // namespace dpfl_addon
