/* The engine's fused pass in C: logits, row max, exp, row sum, ε·LSE, residual and the closed-form
 * gradient in one sweep over blocks of V data rows, so nothing of size [E, n, N] ever exists.
 *
 * Vectorised across rows (one SIMD lane per data row) rather than across neurons: the row max and
 * row sum become lane-wise maxima and sums over j, so no horizontal reduction or scalar tail is paid
 * per row, which dominated narrow layers (N ≲ 100). Everything after the logits is row-local
 * (dL/dz_ij = q_i e_ij with q_i = r_i·s/Σ_j e_ij), so a block's exponentials [N, V] stay in cache
 * from their logits to their gradient contribution; the gradient is accumulated lane-wise
 * [K, N, V] and summed over lanes once per member. Wide rows (K > 9), where the two products are
 * nearly all the work, take wide.h's register-blocked ones instead: a super-block's logits at once,
 * and gradient tiles summed over lanes as they finish. Members run in parallel (OpenMP).
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
 * mode 3: the gradient of any loss, target holding its r_i = dL/dpred_i (times w_i): gthT and gf as
 * mode 2, out [E] = 0 (a cross-entropy over several members' outputs: engine/classify.py).
 * active [n_act] or NULL: only these members are computed (stopped members cost nothing; their
 * outputs stay 0). cull [E] (0/1) or NULL: members whose super-blocks of rows skip the neurons
 * that cannot matter (below).
 *
 * Culling (exact to e^−80, the floor the dense pass clamps to). For rows with bounding box
 * centre c and half-widths h (per input column) and any reference neuron j*, every row x of the block has
 *     z_j(x) − z_j*(x) ≤ (θ_j − θ_j*)·c + Σ_k |θ_jk − θ_j*k| h_k =: B_j,
 * and z_j*(x) ≤ max_j z_j(x), so B_j < −80 puts neuron j below the row max by more than 80 on
 * every row: its weight is < e^−80 of the largest, i.e. nothing at float32 or float64 resolution of
 * the row sum (the dense pass clamps such terms to e^−80; culling drops them: a difference below
 * N·e^−80 relative). j* is the neuron with the largest logit at the centre. This pays when rows are
 * spatially sorted (engine/order.py) and logits are sharp (small ε, small t: the Gibbs weights of a
 * row live on a few nearby atoms). The test is made once per super-block of CULL_RB·VL rows (their
 * common box); the kept neurons are copied into contiguous scratch and the super-block runs the
 * same loops on them. A super-block that keeps more than half the neurons runs on all of them.
 * kept [E, 2] (or NULL) receives, per member, the neurons kept and the neurons tested, summed over
 * super-blocks, so the caller can stop asking for culling where it does not pay.
 *
 * Stale row maxima (AVX-512 builds, K ≤ 9): mrow [E, n] (or NULL) holds shifts to try (any values; last
 * call's row maxima are what pay; ≥ UNKNOWN_MAX: none yet, go straight to two sweeps) and receives each row's logit maximum; a block first tries one sweep that takes logits, their
 * maximum and the exponentials against last call's maximum together (training moves a row's maximum
 * little per step), falling back to the two sweeps (logits and maximum, then exponentials) when a
 * row's maximum moved by more than STALE_WINDOW. The shift of a log-sum-exp is free, so the result
 * is the same up to roundoff.
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
#define CULL_RB 4  /* blocks per super-block when culling: 4·VL rows share one bounding box */
/* M(K) with K a compile-time constant for K ≤ 9 (the compiler unrolls the loops over k and keeps
   per-k accumulators in registers), the general loop above */
#define DISPATCH_K(M) \
  switch (K) {        \
    case 2: M(2) break; \
    case 3: M(3) break; \
    case 4: M(4) break; \
    case 5: M(5) break; \
    case 6: M(6) break; \
    case 7: M(7) break; \
    case 8: M(8) break; \
    case 9: M(9) break; \
    default: M(K)     \
  }
/* out = init + Σ_k T[k, j]·X[k] for neuron j of the set (K ≤ 9: the loop unrolls; wide rows take wide.h) */
#define DOT(j, init, X, out, KC)                                      \
  {                                                                   \
    out = (init) + Tv[j] * X[0];                                      \
    for (int64_t k = 1; k < (KC); ++k) out += Tv[k * ld + (j)] * X[k]; \
  }
