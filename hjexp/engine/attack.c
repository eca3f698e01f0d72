/* One projected-gradient (PGD) step of experiments/eps_robustness/attacks.py, in C, for P rows that
 * each pair an image with one LSE classifier  z_c(x) = ε·log Σ_j exp((w_cj·u + b_cj)/ε),  u = (x − μ)P.
 *
 * Per block of RB rows everything stays in cache: the features u (an [RB, D]×[D, k] product), the
 * class logits and margin, the closed-form gradient of the attack objective
 * ∇_x obj = P Σ_c (∂obj/∂z_c) Σ_j π_cj w_cj, and the projected step. The torch path (attacks._step
 * on classifier.pair_objective) writes [P, D] and [P, C, N] intermediates several times a step, and
 * an attack's cost is almost all per step (tens of thousands of (model, image) pairs × 100 steps).
 *
 * Shapes (row-major, contiguous): xa, x0 [P, D]; lo, hi [P, D] (ℓ∞: the ball ∩ box) or NULL (ℓ2);
 * Pc [D, kp] (the columns of P, zero-padded to kp, a multiple of KG·VL); PcT [k, Dp] (Pᵀ, its rows
 * zero-padded to Dp, a multiple of KG·VL); muP [kp] = μP;
 * WT [E, k, CNp] (W with (c, j) flattened last, zero-padded to CNp, a multiple of VL); Wk [E, C·N, kp];
 * bias [E, CNp]; eps [E]; member, y [P] (int64); alpha, radius [P].
 * norm 0 = ℓ∞, 1 = ℓ2; loss 0 = cross-entropy, 1 = margin; update 0: only the margins (the last
 * iterate). box (ℓ2): clamp the iterate to [blo, bhi] (ℓ∞ has the box in lo, hi).
 * gap [P] receives z_y − max_{c≠y} z_c at the iterate on entry. Rows with gap < 0 are left where
 * they are: they are adversarial examples, which the caller records and drops.
 * Returns 0, or 1 when the shapes are outside what this file handles (C > CMAX, unpadded kp, Dp or CNp).
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VL ((int)(64 / sizeof(REAL)))
#define RB 6      /* rows per block: P is read from cache once per RB rows */
#define KG 4      /* vectors per row in the products' register tiles: RB·KG accumulators */
#define CMAX 64   /* classes */
#define FLOOR ((REAL)-80)

static inline REAL hsum(vec v) {
  REAL s = 0;
  for (int l = 0; l < VL; ++l) s += v[l];
  return s;
}

