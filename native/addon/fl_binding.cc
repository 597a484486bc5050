// N-API glue for the federated-learning kernels: coordinateMedian, trimmedMean, multiKrum (Krum is
// keep = 1), bulyan (each with its Async form), quantizeFixed, dequantizeFixed, applyMask, sumMod.
// Conversion and cheap re-checks only.
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "async_work.h"
#include "bindings.h"
#include "dpfl/fl.h"

namespace dpfl_addon {
namespace {

Napi::Uint32Array Uint32Arg(const Napi::CallbackInfo& info, size_t index, const std::string& name) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    ThrowType(info.Env(), name + " must be a Uint32Array");
  }
  Napi::Uint32Array a = v.As<Napi::Uint32Array>();
  if (a.ArrayBuffer().IsDetached()) ThrowType(info.Env(), name + " must not be a detached (transferred) buffer");
  return a;
}

Napi::Uint32Array Uint32Item(Napi::Env env, Napi::Value item, const std::string& name) {
  if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    ThrowType(env, name + " must be a Uint32Array");
  }
  Napi::Uint32Array a = item.As<Napi::Uint32Array>();
  if (a.ArrayBuffer().IsDetached()) ThrowType(env, name + " must not be a detached (transferred) buffer");
  return a;
}

enum class Rule { kMedian, kTrimmedMean, kMultiKrum, kBulyan };

struct RobustCall {
  std::vector<const float*> updates;
  Rule rule = Rule::kMedian;
  int64_t dim = 0;
  int64_t trim = 0;       // trimmed mean
  int64_t byzantine = 0;  // multi-Krum, Bulyan
  int64_t keep = 1;       // multi-Krum
  float* out = nullptr;
  int64_t bad_update = -1;
  dpfl::Status status;
};

// The index of `out` among the arguments: (updates, count, [rule's integers...], out).
size_t OutIndex(Rule rule) {
  switch (rule) {
    case Rule::kMedian:
      return 2;
    case Rule::kMultiKrum:
      return 4;
    default:
      return 3;
  }
}

// (updates: Float32Array[] | Float32Array (K x D), count K, then trim (trimmed mean), byzantine
// (Bulyan) or byzantine and keep (multi-Krum; Krum is keep = 1), out). held: null for the sync kernels
// (pointers into JS memory). The core re-checks the papers' conditions on K, f and keep.
std::shared_ptr<RobustCall> ReadRobust(const Napi::CallbackInfo& info, Rule rule, HeldArrays* held) {
  Napi::Env env = info.Env();
  auto call = std::make_shared<RobustCall>();
  call->rule = rule;
  const int64_t count = IndexArg(info, 1, "count");
  if (count == 0) ThrowRange(env, "count must be positive");
  if (rule == Rule::kTrimmedMean) {
    call->trim = IndexArg(info, 2, "trim");
    if (call->trim >= count - call->trim) ThrowRange(env, "trim must be less than count / 2");
  } else if (rule != Rule::kMedian) {
    call->byzantine = IndexArg(info, 2, "byzantine");
    if (rule == Rule::kMultiKrum) call->keep = IndexArg(info, 3, "keep");
  }
  Napi::Float32Array out = Float32Arg(info, OutIndex(rule), "out");
  call->dim = static_cast<int64_t>(out.ElementLength());
  if (call->dim == 0) ThrowRange(env, "out must not be empty");
  ReadUpdates(info, 0, count, call->dim, &call->updates, held);
  call->out = held == nullptr ? out.Data() : held->Hold<float>(env, out, HeldArrays::Role::kOut);
  return call;
}

