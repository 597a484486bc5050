#include "args.h"

#include <cmath>

#include "async_work.h"

namespace dpfl_addon {
namespace {

void CheckAttached(Napi::Env env, const Napi::TypedArray& array, const char* name) {
  if (array.ArrayBuffer().IsDetached()) {
    ThrowType(env, std::string(name) + " must not be a detached (transferred) buffer");
  }
}

}  // namespace

void ThrowType(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_DPFL_INVALID_TYPE"));
  throw error;
}

void ThrowRange(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_DPFL_INVALID_ARGUMENT"));
  throw error;
}

Napi::Error StatusError(Napi::Env env, const dpfl::Status& status) {
  switch (status.code) {
    case dpfl::StatusCode::kInvalidArgument: {
      Napi::RangeError error = Napi::RangeError::New(env, status.message);
      error.Set("code", Napi::String::New(env, "ERR_DPFL_INVALID_ARGUMENT"));
      return error;
    }
    case dpfl::StatusCode::kEntropyUnavailable: {
      Napi::Error error = Napi::Error::New(env, status.message);
      error.Set("code", Napi::String::New(env, "ERR_DPFL_ENTROPY_UNAVAILABLE"));
      return error;
    }
    default: {
      Napi::Error error = Napi::Error::New(env, status.message);
      error.Set("code", Napi::String::New(env, "ERR_DPFL_OUT_OF_MEMORY"));
      return error;
    }
  }
}

void ThrowOutOfMemory(Napi::Env env, const std::string& what) {
  Napi::Error error = Napi::Error::New(env, "out of memory for " + what);
  error.Set("code", Napi::String::New(env, "ERR_DPFL_OUT_OF_MEMORY"));
  throw error;
}

int64_t Product(Napi::Env env, int64_t a, int64_t b, const char* what) {
  int64_t out = 0;
  if (!CheckedMul(a, b, &out)) {
    ThrowRange(env, std::string(what) + " must be at most 2^53 - 1, received " + std::to_string(a) + " * " +
                        std::to_string(b));
  }
  return out;
}

int64_t Sum(Napi::Env env, int64_t a, int64_t b, const char* what) {
  int64_t out = 0;
  if (!CheckedAdd(a, b, &out)) {
    ThrowRange(env, std::string(what) + " must be at most 2^53 - 1, received " + std::to_string(a) + " + " +
                        std::to_string(b));
  }
  return out;
}

void CheckLength(Napi::Env env, size_t view_length, int64_t expected, const std::string& name) {
  if (expected < 0 || static_cast<uint64_t>(view_length) != static_cast<uint64_t>(expected)) {
    ThrowRange(env, name + ".length must be " + std::to_string(expected) + ", received " + std::to_string(view_length));
  }
}

void ThrowIfFailed(Napi::Env env, const dpfl::Status& status) {
  if (!status.ok()) throw StatusError(env, status);
}

Napi::Float32Array Float32Arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowType(info.Env(), std::string(name) + " must be a Float32Array");
  }
  Napi::Float32Array array = v.As<Napi::Float32Array>();
  CheckAttached(info.Env(), array, name);
  return array;
}

Napi::Float32Array OptionalFloat32Arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info[index].IsUndefined() || info[index].IsNull()) return Napi::Float32Array();
  return Float32Arg(info, index, name);
}

Napi::Float64Array Float64Arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    ThrowType(info.Env(), std::string(name) + " must be a Float64Array");
  }
  Napi::Float64Array array = v.As<Napi::Float64Array>();
  CheckAttached(info.Env(), array, name);
  return array;
}

Napi::Float64Array OptionalFloat64Arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info[index].IsUndefined() || info[index].IsNull()) return Napi::Float64Array();
  return Float64Arg(info, index, name);
}

double NumberArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number");
  return info[index].As<Napi::Number>().DoubleValue();
}

