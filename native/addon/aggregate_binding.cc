// N-API glue for aggregation: weightedSum(Async) and the streaming Aggregator class.
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "args.h"
#include "async_work.h"
#include "bindings.h"
#include "dpfl/kernels.h"

namespace dpfl_addon {
namespace {

struct SumCall {
  std::vector<const float*> updates;
  int64_t dim = 0;
  std::vector<double> weights;
  bool normalize = false;
  float* out = nullptr;
  int64_t bad_update = -1;
  dpfl::Status status;
};

// (updates: Float32Array[] | Float32Array (K x D, K = weights.length), weights: Float64Array,
//  normalize, out). held: null for the sync kernel (pointers into JS memory).
std::shared_ptr<SumCall> ReadSumCall(const Napi::CallbackInfo& info, HeldArrays* held) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<SumCall>();
  Napi::Float64Array weights = Float64Arg(info, 1, "weights");
  const size_t count = weights.ElementLength();
  if (count == 0) ThrowRange(env, "weights must hold at least one weight");
  call->weights.assign(weights.Data(), weights.Data() + count);
  call->normalize = BoolArg(info, 2, "normalize");
  Napi::Float32Array out = Float32Arg(info, 3, "out");
  call->dim = static_cast<int64_t>(out.ElementLength());
  if (call->dim == 0) ThrowRange(env, "out must not be empty");
  ReadUpdates(info, 0, static_cast<int64_t>(count), call->dim, &call->updates, held);
  call->out = held == nullptr ? out.Data() : held->Hold<float>(env, out, HeldArrays::Role::kOut);
  return call;
}

dpfl::Status RunSum(SumCall* c) {
  return dpfl::weighted_sum(c->updates.data(), static_cast<int64_t>(c->updates.size()), c->dim, c->weights.data(),
                            c->normalize, c->out, &c->bad_update);
}

Napi::Value WeightedSum(const Napi::CallbackInfo& info) {
  std::shared_ptr<SumCall> call = ReadSumCall(info, nullptr);
  dpfl::Status status = RunSum(call.get());
  if (!status.ok()) throw UpdateError(info.Env(), status, call->bad_update);
  return info[3];
}

Napi::Value WeightedSumAsync(const Napi::CallbackInfo& info) {
  HeldArrays held;
  std::shared_ptr<SumCall> call = ReadSumCall(info, &held);
  auto out = std::make_shared<Napi::ObjectReference>(Napi::Persistent(info[3].As<Napi::Object>()));
  // Failures are reported by the result step so the error can name the bad update.
  return KernelWorker::Start(
      info.Env(), std::move(held),
      [call] {
        call->status = RunSum(call.get());
        return dpfl::Status::Ok();
      },
      [call, out](Napi::Env env) -> Napi::Value {
        if (!call->status.ok()) throw UpdateError(env, call->status, call->bad_update);
        return out->Value();
      });
}

// The streaming aggregator: float64 state of one dimension, updates folded in one at a time.
class AggregatorWrap : public Napi::ObjectWrap<AggregatorWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Aggregator",
        {InstanceMethod<&AggregatorWrap::Add>("add"), InstanceMethod<&AggregatorWrap::AddMany>("addMany"),
         InstanceMethod<&AggregatorWrap::Result>("result"), InstanceMethod<&AggregatorWrap::Reset>("reset"),
         InstanceAccessor<&AggregatorWrap::Count>("count"),
         InstanceAccessor<&AggregatorWrap::TotalWeight>("totalWeight"), InstanceAccessor<&AggregatorWrap::Dim>("dim")});
  }

  explicit AggregatorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AggregatorWrap>(info) {
    const int64_t dim = IndexArg(info, 0, "dim");
    if (dim == 0) ThrowRange(info.Env(), "dim must be a positive integer");
    try {
      acc_ = std::make_unique<dpfl::Accumulator>(dim);
    } catch (const std::bad_alloc&) {
      ThrowOutOfMemory(info.Env(), "an Aggregator of dim " + std::to_string(dim));
    } catch (const std::length_error&) {
      ThrowOutOfMemory(info.Env(), "an Aggregator of dim " + std::to_string(dim));
    }
  }

 private:
  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Float32Array update = Float32Arg(info, 0, "update");
    const double weight = NumberArg(info, 1, "weight");
    CheckLength(info.Env(), update.ElementLength(), acc_->dim(), "update");
    ThrowIfFailed(info.Env(), acc_->add(update.Data(), static_cast<int64_t>(update.ElementLength()), weight));
    return info.Env().Undefined();
  }
  // (updates: Float32Array[] | K x dim Float32Array, weights: Float64Array)
  Napi::Value AddMany(const Napi::CallbackInfo& info) {
    Napi::Float64Array weights = Float64Arg(info, 1, "weights");
    std::vector<const float*> ptrs;
    ReadUpdates(info, 0, static_cast<int64_t>(weights.ElementLength()), acc_->dim(), &ptrs, nullptr);
    int64_t bad = -1;
    const dpfl::Status status = acc_->add_many(ptrs.data(), weights.Data(), static_cast<int64_t>(ptrs.size()), &bad);
    if (!status.ok()) throw UpdateError(info.Env(), status, bad);
    return info.Env().Undefined();
  }
  // (normalize, out)
  Napi::Value Result(const Napi::CallbackInfo& info) {
    const bool normalize = BoolArg(info, 0, "normalize");
    Napi::Float32Array out = Float32Arg(info, 1, "out");
    CheckLength(info.Env(), out.ElementLength(), acc_->dim(), "out");
    ThrowIfFailed(info.Env(), acc_->result(normalize, out.Data()));
    return out;
  }
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    acc_->reset();
    return info.Env().Undefined();
  }
  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(acc_->count()));
  }
  Napi::Value TotalWeight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), acc_->total_weight());
  }
  Napi::Value Dim(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(acc_->dim()));
  }

  std::unique_ptr<dpfl::Accumulator> acc_;
};

}  // namespace

void RegisterAggregate(Napi::Env env, Napi::Object exports) {
  exports.Set("weightedSum", Napi::Function::New(env, WeightedSum, "weightedSum"));
  exports.Set("weightedSumAsync", Napi::Function::New(env, WeightedSumAsync, "weightedSumAsync"));
  exports.Set("Aggregator", AggregatorWrap::Define(env));
}

}  // namespace dpfl_addon