#define STALE_WINDOW ((REAL)20)  /* the stale sweep's tolerance on a row maximum's move (logit units) */
#define UNKNOWN_MAX ((REAL)1e29)  /* a block whose first mrow entry is at least this has no last maximum yet */
#define CULL_MIN 32  /* members with fewer neurons never cull: the test would cost about what it saves */

#include "simd.h"
#include "wide.h"

/* The neuron set a super-block runs on: every neuron of the member, or its culled subset copied
   into contiguous scratch (so both run the same dense loops). Its gradient goes straight to the
   member's accumulators [K, N] through jx: a culled set is small and changes every super-block, so
   a scratch copy (cleared, accumulated, scattered back) cost more memory traffic than its FMAs. */
typedef struct {
  const REAL *T;      /* [K, ld] scaled network, column j = neuron j of the set */
  const REAL *kp;     /* [Nn] keep mask or NULL */
  const int64_t *jx;  /* the set's neuron j is the member's neuron jx[j] (NULL: j) */
  int64_t ld, Nn;
} Set;

/* Cull the member's Ne neurons for the rows in A [nb blocks × K] with lane counts nv[b]:
   kept indices into jl, their count returned (header comment: the bound B_j ≥ −80 keeps j). */
static int64_t cull_set(const REAL *T, int64_t N, int64_t Ne, int64_t K, const vec *A, const int *nv, int64_t nb,
                        REAL *zc, REAL *bnd, int64_t *jl) {
  REAL cen[KMAX], half[KMAX];
  for (int64_t k = 0; k < K - 1; ++k) {
    REAL lo = A[k][0], hi = A[k][0];
    for (int64_t b = 0; b < nb; ++b)
      for (int l = 0; l < nv[b]; ++l) {
        const REAL v = A[b * K + k][l];
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
      }
    cen[k] = (lo + hi) / 2, half[k] = (hi - lo) / 2;
  }
  for (int64_t j = 0; j < Ne; ++j) zc[j] = T[(K - 1) * N + j];
  for (int64_t k = 0; k < K - 1; ++k)
    for (int64_t j = 0; j < Ne; ++j) zc[j] += T[k * N + j] * cen[k];
  REAL best = zc[0];
  for (int64_t j = 1; j < Ne; ++j) best = zc[j] > best ? zc[j] : best;  /* a max reduction: vectorised */
  int64_t jb = 0;
  while (jb < Ne - 1 && !(zc[jb] >= best)) ++jb;
  for (int64_t j = 0; j < Ne; ++j) bnd[j] = zc[j] - best;
  for (int64_t k = 0; k < K - 1; ++k) {
    const REAL tb = T[k * N + jb], hk = half[k];
    for (int64_t j = 0; j < Ne; ++j) bnd[j] += fabs(T[k * N + j] - tb) * hk;
  }
  int64_t nj = 0;
  for (int64_t j = 0; j < Ne; ++j) {  /* branch-free compaction */
    jl[nj] = j;
    nj += bnd[j] >= FLOOR;
  }
  return nj;
}

