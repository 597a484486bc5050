// The hot loops written once over a SIMD traits type S (included by isa_avx2.cpp and
// isa_avx512.cpp inside an anonymous namespace, after S is defined, so every instantiation is
// private to its file and compiled only with that file's instruction set).
//
// S provides: kLanes (doubles per VD); VD, VI, MD, U (a full register of 32-bit lanes holding
// 2 * kLanes blocks' words) and the gauss_math.h operations; load_f32(p) / store_f32(p, v)
// (kLanes floats <-> doubles); interleave_store(dst, a, b) (a0 b0 a1 b1 ...); any_nonfinite(p)
// (2 * kLanes floats); dup32, xor_, add32, mulhilo(a, m, hi, lo), rotl<n>, widen_lo / widen_hi
// (u32 lanes of one half to u64 lanes), sll / srl (u64 lanes); load_u32(p).
//
// Every result is bit-identical to isa_scalar.cpp: the same IEEE operations in the same order.

constexpr int kL = S::kLanes;
constexpr int kBlocks = 2 * kL;  // generator blocks per iteration: one integer register

double simd_sum_squares(const float* x, int64_t n) {
  constexpr int kRegs = kSumLanes / kL;
  typename S::VD acc[kRegs];
  for (int r = 0; r < kRegs; ++r) acc[r] = S::dup(0.0);
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes) {
    _mm_prefetch(reinterpret_cast<const char*>(x + i) + 1024, _MM_HINT_T0);  // 16 lines ahead
    for (int r = 0; r < kRegs; ++r) {
      const typename S::VD v = S::load_f32(x + i + r * kL);
      acc[r] = acc[r] + v * v;
    }
  }
  if (i < n) {  // the tail, zero-padded: adding +0 to a lane is exact, as in the scalar loop
    float pad[kSumLanes] = {};
    for (int j = 0; i + j < n; ++j) pad[j] = x[i + j];
    for (int r = 0; r < kRegs; ++r) {
      const typename S::VD v = S::load_f32(pad + r * kL);
      acc[r] = acc[r] + v * v;
    }
  }
  alignas(64) double lanes[kSumLanes];
  for (int r = 0; r < kRegs; ++r) S::store_d(lanes + r * kL, acc[r]);
  for (int w = kSumLanes / 2; w >= 1; w /= 2) {
    for (int j = 0; j < w; ++j) lanes[j] += lanes[j + w];
  }
  return lanes[0];
}

void simd_axpy_rows(double* out, const double* in, const float* const* rows, const double* a, int k, int64_t n) {
  typename S::VD va[kMaxRows];
  for (int r = 0; r < k; ++r) va[r] = S::dup(a[r]);
  int64_t i = 0;
  for (; i + kL <= n; i += kL) {
    if (i % 16 == 0) {  // once per cache line of each row: 512 bytes ahead
      for (int r = 0; r < k; ++r) _mm_prefetch(reinterpret_cast<const char*>(rows[r] + i) + 512, _MM_HINT_T0);
    }
    typename S::VD v = S::load_d(in + i);
    for (int r = 0; r < k; ++r) v = v + va[r] * S::load_f32(rows[r] + i);
    S::store_d(out + i, v);
  }
  for (; i < n; ++i) {
    double v = in[i];
    for (int r = 0; r < k; ++r) v += a[r] * rows[r][i];
    out[i] = v;
  }
}

void simd_store_scaled(float* out, const double* acc, double scale, int64_t n) {
  const typename S::VD vs = S::dup(scale);
  int64_t i = 0;
  for (; i + kL <= n; i += kL) S::store_f32(out + i, S::load_d(acc + i) * vs);
  for (; i < n; ++i) out[i] = static_cast<float>(acc[i] * scale);
}

void simd_scale_inplace(float* x, double scale, int64_t n) {
  const typename S::VD vs = S::dup(scale);
  int64_t i = 0;
  for (; i + kL <= n; i += kL) S::store_f32(x + i, S::load_f32(x + i) * vs);
  for (; i < n; ++i) x[i] = static_cast<float>(x[i] * scale);
}

bool simd_all_finite(const float* x, int64_t n) {
  int64_t i = 0;
  bool bad = false;
  for (; i + 2 * kL <= n; i += 2 * kL) bad |= S::any_nonfinite(x + i);
  return !bad && scalar_kernels().all_finite(x + i, n - i);
}

