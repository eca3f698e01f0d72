/* The fused pass's two products for wide rows (K = d+1 > 9, e.g. eps-robustness's image regression
 * at d = 50), where they are nearly all the work: 2K FMAs per element against one exp.
 *
 * Both are register-blocked. Computing one neuron at a time loads a vector of rows and broadcasts
 * a weight for every FMA (two loads per FMA: load-bound at half the FMA rate), and kept the
 * gradient's lane-wise accumulators [K, N] in memory (cleared, reloaded and stored per tile, then
 * summed over lanes per member). Here a tile of accumulators stays in registers, each load feeds
 * several FMAs, and the gradient's tile is summed over lanes once by a transpose-add tree and added
 * to the member's scalar gradient.
 *
 * Included by fused.c after simd.h (vec, VL, REAL).
 */
#ifndef HJ_WIDE_H
#define HJ_WIDE_H

#define WB 4  /* logits tile: row blocks ... */
#define WJ 4  /* ... × neurons: 16 accumulators, 8 loads per 16 FMAs */
#define GK 4  /* gradient tile: columns ... */
#define GJ (VL / GK)  /* ... × neurons: VL accumulators, one lane_sums per tile */

/* Z[b, j] = Σ_k T[k, j]·A_b[k] for the nb row blocks A [nb, K] and neurons j < Nn of T [K, ld]. */
static void wide_logits(const vec *A, int64_t nb, int64_t K, const REAL *T, int64_t ld, int64_t Nn, vec *Z) {
  int64_t b = 0;
  for (; b + WB <= nb; b += WB) {
    const vec *a = A + b * K;
    int64_t j = 0;
    for (; j + WJ <= Nn; j += WJ) {
      vec c[WB][WJ] = {};
      for (int64_t k = 0; k < K; ++k) {
        const REAL *t = T + k * ld + j;
        vec x[WB], w[WJ];
        for (int r = 0; r < WB; ++r) x[r] = a[r * K + k];
        for (int s = 0; s < WJ; ++s) w[s] = (vec){} + t[s];
        for (int r = 0; r < WB; ++r)
          for (int s = 0; s < WJ; ++s) c[r][s] += x[r] * w[s];
      }
      for (int r = 0; r < WB; ++r)
        for (int s = 0; s < WJ; ++s) Z[(b + r) * Nn + j + s] = c[r][s];
    }
    for (; j < Nn; ++j) {  /* the last Nn mod WJ neurons */
      vec c[WB] = {};
      for (int64_t k = 0; k < K; ++k)
        for (int r = 0; r < WB; ++r) c[r] += a[r * K + k] * T[k * ld + j];
      for (int r = 0; r < WB; ++r) Z[(b + r) * Nn + j] = c[r];
    }
  }
  for (; b < nb; ++b) {  /* the last nb mod WB blocks: WJ neurons at a time */
    const vec *a = A + b * K;
    int64_t j = 0;
    for (; j + WJ <= Nn; j += WJ) {
      vec c[WJ] = {};
      for (int64_t k = 0; k < K; ++k)
        for (int s = 0; s < WJ; ++s) c[s] += a[k] * T[k * ld + j + s];
      for (int s = 0; s < WJ; ++s) Z[b * Nn + j + s] = c[s];
    }
    for (; j < Nn; ++j) {
      vec c = {};
      for (int64_t k = 0; k < K; ++k) c += a[k] * T[k * ld + j];
      Z[b * Nn + j] = c;
    }
  }
}

/* out[l] = Σ over lanes of v[l], for VL vectors. Each level folds pairs of vectors' lane halves
   together (two permutes and an add per pair; VL − 1 pairs in all, against log2 VL shuffle-adds for
   each vector's own horizontal sum). Level h (h = VL/2, …, 1) pairs vectors u, w into groups of 2h
   lanes: the low h lanes of a group take u's two halves of that group summed, the high h take w's;
   FOLD_LO[level] picks the low halves (an index ≥ VL means w's lane), FOLD_LO + h the high ones.
   The tree leaves v[i]'s sum in lane bitrev(i), so it is fed the vectors in that order. */
