// Per-environment state of the addon. Node can load the addon into several environments (the main
// thread and each worker_threads Worker); a napi value or reference belongs to the environment that
// made it, so nothing N-API lives in a static: it lives here, owned by the environment through
// napi_set_instance_data and freed with it.
#pragma once
#include <napi.h>

namespace dpfl_addon {

struct AddonData {
  // Set by the environment's cleanup hook: from then on no JS value may be built (a worker being
  // terminated); async completions only free their memory.
  bool closing = false;
  // DeviceArray's constructor in this environment (instanceof checks of device arguments).
  Napi::FunctionReference device_array;
};

// Creates this environment's AddonData and registers its cleanup hook. Called once by Init.
void InitAddonData(Napi::Env env);
// This environment's AddonData; null when the environment has none (never loaded or torn down).
AddonData* GetAddonData(napi_env env);

}  // namespace dpfl_addon
