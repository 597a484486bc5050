// N-API glue for per-sample clipping: perSampleNorms, clipAndSum(Async), their per-variable-blocks forms,
// clipByNorm.
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

// Everything one call over per-variable blocks needs: a pointer and a width per block.
struct BlocksCall {
  int64_t batch = 0;
  std::vector<const float*> data;
  std::vector<int64_t> widths;
  double max_norm = 0.0;
  std::vector<float*> sums;
  float* norms = nullptr;
  dpfl::ClipStats stats;
};

// A Float32Array[] argument of batch x width blocks; width = length / batch, checked. Returns the
// views (for the caller to hold) and fills data and widths.
std::vector<Napi::Float32Array> ReadBlocks(const Napi::CallbackInfo& info, size_t index, const char* name,
                                           int64_t batch, BlocksCall* call) {
  Napi::Env env = info.Env();
  if (!info[index].IsArray()) ThrowType(env, std::string(name) + " must be an array of Float32Array");
  Napi::Array list = info[index].As<Napi::Array>();
  std::vector<Napi::Float32Array> views;
  for (uint32_t k = 0; k < list.Length(); ++k) {
    Napi::Value item = list.Get(k);
    const std::string item_name = std::string(name) + "[" + std::to_string(k) + "]";
    if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ThrowType(env, item_name + " must be a Float32Array");
    }
    Napi::Float32Array v = item.As<Napi::Float32Array>();
    if (v.ArrayBuffer().IsDetached()) ThrowType(env, item_name + " must not be a detached (transferred) buffer");
    const int64_t len = static_cast<int64_t>(v.ElementLength());
    if (batch == 0 || len % batch != 0) ThrowRange(env, item_name + ".length must be a multiple of batchSize");
    views.push_back(v);
    call->data.push_back(len == 0 ? nullptr : v.Data());
    call->widths.push_back(len / batch);
  }
  return views;
}

// (blocks, batchSize, maxNorm, sums: Float32Array[], norms). held: null for the sync kernel.
std::shared_ptr<BlocksCall> ReadBlocksClipCall(const Napi::CallbackInfo& info, HeldArrays* held) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<BlocksCall>();
  call->batch = IndexArg(info, 1, "batchSize");
  std::vector<Napi::Float32Array> blocks = ReadBlocks(info, 0, "blocks", call->batch, call.get());
  call->max_norm = NumberArg(info, 2, "maxNorm");
  BlocksCall outs;
  std::vector<Napi::Float32Array> sums = ReadBlocks(info, 3, "out", 1, &outs);
  CheckLength(env, sums.size(), static_cast<int64_t>(blocks.size()), "out");
  for (size_t k = 0; k < sums.size(); ++k) {
    CheckLength(env, sums[k].ElementLength(), call->widths[k], "out[" + std::to_string(k) + "]");
  }
  Napi::Float32Array norms = Float32Arg(info, 4, "norms");
  CheckLength(env, norms.ElementLength(), call->batch, "norms");
  call->sums.resize(sums.size(), nullptr);
  if (held == nullptr) {
    for (size_t k = 0; k < sums.size(); ++k) call->sums[k] = Data(sums[k]);
    call->norms = norms.Data();
  } else {
    using Role = HeldArrays::Role;
    for (size_t k = 0; k < blocks.size(); ++k) {
      if (call->widths[k] == 0) continue;
      call->data[k] = held->Hold<const float>(env, blocks[k], Role::kIn);
      call->sums[k] = held->Hold<float>(env, sums[k], Role::kOut);
    }
    call->norms = held->Hold<float>(env, norms, Role::kOut);
  }
  return call;
}

dpfl::Status RunBlocksClip(BlocksCall* c) {
  return dpfl::clip_and_sum_blocks({c->data.data(), c->widths.data(), static_cast<int64_t>(c->data.size())}, c->batch,
                                   c->max_norm, c->sums.data(), c->norms, &c->stats);
}

// (blocks, batchSize, norms).
Napi::Value PerSampleNormsBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BlocksCall call;
  call.batch = IndexArg(info, 1, "batchSize");
  ReadBlocks(info, 0, "blocks", call.batch, &call);
  Napi::Float32Array norms = Float32Arg(info, 2, "norms");
  CheckLength(env, norms.ElementLength(), call.batch, "norms");
  ThrowIfFailed(
      env, dpfl::per_sample_norms_blocks({call.data.data(), call.widths.data(), static_cast<int64_t>(call.data.size())},
                                         call.batch, norms.Data()));
  return env.Undefined();
}

Napi::Value ClipAndSumBlocks(const Napi::CallbackInfo& info) {
  std::shared_ptr<BlocksCall> call = ReadBlocksClipCall(info, nullptr);
  ThrowIfFailed(info.Env(), RunBlocksClip(call.get()));
  return StatsObject(info.Env(), call->stats);
}

Napi::Value ClipAndSumBlocksAsync(const Napi::CallbackInfo& info) {
  HeldArrays held;
  std::shared_ptr<BlocksCall> call = ReadBlocksClipCall(info, &held);
  return KernelWorker::Start(
      info.Env(), std::move(held), [call] { return RunBlocksClip(call.get()); },
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
  exports.Set("perSampleNormsBlocks", Napi::Function::New(env, PerSampleNormsBlocks, "perSampleNormsBlocks"));
  exports.Set("clipAndSumBlocks", Napi::Function::New(env, ClipAndSumBlocks, "clipAndSumBlocks"));
  exports.Set("clipAndSumBlocksAsync", Napi::Function::New(env, ClipAndSumBlocksAsync, "clipAndSumBlocksAsync"));
  exports.Set("clipByNorm", Napi::Function::New(env, ClipByNorm, "clipByNorm"));
}

}  // namespace dpfl_addon
