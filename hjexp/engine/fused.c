/* The engine's fused pass in C: logits, row max, exp, row sum, ε·LSE, residual and the closed-form
 * gradient in one sweep over blocks of V data rows, so nothing of size [E, n, N] ever exists.
 *
 * Vectorised across rows (one SIMD lane per data row) rather than across neurons: the row max and
 * row sum become lane-wise maxima and sums over j, so no horizontal reduction or scalar tail is paid
 * per row, which dominated narrow layers (N ≲ 100). Everything after the logits is row-local
 * (dL/dz_ij = q_i e_ij with q_i = r_i·s/Σ_j e_ij), so a block's exponentials [N, V] stay in cache
 * from their logits to their gradient contribution; the gradient is accumulated lane-wise
 * [K, N, V] and summed over lanes once per member. Members run in parallel (OpenMP).
 * Written with GCC vector extensions (one vector of VL lanes = 64 bytes), so the same source becomes
 * AVX-512, AVX2 or SSE code under -march=native; exp is inlined (range reduction and a polynomial,
 * ≤ 2 ulp on the clamped range), log runs once per row. Compiled twice by hjexp/engine/native.py
 * (REAL = float with 32-bit lane integers, double with 64-bit ones).
 *
 * Shapes (row-major, contiguous): xa [E|1, n, K] (K = d+1, last column 1); thT [E, K, N] = [W, b]ᵀ/ε
 * (absent neurons carry a large negative bias); keep [E, N] (0/1) or NULL; width [E] or NULL: member
 * e uses only its first width[e] neurons (the rest are never touched, their gradient stays 0); eps, scale, norm [E];
 * off [E|1, n] or NULL; target, w [E, n] (w NULL = all ones). mode 0: out [E, n] = predictions;
 * mode 1: out [E] = Σ_i w_i res_i²; mode 2: also gthT [E, K, N] = dL/d[W, b]ᵀ and gf [E] = Σ_i r_i f_i.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <xmmintrin.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VL ((int)(64 / sizeof(REAL)))  /* lanes = data rows per block */
#define KMAX 72  /* largest K = d+1 (native.py keeps to the torch path above it) */
#define FLOOR ((REAL)-80)  /* e^−80 ≈ 2e−35 is below the resolution of a row sum ≥ 1 */

typedef REAL vec __attribute__((vector_size(64)));
typedef IREAL ivec __attribute__((vector_size(64)));

#include <immintrin.h>
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

/* e^x for x in [−80, 0]: x = k ln2 + r, |r| ≤ ln2/2, 2^k through the exponent bits (k ≥ −116: a
   normal number). e^r: double, Taylor to degree 13 (truncation < 1e-17 relative); float, the
   degree-6 Chebyshev interpolant of e^r on [−ln2/2, ln2/2] (< 3e-9 relative, below float32's ulp). */
static inline vec vexp(vec x) {
  const ivec ki = __builtin_convertvector(x * (REAL)1.4426950408889634 - (REAL)0.5, ivec);  /* round(x/ln2), x ≤ 0 */
  const vec kf = __builtin_convertvector(ki, vec);
  const vec r = x - kf * (REAL)0.693145751953125 - kf * (REAL)1.4286068203094172e-06;
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
  vec p = (vec){} + (REAL)0.0013941108469347112;
  p = p * r + (REAL)0.008375126398416406;
  p = p * r + (REAL)0.041666352896198126;
  p = p * r + (REAL)0.16666415514649008;
  p = p * r + (REAL)0.5000000047117971;
  p = p * r + (REAL)1.0000000377162153;
  p = p * r + (REAL)1;
#endif
  const ivec bits = (ki + BIAS) << MANT;
  return p * (vec)bits;
}