/* Class logits, margin and ∂obj/∂u of one row; returns the margin, fills gu [kp] (zeros past k). */
static REAL row_objective(const REAL *u, int64_t m, int64_t yi, int64_t k, int64_t kp, int64_t C, int64_t N,
                          int64_t CNp, const REAL *WT, const REAL *Wk, const REAL *bias, REAL eps, int loss,
                          int want_grad, vec *a, vec *gu) {
  const int64_t cv = CNp / VL, kv = kp / VL, CN = C * N;
  const REAL *wt = WT + m * k * CNp;
  /* neuron logits a = bias + u W, on accumulators in registers (summing into a[] in memory made
     every FMA a load, an FMA and a store: ~20 % of the step) — tiles of 8 vectors, the rest one
     vector at a time on four partial sums over k (one k-long FMA chain is latency-bound) */
  const REAL *bm = bias + m * CNp;
  int64_t c0 = 0;
  for (; c0 + 8 <= cv; c0 += 8) {
    vec s[8];
    for (int i = 0; i < 8; ++i) s[i] = vload(bm + (c0 + i) * VL);
    for (int64_t kk = 0; kk < k; ++kk) {
      const REAL uk = u[kk], *r = wt + kk * CNp + c0 * VL;
      for (int i = 0; i < 8; ++i) s[i] += uk * vload(r + i * VL);
    }
    for (int i = 0; i < 8; ++i) a[c0 + i] = s[i];
  }
  for (; c0 < cv; ++c0) {
    vec s[4] = {vload(bm + c0 * VL), {}, {}, {}};
    int64_t kk = 0;
    for (; kk + 4 <= k; kk += 4)
      for (int i = 0; i < 4; ++i) s[i] += u[kk + i] * vload(wt + (kk + i) * CNp + c0 * VL);
    for (; kk < k; ++kk) s[0] += u[kk] * vload(wt + kk * CNp + c0 * VL);
    a[c0] = (s[0] + s[1]) + (s[2] + s[3]);
  }
  REAL *av = (REAL *)a, zmax[CMAX], z[CMAX], isum[CMAX];
  for (int64_t c = 0; c < C; ++c) {
    REAL mx = av[c * N];
    for (int64_t j = 1; j < N; ++j) mx = av[c * N + j] > mx ? av[c * N + j] : mx;
    zmax[c] = mx;
  }
  /* e_cj = exp((a_cj − max_c)/ε) in place (padding entries: exp(0), never read) */
  const REAL inv = 1 / eps;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < N; ++j) av[c * N + j] -= zmax[c];
  for (int64_t i = CN; i < CNp; ++i) av[i] = 0;
  for (int64_t c = 0; c < cv; ++c) a[c] = vexp(vmax(a[c] * inv, (vec){} + FLOOR));
  int64_t rival = -1;
  for (int64_t c = 0; c < C; ++c) {
    REAL s = 0;
    for (int64_t j = 0; j < N; ++j) s += av[c * N + j];
    z[c] = zmax[c] + eps * (REAL)LOG(s);
    isum[c] = 1 / s;
    if (c != yi && (rival < 0 || z[c] > z[rival])) rival = c;
  }
  const REAL gap = z[yi] - z[rival];
  if (!want_grad) return gap;
  /* ∂obj/∂z_c: cross-entropy softmax(z) − e_y; margin (obj = z_rival − z_y) e_rival − e_y */
  REAL w[CMAX];
  if (loss == 0) {
    REAL zm = z[0], s = 0;
    for (int64_t c = 1; c < C; ++c) zm = z[c] > zm ? z[c] : zm;
    for (int64_t c = 0; c < C; ++c) s += (w[c] = (REAL)exp((double)(z[c] - zm)));
    for (int64_t c = 0; c < C; ++c) w[c] /= s;
  } else {
    for (int64_t c = 0; c < C; ++c) w[c] = 0;
    w[rival] = 1;
  }
  w[yi] -= 1;
  /* gu = Σ_cj (∂obj/∂z_c · π_cj) w_cj, KG vectors of it at a time (kv is a multiple of KG) on two
     sets of register accumulators (even and odd j) so that the FMA latency is hidden; summing into
     gu[] in memory made every FMA a load, an FMA and a store (~20 % of the step) */
  const REAL *wk = Wk + m * CN * kp;
  for (int64_t v0 = 0; v0 < kv; v0 += KG) {
    vec s0[KG] = {}, s1[KG] = {};
    for (int64_t c = 0; c < C; ++c) {
      const REAL coef = w[c] * isum[c];  /* ∂obj/∂z_c / Σ_j e_cj: times e_cj gives ∂obj/∂z_c · π_cj */
      if (coef == 0) continue;  /* the margin loss has two classes */
      int64_t j = 0;
      for (; j + 1 < N; j += 2) {
        const REAL q0 = coef * av[c * N + j], q1 = coef * av[c * N + j + 1];
        const REAL *r0 = wk + (c * N + j) * kp + v0 * VL, *r1 = r0 + kp;
        for (int i = 0; i < KG; ++i) s0[i] += q0 * vload(r0 + i * VL), s1[i] += q1 * vload(r1 + i * VL);
      }
      for (; j < N; ++j)
        for (int i = 0; i < KG; ++i) s0[i] += coef * av[c * N + j] * vload(wk + (c * N + j) * kp + (v0 + i) * VL);
    }
    for (int i = 0; i < KG; ++i) gu[v0 + i] = s0[i] + s1[i];
  }
  return gap;
}

