/* The fused pass's culling (exact to e^−80, the floor the dense pass clamps to). For rows with bounding box
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
 * Included by fused.c after simd.h.
 */
#ifndef HJ_CULL_H
#define HJ_CULL_H

/* Cull the member's Ne neurons for the rows in A [nb blocks × K] with lane counts nv[b]:
   kept indices into jl, their count returned (the bound B_j ≥ −80 keeps j). */
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

#endif