dpfl::Status RunRobust(RobustCall* c) {
  const int64_t k = static_cast<int64_t>(c->updates.size());
  const float* const* u = c->updates.data();
  switch (c->rule) {
    case Rule::kMedian:
      return dpfl::coordinate_median(u, k, c->dim, c->out, &c->bad_update);
    case Rule::kTrimmedMean:
      return dpfl::trimmed_mean(u, k, c->dim, c->trim, c->out, &c->bad_update);
    case Rule::kMultiKrum:
      return dpfl::multi_krum(u, k, c->dim, c->byzantine, c->keep, c->out, nullptr, &c->bad_update);
    case Rule::kBulyan:
      return dpfl::bulyan(u, k, c->dim, c->byzantine, c->out, nullptr, &c->bad_update);
  }
  return dpfl::Status::Invalid("unknown robust rule");
}

Napi::Value RobustSync(const Napi::CallbackInfo& info, Rule rule) {
  std::shared_ptr<RobustCall> call = ReadRobust(info, rule, nullptr);
  dpfl::Status status = RunRobust(call.get());
  if (!status.ok()) throw UpdateError(info.Env(), status, call->bad_update);
  return info[OutIndex(rule)];
}

Napi::Value RobustAsync(const Napi::CallbackInfo& info, Rule rule) {
  HeldArrays held;
  std::shared_ptr<RobustCall> call = ReadRobust(info, rule, &held);
  auto out = std::make_shared<Napi::ObjectReference>(Napi::Persistent(info[OutIndex(rule)].As<Napi::Object>()));
  return KernelWorker::Start(
      info.Env(), std::move(held),
      [call] {
        call->status = RunRobust(call.get());
        return dpfl::Status::Ok();
      },
      [call, out](Napi::Env env) -> Napi::Value {
        if (!call->status.ok()) throw UpdateError(env, call->status, call->bad_update);
        return out->Value();
      });
}

Napi::Value CoordinateMedian(const Napi::CallbackInfo& info) { return RobustSync(info, Rule::kMedian); }
Napi::Value CoordinateMedianAsync(const Napi::CallbackInfo& info) { return RobustAsync(info, Rule::kMedian); }
Napi::Value TrimmedMean(const Napi::CallbackInfo& info) { return RobustSync(info, Rule::kTrimmedMean); }
Napi::Value TrimmedMeanAsync(const Napi::CallbackInfo& info) { return RobustAsync(info, Rule::kTrimmedMean); }
Napi::Value MultiKrum(const Napi::CallbackInfo& info) { return RobustSync(info, Rule::kMultiKrum); }
Napi::Value MultiKrumAsync(const Napi::CallbackInfo& info) { return RobustAsync(info, Rule::kMultiKrum); }
Napi::Value Bulyan(const Napi::CallbackInfo& info) { return RobustSync(info, Rule::kBulyan); }
Napi::Value BulyanAsync(const Napi::CallbackInfo& info) { return RobustAsync(info, Rule::kBulyan); }

// (x: Float32Array, scale, out: Uint32Array) -> out; a bad element is named in the error.
Napi::Value QuantizeFixed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = Float32Arg(info, 0, "x");
  const double scale = NumberArg(info, 1, "scale");
  Napi::Uint32Array out = Uint32Arg(info, 2, "out");
  if (x.ElementLength() == 0) ThrowRange(env, "x must not be empty");
  CheckLength(env, out.ElementLength(), static_cast<int64_t>(x.ElementLength()), "out");
  int64_t bad = -1;
  dpfl::Status s = dpfl::quantize_fixed(x.Data(), static_cast<int64_t>(x.ElementLength()), scale, out.Data(), &bad);
  if (!s.ok() && bad >= 0) {
    Napi::RangeError error = Napi::RangeError::New(
        env, "x[" + std::to_string(bad) + "] must be finite with |round(x * scale)| < 2^31 (clip before quantising)");
    error.Set("code", Napi::String::New(env, "ERR_DPFL_INVALID_ARGUMENT"));
    error.Set("index", Napi::Number::New(env, static_cast<double>(bad)));
    throw error;
  }
  ThrowIfFailed(env, s);
  return out;
}