int CAT(hj_pgd_, SUFFIX)(int64_t P, int64_t D, int64_t Dp, int64_t k, int64_t kp, int64_t C, int64_t N, int64_t CNp,
                         REAL *xa, const REAL *x0, const REAL *lo, const REAL *hi, const REAL *Pc, const REAL *PcT,
                         const REAL *muP, const REAL *WT, const REAL *Wk, const REAL *bias, const REAL *eps,
                         const int64_t *member, const int64_t *y, const REAL *alpha, const REAL *radius, int norm,
                         int loss, int update, int box, REAL blo, REAL bhi, REAL *gap, int nthreads) {
  if (C > CMAX || C < 2 || kp % (KG * VL) || Dp % (KG * VL) || Dp < D || CNp % VL || CNp < C * N || kp < k) return 1;
  const int64_t kv = kp / VL, cv = CNp / VL, nblk = (P + RB - 1) / RB;
  int nt = nthreads < 1 ? 1 : nthreads;
  if (nt > nblk) nt = (int)(nblk > 0 ? nblk : 1);
#pragma omp parallel num_threads(nt)
  {
    vec *u = aligned_alloc(64, sizeof(vec) * RB * kv);
    vec *gu = aligned_alloc(64, sizeof(vec) * RB * kv);
    vec *a = aligned_alloc(64, sizeof(vec) * cv);
    REAL *g = aligned_alloc(64, sizeof(REAL) * RB * (size_t)Dp);
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < nblk; ++blk) {
      const int64_t p0 = blk * RB;
      const int nr = (int)(P - p0 < RB ? P - p0 : RB);
      const REAL *xr[RB];  /* rows past P repeat the last one: fixed trip counts, results discarded */
      for (int r = 0; r < RB; ++r) xr[r] = xa + (p0 + (r < nr ? r : nr - 1)) * D;
      /* u = x Pc − μP: tiles of RB rows × KG vectors, one pass over Pc per block */
      for (int64_t c0 = 0; c0 < kv; c0 += KG) {
        vec acc[RB][KG];
        for (int r = 0; r < RB; ++r)
          for (int i = 0; i < KG; ++i) acc[r][i] = (vec){};
        for (int64_t d = 0; d < D; ++d) {
          const REAL *pr = Pc + d * kp + c0 * VL;
          vec pv[KG];
          for (int i = 0; i < KG; ++i) pv[i] = vload(pr + i * VL);
          for (int r = 0; r < RB; ++r) {
            const REAL xd = xr[r][d];
            for (int i = 0; i < KG; ++i) acc[r][i] += xd * pv[i];
          }
        }
        for (int r = 0; r < RB; ++r)
          for (int i = 0; i < KG; ++i) u[r * kv + c0 + i] = acc[r][i] - vload(muP + (c0 + i) * VL);
      }
      int moving[RB], any = 0;
      for (int r = 0; r < RB; ++r) {
        moving[r] = 0;
        if (r < nr) {
          const int64_t p = p0 + r, m = member[p];
          gap[p] = row_objective((const REAL *)(u + r * kv), m, y[p], k, kp, C, N, CNp, WT, Wk, bias, eps[m], loss,
                                 update, a, gu + r * kv);
          moving[r] = update && gap[p] >= 0;
        }
        if (!moving[r]) for (int64_t c = 0; c < kv; ++c) gu[r * kv + c] = (vec){};
        any |= moving[r];
      }
      if (!any) continue;
      /* g = gu Pᵀ into g [RB, Dp]: tiles of RB rows × KG vectors of pixels */
      for (int64_t d0 = 0; d0 < Dp; d0 += KG * VL) {
        vec acc[RB][KG];
        for (int r = 0; r < RB; ++r)
          for (int i = 0; i < KG; ++i) acc[r][i] = (vec){};
        for (int64_t kk = 0; kk < k; ++kk) {
          const REAL *pr = PcT + kk * Dp + d0;
          vec pv[KG];
          for (int i = 0; i < KG; ++i) pv[i] = vload(pr + i * VL);
          for (int r = 0; r < RB; ++r) {
            const REAL gk = ((const REAL *)(gu + r * kv))[kk];
            for (int i = 0; i < KG; ++i) acc[r][i] += gk * pv[i];
          }
        }
        for (int r = 0; r < RB; ++r)
          for (int i = 0; i < KG; ++i) vstore(g + r * Dp + d0 + i * VL, acc[r][i]);
      }
      /* the projected step of each row still moving */
      for (int r = 0; r < nr; ++r) {
        if (!moving[r]) continue;
        const int64_t p = p0 + r;
        REAL *x = xa + p * D, *gr = g + r * Dp;
        const REAL *o = x0 + p * D, al = alpha[p];
        if (norm == 0) {
          const REAL *l = lo + p * D, *h = hi + p * D;
          for (int64_t d = 0; d < D; ++d) {
            REAL v = x[d] + al * (REAL)((gr[d] > 0) - (gr[d] < 0));
            v = v < l[d] ? l[d] : v;
            x[d] = v > h[d] ? h[d] : v;
          }
          continue;
        }
        REAL gn = 0, dn = 0;
        for (int64_t d = 0; d < D; ++d) gn += gr[d] * gr[d];
        const REAL step = al / (REAL)fmax(sqrt(gn), 1e-30);
        for (int64_t d = 0; d < D; ++d) {
          gr[d] = (x[d] + step * gr[d]) - o[d];  /* δ */
          dn += gr[d] * gr[d];
        }
        const REAL scale = (REAL)fmin(radius[p] / fmax(sqrt(dn), 1e-30), 1.0);
        for (int64_t d = 0; d < D; ++d) {
          REAL v = gr[d] * scale + o[d];
          if (box) v = v < blo ? blo : (v > bhi ? bhi : v);
          x[d] = v;
        }
      }
    }
    free(u);
    free(gu);
    free(a);
    free(g);
  }
  return 0;
}
