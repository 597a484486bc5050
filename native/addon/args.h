// Argument conversion and errors for the N-API glue. The TypeScript layer validates everything
// first; these re-checks exist because anyone can load the .node file directly, and they are
// cheap: types, lengths (every product of sizes checked, see checked_size.h), detached buffers.
// No math here.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "checked_size.h"
#include "dpfl/status.h"

namespace dpfl_addon {

class HeldArrays;

// Throws a JS TypeError (code ERR_DPFL_INVALID_TYPE) naming the argument.
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);
// Throws a JS RangeError (code ERR_DPFL_INVALID_ARGUMENT) naming the argument.
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& message);
// The JS error for a failed core Status (RangeError for invalid arguments, Error otherwise).
Napi::Error StatusError(Napi::Env env, const dpfl::Status& status);
// Throws an Error (code ERR_DPFL_OUT_OF_MEMORY) saying what could not be allocated.
[[noreturn]] void ThrowOutOfMemory(Napi::Env env, const std::string& what);
// Throws StatusError when status is not ok.
void ThrowIfFailed(Napi::Env env, const dpfl::Status& status);

// A Float32Array argument that is attached (not transferred). Its data pointer honours the
// view's byte offset.
Napi::Float32Array Float32Arg(const Napi::CallbackInfo& info, size_t index, const char* name);
// Like Float32Arg, but undefined/null gives an empty handle.
Napi::Float32Array OptionalFloat32Arg(const Napi::CallbackInfo& info, size_t index, const char* name);
// A Float64Array argument (small parameter vectors: weights, group ends, max norms).
Napi::Float64Array Float64Arg(const Napi::CallbackInfo& info, size_t index, const char* name);
Napi::Float64Array OptionalFloat64Arg(const Napi::CallbackInfo& info, size_t index, const char* name);
// A number argument that must be a non-negative integer below 2^53.
int64_t IndexArg(const Napi::CallbackInfo& info, size_t index, const char* name);
double NumberArg(const Napi::CallbackInfo& info, size_t index, const char* name);
bool BoolArg(const Napi::CallbackInfo& info, size_t index, const char* name);
// A bigint (or non-negative safe integer) taken modulo 2^64.
uint64_t Uint64Arg(const Napi::CallbackInfo& info, size_t index, const char* name);
// a * b for two counts, named `what` ("batch * in") in the RangeError thrown when the product is
// not a safe integer: every length a binding compares with a view goes through here or Sum.
int64_t Product(Napi::Env env, int64_t a, int64_t b, const char* what);
int64_t Sum(Napi::Env env, int64_t a, int64_t b, const char* what);
// Throws a RangeError unless view_length == expected ("<name>.length must be <expected>, ...").
void CheckLength(Napi::Env env, size_t view_length, int64_t expected, const std::string& name);
// Group end offsets given as integral doubles.
std::vector<int64_t> GroupEnds(Napi::Env env, const Napi::Float64Array& ends, const char* name);

inline float* Data(Napi::Float32Array a) { return a.IsEmpty() ? nullptr : a.Data(); }

// info[index]: count updates of length dim, given as Float32Array[] or one count x dim
// Float32Array. Appends their data pointers to ptrs: into JS memory when held is null (sync
// kernels), else into the private copies held makes (async kernels, see async_work.h).
void ReadUpdates(const Napi::CallbackInfo& info, size_t index, int64_t count, int64_t dim,
                 std::vector<const float*>* ptrs, HeldArrays* held);
// The error of a kernel over K updates: names the update holding NaN/Inf when bad_update >= 0.
Napi::Error UpdateError(Napi::Env env, const dpfl::Status& status, int64_t bad_update);

// Result objects shared by the CPU and CUDA bindings.
Napi::Object ClipStatsObject(Napi::Env env, int64_t clipped, int64_t non_finite);  // { clipped, nonFinite }
Napi::Object NormScaleObject(Napi::Env env, double norm, double scale);             // { norm, scale }

}  // namespace dpfl_addon