// The scalar loop, vectorised by the compiler under this file's flags (unsigned max: vpmaxud).
uint32_t simd_max_abs_bits(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    b &= 0x7fffffffu;
    m = b > m ? b : m;
  }
  return m;
}

// A uniform in (0, 1) from the 32-bit words hi and lo of each block: ((hi << 20 | lo >> 12) + 0.5)
// * 2^-52, formed as (1 + bits 2^-52) - 1 + 2^-53, every step exact (same value as uniform52).
typename S::VD uniform(typename S::VI hi, typename S::VI lo) {
  const typename S::VI bits = S::sll20(hi) | S::srl12(lo);
  const typename S::VD one_plus = S::from_bits(bits | S::dupu(0x3FF0000000000000ull));
  return (one_plus - S::dup(1.0)) + S::dup(0x1.0p-53);
}

// x[0 .. count) += std * z[0 .. count), z in sample order.
void add_scaled(float* x, const double* z, int64_t count, double std) {
  const typename S::VD vs = S::dup(std);
  for (int64_t i = 0; i < count; i += kL) S::store_f32(x + i, S::load_f32(x + i) + vs * S::load_d(z + i));
}

// Philox4x32-10 for kPhiloxRegs x kL consecutive blocks, one block per 64-bit lane: each word
// lives in the low half of its lane, so one 32x32->64 multiply (vpmuludq) gives both halves of a
// product (lo in place, hi after swapping the halves) with no widening, shifting or blending. The
// high halves of the lanes carry junk that no step reads (the multiply ignores them; finish()
// clears them). The registers are independent chains interleaved round by round. The rounds are
// run a few at a time between the steps of the previous batch's Box-Muller (philox_walk), so the
// integer work fills the cycles in which that batch waits on the divider (divide, square root).
constexpr int kPhiloxRegs = 4;

struct PhiloxBatch {
  typename S::VI c0[kPhiloxRegs], c1[kPhiloxRegs], c2[kPhiloxRegs], c3[kPhiloxRegs];
  uint32_t k0, k1;

  void start(uint64_t seed, uint64_t stream, uint64_t block) {
    alignas(64) uint64_t idx[kPhiloxRegs * kL];
    for (int j = 0; j < kPhiloxRegs * kL; ++j) idx[j] = block + static_cast<uint64_t>(j);
    for (int t = 0; t < kPhiloxRegs; ++t) {
      c0[t] = S::load_u64(idx + t * kL);  // low word of the block index (the high half is junk)
      c1[t] = S::srl32(c0[t]);            // its high word
      c2[t] = S::dupu(static_cast<uint32_t>(stream));
      c3[t] = S::dupu(static_cast<uint32_t>(stream >> 32));
    }
    k0 = static_cast<uint32_t>(seed);
    k1 = static_cast<uint32_t>(seed >> 32);
  }