int64_t IndexArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const double v = NumberArg(info, index, name);
  if (!(v >= 0) || v > 9007199254740991.0 || std::floor(v) != v) {
    ThrowRange(info.Env(), std::string(name) + " must be a non-negative safe integer");
  }
  return static_cast<int64_t>(v);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsBoolean()) ThrowType(info.Env(), std::string(name) + " must be a boolean");
  return info[index].As<Napi::Boolean>().Value();
}

uint64_t Uint64Arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info[index].IsBigInt()) {
    bool lossless = true;
    return info[index].As<Napi::BigInt>().Uint64Value(&lossless);  // modulo 2^64 by design
  }
  return static_cast<uint64_t>(IndexArg(info, index, name));
}

std::vector<int64_t> GroupEnds(Napi::Env env, const Napi::Float64Array& ends, const char* name) {
  std::vector<int64_t> out(ends.ElementLength());
  for (size_t i = 0; i < out.size(); ++i) {
    const double v = ends[i];
    if (!(v >= 1) || v > 9007199254740991.0 || std::floor(v) != v) {
      ThrowRange(env, std::string(name) + " must hold positive integers");
    }
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}

void ReadUpdates(const Napi::CallbackInfo& info, size_t index, int64_t count, int64_t dim,
                 std::vector<const float*>* ptrs, HeldArrays* held) {
  Napi::Env env = info.Env();
  if (dim <= 0) ThrowRange(env, "dim must be positive, received " + std::to_string(dim));
  if (info[index].IsTypedArray()) {
    Napi::Float32Array matrix = Float32Arg(info, index, "updates");
    CheckLength(env, matrix.ElementLength(), Product(env, count, dim, "count * dim"), "updates");
    const float* base = held == nullptr ? matrix.Data() : held->Hold<const float>(env, matrix, HeldArrays::Role::kIn);
    for (int64_t k = 0; k < count; ++k) ptrs->push_back(base + k * dim);
  } else if (info[index].IsArray()) {
    Napi::Array list = info[index].As<Napi::Array>();
    if (static_cast<int64_t>(list.Length()) != count) {
      ThrowRange(env,
                 "updates.length must be " + std::to_string(count) + ", received " + std::to_string(list.Length()));
    }
    for (uint32_t k = 0; k < list.Length(); ++k) {
      Napi::Value item = list.Get(k);
      const std::string name = "updates[" + std::to_string(k) + "]";
      if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        ThrowType(env, name + " must be a Float32Array");
      }
      Napi::Float32Array u = item.As<Napi::Float32Array>();
      if (u.ArrayBuffer().IsDetached()) ThrowType(env, name + " must not be a detached (transferred) buffer");
      CheckLength(env, u.ElementLength(), dim, name);
      ptrs->push_back(held == nullptr ? u.Data() : held->Hold<const float>(env, u, HeldArrays::Role::kIn));
    }
  } else {
    ThrowType(env, "updates must be an array of Float32Array or a Float32Array matrix");
  }
}

Napi::Error UpdateError(Napi::Env env, const dpfl::Status& status, int64_t bad_update) {
  if (bad_update >= 0) {
    Napi::RangeError error =
        Napi::RangeError::New(env, "updates[" + std::to_string(bad_update) + "] must contain only finite values");
    error.Set("code", Napi::String::New(env, "ERR_DPFL_NON_FINITE"));
    error.Set("index", Napi::Number::New(env, static_cast<double>(bad_update)));
    return error;
  }
  return StatusError(env, status);
}

Napi::Object ClipStatsObject(Napi::Env env, int64_t clipped, int64_t non_finite) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("clipped", Napi::Number::New(env, static_cast<double>(clipped)));
  result.Set("nonFinite", Napi::Number::New(env, static_cast<double>(non_finite)));
  return result;
}

Napi::Object NormScaleObject(Napi::Env env, double norm, double scale) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("norm", Napi::Number::New(env, norm));
  result.Set("scale", Napi::Number::New(env, scale));
  return result;
}

}  // namespace dpfl_addon
