/* SIMD pieces shared by the C kernels (fused.c, attack.c): a vector of one register (VEC_BYTES) in GCC
 * vector extensions, lane-wise max, and an inlined exp. Included after REAL, IREAL, BIAS, MANT and DOUBLE
 * are defined (native.py passes them per precision). */
#ifndef HJ_SIMD_H
#define HJ_SIMD_H
#include <immintrin.h>
#include <stdint.h>

/* A vector is one machine register: 64 bytes with AVX-512, else 32 (AVX2). The register-blocked tiles
   (wide.h, attack.c) hold 8–16 accumulators: as 64-byte vectors on a 16-register AVX2 machine each is two
   registers and the tiles spill (attack.c's PGD step was 8.7× slower on an AMD EPYC than at 32 bytes). */
#if defined(__AVX512F__)
#define VEC_BYTES 64
#else
#define VEC_BYTES 32
#endif
#define VL (VEC_BYTES / (DOUBLE ? 8 : 4))  /* lanes per vector (a preprocessor constant: wide.h picks tables by it) */
typedef REAL vec __attribute__((vector_size(VEC_BYTES)));
typedef IREAL ivec __attribute__((vector_size(VEC_BYTES)));
/* read by Python (engine/native.py vec_bytes) to pad the PGD layout; the same in every object file */
const int hj_vec_bytes __attribute__((weak)) = VEC_BYTES;

/* ln 2 = LN2_HI + LN2_LO, LN2_HI with few significant bits: k·LN2_HI is exact for the k of exp and log */
#define LN2_HI ((REAL)0.693145751953125)
#define LN2_LO ((REAL)1.4286068203094172e-06)

