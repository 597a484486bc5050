#include "async_work.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "addon_data.h"
#include "checked_size.h"

namespace dpfl_addon {
namespace {

size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:
      return 8;
  }
}

// The environment is being torn down: build no JS value.
bool Closing(napi_env env) {
  AddonData* data = GetAddonData(env);
  return data == nullptr || data->closing;
}

// Copy blocks are reused across calls: the page faults of freshly mapped memory cost several
// times the copy itself (measured: a 64 MiB copy into new memory took 10x one into reused memory).
// Process-wide on purpose: plain memory, no N-API value, shared by all environments under a mutex.
// At most kMaxCached bytes stay cached between calls.
class BlockCache {
 public:
  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache();  // never destroyed: async work may outlive exit
    return *cache;
  }
  // A block of at least `bytes`, or null when it cannot be allocated.
  void* Take(size_t bytes, size_t* capacity) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t best = free_.size();
      for (size_t i = 0; i < free_.size(); ++i) {
        // Reuse a block no more than twice the size asked for, the smallest that fits.
        if (free_[i].first >= bytes && free_[i].first / 2 <= bytes &&
            (best == free_.size() || free_[i].first < free_[best].first)) {
          best = i;
        }
      }
      if (best != free_.size()) {
        std::pair<size_t, void*> block = free_[best];
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
        cached_ -= block.first;
        *capacity = block.first;
        return block.second;
      }
    }
    *capacity = bytes;
    return std::malloc(bytes > 0 ? bytes : 1);
  }
  void Give(void* block, size_t capacity) {
    std::lock_guard<std::mutex> lock(mu_);
    // Oldest blocks go first when the cache would exceed its bound.
    while (!free_.empty() && cached_ + capacity > kMaxCached) {
      cached_ -= free_.front().first;
      std::free(free_.front().second);
      free_.erase(free_.begin());
    }
    if (capacity > kMaxCached) {
      std::free(block);
      return;
    }
    free_.emplace_back(capacity, block);
    cached_ += capacity;
  }

 private:
  static constexpr size_t kMaxCached = size_t{256} << 20;
  std::mutex mu_;
  std::vector<std::pair<size_t, void*>> free_;
  size_t cached_ = 0;
};

}  // namespace

void HeldArrays::BlockDeleter::operator()(uint8_t* block) const noexcept {
  BlockCache::instance().Give(block, capacity);
}

void HeldArrays::RefDeleter::operator()(Held* h) const noexcept {
  if (h->ref != nullptr) napi_delete_reference(env, h->ref);  // status ignored: nothing to do on failure
  delete h;
}

void* HeldArrays::Hold(Napi::Env env, const Napi::TypedArray& array, Role role) {
  std::unique_ptr<Held, RefDeleter> h(new Held(), RefDeleter{env});
  h->role = role;
  size_t bytes = 0;
  if (!CheckedBytes(static_cast<int64_t>(array.ElementLength()),
                    static_cast<int64_t>(ElementSize(array.TypedArrayType())), &bytes)) {
    ThrowRange(env, "a typed array's byte length must be at most 2^53 - 1");
  }
  h->byte_length = bytes;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* js_data = nullptr;
  napi_value buffer = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, array, &type, &length, &js_data, &buffer, &offset), nullptr);
  bool plain = true;  // a non-shared ArrayBuffer; a SharedArrayBuffer can be neither detached nor shrunk
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, buffer, &plain), nullptr);
  if (!plain) {
    h->data = js_data;
  } else {
    size_t capacity = 0;
    void* block = BlockCache::instance().Take(bytes, &capacity);
    if (block == nullptr) ThrowOutOfMemory(env, "a private copy of an async kernel's argument");
    h->copy = std::unique_ptr<uint8_t, BlockDeleter>(static_cast<uint8_t*>(block), BlockDeleter{capacity});
    if (role != Role::kOut && bytes > 0) std::memcpy(h->copy.get(), js_data, bytes);
    h->data = h->copy.get();
  }
  NAPI_THROW_IF_FAILED(env, napi_create_reference(env, array, 1, &h->ref), nullptr);
  void* data = h->data;
  held_.push_back(std::move(h));
  return data;
}