  template <int kRounds>
  void rounds() {
    for (int round = 0; round < kRounds; ++round) {
      const typename S::VI key0 = S::dupu(k0), key1 = S::dupu(k1);
      for (int t = 0; t < kPhiloxRegs; ++t) {
        const typename S::VI p0 = S::mul32(c0[t], 0xD2511F53u), p1 = S::mul32(c2[t], 0xCD9E8D57u);
        c0[t] = S::xor3(S::swap32(p1), c1[t], key0);  // hi1 ^ c1 ^ k0
        c1[t] = p1;                                   // lo1
        c2[t] = S::xor3(S::swap32(p0), c3[t], key1);  // hi0 ^ c3 ^ k1
        c3[t] = p0;                                   // lo0
      }
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
  }

  // After ten rounds: the two uniforms of each block (words 0-1 and 2-3).
  void finish(typename S::VD u1[kPhiloxRegs], typename S::VD u2[kPhiloxRegs]) const {
    const typename S::VI low = S::dupu(0xFFFFFFFFull);
    for (int t = 0; t < kPhiloxRegs; ++t) {
      u1[t] = uniform(c0[t] & low, c1[t] & low);
      u2[t] = uniform(c2[t] & low, c3[t] & low);
    }
  }
};

// Walks samples [first, first + n) of the Philox stream: the scalar kernel for the head up to a
// block boundary and the tail after the last whole batch (same bits), the vector loop between.
// emit(i, z, count) consumes samples i .. i + count (z in sample order); scalar(i, count) runs the
// scalar kernel on them.
template <class Emit, class Scalar>
void philox_walk(int64_t n, uint64_t seed, uint64_t stream, uint64_t first, Emit emit, Scalar scalar) {
  constexpr uint64_t kPer = kPhiloxNormalsPerBlock;
  constexpr int64_t kBatch = kPhiloxRegs * kL * kPer;
  const int64_t head = static_cast<int64_t>((kPer - first % kPer) % kPer);
  if (n <= head + kBatch) return scalar(0, n);
  scalar(0, head);
  int64_t i = head;
  alignas(64) double z[kBatch];
  PhiloxBatch gen;
  gen.start(seed, stream, (first + i) / kPer);
  gen.rounds<10>();
  for (; i + kBatch <= n; i += kBatch) {
    typename S::VD u1[kPhiloxRegs], u2[kPhiloxRegs], l[kPhiloxRegs], c[kPhiloxRegs], s[kPhiloxRegs];
    typename S::VD z0[kPhiloxRegs], z1[kPhiloxRegs];
    gen.finish(u1, u2);
    // The next batch (computed once past the end too: cheaper than a branch, never used).
    gen.start(seed, stream, (first + i) / kPer + kPhiloxRegs * kL);
    gauss::log_open01<S, kPhiloxRegs>(u1, l);
    gen.rounds<4>();
    gauss::sincos_2pi<S, kPhiloxRegs>(u2, c, s);
    gen.rounds<4>();
    gauss::box_muller_finish<S, kPhiloxRegs>(l, c, s, z0, z1);
    gen.rounds<2>();
    for (int t = 0; t < kPhiloxRegs; ++t) S::interleave_store(z + t * 2 * kL, z0[t], z1[t]);
    emit(i, z, kBatch);
  }
  scalar(i, n - i);
}

void simd_noise_philox(float* x, int64_t n, double std, uint64_t seed, uint64_t stream, uint64_t first) {
  philox_walk(
      n, seed, stream, first, [&](int64_t i, const double* z, int64_t count) { add_scaled(x + i, z, count, std); },
      [&](int64_t i, int64_t count) { scalar_kernels().noise_philox(x + i, count, std, seed, stream, first + i); });
}

void simd_normals_philox(double* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t first) {
  philox_walk(
      n, seed, stream, first,
      [&](int64_t i, const double* z, int64_t count) { std::memcpy(out + i, z, sizeof(double) * count); },
      [&](int64_t i, int64_t count) { scalar_kernels().normals_philox(out + i, count, seed, stream, first + i); });
}

// ChaCha20 (RFC 8439) for kBlocks consecutive blocks in dpfl's layout (chacha_block in
// chacha20.h); w[k] holds output word k of each block.
template <int A, int B, int C, int D>
void quarter(typename S::U* s) {
  // clang-format off: one line per quarter-round row, as in RFC 8439 2.1
  s[A] = S::add32(s[A], s[B]); s[D] = S::template rotl<16>(S::xor_(s[D], s[A]));
  s[C] = S::add32(s[C], s[D]); s[B] = S::template rotl<12>(S::xor_(s[B], s[C]));
  s[A] = S::add32(s[A], s[B]); s[D] = S::template rotl<8>(S::xor_(s[D], s[A]));
  s[C] = S::add32(s[C], s[D]); s[B] = S::template rotl<7>(S::xor_(s[B], s[C]));
  // clang-format on
}

void chacha_blocks(const ChaChaKey& key, uint64_t stream, uint64_t block, typename S::U w[16]) {
  alignas(64) uint32_t lo[kBlocks], hi[kBlocks];
  for (int j = 0; j < kBlocks; ++j) {
    lo[j] = static_cast<uint32_t>(block + j);
    hi[j] = static_cast<uint32_t>((block + j) >> 32);
  }
  // clang-format off: the 4x4 state of RFC 8439 2.3
  typename S::U init[16] = {S::dup32(0x61707865u), S::dup32(0x3320646eu), S::dup32(0x79622d32u),
                            S::dup32(0x6b206574u), S::dup32(key.k[0]),    S::dup32(key.k[1]),
                            S::dup32(key.k[2]),    S::dup32(key.k[3]),    S::dup32(key.k[4]),
                            S::dup32(key.k[5]),    S::dup32(key.k[6]),    S::dup32(key.k[7]),
                            S::load_u32(lo),       S::load_u32(hi),       S::dup32(static_cast<uint32_t>(stream)),
                            S::dup32(static_cast<uint32_t>(stream >> 32))};
  // clang-format on
  for (int i = 0; i < 16; ++i) w[i] = init[i];
  for (int i = 0; i < 10; ++i) {
    quarter<0, 4, 8, 12>(w);
    quarter<1, 5, 9, 13>(w);
    quarter<2, 6, 10, 14>(w);
    quarter<3, 7, 11, 15>(w);
    quarter<0, 5, 10, 15>(w);
    quarter<1, 6, 11, 12>(w);
    quarter<2, 7, 8, 13>(w);
    quarter<3, 4, 9, 14>(w);
  }
  for (int i = 0; i < 16; ++i) w[i] = S::add32(w[i], init[i]);
}

// The secure stream's walk, as philox_walk.
template <class Emit, class Scalar>
void chacha_walk(int64_t n, const ChaChaKey& key, uint64_t stream, uint64_t first, Emit emit, Scalar scalar) {
  constexpr uint64_t kPer = kSecureNormalsPerBlock;
  constexpr int64_t kBatch = kBlocks * kPer;
  const int64_t head = static_cast<int64_t>((kPer - first % kPer) % kPer);
  if (n <= head + kBatch) return scalar(0, n);
  scalar(0, head);
  int64_t i = head;
  alignas(64) double z[kBatch];
  alignas(64) double out[4][kL];
  const typename S::VD inv_sqrt2 = S::dup(0.70710678118654752440084436210485);
  for (; i + kBatch <= n; i += kBatch) {
    typename S::U w[16];
    chacha_blocks(key, stream, (first + i) / kPer, w);
    for (int h = 0; h < 2; ++h) {
      typename S::VD u1[4], u2[4], c[4], s[4];
      for (int p = 0; p < 4; ++p) {
        u1[p] = uniform(S::widen(w[4 * p], h), S::widen(w[4 * p + 1], h));
        u2[p] = uniform(S::widen(w[4 * p + 2], h), S::widen(w[4 * p + 3], h));
      }
      gauss::box_muller<S, 4>(u1, u2, c, s);
      // Holohan-Braghin: output j = (z_j + z_{j+4}) / sqrt(2) with z = (c0 s0 c1 s1 c2 s2 c3 s3).
      S::store_d(out[0], (c[0] + c[2]) * inv_sqrt2);
      S::store_d(out[1], (s[0] + s[2]) * inv_sqrt2);
      S::store_d(out[2], (c[1] + c[3]) * inv_sqrt2);
      S::store_d(out[3], (s[1] + s[3]) * inv_sqrt2);
      for (int b = 0; b < kL; ++b) {
        for (int j = 0; j < 4; ++j) z[(h * kL + b) * 4 + j] = out[j][b];
      }
    }
    emit(i, z, kBatch);
  }
  scalar(i, n - i);
}

void simd_noise_chacha(float* x, int64_t n, double std, const ChaChaKey& key, uint64_t stream, uint64_t first) {
  chacha_walk(
      n, key, stream, first, [&](int64_t i, const double* z, int64_t count) { add_scaled(x + i, z, count, std); },
      [&](int64_t i, int64_t count) { scalar_kernels().noise_chacha(x + i, count, std, key, stream, first + i); });
}

void simd_normals_chacha(double* out, int64_t n, const ChaChaKey& key, uint64_t stream, uint64_t first) {
  chacha_walk(
      n, key, stream, first,
      [&](int64_t i, const double* z, int64_t count) { std::memcpy(out + i, z, sizeof(double) * count); },
      [&](int64_t i, int64_t count) { scalar_kernels().normals_chacha(out + i, count, key, stream, first + i); });
}

// The compiler vectorises optim_loops.h's loops under this file's flags.
void simd_sgd_range(float* p, const float* g, float* v, int64_t n, const nn::SgdHyper& h) {
  nn::sgd_range(p, g, v, n, h);
}
void simd_adam_range(float* p, const float* g, float* m, float* v, int64_t n, const nn::AdamHyper& h) {
  nn::adam_range(p, g, m, v, n, h);
}

const IsaKernels kTable = {simd_sum_squares,    simd_axpy_rows,      simd_store_scaled, simd_scale_inplace,
                           simd_all_finite,     simd_max_abs_bits,   simd_noise_philox, simd_noise_chacha,
                           simd_normals_philox, simd_normals_chacha, simd_sgd_range,    simd_adam_range};