#if VL == 4  /* 32-byte vectors of doubles (AVX2) */
#define LEVELS 2
static const ivec FOLD_LO[LEVELS] = {{0, 1, 4, 5}, {0, 4, 2, 6}};
static const int BITREV[VL] = {0, 2, 1, 3};
#elif VL == 8  /* 64-byte doubles (AVX-512) or 32-byte floats (AVX2) */
#define LEVELS 3
static const ivec FOLD_LO[LEVELS] = {{0, 1, 2, 3, 8, 9, 10, 11}, {0, 1, 8, 9, 4, 5, 12, 13}, {0, 8, 2, 10, 4, 12, 6, 14}};
static const int BITREV[VL] = {0, 4, 2, 6, 1, 5, 3, 7};
#else  /* 64-byte vectors of floats (AVX-512) */
#define LEVELS 4
static const ivec FOLD_LO[LEVELS] = {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                                     {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
                                     {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
                                     {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}};
static const int BITREV[VL] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
#endif
static inline vec lane_sums(const vec *v) {
  vec w[VL / 2];
#pragma GCC unroll 16
  for (int p = 0; p < VL / 2; ++p) {
    const vec a = v[BITREV[2 * p]], b = v[BITREV[2 * p + 1]];
    w[p] = __builtin_shuffle(a, b, FOLD_LO[0]) + __builtin_shuffle(a, b, FOLD_LO[0] + VL / 2);
  }
#pragma GCC unroll 4
  for (int lev = 1, h = VL / 4, n = VL / 2; lev < LEVELS; ++lev, h /= 2, n /= 2)
#pragma GCC unroll 8
    for (int p = 0; p < n / 2; ++p)
      w[p] = __builtin_shuffle(w[2 * p], w[2 * p + 1], FOLD_LO[lev]) +
             __builtin_shuffle(w[2 * p], w[2 * p + 1], FOLD_LO[lev] + h);
  return w[0];
}

/* G[k, jx[j]] += Σ_b Σ_lanes A_b[k]·Z_b[j] for the nb blocks (A already scaled by the rows' q),
   neurons j < Nn of the set (jx NULL: j), into the member's scalar gradient G [K, N]. Tail tiles
   repeat the last column or neuron and drop the repeat's sum. */
static void wide_grad(const vec *A, const vec *Z, int64_t nb, int64_t K, int64_t Nn, const int64_t *jx, REAL *G,
                      int64_t N) {
  for (int64_t j0 = 0; j0 < Nn; j0 += GJ) {
    int64_t js[GJ];
    for (int s = 0; s < GJ; ++s) js[s] = j0 + s < Nn ? j0 + s : Nn - 1;
    for (int64_t k0 = 0; k0 < K; k0 += GK) {
      int64_t ks[GK];
      for (int r = 0; r < GK; ++r) ks[r] = k0 + r < K ? k0 + r : K - 1;
      const vec *xp[GK], *ep[GJ];  /* the tile's columns of A and neurons of Z in block 0; strides K and Nn */
      for (int r = 0; r < GK; ++r) xp[r] = A + ks[r];
      for (int s = 0; s < GJ; ++s) ep[s] = Z + js[s];
      vec acc[GK * GJ] = {};
      for (int64_t b = 0; b < nb; ++b) {
        vec x[GK], e[GJ];
        for (int r = 0; r < GK; ++r) x[r] = xp[r][b * K];
        for (int s = 0; s < GJ; ++s) e[s] = ep[s][b * Nn];
        for (int r = 0; r < GK; ++r)
          for (int s = 0; s < GJ; ++s) acc[r * GJ + s] += x[r] * e[s];
      }
      const vec sum = lane_sums(acc);
      for (int r = 0; r < GK && k0 + r < K; ++r)
        for (int s = 0; s < GJ && j0 + s < Nn; ++s) G[(k0 + r) * N + (jx ? jx[j0 + s] : j0 + s)] += sum[r * GJ + s];
    }
  }
}

#endif
