// Known-answer tests of the generators against their published vectors.
#include "check.h"
#include "dpfl/chacha20.h"
#include "dpfl/gaussian.h"
#include "dpfl/philox.h"

using dpfl::U32x4;

// Random123's kat_vectors for philox4x32_10 (Salmon et al. 2011): counter, key -> output.
TEST(philox_known_answers) {
  struct Kat {
    U32x4 ctr;
    uint32_t k0, k1;
    U32x4 expect;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdcceBu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Kat& k : kats) {
    const U32x4 out = dpfl::philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) CHECK_EQ(out.v[i], k.expect.v[i]);
  }
}

// RFC 8439 section 2.3.2: key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1.
TEST(chacha20_rfc8439_block) {
  dpfl::ChaChaKey key;
  for (int i = 0; i < 8; ++i) {
    const uint32_t b = 4 * i;
    key.k[i] = b | ((b + 1) << 8) | ((b + 2) << 16) | ((b + 3) << 24);
  }
  const dpfl::U32x16 out = dpfl::chacha20_block(key, 1, 0x09000000u, 0x4a000000u, 0);
  const uint32_t expect[16] = {0xe4e7f110u, 0x15593bd1u, 0x1fdd0f50u, 0xc47120a3u, 0xc7f4d1c7u, 0x0368c033u,
                               0x9aaa2204u, 0x4e6cd4c3u, 0x466482d2u, 0x09aa9f07u, 0x05d7c214u, 0xa2028bd9u,
                               0xd19c12b5u, 0xb94e16deu, 0xe883d0cbu, 0x4e3c50a2u};
  for (int i = 0; i < 16; ++i) CHECK_EQ(out.v[i], expect[i]);
}

TEST(uniform52_is_open_interval) {
  CHECK_EQ(dpfl::uniform52(0, 0), 0x1.0p-53);
  CHECK_EQ(dpfl::uniform52(0xffffffffu, 0xffffffffu), 1.0 - 0x1.0p-53);
  CHECK_EQ(dpfl::uniform52(0x80000000u, 0), 0.5 + 0x1.0p-53);
  CHECK_EQ(dpfl::uniform52(0, 0xfff), 0x1.0p-53);  // the low 12 bits are dropped
}

TEST(box_muller_matches_definition) {
  double z0, z1;
  dpfl::box_muller(0.25, 0.125, &z0, &z1);
  const double r = std::sqrt(-2.0 * std::log(0.25));
  CHECK_CLOSE(z0, r * std::cos(2 * M_PI * 0.125), 0, 5e-14);
  CHECK_CLOSE(z1, r * std::sin(2 * M_PI * 0.125), 0, 5e-14);
}

CHECK_MAIN()
