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
 * Returns HJ_OK, HJ_REFUSED when the shapes are outside what this file handles (C > CMAX, unpadded
 * kp, Dp or CNp), or HJ_NO_MEMORY (alloc.h).
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "alloc.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define RB 6      /* rows per block: P is read from cache once per RB rows */
#define KG 4      /* vectors per row in the products' register tiles: RB·KG accumulators */
#define CMAX 64   /* classes */
#define FLOOR ((REAL)-80)

/* The call's arguments (header comment), shared by the pieces below. */
typedef struct {
  int64_t P, D, Dp, k, kp, C, N, CNp, kv, cv;  /* kv, cv: kp and CNp in vectors */
  REAL *xa;
  const REAL *x0, *lo, *hi, *Pc, *PcT, *muP, *WT, *Wk, *bias, *eps, *alpha, *radius;
  const int64_t *member, *y;
  int norm, loss, update, box;
  REAL blo, bhi, *gap;
} Attack;

/* One thread's scratch: features u and their gradient gu [RB, kv], neuron logits a [cv], pixel gradient g [RB, Dp]. */
typedef struct {
  vec *u, *gu, *a;
  REAL *g;
} Scratch;

/* neuron logits a = bias + u W of member m, on accumulators in registers (summing into a[] in memory
   made every FMA a load, an FMA and a store: ~20 % of the step) — tiles of 8 vectors, the rest one
   vector at a time on four partial sums over k (one k-long FMA chain is latency-bound) */
static void neuron_logits(const Attack *at, const REAL *u, int64_t m, vec *a) {
  const int64_t k = at->k, CNp = at->CNp, cv = at->cv;
  const REAL *wt = at->WT + m * k * CNp, *bm = at->bias + m * CNp;
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
}

/* Class scores z_c = max_c + ε log Σ_j e_cj with e_cj = exp((a_cj − max_c)/ε) left in place of a
   (padding entries: exp(0), never read), isum_c = 1/Σ_j e_cj; returns the strongest rival class of yi. */
static int64_t class_scores(const Attack *at, vec *a, REAL eps, int64_t yi, REAL *z, REAL *isum) {
  const int64_t C = at->C, N = at->N;
  REAL *av = (REAL *)a, zmax[CMAX];
  for (int64_t c = 0; c < C; ++c) {
    REAL mx = av[c * N];
    for (int64_t j = 1; j < N; ++j) mx = av[c * N + j] > mx ? av[c * N + j] : mx;
    zmax[c] = mx;
  }
  const REAL inv = 1 / eps;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < N; ++j) av[c * N + j] -= zmax[c];
  for (int64_t i = C * N; i < at->CNp; ++i) av[i] = 0;
  for (int64_t c = 0; c < at->cv; ++c) a[c] = vexp(vmax(a[c] * inv, (vec){} + FLOOR));
  int64_t rival = -1;
  for (int64_t c = 0; c < C; ++c) {
    REAL s = 0;
    for (int64_t j = 0; j < N; ++j) s += av[c * N + j];
    z[c] = zmax[c] + eps * (REAL)LOG(s);
    isum[c] = 1 / s;
    if (c != yi && (rival < 0 || z[c] > z[rival])) rival = c;
  }
  return rival;
}

/* ∂obj/∂z_c into w: cross-entropy softmax(z) − e_y; margin (obj = z_rival − z_y) e_rival − e_y */
static void objective_weights(int64_t C, const REAL *z, int64_t yi, int64_t rival, int loss, REAL *w) {
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
}

/* gu = Σ_cj (∂obj/∂z_c · π_cj) w_cj of member m, KG vectors of it at a time (kv is a multiple of KG)
   on two sets of register accumulators (even and odd j) so that the FMA latency is hidden; summing
   into gu[] in memory made every FMA a load, an FMA and a store (~20 % of the step) */
