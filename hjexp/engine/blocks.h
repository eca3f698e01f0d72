/* The fused pass's block kernels for narrow rows (K = d+1 ≤ 9, where the exponentials are most
 * of the work): one block of VL rows in lanes against the neuron set. Always inlined into
 * fused.c's WITH_CONST_K, so K is a compile-time constant in each copy: the loops over k unroll and
 * per-k accumulators stay in registers. fresh_weights also serves wide rows (their logits come
 * from wide.h).
 *
 * Stale row maxima (AVX-512 builds, K ≤ 9): mrow [E, n] (or NULL) holds shifts to try (any values;
 * last call's row maxima are what pay; ≥ UNKNOWN_MAX: none yet, go straight to two sweeps) and
 * receives each row's logit maximum; a block first tries one sweep that takes logits, their
 * maximum and the exponentials against last call's maximum together (training moves a row's maximum
 * little per step), falling back to the two sweeps (logits and maximum, then exponentials) when a
 * row's maximum moved by more than STALE_WINDOW. The shift of a log-sum-exp is free, so the result
 * is the same up to roundoff. On AVX2 (k by vroundps, 2^k through the exponent bits, every term
 * clamped) the one sweep was measured at 0–7 % less time per pass than the two (d = 1, 2, 4, float32,
 * 2 threads, AMD EPYC) and not kept: not worth a second float32 trajectory per machine type.
 *
 * Included by fused.c after simd.h (vec, VL, REAL, KMAX, FLOOR).
 */
#ifndef HJ_BLOCKS_H
#define HJ_BLOCKS_H

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

/* init + Σ_k T[k, j]·X[k] for neuron j of the set (K ≤ 9: the loop unrolls; wide rows take wide.h) */
INLINE vec dot(const Set *S, int64_t j, vec init, const vec *X, int64_t KC) {
  vec z = init + S->T[j] * X[0];
  for (int64_t k = 1; k < KC; ++k) z += S->T[k * S->ld + j] * X[k];
  return z;
}

#if STALE_MAX
/* One neuron j of the stale sweep, in log2 units relative to the stale maximum: the rows' x are
   prescaled by log2(e) and the accumulation starts at −mp·log2(e), so z − mp and its scaling into
   the exp cost no instruction. MASKED: general neuron masks (a −1e30 bias, so the clamp keeps the
   range reduction finite before the weight is zeroed); without them far-below terms underflow to 0
   through vscalef. */
INLINE void stale_neuron(const Set *S, int64_t j, vec nmp, const vec *xs, int64_t KC, int masked, vec *Zb, vec *m,
                         vec *tot) {
  vec z = dot(S, j, nmp, xs, KC);
  *m = vmax(z, *m);
  z = masked ? vexp2(vmax(z, (vec){} + FLOOR * LOG2E)) * S->kp[j] : vexp2(z);
  Zb[j] = z;
  *tot += z;
}

/* The one-sweep logits, maxima (log2 units, relative to mp) and exponentials of a block: two
   neurons per iteration on two sets of running maxima and sums. */
INLINE void stale_sweep(const Set *S, vec nmp, const vec *xs, int64_t KC, int masked, vec *Zb, vec *m, vec *tot) {
  vec m0 = *m, m1 = *m, t0 = *tot, t1 = *tot;
  int64_t j = 0;
  for (; j + 1 < S->Nn; j += 2) {
    stale_neuron(S, j, nmp, xs, KC, masked, Zb, &m0, &t0);
    stale_neuron(S, j + 1, nmp, xs, KC, masked, Zb, &m1, &t1);
  }
  if (j < S->Nn) stale_neuron(S, j, nmp, xs, KC, masked, Zb, &m0, &t0);
  *m = vmax(m0, m1), *tot = t0 + t1;
}

/* Exponentials against the last call's maxima mp in one sweep (header comment): returns 1 and sets
   m (the true maxima) and tot when every row's maximum moved by at most STALE_WINDOW (no overflow,
   and clamped terms stay ≤ e^−60 of the largest), else 0 (Zb is then overwritten by the caller). */
