// The dpfl Node addon: N-API glue only. It converts arguments, re-checks them cheaply, calls the
// core (native/include/dpfl) and turns a failed Status into a JS error. No math lives here.
#include <napi.h>

#include "bindings.h"
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  dpfl_addon::RegisterClip(env, exports);
  dpfl_addon::RegisterNoise(env, exports);
  dpfl_addon::RegisterAggregate(env, exports);
  dpfl_addon::RegisterCuda(env, exports);
  dpfl_addon::RegisterFl(env, exports);
  dpfl_addon::RegisterNn(env, exports);
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(dpfl, Init)