static void feature_gradient(const Attack *at, int64_t m, const REAL *av, const REAL *w, const REAL *isum, vec *gu) {
  const int64_t C = at->C, N = at->N, kp = at->kp;
  const REAL *wk = at->Wk + m * C * N * kp;
  for (int64_t v0 = 0; v0 < at->kv; v0 += KG) {
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
}

/* Class logits, margin and (want_grad) ∂obj/∂u of one row of member m; returns the margin z_y − max_{c≠y} z_c. */
static REAL row_objective(const Attack *at, const REAL *u, int64_t m, int64_t yi, int want_grad, vec *a, vec *gu) {
  REAL z[CMAX], isum[CMAX], w[CMAX];
  neuron_logits(at, u, m, a);
  const int64_t rival = class_scores(at, a, at->eps[m], yi, z, isum);
  if (!want_grad) return z[yi] - z[rival];
  objective_weights(at->C, z, yi, rival, at->loss, w);
  feature_gradient(at, m, (const REAL *)a, w, isum, gu);
  return z[yi] - z[rival];
}

/* u = x Pc − μP for the block's RB rows xr: tiles of RB rows × KG vectors, one pass over Pc per block */
static void features(const Attack *at, const REAL *const *xr, vec *u) {
  const int64_t kv = at->kv, kp = at->kp;
  for (int64_t c0 = 0; c0 < kv; c0 += KG) {
    vec acc[RB][KG] = {};
    for (int64_t d = 0; d < at->D; ++d) {
      const REAL *pr = at->Pc + d * kp + c0 * VL;
      vec pv[KG];
      for (int i = 0; i < KG; ++i) pv[i] = vload(pr + i * VL);
      for (int r = 0; r < RB; ++r) {
        const REAL xd = xr[r][d];
        for (int i = 0; i < KG; ++i) acc[r][i] += xd * pv[i];
      }
    }
    for (int r = 0; r < RB; ++r)
      for (int i = 0; i < KG; ++i) u[r * kv + c0 + i] = acc[r][i] - vload(at->muP + (c0 + i) * VL);
  }
}

/* g = gu Pᵀ into g [RB, Dp]: tiles of RB rows × KG vectors of pixels */
static void back_project(const Attack *at, const vec *gu, REAL *g) {
  const int64_t kv = at->kv, Dp = at->Dp;
  for (int64_t d0 = 0; d0 < Dp; d0 += KG * VL) {
    vec acc[RB][KG] = {};
    for (int64_t kk = 0; kk < at->k; ++kk) {
      const REAL *pr = at->PcT + kk * Dp + d0;
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
}

/* The projected step of row p along its gradient gr (overwritten): ℓ∞ a signed step clamped to
   [lo, hi]; ℓ2 a normalised step, δ scaled back into the ball, then the box. */
static void step_row(const Attack *at, int64_t p, REAL *gr) {
  const int64_t D = at->D;
  REAL *x = at->xa + p * D;
  const REAL *o = at->x0 + p * D, al = at->alpha[p];
  if (at->norm == 0) {
    const REAL *l = at->lo + p * D, *h = at->hi + p * D;
    for (int64_t d = 0; d < D; ++d) {
      REAL v = x[d] + al * (REAL)((gr[d] > 0) - (gr[d] < 0));
      v = v < l[d] ? l[d] : v;
      x[d] = v > h[d] ? h[d] : v;
    }
    return;
  }
  REAL gn = 0, dn = 0;
  for (int64_t d = 0; d < D; ++d) gn += gr[d] * gr[d];
  const REAL step = al / (REAL)fmax(sqrt(gn), 1e-30);
  for (int64_t d = 0; d < D; ++d) {
    gr[d] = (x[d] + step * gr[d]) - o[d];  /* δ */
    dn += gr[d] * gr[d];
  }
  const REAL scale = (REAL)fmin(at->radius[p] / fmax(sqrt(dn), 1e-30), 1.0);
  for (int64_t d = 0; d < D; ++d) {
    REAL v = gr[d] * scale + o[d];
    if (at->box) v = v < at->blo ? at->blo : (v > at->bhi ? at->bhi : v);
    x[d] = v;
  }
}

/* Block blk of RB rows: features, margins (into gap) and, for rows still moving, the step. */
static void run_block(const Attack *at, Scratch *s, int64_t blk) {
  const int64_t p0 = blk * RB, kv = at->kv;
  const int nr = (int)(at->P - p0 < RB ? at->P - p0 : RB);
  const REAL *xr[RB];  /* rows past P repeat the last one: fixed trip counts, results discarded */
  for (int r = 0; r < RB; ++r) xr[r] = at->xa + (p0 + (r < nr ? r : nr - 1)) * at->D;
  features(at, xr, s->u);
  int moving[RB], any = 0;
  for (int r = 0; r < RB; ++r) {
    moving[r] = 0;
    if (r < nr) {
      const int64_t p = p0 + r;
      at->gap[p] = row_objective(at, (const REAL *)(s->u + r * kv), at->member[p], at->y[p], at->update, s->a,
                                 s->gu + r * kv);
      moving[r] = at->update && at->gap[p] >= 0;
    }
    if (!moving[r]) memset(s->gu + r * kv, 0, (size_t)kv * sizeof(vec));
    any |= moving[r];
  }
  if (!any) return;
  back_project(at, s->gu, s->g);
  for (int r = 0; r < nr; ++r)
    if (moving[r]) step_row(at, p0 + r, s->g + r * at->Dp);
}

int CAT(hj_pgd_, SUFFIX)(int64_t P, int64_t D, int64_t Dp, int64_t k, int64_t kp, int64_t C, int64_t N, int64_t CNp,
                         REAL *xa, const REAL *x0, const REAL *lo, const REAL *hi, const REAL *Pc, const REAL *PcT,
                         const REAL *muP, const REAL *WT, const REAL *Wk, const REAL *bias, const REAL *eps,
                         const int64_t *member, const int64_t *y, const REAL *alpha, const REAL *radius, int norm,
                         int loss, int update, int box, REAL blo, REAL bhi, REAL *gap, int nthreads) {
  if (C > CMAX || C < 2 || kp % (KG * VL) || Dp % (KG * VL) || Dp < D || CNp % VL || CNp < C * N || kp < k)
    return HJ_REFUSED;
  const Attack at = {P, D, Dp, k, kp, C, N, CNp, kp / VL, CNp / VL, xa, x0, lo, hi, Pc, PcT, muP, WT, Wk, bias, eps,
                     alpha, radius, member, y, norm, loss, update, box, blo, bhi, gap};
  const int64_t nblk = (P + RB - 1) / RB;
  int nt = nthreads < 1 ? 1 : nthreads;
  if (nt > nblk) nt = (int)(nblk > 0 ? nblk : 1);
  int failed = 0;  /* a thread without scratch skips its blocks; the call then reports it */
#pragma omp parallel num_threads(nt)
  {
    Scratch s = {hj_alloc(sizeof(vec) * RB * at.kv), hj_alloc(sizeof(vec) * RB * at.kv),
                 hj_alloc(sizeof(vec) * at.cv), hj_alloc(sizeof(REAL) * RB * (size_t)Dp)};
    const int ok = s.u && s.gu && s.a && s.g;
    if (!ok) __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < nblk; ++blk)
      if (ok) run_block(&at, &s, blk);
    hj_free(s.u), hj_free(s.gu), hj_free(s.a), hj_free(s.g);
  }
  return failed ? HJ_NO_MEMORY : HJ_OK;
}
