// The dpfl Node addon: N-API glue only. It converts arguments, re-checks them cheaply, calls the
// core (native/include/dpfl) and turns a failed Status into a JS error. No math lives here.
#include <napi.h>

#include "addon_data.h"
#include "bindings.h"
#include "dpfl/constants.h"
#include "dpfl/dispatch.h"
#include "dpfl/parallel.h"

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("backend", "cpu");
  out.Set("isa", dpfl::isa_name(dpfl::active_isa()));
  out.Set("threads", Napi::Number::New(env, dpfl::thread_count()));
  out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return out;
}

// The core's constants that TypeScript needs too (src/kernels/constants.ts): read from here, so each
// has one definition (native/include/dpfl/constants.h).
Napi::Object Constants(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("clipEpsilon", Napi::Number::New(env, dpfl::kClipEpsilon));
  out.Set("maxAbsNoiseSample", Napi::Number::New(env, dpfl::kMaxAbsNoiseSample));
  out.Freeze();
  return out;
}

void MarkClosing(void* data) { static_cast<dpfl_addon::AddonData*>(data)->closing = true; }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  dpfl_addon::InitAddonData(env);
  dpfl_addon::RegisterClip(env, exports);
  dpfl_addon::RegisterNoise(env, exports);
  dpfl_addon::RegisterAggregate(env, exports);
  dpfl_addon::RegisterCuda(env, exports);
  dpfl_addon::RegisterFl(env, exports);
  dpfl_addon::RegisterNn(env, exports);
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("constants", Constants(env));
  return exports;
}

}  // namespace

namespace dpfl_addon {

void InitAddonData(Napi::Env env) {
  auto* data = new AddonData();
  env.SetInstanceData(data);  // deleted by the environment when it is torn down
  // Registered after N-API's own hook, so it runs first (hooks run in reverse): data is still alive.
  if (napi_add_env_cleanup_hook(env, MarkClosing, data) != napi_ok) {
    throw Napi::Error::New(env, "dpfl: cannot register the environment cleanup hook");
  }
}

AddonData* GetAddonData(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<AddonData*>(data);
}

}  // namespace dpfl_addon

NODE_API_MODULE(dpfl, Init)