static int stale_weights(const Set *S, const vec *xb, int64_t K, vec mp, vec *Zb, vec *m, vec *tot) {
  const vec nmp = mp * -LOG2E;
  vec xs[KMAX], mm = (vec){} - (REAL)1e30, tt = {};
  for (int64_t k = 0; k < K; ++k) xs[k] = xb[k] * LOG2E;
  if (S->kp) {
    WITH_CONST_K(K, KC, stale_sweep(S, nmp, xs, KC, 1, Zb, &mm, &tt))
  } else {
    WITH_CONST_K(K, KC, stale_sweep(S, nmp, xs, KC, 0, Zb, &mm, &tt))
  }
  mm = mp + mm * (REAL)0.6931471805599453;  /* the rows' true maxima, in logit units */
  int ok = 1;
  for (int l = 0; l < VL; ++l) ok &= mm[l] - mp[l] <= STALE_WINDOW && mp[l] - mm[l] <= STALE_WINDOW;
  if (ok) *m = mm, *tot = tt;
  return ok;
}
#endif

/* the block's logits into Zb and their lane-wise maximum into m */
INLINE void logits(const Set *S, const vec *xb, int64_t KC, vec *Zb, vec *m) {
  /* the rows in a local array: the compiler then knows the stores to Zb leave them alone and keeps
     them in registers (read through xb, a scratch pointer, they were reloaded for every neuron: +9 %
     of a pass at K = 9) */
  vec x[KMAX], mm = *m;
  for (int64_t k = 0; k < KC; ++k) x[k] = xb[k];
  for (int64_t j = 0; j < S->Nn; ++j) {
    const vec z = dot(S, j, (vec){}, x, KC);
    Zb[j] = z;
    mm = vmax(z, mm);
  }
  *m = mm;
}

/* Two sweeps: logits (already in Zb for wide rows) and their maximum m, then the unnormalised
   Gibbs weights e^(z − m) in place (clamped at e^−80; absent neurons exactly 0) and their sums. */
static void fresh_weights(const Set *S, const vec *xb, int64_t K, int wide, vec *Zb, vec *m, vec *tot) {
  vec mm = (vec){} - (REAL)1e30, tt = {};
  if (wide) {
    for (int64_t j = 0; j < S->Nn; ++j) mm = vmax(Zb[j], mm);
  } else {
    WITH_CONST_K(K, KC, logits(S, xb, KC, Zb, &mm))  /* a constant K lets the compiler unroll the product over k */
  }
  for (int64_t j = 0; j < S->Nn; ++j) {
    vec v = vexp(vmax(Zb[j] - mm, (vec){} + FLOOR));
    if (S->kp) v *= S->kp[j];
    Zb[j] = v;
    tt += v;
  }
  *m = mm, *tot = tt;
}

/* two neurons per iteration: 2·K independent FMA chains (one neuron's K chains are latency-bound);
   the set's neuron j accumulates at column jx[j] (or j) of G [K, N] */
INLINE void grad_narrow(const vec *A, const vec *Z, int64_t nb, int64_t Nn, const int64_t *jx, vec *G, int64_t N,
                        int64_t KC) {
  int64_t j = 0;
  for (; j + 1 < Nn; j += 2) {
    const int64_t g0 = jx ? jx[j] : j, g1 = jx ? jx[j + 1] : j + 1;
    vec acc0[KMAX], acc1[KMAX];
    for (int64_t k = 0; k < KC; ++k) acc0[k] = G[k * N + g0], acc1[k] = G[k * N + g1];
    for (int64_t b = 0; b < nb; ++b) {
      const vec e0 = Z[b * Nn + j], e1 = Z[b * Nn + j + 1], *ab = A + b * KC;
      for (int64_t k = 0; k < KC; ++k) acc0[k] += ab[k] * e0, acc1[k] += ab[k] * e1;
    }
    for (int64_t k = 0; k < KC; ++k) G[k * N + g0] = acc0[k], G[k * N + g1] = acc1[k];
  }
  if (j < Nn) {
    const int64_t g0 = jx ? jx[j] : j;
    vec acc[KMAX];
    for (int64_t k = 0; k < KC; ++k) acc[k] = G[k * N + g0];
    for (int64_t b = 0; b < nb; ++b) {
      const vec ej = Z[b * Nn + j], *ab = A + b * KC;
      for (int64_t k = 0; k < KC; ++k) acc[k] += ab[k] * ej;
    }
    for (int64_t k = 0; k < KC; ++k) G[k * N + g0] = acc[k];
  }
}

#endif