int CAT(hj_pass_, SUFFIX)(int64_t E, int64_t n, int64_t N, int64_t K,
                            const REAL *xa, int64_t xa_es, const REAL *thT, const REAL *keep, const int64_t *width,
                            const REAL *eps, const REAL *scale, const REAL *norm,
                            const REAL *off, int64_t off_es, const REAL *target, const REAL *w,
                            int mode, REAL *out, REAL *gthT, REAL *gf, int nthreads) {
  if (K > KMAX) return 1;  /* the gradient's register accumulators hold at most KMAX columns */
  /* a super-block of RB row blocks keeps its exponentials [RB, N] in L2, so the gradient can then
     be accumulated neuron by neuron in registers, reading each exponential once */
  const int64_t RB = N * (int64_t)sizeof(vec) * 16 <= (1 << 19) ? 16 : (1 << 19) / (N * (int64_t)sizeof(vec)) + 1;
  const int64_t SB = RB * VL, ns = (n + SB - 1) / SB, items = E * ns;
  /* work items (member, super-block) in one static order: thread t takes a contiguous run, keeps
     partial sums per member, and the partials are added in thread order (deterministic for a
     given thread count) */
  const int nt = nthreads < 1 ? 1 : (items < nthreads ? (int)(items > 0 ? items : 1) : nthreads);
  REAL *lpart = (REAL *)calloc((size_t)nt * E, sizeof(REAL)), *gpart = (REAL *)calloc((size_t)nt * E, sizeof(REAL));
  REAL *part = mode == 2 && nt > 1 ? (REAL *)calloc((size_t)nt * E * K * N, sizeof(REAL)) : gthT;
#pragma omp parallel num_threads(nt)
  {
    /* flush denormals in this thread: gradient products q·x·e^−80 fall below float32's normal
       range, and denormal arithmetic is ~100x slower; they are < 1e-38 of every sum they enter */
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);
    const int t = omp_get_thread_num();
    vec *Z = (vec *)aligned_alloc(64, (size_t)RB * N * sizeof(vec));
    vec *Gv = mode == 2 ? (vec *)aligned_alloc(64, (size_t)K * N * sizeof(vec)) : 0;
    vec *A = (vec *)aligned_alloc(64, (size_t)RB * K * sizeof(vec));
    int64_t *live = (int64_t *)malloc((size_t)RB * sizeof(int64_t));
    int64_t cur = -1;  /* the member whose sums are open in this thread */
    vec loss = {}, gfl = {};
#define FLUSH                                                                         \
  if (cur >= 0) {                                                                     \
    REAL s = 0, sg = 0;                                                               \
    for (int l = 0; l < VL; ++l) s += loss[l], sg += gfl[l];                          \
    lpart[t * E + cur] += s, gpart[t * E + cur] += sg;                                \
    if (Gv) {                                                                         \
      REAL *G = part + ((nt > 1 ? t * E : 0) + cur) * K * N;                          \
      for (int64_t kj = 0; kj < K * N; ++kj) {                                        \
        REAL g = 0;                                                                   \
        for (int l = 0; l < VL; ++l) g += Gv[kj][l];                                  \
        G[kj] += g;                                                                   \
      }                                                                               \
    }                                                                                 \
  }
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t e = it / ns, s0 = (it % ns) * SB;
      if (e != cur) {
        FLUSH
        cur = e, loss = (vec){}, gfl = (vec){};
        if (Gv) memset(Gv, 0, (size_t)K * N * sizeof(vec));
      }
      const REAL *X = xa + e * xa_es, *T = thT + e * K * N, *kp = keep ? keep + e * N : 0;
      const REAL *O = off ? off + e * off_es : 0, *Y = target ? target + e * n : 0, *Wt = w ? w + e * n : 0;
      const REAL ep = eps[e], sc = scale[e], nm = norm[e];
      const int64_t Ne = width ? width[e] : N;  /* this member's neurons: the first Ne of N */
      do {
        int64_t nlive = 0;
        for (int64_t i0 = s0; i0 < n && i0 < s0 + RB * VL; i0 += VL) {
          const int nv = n - i0 < VL ? (int)(n - i0) : VL;
          vec wl = {}, yl = {}, ol = {};
          int any = mode == 0;
          for (int l = 0; l < nv; ++l) {
            wl[l] = Wt ? Wt[i0 + l] : (REAL)1;  /* padding lanes keep weight 0 */
            yl[l] = Y ? Y[i0 + l] : (REAL)0;
            ol[l] = O ? O[i0 + l] : (REAL)0;
            any |= wl[l] != 0;
          }
          if (!any) continue;  /* a block of absent samples adds exactly nothing */
          vec *xb = A + nlive * K, *Zb = Z + nlive * N;
          for (int64_t k = 0; k < K; ++k) {
            vec v = {};
            for (int l = 0; l < nv; ++l) v[l] = X[(i0 + l) * K + k];
            xb[k] = v;
          }
          /* logits of the VL rows for every neuron, lane-wise max */
          vec m = (vec){} - (REAL)1e30;
#define LOGITS(KC)                                                       \
  for (int64_t j = 0; j < Ne; ++j) {                                     \
    vec z = T[j] * xb[0];                                                \
    for (int64_t k = 1; k < (KC); ++k) z += T[k * N + j] * xb[k];        \
    Zb[j] = z;                                                           \
    m = vmax(z, m);                                                      \
  }
          switch (K) {  /* a constant K lets the compiler unroll the product over k */
            case 2: LOGITS(2) break;
            case 3: LOGITS(3) break;
            case 4: LOGITS(4) break;
            case 5: LOGITS(5) break;
            case 6: LOGITS(6) break;
            case 7: LOGITS(7) break;
            case 8: LOGITS(8) break;
            case 9: LOGITS(9) break;
            default: LOGITS(K)
          }
          /* unnormalised Gibbs weights in place, lane-wise sums */
          vec tot = {};
          for (int64_t j = 0; j < Ne; ++j) {
            vec v = Zb[j] - m;
            v = vexp(vmax(v, (vec){} + FLOOR));
            if (kp) v *= kp[j];  /* absent neuron: exactly zero weight */
            Zb[j] = v;
            tot += v;
          }
          vec f;
          for (int l = 0; l < VL; ++l) f[l] = ep * (m[l] + LOG(tot[l]));
          const vec pred = sc * f + ol;
          if (mode == 0) {
            for (int l = 0; l < nv; ++l) out[e * n + i0 + l] = pred[l];
            continue;
          }
          const vec res = pred - yl, wres = res * wl, r = 2 * wres / nm;
          loss += wres * res;
          gfl += r * f;
          if (mode == 1) continue;
          const vec q = r * sc / tot;
          for (int64_t k = 0; k < K; ++k) xb[k] *= q;  /* a_k = q·x_k */
          live[nlive++] = i0;
        }
        if (mode != 2 || nlive == 0) break;
        /* Σ_i q_i x_ik e_ij over the super-block, neuron by neuron, lane-wise in registers */
#define GRAD(KC)                                                         \
  for (int64_t j = 0; j < Ne; ++j) {                                     \
    vec acc[KMAX];                                                       \
    for (int64_t k = 0; k < (KC); ++k) acc[k] = Gv[k * N + j];           \
    for (int64_t b = 0; b < nlive; ++b) {                                \
      const vec ej = Z[b * N + j], *ab = A + b * K;                      \
      for (int64_t k = 0; k < (KC); ++k) acc[k] += ab[k] * ej;           \
    }                                                                    \
    for (int64_t k = 0; k < (KC); ++k) Gv[k * N + j] = acc[k];           \
  }
        switch (K) {  /* constant K: the accumulators live in registers */
          case 2: GRAD(2) break;
          case 3: GRAD(3) break;
          case 4: GRAD(4) break;
          case 5: GRAD(5) break;
          case 6: GRAD(6) break;
          case 7: GRAD(7) break;
          case 8: GRAD(8) break;
          case 9: GRAD(9) break;
          default: GRAD(K)
        }
      } while (0);
    }
    FLUSH
    free(Z), free(Gv), free(A), free(live);
    _mm_setcsr(csr);
  }
  if (mode != 0)
    for (int64_t e = 0; e < E; ++e) {
      REAL s = 0, sg = 0;
      for (int tt = 0; tt < nt; ++tt) s += lpart[tt * E + e], sg += gpart[tt * E + e];
      out[e] = s;
      if (gf) gf[e] = sg;
    }
  if (part != gthT) {
    for (int tt = 0; tt < nt; ++tt)
      for (int64_t i = 0; i < E * K * N; ++i) gthT[i] += part[(size_t)tt * E * K * N + i];
    free(part);
  }
  free(lpart), free(gpart);
  return 0;
}
