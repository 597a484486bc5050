// N-API glue for the CUDA backend: finds libdpfl_cuda and loads it with dlopen on first use (the
// CPU addon never links the CUDA runtime), device arrays, and the kernels on device memory. Every
// failure to load says which paths were tried and why; no math here.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon_data.h"
#include "args.h"
#include "bindings.h"
#include "dpfl/cuda_backend.h"
#include "dpfl/kernels.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace dpfl_addon {
namespace {

#if defined(_WIN32)
constexpr const char* kLibraryName = "dpfl_cuda.dll";
#elif defined(__APPLE__)
constexpr const char* kLibraryName = "libdpfl_cuda.dylib";
#else
constexpr const char* kLibraryName = "libdpfl_cuda.so";
#endif

struct CudaApi {
  int (*abi_version)();
  int (*init)(char*, size_t);
  const char* (*last_error)();
  int (*malloc_)(void**, size_t);
  int (*free_)(void*);
  int (*upload)(void*, const void*, size_t);
  int (*download)(void*, const void*, size_t);
  int (*clip_and_sum)(const float*, int64_t, int64_t, const int64_t*, int64_t, const double*, float*, float*, float*,
                      dpfl_cuda_clip_stats*);
  int (*add_gaussian_noise)(float*, int64_t, double, uint64_t, const uint32_t*, uint64_t, uint64_t);
  int (*weighted_sum)(const float* const*, int64_t, int64_t, const double*, int, float*, int64_t*);
  int (*clip_by_norm)(float*, int64_t, double, double*, double*);
};

struct CudaState {
  bool tried = false;
  bool available = false;
  std::string reason;   // why it is not available
  std::string library;  // the path that loaded
  std::string device;
  CudaApi api{};
};

// Process-wide on purpose: it holds the dlopen'd library (one per process) and no N-API value;
// load() fills it once under std::call_once, whichever environment (thread) asks first.
CudaState& state() {
  static CudaState s;
  return s;
}

std::string addon_dir() {
#if defined(_WIN32)
  return ".";
#else
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&state), &info) == 0 || info.dli_fname == nullptr) return ".";
  std::string path = info.dli_fname;
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
#endif
}

void* open_library(const std::string& path, std::string* error) {
#if defined(_WIN32)
  HMODULE h = LoadLibraryA(path.c_str());
  if (h == nullptr) *error = "LoadLibrary failed";
  return reinterpret_cast<void*>(h);
#else
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) *error = dlerror();
  return h;
#endif
}

void* symbol(void* lib, const char* name) {
#if defined(_WIN32)
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(lib), name));
#else
  return dlsym(lib, name);
#endif
}

template <typename F>
bool bind(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(symbol(lib, name));
  return *out != nullptr;
}

// Tries DPFL_CUDA_LIBRARY, next to the addon (prebuilds/<platform>/ or build/Release/), then the
// CMake build directory of a source checkout (build-cuda/).
void load_once() {
  CudaState& s = state();
  s.tried = true;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("DPFL_CUDA_LIBRARY")) candidates.push_back(env);
  const std::string dir = addon_dir();
  candidates.push_back(dir + "/" + kLibraryName);
  candidates.push_back(dir + "/../../build-cuda/" + kLibraryName);
  std::string tried;
  void* lib = nullptr;
  for (const std::string& path : candidates) {
    std::string error;
    lib = open_library(path, &error);
    if (lib != nullptr) {
      s.library = path;
      break;
    }
    tried += (tried.empty() ? "" : "; ") + path + " (" + error + ")";
  }
  if (lib == nullptr) {
    s.reason = "the CUDA backend library was not found: tried " + tried +
               ". Build it with cmake -DDPFL_CUDA=ON (bench/gpu/run.sh) or set DPFL_CUDA_LIBRARY";
    return;
  }
  CudaApi& a = s.api;
  const bool ok =
      bind(lib, "dpfl_cuda_abi_version", &a.abi_version) && bind(lib, "dpfl_cuda_init", &a.init) &&
      bind(lib, "dpfl_cuda_last_error", &a.last_error) && bind(lib, "dpfl_cuda_malloc", &a.malloc_) &&
      bind(lib, "dpfl_cuda_free", &a.free_) && bind(lib, "dpfl_cuda_upload", &a.upload) &&
      bind(lib, "dpfl_cuda_download", &a.download) && bind(lib, "dpfl_cuda_clip_and_sum", &a.clip_and_sum) &&
      bind(lib, "dpfl_cuda_add_gaussian_noise", &a.add_gaussian_noise) &&
      bind(lib, "dpfl_cuda_weighted_sum", &a.weighted_sum) && bind(lib, "dpfl_cuda_clip_by_norm", &a.clip_by_norm);
  if (!ok) {
    s.reason = s.library + " does not export the dpfl CUDA ABI";
    return;
  }
  if (a.abi_version() != DPFL_CUDA_ABI_VERSION) {
    s.reason = s.library + " has ABI version " + std::to_string(a.abi_version()) + ", this addon needs " +
               std::to_string(DPFL_CUDA_ABI_VERSION);
    return;
  }
  char name[256] = {0};
  if (a.init(name, sizeof name) != DPFL_CUDA_OK) {
    s.reason = std::string("the CUDA backend loaded but cannot run: ") + a.last_error();
    return;
  }
  s.device = name;
  s.available = true;
}