namespace {

// The current memory of a held array when it is still attached with byte_length bytes; else null.
void* CurrentData(napi_env env, napi_ref ref, size_t byte_length) noexcept {
  napi_value value = nullptr, buffer = nullptr;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  bool detached = true;
  if (napi_get_reference_value(env, ref, &value) != napi_ok || value == nullptr ||
      napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &offset) != napi_ok ||
      napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok || detached) {
    return nullptr;
  }
  // A resizable buffer may have shrunk (or a length-tracking view changed) while the work ran.
  if (length * ElementSize(type) != byte_length) return nullptr;
  return data != nullptr || byte_length == 0 ? data : nullptr;
}

}  // namespace

bool HeldArrays::CopyBack(napi_env env) noexcept {
  for (const auto& h : held_) {
    if (h->byte_length > 0 && CurrentData(env, h->ref, h->byte_length) == nullptr) return false;
  }
  for (const auto& h : held_) {
    if (h->copy == nullptr || h->role == Role::kIn || h->byte_length == 0) continue;
    // Re-read: the memory may have moved since the call (never write through the old pointer).
    std::memcpy(CurrentData(env, h->ref, h->byte_length), h->copy.get(), h->byte_length);
  }
  return true;
}

Napi::Error DetachedError(Napi::Env env) {
  Napi::Error error = Napi::Error::New(
      env,
      "every buffer of an async kernel must stay attached until its promise settles, received one that was "
      "detached (transferred) or resized while the kernel ran; no output was written");
  error.Set("code", Napi::String::New(env, "ERR_DPFL_DETACHED"));
  return error;
}

Napi::Promise KernelWorker::Start(Napi::Env env, HeldArrays held, Work work, Result result) {
  std::unique_ptr<KernelWorker> self(new KernelWorker(std::move(held), std::move(work), std::move(result)));
  napi_value promise = nullptr, name = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &self->deferred_, &promise), Napi::Promise());
  NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, "dpfl.kernel", NAPI_AUTO_LENGTH, &name), Napi::Promise());
  NAPI_THROW_IF_FAILED(env, napi_create_async_work(env, nullptr, name, Execute, Complete, self.get(), &self->async_),
                       Napi::Promise());
  if (napi_queue_async_work(env, self->async_) != napi_ok) {
    napi_delete_async_work(env, self->async_);
    NAPI_THROW(Napi::Error::New(env), Napi::Promise());
  }
  self.release();  // owned by the queued work until Complete
  return Napi::Promise(env, promise);
}

void KernelWorker::Execute(napi_env, void* data) noexcept {
  auto* self = static_cast<KernelWorker*>(data);
  try {
    self->status_ = self->work_();
  } catch (...) {  // std::bad_alloc from a kernel's scratch space; nothing else throws there
    self->status_ = {dpfl::StatusCode::kOutOfMemory, "out of memory in an async kernel"};
  }
}

void KernelWorker::Conclude(napi_env env, napi_value value, bool resolve) noexcept {
  if (deferred_ == nullptr) return;
  napi_deferred deferred = deferred_;
  deferred_ = nullptr;  // concluding frees it, even when the call fails
  if (resolve) {
    napi_resolve_deferred(env, deferred, value);
  } else {
    napi_reject_deferred(env, deferred, value);
  }
}

void KernelWorker::Settle(napi_env raw_env) {
  Napi::Env env(raw_env);
  if (!held_.CopyBack(raw_env)) {
    Conclude(raw_env, DetachedError(env).Value(), false);
  } else if (!status_.ok()) {
    Conclude(raw_env, StatusError(env, status_).Value(), false);
  } else {
    Napi::Value value = result_(env);
    Conclude(raw_env, value, true);
  }
}

void KernelWorker::Complete(napi_env env, napi_status status, void* data) noexcept {
  std::unique_ptr<KernelWorker> self(static_cast<KernelWorker*>(data));
  napi_delete_async_work(env, self->async_);
  if (status == napi_cancelled || Closing(env)) return;  // frees the copies; the promise is gone with its env
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  try {
    self->Settle(env);
  } catch (const Napi::Error& e) {
    // A result step's own error (e.g. a non-finite update), or an N-API call that failed because
    // JS can no longer run; rejecting may fail too, and that is fine.
    try {
      self->Conclude(env, e.Value(), false);
    } catch (...) {
    }
  } catch (...) {
  }
  napi_close_handle_scope(env, scope);
}

}  // namespace dpfl_addon
