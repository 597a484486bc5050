// Each binding file registers its functions on the module's exports.
#pragma once
#include <napi.h>

namespace dpfl_addon {
void RegisterClip(Napi::Env env, Napi::Object exports);
void RegisterNoise(Napi::Env env, Napi::Object exports);
void RegisterAggregate(Napi::Env env, Napi::Object exports);
void RegisterCuda(Napi::Env env, Napi::Object exports);
void RegisterFl(Napi::Env env, Napi::Object exports);
void RegisterNn(Napi::Env env, Napi::Object exports);
}  // namespace dpfl_addon