// Loads the library on first use; every later caller, on any thread, sees the finished state.
void load() {
  static std::once_flag once;
  std::call_once(once, load_once);
}

const CudaApi& api(Napi::Env env) {
  load();
  if (!state().available) {
    Napi::Error error = Napi::Error::New(env, "CUDA backend unavailable: " + state().reason);
    error.Set("code", Napi::String::New(env, "ERR_DPFL_CUDA_UNAVAILABLE"));
    throw error;
  }
  return state().api;
}

void check(Napi::Env env, int rc, int64_t bad_update = -1) {
  if (rc == DPFL_CUDA_OK) return;
  const std::string message = state().api.last_error();
  if (rc == DPFL_CUDA_INVALID_ARGUMENT) ThrowRange(env, message);
  if (rc == DPFL_CUDA_NON_FINITE) {
    Napi::RangeError error = Napi::RangeError::New(
        env, bad_update >= 0 ? "updates[" + std::to_string(bad_update) + "] must contain only finite values" : message);
    error.Set("code", Napi::String::New(env, "ERR_DPFL_NON_FINITE"));
    throw error;
  }
  Napi::Error error = Napi::Error::New(env, "CUDA: " + message);
  error.Set("code", Napi::String::New(env, rc == DPFL_CUDA_OUT_OF_MEMORY ? "ERR_DPFL_OUT_OF_MEMORY" : "ERR_DPFL_CUDA"));
  throw error;
}

// A float32 array in device memory, freed by free() or when garbage-collected.
class DeviceArrayWrap : public Napi::ObjectWrap<DeviceArrayWrap> {
 public:
  // Keeps the constructor in this environment's AddonData (instanceof checks in From).
  static Napi::Function Define(Napi::Env env) {
    Napi::Function f = DefineClass(
        env, "DeviceArray",
        {InstanceMethod<&DeviceArrayWrap::Upload>("upload"), InstanceMethod<&DeviceArrayWrap::Download>("download"),
         InstanceMethod<&DeviceArrayWrap::Free>("free"), InstanceAccessor<&DeviceArrayWrap::Length>("length"),
         InstanceAccessor<&DeviceArrayWrap::Freed>("freed")});
    GetAddonData(env)->device_array = Napi::Persistent(f);
    return f;
  }

  explicit DeviceArrayWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceArrayWrap>(info) {
    const CudaApi& a = api(info.Env());
    length_ = IndexArg(info, 0, "length");
    size_t bytes = 0;
    if (!CheckedBytes(length_, sizeof(float), &bytes)) {
      ThrowRange(info.Env(), "length must be at most 2^51 (bytes in a size_t), received " + std::to_string(length_));
    }
    check(info.Env(), a.malloc_(&ptr_, bytes));
  }
  ~DeviceArrayWrap() override {
    if (ptr_ != nullptr) state().api.free_(ptr_);
  }

