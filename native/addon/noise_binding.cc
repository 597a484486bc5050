// N-API glue for Gaussian noise: addGaussianNoise(Async).
#include <memory>
#if defined(_MSC_VER)
#include <intrin.h>
#endif

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

// The key of (seed: bigint|null, stream, offset) at info[first ..]: null seed = a fresh secure key.
dpfl::NoiseKey ReadKey(const Napi::CallbackInfo& info, size_t first) {
  dpfl::NoiseKey key;
  if (info[first].IsNull() || info[first].IsUndefined()) {
    ThrowIfFailed(info.Env(), dpfl::make_secure_key(&key));
  } else {
    key.seed = Uint64Arg(info, first, "seed");
  }
  key.stream = Uint64Arg(info, first + 1, "stream");
  return key;
}

// True when the typed array's memory is a SharedArrayBuffer's (written in place by async work).
bool IsShared(Napi::Env env, const Napi::TypedArray& array) {
  napi_value buffer = nullptr;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  bool plain = true;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset), false);
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, buffer, &plain), false);
  return !plain;
}

// A store the JS thread's Atomics.load sees after every earlier write of this thread.
void StoreRelease(int32_t* p, int32_t v) {
#if defined(_MSC_VER)
  _InterlockedExchange(reinterpret_cast<volatile long*>(p), v);  // a full barrier on x86 and ARM64
#else
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
#endif
}

// gaussianNormals(out: Float64Array, seed, stream, offset): out[i] = N(offset + i), unscaled.
Napi::Value GaussianNormals(const Napi::CallbackInfo& info) {
  Napi::Float64Array out = Float64Arg(info, 0, "out");
  const dpfl::NoiseKey key = ReadKey(info, 1);
  const uint64_t offset = Uint64Arg(info, 3, "offset");
  ThrowIfFailed(info.Env(), dpfl::gaussian_normals(out.Data(), static_cast<int64_t>(out.ElementLength()), key, offset));
  return out;
}

// gaussianNormalsAsync(out, seed, stream, offset, done: Int32Array): the same on a worker thread,
// without the core's pool (it runs beside the caller's pooled kernels). out and done must live in
// SharedArrayBuffers: the worker writes out in place, then stores done[0] = 1 (2 on failure) with
// release order, so the JS thread can see completion (Atomics.load) before the promise settles.
Napi::Value GaussianNormalsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array out = Float64Arg(info, 0, "out");
  Napi::Value done_value = info[4];
  if (!done_value.IsTypedArray() || done_value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      done_value.As<Napi::TypedArray>().ElementLength() < 1) {
    ThrowType(env, "done must be an Int32Array of length >= 1");
  }
  Napi::Int32Array done = done_value.As<Napi::Int32Array>();
  if (!IsShared(env, out)) ThrowType(env, "out must be backed by a SharedArrayBuffer");
  if (!IsShared(env, done)) ThrowType(env, "done must be backed by a SharedArrayBuffer");
  struct Call {
    double* out = nullptr;
    int64_t n = 0;
    dpfl::NoiseKey key;
    uint64_t offset = 0;
    int32_t* done = nullptr;
  };
  auto call = std::make_shared<Call>();
  call->key = ReadKey(info, 1);
  call->offset = Uint64Arg(info, 3, "offset");
  call->n = static_cast<int64_t>(out.ElementLength());
  HeldArrays held;  // references only: shared memory is used in place
  call->out = held.Hold<double>(env, out, HeldArrays::Role::kOut);
  call->done = held.Hold<int32_t>(env, done, HeldArrays::Role::kInOut);
  auto ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(out.As<Napi::Object>()));
  return KernelWorker::Start(
      env, std::move(held),
      [call] {
        const dpfl::Status status = dpfl::gaussian_normals(call->out, call->n, call->key, call->offset);
        call->key = dpfl::NoiseKey{};  // the secure key is not kept once its samples are drawn
        StoreRelease(call->done, status.ok() ? 1 : 2);
        return status;
      },
      [ref](Napi::Env) { return ref->Value(); });
}

// addScaledNormals(x: Float32Array, z: Float64Array, std): x[i] = (float)(x[i] + std * z[i]).
Napi::Value AddScaledNormals(const Napi::CallbackInfo& info) {
  Napi::Float32Array x = Float32Arg(info, 0, "x");
  Napi::Float64Array z = Float64Arg(info, 1, "z");
  const double stddev = NumberArg(info, 2, "std");
  CheckLength(info.Env(), z.ElementLength(), static_cast<int64_t>(x.ElementLength()), "z");
  ThrowIfFailed(info.Env(),
                dpfl::add_scaled_normals(x.Data(), z.Data(), static_cast<int64_t>(x.ElementLength()), stddev));
  return x;
}

}  // namespace

void RegisterNoise(Napi::Env env, Napi::Object exports) {
  exports.Set("addGaussianNoise", Napi::Function::New(env, AddGaussianNoise, "addGaussianNoise"));
  exports.Set("addGaussianNoiseAsync", Napi::Function::New(env, AddGaussianNoiseAsync, "addGaussianNoiseAsync"));
  exports.Set("gaussianNormals", Napi::Function::New(env, GaussianNormals, "gaussianNormals"));
  exports.Set("gaussianNormalsAsync", Napi::Function::New(env, GaussianNormalsAsync, "gaussianNormalsAsync"));
  exports.Set("addScaledNormals", Napi::Function::New(env, AddScaledNormals, "addScaledNormals"));
}

}  // namespace dpfl_addon