static inline vec vload(const REAL *p) {  /* unaligned load (GCC emits one vmovu) */
  vec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(REAL *p, vec v) { __builtin_memcpy(p, &v, sizeof v); }

static inline vec vmax(vec a, vec b) {  /* lane-wise max */
#if defined(__AVX512F__) && DOUBLE
  return (vec)_mm512_max_pd((__m512d)a, (__m512d)b);
#elif defined(__AVX512F__)
  return (vec)_mm512_max_ps((__m512)a, (__m512)b);
#else
  const ivec gt = a > b;  /* a bit select: GCC emits compare and blend */
  return (vec)((gt & (ivec)a) | (~gt & (ivec)b));
#endif
}

/* e^r for |r| ≤ ln2/2: double, Taylor to degree 13 (truncation < 1e-17 relative); float, the
   degree-5 Chebyshev interpolant of e^r on [−ln2/2, ln2/2] (1.0e-7 relative; 2.3e-7 evaluated in
   float32, about 2 ulp: degree 6 gave 1 ulp for one more FMA in a ~17-instruction sweep). */
static inline vec vexp_reduced(vec r) {
#if DOUBLE
  vec p = (vec){} + (REAL)(1.0 / 6227020800.0);
  p = p * r + (REAL)(1.0 / 479001600.0);
  p = p * r + (REAL)(1.0 / 39916800.0);
  p = p * r + (REAL)(1.0 / 3628800.0);
  p = p * r + (REAL)(1.0 / 362880.0);
  p = p * r + (REAL)(1.0 / 40320.0);
  p = p * r + (REAL)(1.0 / 5040.0);
  p = p * r + (REAL)(1.0 / 720.0);
  p = p * r + (REAL)(1.0 / 120.0);
  p = p * r + (REAL)(1.0 / 24.0);
  p = p * r + (REAL)(1.0 / 6.0);
  p = p * r + (REAL)0.5;
  p = p * r + (REAL)1;
  p = p * r + (REAL)1;
#else
  vec p = (vec){} + (REAL)0.008369148491474182;
  p = p * r + (REAL)0.04191750724962426;
  p = p * r + (REAL)0.16666505260399175;
  p = p * r + (REAL)0.4999886937830366;
  p = p * r + (REAL)1.0000000107715732;
  p = p * r + (REAL)1.0000000754548977;
#endif
  return p;
}

/* e^x: x = k ln2 + r, |r| ≤ ln2/2. With AVX-512, k by one rounding instruction and 2^k applied by
   vscalef (any x in [−80, 30]: the fused pass also takes logits above a stale row maximum); else
   2^k through the exponent bits (x in [−80, 0]: k ≥ −116, a normal number). */
#if defined(__AVX512F__)
#define STALE_MAX 1  /* the single-sweep pass with last call's row maximum (below) */
static inline vec vexp(vec x) {
  const vec t = x * (REAL)1.4426950408889634;
#if DOUBLE
  const vec kf = (vec)_mm512_roundscale_pd((__m512d)t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
  const vec kf = (vec)_mm512_roundscale_ps((__m512)t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#endif
  const vec r = x - kf * LN2_HI - kf * LN2_LO;
#if DOUBLE
  return (vec)_mm512_scalef_pd((__m512d)vexp_reduced(r), (__m512d)kf);
#else
  return (vec)_mm512_scalef_ps((__m512)vexp_reduced(r), (__m512)kf);
#endif
}
/* 2^t for t in log2 units (the stale sweep's prescaled logits): 2^k by vscalef, e^r of r = (t − k)·ln2 */
static inline vec vexp2(vec t) {
#if DOUBLE
  const vec kf = (vec)_mm512_roundscale_pd((__m512d)t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return (vec)_mm512_scalef_pd((__m512d)vexp_reduced((t - kf) * (REAL)0.6931471805599453), (__m512d)kf);
#else
  const vec kf = (vec)_mm512_roundscale_ps((__m512)t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return (vec)_mm512_scalef_ps((__m512)vexp_reduced((t - kf) * (REAL)0.6931471805599453), (__m512)kf);
#endif
}
#else
#define STALE_MAX 0
static inline vec vexp(vec x) {
  const ivec ki = __builtin_convertvector(x * (REAL)1.4426950408889634 - (REAL)0.5, ivec);  /* round(x/ln2), x ≤ 0 */
  const vec kf = __builtin_convertvector(ki, vec);
  const vec r = x - kf * LN2_HI - kf * LN2_LO;
  const ivec bits = (ki + BIAS) << MANT;
  return vexp_reduced(r) * (vec)bits;
}
#endif

/* ln x lane-wise for positive normal finite x (vlog_ok says which lanes are; callers take the
   scalar LOG elsewhere). x = 2^e·m with m in [√½, √2), ln m = 2 atanh(s) = 2(s + s³/3 + s⁵/5 + …)
   with s = (m − 1)/(m + 1), |s| ≤ 0.172: truncated at s¹¹ (float: s^10/11 ≈ 2e-9 relative) or
   s²³ (double: 1.5e-17/23). Replaces VL scalar log calls per row block, which were ~15 % of a
   narrow member's pass. */
static inline ivec vlog_ok(vec x) {  /* integer compares: -ffast-math may not see NaN in float ones */
  const ivec bits = (ivec)x;
  return (bits >= ((IREAL)1 << MANT)) & (bits < ((IREAL)(2 * BIAS + 1) << MANT));
}
static inline vec vlog(vec x) {
  const ivec bits = (ivec)x, one = (ivec){} + ((IREAL)BIAS << MANT), mant = (ivec){} + (((IREAL)1 << MANT) - 1);
  vec m = (vec)((bits & mant) | one);  /* [1, 2) */
  const ivec big = m > (REAL)1.4142135623730951;
  m = (vec)(((ivec)(m * (REAL)0.5) & big) | ((ivec)m & ~big));
  const vec e = __builtin_convertvector((bits >> MANT) - BIAS - big, vec);  /* big is −1 where halved */
  const vec s = (m - 1) / (m + 1), s2 = s * s;
#if DOUBLE
  vec p = (vec){} + (REAL)(1.0 / 23);
  p = p * s2 + (REAL)(1.0 / 21);
  p = p * s2 + (REAL)(1.0 / 19);
  p = p * s2 + (REAL)(1.0 / 17);
  p = p * s2 + (REAL)(1.0 / 15);
  p = p * s2 + (REAL)(1.0 / 13);
  p = p * s2 + (REAL)(1.0 / 11);
  p = p * s2 + (REAL)(1.0 / 9);
  p = p * s2 + (REAL)(1.0 / 7);
#else
  vec p = (vec){} + (REAL)(1.0 / 9);
  p = p * s2 + (REAL)(1.0 / 7);
#endif
  p = p * s2 + (REAL)(1.0 / 5);
  p = p * s2 + (REAL)(1.0 / 3);
  const vec lm = 2 * s + 2 * s * s2 * p;
  return e * LN2_HI + (lm + e * LN2_LO);
}

#endif
