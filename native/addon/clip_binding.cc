// N-API glue for per-sample clipping: perSampleNorms, clipAndSum(Async), clipByNorm.
#include "bindings.h"

#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "async_work.h"
#include "dpfl/kernels.h"

namespace dpfl_addon {
namespace {

// Everything one clipping call needs, as raw pointers into JS-owned memory.
struct ClipCall {
  const float* grads = nullptr;
  int64_t batch = 0;
  int64_t dim = 0;
  std::vector<int64_t> ends;
  std::vector<double> max_norms;
  float* sum = nullptr;
  float* norms = nullptr;
  float* group_norms = nullptr;
  dpfl::ClipStats stats;
};

// Reads (grads, batchSize, groupEnds|null) and re-checks that the lengths fit.
void ReadMatrix(const Napi::CallbackInfo& info, ClipCall* call, Napi::Float32Array* grads) {
  Napi::Env env = info.Env();
  *grads = Float32Arg(info, 0, "grads");
  call->grads = grads->Data();
  call->batch = IndexArg(info, 1, "batchSize");
  const int64_t len = static_cast<int64_t>(grads->ElementLength());
  if (call->batch == 0 || len == 0 || len % call->batch != 0) {
    ThrowRange(env, "grads.length must be a positive multiple of batchSize");
  }
  call->dim = len / call->batch;
  Napi::Float64Array ends = OptionalFloat64Arg(info, 2, "groups");
  if (ends.IsEmpty()) {
    call->ends = {call->dim};
  } else {
    call->ends = GroupEnds(env, ends, "groups");
  }
}

void CheckOutput(Napi::Env env, const Napi::Float32Array& a, int64_t expected, const char* name) {
  if (!a.IsEmpty()) CheckLength(env, a.ElementLength(), expected, name);
}

Napi::Value PerSampleNorms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ClipCall call;
  Napi::Float32Array grads;
  ReadMatrix(info, &call, &grads);
  Napi::Float32Array norms = Float32Arg(info, 3, "norms");
  Napi::Float32Array group_norms = OptionalFloat32Arg(info, 4, "groupNorms");
  const int64_t groups = static_cast<int64_t>(call.ends.size());
  CheckOutput(env, norms, call.batch, "norms");
  CheckOutput(env, group_norms, Product(env, call.batch, groups, "batchSize * groups"), "groupNorms");
  ThrowIfFailed(env, dpfl::per_sample_norms(call.grads, call.batch, call.dim, {call.ends.data(), groups}, norms.Data(),
                                            Data(group_norms)));
  return env.Undefined();
}

// (grads, batchSize, groups|null, maxNorms: Float64Array, sum, norms, groupNorms|null).
// held: null for the sync kernel (pointers into JS memory).
std::shared_ptr<ClipCall> ReadClipCall(const Napi::CallbackInfo& info, HeldArrays* held) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<ClipCall>();
  Napi::Float32Array grads;
  ReadMatrix(info, call.get(), &grads);
  const int64_t groups = static_cast<int64_t>(call->ends.size());
  Napi::Float64Array max_norms = Float64Arg(info, 3, "maxNorms");
  CheckLength(env, max_norms.ElementLength(), groups, "maxNorms");
  call->max_norms.assign(max_norms.Data(), max_norms.Data() + groups);
  Napi::Float32Array sum = Float32Arg(info, 4, "out");
  Napi::Float32Array norms = Float32Arg(info, 5, "norms");
  Napi::Float32Array group_norms = OptionalFloat32Arg(info, 6, "groupNorms");
  CheckOutput(env, sum, call->dim, "out");
  CheckOutput(env, norms, call->batch, "norms");
  CheckOutput(env, group_norms, Product(env, call->batch, groups, "batchSize * groups"), "groupNorms");
  if (held == nullptr) {
    call->sum = sum.Data();
    call->norms = norms.Data();
    call->group_norms = Data(group_norms);
  } else {
    using Role = HeldArrays::Role;
    call->grads = held->Hold<const float>(env, grads, Role::kIn);
    call->sum = held->Hold<float>(env, sum, Role::kOut);
    call->norms = held->Hold<float>(env, norms, Role::kOut);
    call->group_norms = group_norms.IsEmpty() ? nullptr : held->Hold<float>(env, group_norms, Role::kOut);
  }
  return call;
}

dpfl::Status RunClip(ClipCall* c) {
  return dpfl::clip_and_sum(c->grads, c->batch, c->dim, {c->ends.data(), static_cast<int64_t>(c->ends.size())},
                            c->max_norms.data(), c->sum, c->norms, c->group_norms, &c->stats);
}

Napi::Value StatsObject(Napi::Env env, const dpfl::ClipStats& stats) {
  return ClipStatsObject(env, stats.clipped, stats.non_finite);
}

Napi::Value ClipAndSum(const Napi::CallbackInfo& info) {
  std::shared_ptr<ClipCall> call = ReadClipCall(info, nullptr);
  ThrowIfFailed(info.Env(), RunClip(call.get()));
  return StatsObject(info.Env(), call->stats);
}

Napi::Value ClipAndSumAsync(const Napi::CallbackInfo& info) {
  HeldArrays held;
  std::shared_ptr<ClipCall> call = ReadClipCall(info, &held);
  return KernelWorker::Start(
      info.Env(), std::move(held), [call] { return RunClip(call.get()); },
      [call](Napi::Env env) { return StatsObject(env, call->stats); });
}

Napi::Value ClipByNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = Float32Arg(info, 0, "x");
  const double max_norm = NumberArg(info, 1, "maxNorm");
  double norm = 0.0, scale = 1.0;
  ThrowIfFailed(env, dpfl::clip_by_norm(x.Data(), static_cast<int64_t>(x.ElementLength()), max_norm, &norm, &scale));
  return NormScaleObject(env, norm, scale);
}

}  // namespace

void RegisterClip(Napi::Env env, Napi::Object exports) {
  exports.Set("perSampleNorms", Napi::Function::New(env, PerSampleNorms, "perSampleNorms"));
  exports.Set("clipAndSum", Napi::Function::New(env, ClipAndSum, "clipAndSum"));
  exports.Set("clipAndSumAsync", Napi::Function::New(env, ClipAndSumAsync, "clipAndSumAsync"));
  exports.Set("clipByNorm", Napi::Function::New(env, ClipByNorm, "clipByNorm"));
}

}  // namespace dpfl_addon