  static DeviceArrayWrap* From(Napi::Env env, Napi::Value v, const std::string& name) {
    AddonData* data = GetAddonData(env);
    if (data == nullptr || data->device_array.IsEmpty() || !v.IsObject() ||
        !v.As<Napi::Object>().InstanceOf(data->device_array.Value())) {
      ThrowType(env, name + " must be a DeviceArray (mixing host and device arrays is not supported)");
    }
    DeviceArrayWrap* d = Unwrap(v.As<Napi::Object>());
    if (d->ptr_ == nullptr) ThrowType(env, name + " must not be a freed DeviceArray");
    return d;
  }
  static DeviceArrayWrap* FromOptional(Napi::Env env, Napi::Value v, const std::string& name) {
    return v.IsNull() || v.IsUndefined() ? nullptr : From(env, v, name);
  }

  float* data() const { return static_cast<float*>(ptr_); }
  int64_t length() const { return length_; }

 private:
  Napi::Value Upload(const Napi::CallbackInfo& info) {
    Napi::Float32Array src = Float32Arg(info, 0, "source");
    if (ptr_ == nullptr) ThrowType(info.Env(), "the DeviceArray was freed");
    CheckLength(info.Env(), src.ElementLength(), length_, "source");
    check(info.Env(), state().api.upload(ptr_, src.Data(), static_cast<size_t>(length_) * sizeof(float)));
    return info.This();
  }
  Napi::Value Download(const Napi::CallbackInfo& info) {
    Napi::Float32Array dst = Float32Arg(info, 0, "out");
    if (ptr_ == nullptr) ThrowType(info.Env(), "the DeviceArray was freed");
    CheckLength(info.Env(), dst.ElementLength(), length_, "out");
    check(info.Env(), state().api.download(dst.Data(), ptr_, static_cast<size_t>(length_) * sizeof(float)));
    return dst;
  }
  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (ptr_ != nullptr) state().api.free_(ptr_);
    ptr_ = nullptr;
    return info.Env().Undefined();
  }
  Napi::Value Length(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(length_));
  }
  Napi::Value Freed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ptr_ == nullptr); }

  void* ptr_ = nullptr;
  int64_t length_ = 0;
};

Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  load();
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", Napi::Boolean::New(env, state().available));
  if (state().available) {
    out.Set("device", state().device);
    out.Set("library", state().library);
  } else {
    out.Set("reason", state().reason);
  }
  return out;
}

// (grads, batchSize, groups: Float64Array|null, maxNorms: Float64Array, sum, norms|null, groupNorms|null)
Napi::Value CudaClipAndSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaApi& a = api(env);
  DeviceArrayWrap* g = DeviceArrayWrap::From(env, info[0], "grads");
  const int64_t batch = IndexArg(info, 1, "batchSize");
  if (batch == 0 || g->length() == 0 || g->length() % batch != 0)
    ThrowRange(env, "grads.length must be a positive multiple of batchSize");
  const int64_t dim = g->length() / batch;
  Napi::Float64Array ends_arg = OptionalFloat64Arg(info, 2, "groups");
  std::vector<int64_t> ends = ends_arg.IsEmpty() ? std::vector<int64_t>{dim} : GroupEnds(env, ends_arg, "groups");
  const int64_t groups = static_cast<int64_t>(ends.size());
  Napi::Float64Array max_norms = Float64Arg(info, 3, "maxNorms");
  CheckLength(env, max_norms.ElementLength(), groups, "maxNorms");
  DeviceArrayWrap* sum = DeviceArrayWrap::From(env, info[4], "out");
  DeviceArrayWrap* norms = DeviceArrayWrap::FromOptional(env, info[5], "norms");
  DeviceArrayWrap* group_norms = DeviceArrayWrap::FromOptional(env, info[6], "groupNorms");
  if (sum->length() != dim) ThrowRange(env, "out.length must be " + std::to_string(dim));
  if (norms != nullptr && norms->length() != batch) ThrowRange(env, "norms.length must be " + std::to_string(batch));
  const int64_t group_norms_length = Product(env, batch, groups, "batchSize * groups");
  if (group_norms != nullptr && group_norms->length() != group_norms_length) {
    ThrowRange(env, "groupNorms.length must be " + std::to_string(group_norms_length));
  }
  dpfl_cuda_clip_stats stats{0, 0};
  check(env, a.clip_and_sum(g->data(), batch, dim, ends.data(), groups, max_norms.Data(), sum->data(),
                            norms ? norms->data() : nullptr, group_norms ? group_norms->data() : nullptr, &stats));
  return ClipStatsObject(env, stats.clipped, stats.non_finite);
}