// (q: Uint32Array, scale, out: Float32Array) -> out
Napi::Value DequantizeFixed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint32Array q = Uint32Arg(info, 0, "q");
  const double scale = NumberArg(info, 1, "scale");
  Napi::Float32Array out = Float32Arg(info, 2, "out");
  if (q.ElementLength() == 0) ThrowRange(env, "q must not be empty");
  CheckLength(env, out.ElementLength(), static_cast<int64_t>(q.ElementLength()), "out");
  ThrowIfFailed(env, dpfl::dequantize_fixed(q.Data(), static_cast<int64_t>(q.ElementLength()), scale, out.Data()));
  return out;
}

// (x: Uint32Array, key: Uint32Array(8), stream: bigint, subtract: boolean) -> x
Napi::Value ApplyMask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint32Array x = Uint32Arg(info, 0, "x");
  Napi::Uint32Array key = Uint32Arg(info, 1, "key");
  CheckLength(env, key.ElementLength(), 8, "key");
  const uint64_t stream = Uint64Arg(info, 2, "stream");
  const bool subtract = BoolArg(info, 3, "subtract");
  if (x.ElementLength() == 0) ThrowRange(env, "x must not be empty");
  dpfl::ChaChaKey k;
  for (int i = 0; i < 8; ++i) k.k[i] = key[i];
  ThrowIfFailed(env, dpfl::apply_mask(x.Data(), static_cast<int64_t>(x.ElementLength()), k, stream, subtract));
  return x;
}

// (vectors: Uint32Array[], out: Uint32Array) -> out
Napi::Value SumMod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) ThrowType(env, "vectors must be an array of Uint32Array");
  Napi::Array list = info[0].As<Napi::Array>();
  Napi::Uint32Array out = Uint32Arg(info, 1, "out");
  if (list.Length() == 0) ThrowRange(env, "vectors must hold at least one vector");
  if (out.ElementLength() == 0) ThrowRange(env, "out must not be empty");
  std::vector<const uint32_t*> ptrs;
  for (uint32_t k = 0; k < list.Length(); ++k) {
    const std::string name = "vectors[" + std::to_string(k) + "]";
    Napi::Uint32Array v = Uint32Item(env, list.Get(k), name);
    CheckLength(env, v.ElementLength(), static_cast<int64_t>(out.ElementLength()), name);
    if (k > 0 && v.Data() == out.Data()) ThrowRange(env, name + " must not be out (only vectors[0] may alias it)");
    ptrs.push_back(v.Data());
  }
  ThrowIfFailed(env, dpfl::sum_mod(ptrs.data(), static_cast<int64_t>(ptrs.size()),
                                   static_cast<int64_t>(out.ElementLength()), out.Data()));
  return out;
}

}  // namespace

void RegisterFl(Napi::Env env, Napi::Object exports) {
  exports.Set("coordinateMedian", Napi::Function::New(env, CoordinateMedian, "coordinateMedian"));
  exports.Set("coordinateMedianAsync", Napi::Function::New(env, CoordinateMedianAsync, "coordinateMedianAsync"));
  exports.Set("trimmedMean", Napi::Function::New(env, TrimmedMean, "trimmedMean"));
  exports.Set("trimmedMeanAsync", Napi::Function::New(env, TrimmedMeanAsync, "trimmedMeanAsync"));
  exports.Set("multiKrum", Napi::Function::New(env, MultiKrum, "multiKrum"));
  exports.Set("multiKrumAsync", Napi::Function::New(env, MultiKrumAsync, "multiKrumAsync"));
  exports.Set("bulyan", Napi::Function::New(env, Bulyan, "bulyan"));
  exports.Set("bulyanAsync", Napi::Function::New(env, BulyanAsync, "bulyanAsync"));
  exports.Set("quantizeFixed", Napi::Function::New(env, QuantizeFixed, "quantizeFixed"));
  exports.Set("dequantizeFixed", Napi::Function::New(env, DequantizeFixed, "dequantizeFixed"));
  exports.Set("applyMask", Napi::Function::New(env, ApplyMask, "applyMask"));
  exports.Set("sumMod", Napi::Function::New(env, SumMod, "sumMod"));
}

}  // namespace dpfl_addon
