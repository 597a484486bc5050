// Keys for secure noise, read from the operating system's CSPRNG.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dpfl/kernels.h"

#if defined(_WIN32)
#include <windows.h>
#include <bcrypt.h>
#pragma comment(lib, "bcrypt.lib")
#elif defined(__linux__)
#include <errno.h>
#include <sys/random.h>
#else
#include <unistd.h>  // getentropy (macOS, BSDs)
#endif

namespace dpfl {
namespace {

bool os_random(void* buf, size_t len) {
#if defined(_WIN32)
  return BCryptGenRandom(nullptr, static_cast<PUCHAR>(buf), static_cast<ULONG>(len), BCRYPT_USE_SYSTEM_PREFERRED_RNG) ==
         0;
#elif defined(__linux__)
  auto* p = static_cast<unsigned char*>(buf);
  while (len > 0) {
    const ssize_t got = getrandom(p, len, 0);  // blocks only until the pool is first seeded
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += got;
    len -= static_cast<size_t>(got);
  }
  return true;
#else
  return getentropy(buf, len) == 0;  // len <= 256
#endif
}

}  // namespace

Status make_secure_key(NoiseKey* key) {
  uint32_t words[8];
  if (!os_random(words, sizeof(words))) {
    return {StatusCode::kEntropyUnavailable, "the OS random number generator could not be read"};
  }
  key->secure = true;
  key->seed = 0;
  std::memcpy(key->chacha.k, words, sizeof(words));
  std::memset(words, 0, sizeof(words));
  return Status::Ok();
}

}  // namespace dpfl