// (x, std, seed: bigint|null (null = secure: a ChaCha20 key from the OS CSPRNG), stream, offset)
Napi::Value CudaAddGaussianNoise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaApi& a = api(env);
  DeviceArrayWrap* x = DeviceArrayWrap::From(env, info[0], "x");
  const double stddev = NumberArg(info, 1, "std");
  dpfl::NoiseKey key;
  if (info[2].IsNull() || info[2].IsUndefined()) {
    ThrowIfFailed(env, dpfl::make_secure_key(&key));
  } else {
    key.seed = Uint64Arg(info, 2, "seed");
  }
  const uint64_t stream = Uint64Arg(info, 3, "stream");
  const uint64_t offset = Uint64Arg(info, 4, "offset");
  check(env, a.add_gaussian_noise(x->data(), x->length(), stddev, key.seed, key.secure ? key.chacha.k : nullptr, stream,
                                  offset));
  return info[0];
}

// (updates: DeviceArray[], weights: Float64Array, normalize, out: DeviceArray)
Napi::Value CudaWeightedSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaApi& a = api(env);
  if (!info[0].IsArray()) ThrowType(env, "updates must be an array of DeviceArray");
  Napi::Array list = info[0].As<Napi::Array>();
  Napi::Float64Array weights = Float64Arg(info, 1, "weights");
  const bool normalize = BoolArg(info, 2, "normalize");
  DeviceArrayWrap* out = DeviceArrayWrap::From(env, info[3], "out");
  if (list.Length() != weights.ElementLength() || list.Length() == 0)
    ThrowRange(env, "updates.length must equal weights.length (at least 1)");
  std::vector<const float*> ptrs;
  for (uint32_t k = 0; k < list.Length(); ++k) {
    DeviceArrayWrap* u = DeviceArrayWrap::From(env, list.Get(k), "updates[" + std::to_string(k) + "]");
    if (u->length() != out->length())
      ThrowRange(env, "updates[" + std::to_string(k) + "].length must equal out.length");
    ptrs.push_back(u->data());
  }
  int64_t bad = -1;
  check(env,
        a.weighted_sum(ptrs.data(), static_cast<int64_t>(ptrs.size()), out->length(), weights.Data(), normalize ? 1 : 0,
                       out->data(), &bad),
        bad);
  return info[3];
}

Napi::Value CudaClipByNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaApi& a = api(env);
  DeviceArrayWrap* x = DeviceArrayWrap::From(env, info[0], "x");
  const double max_norm = NumberArg(info, 1, "maxNorm");
  double norm = 0.0, scale = 1.0;
  check(env, a.clip_by_norm(x->data(), x->length(), max_norm, &norm, &scale));
  return NormScaleObject(env, norm, scale);
}

}  // namespace

void RegisterCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo, "cudaInfo"));
  exports.Set("DeviceArray", DeviceArrayWrap::Define(env));
  exports.Set("cudaClipAndSum", Napi::Function::New(env, CudaClipAndSum, "cudaClipAndSum"));
  exports.Set("cudaAddGaussianNoise", Napi::Function::New(env, CudaAddGaussianNoise, "cudaAddGaussianNoise"));
  exports.Set("cudaWeightedSum", Napi::Function::New(env, CudaWeightedSum, "cudaWeightedSum"));
  exports.Set("cudaClipByNorm", Napi::Function::New(env, CudaClipByNorm, "cudaClipByNorm"));
}

}  // namespace dpfl_addon