int CAT(hj_pass_, SUFFIX)(int64_t E, const int64_t *active, int64_t n_act, const unsigned char *cull, int64_t n, int64_t N, int64_t K,
                            const REAL *xa, int64_t xa_es, const REAL *thT, const REAL *keep, const int64_t *width,
                            const REAL *eps, const REAL *scale, const REAL *norm,
                            const REAL *off, int64_t off_es, const REAL *target, const REAL *w,
                            int mode, REAL *out, REAL *gthT, REAL *gf, int nthreads, double *kept,
                            REAL *mrow) {
  if (K > KMAX) return 1;  /* the gradient's register accumulators hold at most KMAX columns */
  /* a super-block of RB row blocks keeps its exponentials [RB, N] in L2, so the gradient can then
     be accumulated neuron by neuron in registers, reading each exponential once; with culling,
     super-blocks of CULL_RB blocks (a smaller box keeps fewer neurons) */
  const int64_t RB = cull ? CULL_RB
                          : N * (int64_t)sizeof(vec) * 16 <= (1 << 19) ? 16 : (1 << 19) / (N * (int64_t)sizeof(vec)) + 1;
  const int wide = K > 9;  /* the products register-blocked (wide.h) */
  const int64_t SB = RB * VL, ns = (n + SB - 1) / SB, items = (active ? n_act : E) * ns;
  /* work items (member, super-block) dealt round-robin (item i to thread i mod nt: members of
     different widths are spread over the threads, where contiguous runs gave one thread the wide
     ones); each thread keeps partial sums per member, and the partials are added in thread order
     (deterministic for a given thread count); the gradient's only where a member spans items */
  const int nt = nthreads < 1 ? 1 : (items < nthreads ? (int)(items > 0 ? items : 1) : nthreads);
  REAL *lpart = (REAL *)calloc((size_t)nt * E, sizeof(REAL)), *gpart = (REAL *)calloc((size_t)nt * E, sizeof(REAL));
  /* a member whose rows are one super-block is one item, so one thread: its gradient goes straight
     to gthT (a minibatch step then allocates, clears and adds no per-thread copies [nt, E, K, N]) */
  const int split = nt > 1 && ns > 1;
  REAL *part = mode >= 2 && split ? (REAL *)calloc((size_t)nt * E * K * N, sizeof(REAL)) : gthT;
  double *kpart = (double *)calloc((size_t)nt * E * 2, sizeof(double));  /* culling: neurons kept, tested, per member */
#pragma omp parallel num_threads(nt)
  {
    /* flush denormals in this thread: gradient products q·x·e^−80 fall below float32's normal
       range, and denormal arithmetic is ~100x slower; they are < 1e-38 of every sum they enter */
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);
    const int t = omp_get_thread_num();
    vec *Z = (vec *)aligned_alloc(64, (size_t)RB * N * sizeof(vec));
    /* lane-wise gradient accumulators [K, N] of the open member (wide rows sum their tiles over lanes at once, wide.h) */
    vec *Gv = mode >= 2 && !wide ? (vec *)aligned_alloc(64, (size_t)K * N * sizeof(vec)) : 0;
    vec *A = (vec *)aligned_alloc(64, (size_t)RB * K * sizeof(vec));
    vec *WL = (vec *)aligned_alloc(64, (size_t)RB * 4 * sizeof(vec));  /* per block: weights, targets, offsets, last max */
    int *NV = (int *)malloc((size_t)RB * sizeof(int));
    int64_t *I0 = (int64_t *)malloc((size_t)RB * sizeof(int64_t));
    /* culling scratch: centre logits, bounds, kept indices, the kept set's network, keep mask, gradient */
    REAL *zc = cull ? (REAL *)malloc((size_t)N * sizeof(REAL)) : 0;
    REAL *bnd = cull ? (REAL *)malloc((size_t)N * sizeof(REAL)) : 0;
    int64_t *jl = cull ? (int64_t *)malloc((size_t)(N + 1) * sizeof(int64_t)) : 0;
    REAL *Tc = cull ? (REAL *)malloc((size_t)K * N * sizeof(REAL)) : 0;
    REAL *kc = cull ? (REAL *)malloc((size_t)N * sizeof(REAL)) : 0;
    int64_t cur = -1, curN = 0;  /* the member whose sums are open in this thread, its width */
    vec loss = {}, gfl = {};
#define FLUSH                                                                         \
  if (cur >= 0) {                                                                     \
    REAL s = 0, sg = 0;                                                               \
    for (int l = 0; l < VL; ++l) s += loss[l], sg += gfl[l];                          \
    lpart[t * E + cur] += s, gpart[t * E + cur] += sg;                                \
    if (Gv) {  /* the member's own width curN: a narrow member in a wide group pays its width */ \
      REAL *G = part + ((split ? t * E : 0) + cur) * K * N;                             \
      for (int64_t k = 0; k < K; ++k)                                                 \
        for (int64_t j = 0; j < curN; ++j) {                                          \
          REAL g = 0;                                                                 \
          for (int l = 0; l < VL; ++l) g += Gv[k * N + j][l];                         \
          G[k * N + j] += g;                                                          \
        }                                                                             \
    }                                                                                 \
  }
#pragma omp for schedule(static, 1)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t e = active ? active[it / ns] : it / ns, s0 = (it % ns) * SB;
      if (e != cur) {
        FLUSH
        cur = e, curN = width ? width[e] : N, loss = (vec){}, gfl = (vec){};
        if (Gv)
          for (int64_t k = 0; k < K; ++k) memset(Gv + k * N, 0, (size_t)curN * sizeof(vec));
      }
      const REAL *X = xa + e * xa_es, *T = thT + e * K * N, *kp = keep ? keep + e * N : 0;
      const REAL *O = off ? off + e * off_es : 0, *Y = target ? target + e * n : 0, *Wt = w ? w + e * n : 0;
      REAL *M = mrow ? mrow + e * n : 0;  /* this member's row maxima of the last call */
      const REAL ep = eps[e], sc = scale[e], nm = norm[e];
      const int64_t Ne = width ? width[e] : N;  /* this member's neurons: the first Ne of N */
      /* phase 1: the super-block's blocks of VL rows into lanes; blocks nobody weighs are dropped */
      int64_t nb = 0;
      for (int64_t i0 = s0; i0 < n && i0 < s0 + SB; i0 += VL) {
        const int nv = n - i0 < VL ? (int)(n - i0) : VL;
        vec wl = {}, yl = {}, ol = {}, ml = {};
        int any = mode == 0;
        vec *xb = A + nb * K;
        if (nv == VL) {  /* a full block: vector loads */
          wl = Wt ? vload(Wt + i0) : (vec){} + 1, yl = Y ? vload(Y + i0) : yl;
          ol = O ? vload(O + i0) : ol, ml = M ? vload(M + i0) : ml;
          const ivec nz = wl != 0;
          for (int l = 0; l < VL; ++l) any |= nz[l] != 0;
        } else {
          for (int l = 0; l < VL; ++l) {  /* padding lanes repeat the first row with weight 0: finite */
            const int64_t i = i0 + (l < nv ? l : 0);
            wl[l] = l >= nv ? (REAL)0 : Wt ? Wt[i] : (REAL)1;
            yl[l] = Y ? Y[i] : (REAL)0;
            ol[l] = O ? O[i] : (REAL)0;
            ml[l] = M ? M[i] : (REAL)0;
            any |= wl[l] != 0;
          }
        }
        if (!any) continue;  /* a block of absent samples adds exactly nothing */
        /* X's [VL, K] rows transposed into lanes (a constant K unrolls the full block's transpose) */
#define GATHER(KC)                                                       \
  for (int64_t k = 0; k < (KC); ++k)                                     \
    for (int l = 0; l < VL; ++l) xb[k][l] = X[(i0 + (l < nv ? l : 0)) * (KC) + k];
        if (nv == VL) {
          const int nv = VL;  /* a constant bound: the selects fold away */
          DISPATCH_K(GATHER)
        } else {
          GATHER(K)
        }
        WL[4 * nb] = wl, WL[4 * nb + 1] = yl, WL[4 * nb + 2] = ol, WL[4 * nb + 3] = ml, NV[nb] = nv, I0[nb] = i0;
        ++nb;
      }
      if (nb == 0) continue;
      /* the neuron set: all of them, or the culled subset in contiguous scratch */
      Set S = {T, kp, 0, N, Ne};
      int64_t nj = Ne;
      if (cull && cull[e] && Ne > CULL_MIN) {
        nj = cull_set(T, N, Ne, K, A, NV, nb, zc, bnd, jl);
        kpart[(t * E + e) * 2] += nj, kpart[(t * E + e) * 2 + 1] += Ne;
        if (2 * nj <= Ne) {
          for (int64_t k = 0; k < K; ++k)
            for (int64_t jj = 0; jj < nj; ++jj) Tc[k * nj + jj] = T[k * N + jl[jj]];
          if (kp)
            for (int64_t jj = 0; jj < nj; ++jj) kc[jj] = kp[jl[jj]];
          S = (Set){Tc, kp ? kc : 0, jl, nj, nj};
        } else {
          nj = Ne;  /* not worth it for this super-block: every neuron */
        }
      }
      const REAL *Tv = S.T, *kv = S.kp;
      const int64_t ld = S.ld, Nn = S.Nn;
      /* phase 2: per block, logits, max, exp, sums, loss; a_k = q·x_k for the gradient */
      if (wide) wide_logits(A, nb, K, Tv, ld, Nn, Z);  /* the super-block's logits at once */
      for (int64_t b = 0; b < nb; ++b) {
        vec *xb = A + b * K, *Zb = Z + b * Nn;
        const vec wl = WL[4 * b], yl = WL[4 * b + 1], ol = WL[4 * b + 2];
        vec m = (vec){} - (REAL)1e30, tot = {}, shift;
        int fresh = 1;  /* exponentials still to be taken (no stale sweep, or it was refused) */
#if STALE_MAX
        /* one sweep: logits, their true maximum, and exponentials against the last call's maximum
           mp, accepted when every row's maximum moved by at most STALE_WINDOW (no overflow, and
           clamped terms stay ≤ e^−60 of the largest) */
        if (!wide && M && WL[4 * b + 3][0] < UNKNOWN_MAX) {
          const vec mp = WL[4 * b + 3], nmp = mp * (REAL)-1.4426950408889634;
          vec xs[KMAX];
          for (int64_t k = 0; k < K; ++k) xs[k] = xb[k] * (REAL)1.4426950408889634;
/* one neuron j of the sweep, in log2 units relative to the stale maximum: the rows' x are
   prescaled by log2(e) and the accumulation starts at −mp·log2(e), so z − mp and its scaling into
   the exp cost no instruction. MASKED: general neuron masks (a −1e30 bias, so the clamp keeps the
   range reduction finite before the weight is zeroed); without them far-below terms underflow to 0
   through vscalef. */
#define LOGEXP1(j, zz, mm, tt, MASKED)                                   \
  {                                                                      \
    vec zz;                                                              \
    DOT(j, nmp, xs, zz, KC_)                                             \
    mm = vmax(zz, mm);                                                   \
    if (MASKED)                                                          \
      zz = vexp2(vmax(zz, (vec){} + FLOOR * (REAL)1.4426950408889634)) * kv[j]; \
    else                                                                 \
      zz = vexp2(zz);                                                    \
    Zb[j] = zz;                                                          \
    tt += zz;                                                            \
  }
#define LOGEXP_LOOP(MASKED)                                              \
  {                                                                      \
    vec m1 = m, tot1 = tot;                                              \
    int64_t j = 0;                                                       \
    for (; j + 1 < Nn; j += 2) {                                         \
      LOGEXP1(j, z0, m, tot, MASKED)                                     \
      LOGEXP1(j + 1, z1, m1, tot1, MASKED)                               \
    }                                                                    \
    if (j < Nn) LOGEXP1(j, z0, m, tot, MASKED)                           \
    m = vmax(m, m1);                                                     \
    tot += tot1;                                                         \
  }
#define LOGEXP(KC)                                                       \
  {                                                                      \
    const int64_t KC_ = (KC);                                            \
    if (kv) LOGEXP_LOOP(1) else LOGEXP_LOOP(0)                           \
  }
          DISPATCH_K(LOGEXP)
          m = mp + m * (REAL)0.6931471805599453;  /* the rows' true maxima, in logit units */
          int ok = 1;
          for (int l = 0; l < VL; ++l) ok &= m[l] - mp[l] <= STALE_WINDOW && mp[l] - m[l] <= STALE_WINDOW;
          if (ok) fresh = 0, shift = mp;
          else m = (vec){} - (REAL)1e30, tot = (vec){};
        }
#endif
        if (fresh) {
#define LOGITS(KC)                                                       \
  for (int64_t j = 0; j < Nn; ++j) {                                     \
    vec z;                                                               \
    DOT(j, (vec){}, xb, z, KC)                                           \
    Zb[j] = z;                                                           \
    m = vmax(z, m);                                                      \
  }
          if (wide)
            for (int64_t j = 0; j < Nn; ++j) m = vmax(Zb[j], m);
          else
            DISPATCH_K(LOGITS)  /* a constant K lets the compiler unroll the product over k */
          /* unnormalised Gibbs weights in place, lane-wise sums */
          for (int64_t j = 0; j < Nn; ++j) {
            vec v = Zb[j] - m;
            v = vexp(vmax(v, (vec){} + FLOOR));
            if (kv) v *= kv[j];  /* absent neuron: exactly zero weight */
            Zb[j] = v;
            tot += v;
          }
          shift = m;
        }
        if (mrow)
          for (int l = 0; l < NV[b]; ++l) mrow[e * n + I0[b] + l] = m[l];
        vec lt = vlog(tot);
        const ivec lok = vlog_ok(tot);
        for (int l = 0; l < VL; ++l)
          if (!lok[l]) lt[l] = LOG(tot[l]);  /* 0, inf, NaN or subnormal: the library's answer */
        const vec f = ep * (shift + lt);
        const vec pred = sc * f + ol;
        if (mode == 0) {
          for (int l = 0; l < NV[b]; ++l) out[e * n + I0[b] + l] = pred[l];
          continue;
        }
        const vec res = pred - yl, wres = res * wl, r = mode == 3 ? yl * wl : 2 * wres / nm;
        if (mode != 3) loss += wres * res;
        gfl += r * f;
        if (mode == 1) continue;
        const vec q = r * sc / tot;
        for (int64_t k = 0; k < K; ++k) xb[k] *= q;  /* a_k = q·x_k */
      }
      if (mode < 2) continue;
      /* phase 3: Σ_i q_i x_ik e_ij over the super-block, neuron by neuron, lane-wise in registers */
      vec *G = Gv;  /* [K, N]: the set's neuron j accumulates at column jx[j] (or j) */
      const int64_t *jx = S.jx;
#define GRAD1(j)                                                         \
  {                                                                      \
    const int64_t g_ = jx ? jx[j] : (j);                                 \
    vec acc[KMAX];                                                       \
    for (int64_t k = 0; k < KC_; ++k) acc[k] = G[k * N + g_];            \
    for (int64_t b = 0; b < nb; ++b) {                                   \
      const vec ej = Z[b * Nn + (j)], *ab = A + b * K;                   \
      for (int64_t k = 0; k < KC_; ++k) acc[k] += ab[k] * ej;            \
    }                                                                    \
    for (int64_t k = 0; k < KC_; ++k) G[k * N + g_] = acc[k];            \
  }
/* two neurons per iteration: 2·K independent FMA chains (one neuron's K chains are latency-bound) */
#define GRAD(KC)                                                         \
  {                                                                      \
    const int64_t KC_ = (KC);                                            \
    int64_t j = 0;                                                       \
    for (; j + 1 < Nn; j += 2) {                                         \
      const int64_t g0 = jx ? jx[j] : j, g1 = jx ? jx[j + 1] : j + 1;    \
      vec acc0[KMAX], acc1[KMAX];                                        \
      for (int64_t k = 0; k < KC_; ++k)                                  \
        acc0[k] = G[k * N + g0], acc1[k] = G[k * N + g1];                \
      for (int64_t b = 0; b < nb; ++b) {                                 \
        const vec e0 = Z[b * Nn + j], e1 = Z[b * Nn + j + 1], *ab = A + b * K; \
        for (int64_t k = 0; k < KC_; ++k)                                \
          acc0[k] += ab[k] * e0, acc1[k] += ab[k] * e1;                  \
      }                                                                  \
      for (int64_t k = 0; k < KC_; ++k)                                  \
        G[k * N + g0] = acc0[k], G[k * N + g1] = acc1[k];                \
    }                                                                    \
    if (j < Nn) GRAD1(j)                                                 \
  }
      if (wide)
        wide_grad(A, Z, nb, K, Nn, jx, part + ((split ? t * E : 0) + e) * K * N, N);
      else
        DISPATCH_K(GRAD)  /* constant K: the accumulators live in registers */
    }
    FLUSH
    free(Z), free(Gv), free(A), free(WL), free(NV), free(I0);
    free(zc), free(bnd), free(jl), free(Tc), free(kc);
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
  if (kept)
    for (int tt = 0; tt < nt; ++tt)
      for (int64_t i = 0; i < 2 * E; ++i) kept[i] += kpart[tt * E * 2 + i];
  free(lpart), free(gpart), free(kpart);
  return 0;
}
