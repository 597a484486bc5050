// The ChaCha20 block function (RFC 8439), used as a cryptographic counter-mode generator for the
// secure noise path: keystream block n of (key, nonce) is independent of every other block, so it
// parallelises and chunks like Philox while being unpredictable without the 256-bit key.
#pragma once
#include <cstdint>

#include "dpfl/hd.h"

namespace dpfl {

struct ChaChaKey {
  uint32_t k[8];
};

struct U32x16 {
  uint32_t v[16];
};

namespace chacha_detail {
DPFL_HD uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
DPFL_HD void quarter(uint32_t* s, int a, int b, int c, int d) {
  // clang-format off: one line per quarter-round row, as in RFC 8439 2.1
  s[a] += s[b]; s[d] ^= s[a]; s[d] = rotl(s[d], 16);
  s[c] += s[d]; s[b] ^= s[c]; s[b] = rotl(s[b], 12);
  s[a] += s[b]; s[d] ^= s[a]; s[d] = rotl(s[d], 8);
  s[c] += s[d]; s[b] ^= s[c]; s[b] = rotl(s[b], 7);
  // clang-format on
}
}  // namespace chacha_detail

// RFC 8439 section 2.3 with a 32-bit block counter and a 96-bit nonce.
DPFL_HD U32x16 chacha20_block(const ChaChaKey& key, uint32_t counter, uint32_t n0, uint32_t n1, uint32_t n2) {
  // clang-format off: the 4x4 state of RFC 8439 2.3
  uint32_t init[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u,
                       key.k[0],    key.k[1],    key.k[2],    key.k[3],
                       key.k[4],    key.k[5],    key.k[6],    key.k[7],
                       counter,     n0,          n1,          n2};
  // clang-format on
  U32x16 out;
  for (int i = 0; i < 16; ++i) out.v[i] = init[i];
  for (int i = 0; i < 10; ++i) {
    chacha_detail::quarter(out.v, 0, 4, 8, 12);
    chacha_detail::quarter(out.v, 1, 5, 9, 13);
    chacha_detail::quarter(out.v, 2, 6, 10, 14);
    chacha_detail::quarter(out.v, 3, 7, 11, 15);
    chacha_detail::quarter(out.v, 0, 5, 10, 15);
    chacha_detail::quarter(out.v, 1, 6, 11, 12);
    chacha_detail::quarter(out.v, 2, 7, 8, 13);
    chacha_detail::quarter(out.v, 3, 4, 9, 14);
  }
  for (int i = 0; i < 16; ++i) out.v[i] += init[i];
  return out;
}

// dpfl's layout: a 64-bit block index split over the counter word and nonce word 0 (so streams of
// more than 2^32 blocks never wrap), the 64-bit stream in nonce words 1-2.
DPFL_HD U32x16 chacha_block(const ChaChaKey& key, uint64_t stream, uint64_t block) {
  return chacha20_block(key, static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                        static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32));
}

}  // namespace dpfl
