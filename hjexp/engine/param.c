/* The trainer's parameter side in one sweep per member: pull the fused pass's gradient dL/d[W, b]
 * back to the model form's packed parameters θ, take Adam's step on θ, and write the next pass's
 * scaled network [W, b]ᵀ/ε. In torch these were ~20 elementwise passes over [E, N, d+1] per step
 * (network, division by ε, transpose, pull-back, Adam's moments, square root, update), each
 * allocating: on rate-sweep's culled members, whose pass touches few atoms per row, they cost
 * as much as the pass.
 *
 * Layout: everything [E, K, N] (K = d+1, neuron j contiguous), so the loops over j vectorise:
 * th, m, v (the trainer keeps θ and Adam's moments transposed for this), g = dL/d[W, b]ᵀ from
 * fused.c, thT out. The two model forms (engine/models.py, Model.native_form):
 *   form 0, LSE:       [W, b] = θ
 *   form 1, HopfCole:  θ = [y, g]; W = y/2t, b = −g − |y|²/4t;
 *                      dL/dy = (dL/dW − dL/db·y)/2t, dL/dg = −dL/db (at θ before the step).
 * Adam is torch.optim.Adam's update: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
 * θ ← θ − lr_t · live·m / (√v · vcorr + eps_adam) with lr_t = lr/(1−β1^s), vcorr = 1/√(1−β2^s);
 * live [E] (0/1, NULL = all) freezes stopped members (their moments still move, as in torch).
 * g NULL: no step, only the network is written (the first pass). width [E] or NULL: member e
 * touches only its first width[e] neurons. bmask [E, N] or NULL: added to the bias row (−1e30 on
 * absent neurons of a general mask); such neurons are also not checked below. bad [E] receives 1
 * where a present neuron's written network is NaN or ±inf (θ non-finite, or overflow; the pass
 * would hide it: see kernel._poison_nonfinite); returns the number of such members.
 * c, cm, cv [E] (or NULL): a readout scale per member and its Adam moments, stepped with cg [E]
 * = dL/dc in the same call (torch's seven tiny ops on them cost ~50 µs per trainer step).
 */
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include <xmmintrin.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define JC 512  /* neurons per chunk: the per-neuron scratch (gb, |y|²) stays in L1 */

/* NaN/inf by the exponent bits: -ffast-math lets the compiler assume no float compare sees one */
static inline int nonfinite(REAL x) {
  IREAL bits;
  memcpy(&bits, &x, sizeof bits);
  return (bits & ((((IREAL)1 << (8 * sizeof(REAL) - 1 - MANT)) - 1) << MANT)) ==
         ((((IREAL)1 << (8 * sizeof(REAL) - 1 - MANT)) - 1) << MANT);
}

int CAT(hj_adam_, SUFFIX)(int64_t E, int64_t N, int64_t K, int form, double t, const REAL *eps,
                          const int64_t *width, const REAL *bmask, const REAL *g, REAL *th, REAL *m, REAL *v,
                          const REAL *live, double lr_t, double b1, double b2, double vcorr, double eps_adam,
                          REAL *thT, unsigned char *bad, REAL *c, REAL *cm, REAL *cv, const REAL *cg,
                          int nthreads) {
  int nbad = 0;
#pragma omp parallel num_threads(nthreads) reduction(+ : nbad)
  {
  /* flush denormals in this thread: Adam's second moment of a neuron whose Gibbs weights are
     ~e^−60 is (1−β2)·g² ≈ 1e-40, a float32 denormal, and denormal arithmetic is ~100x slower (an
     eps-robustness image-regression step ran 2.1 instead of 1.4 ms for its first ~120 steps); such
     moments are below 1e-30 of Adam's eps, so the step is unchanged */
  const unsigned int csr = _mm_getcsr();
  _mm_setcsr(csr | 0x8040);
#pragma omp for schedule(dynamic, 1)
  for (int64_t e = 0; e < E; ++e) {
    const int64_t Ne = width ? width[e] : N, o = e * K * N;
    const REAL ie = (REAL)(1.0 / eps[e]), step = live ? (REAL)(-lr_t) * live[e] : (REAL)(-lr_t);
    const REAL h2t = (REAL)(1.0 / (2 * t)), h4t = (REAL)(1.0 / (4 * t));
    const REAL c1 = (REAL)(1 - b1), c2 = (REAL)(1 - b2), rb1 = (REAL)b1, rb2 = (REAL)b2;
    const REAL vc = (REAL)vcorr, ea = (REAL)eps_adam;
    int flag = 0;
    for (int64_t j0 = 0; j0 < Ne; j0 += JC) {
      const int64_t nj = Ne - j0 < JC ? Ne - j0 : JC;
      REAL gb[JC], ysq[JC];
      if (g)
        for (int64_t j = 0; j < nj; ++j) gb[j] = g[o + (K - 1) * N + j0 + j];
      for (int64_t j = 0; j < nj; ++j) ysq[j] = 0;
      for (int64_t k = 0; k < K; ++k) {
        REAL *tk = th + o + k * N + j0, *mk = m + o + k * N + j0, *vk = v + o + k * N + j0;
        const REAL *gk = g ? g + o + k * N + j0 : 0;
        REAL *out = thT + o + k * N + j0;
        const int bias = k == K - 1;
        if (gk) {
          for (int64_t j = 0; j < nj; ++j) {  /* pull-back at θ before the step, then Adam */
            const REAL gr = form == 0 ? gk[j] : bias ? -gb[j] : (gk[j] - gb[j] * tk[j]) * h2t;
            const REAL mm = rb1 * mk[j] + c1 * gr, vv = rb2 * vk[j] + c2 * gr * gr;
            mk[j] = mm, vk[j] = vv;
            tk[j] += step * mm / (SQRT(vv) * vc + ea);
          }
        }
        if (form == 0 || bias) {
          const REAL *bm = bias && bmask ? bmask + e * N + j0 : 0;
          for (int64_t j = 0; j < nj; ++j)
            out[j] = (form == 0 ? tk[j] : -tk[j] - ysq[j] * h4t) * ie + (bm ? bm[j] : (REAL)0);
        } else {
          for (int64_t j = 0; j < nj; ++j) out[j] = tk[j] * h2t * ie, ysq[j] += tk[j] * tk[j];
        }
        for (int64_t j = 0; j < nj; ++j)  /* the network as the pass sees it: θ's NaN/inf, and overflow */
          flag |= nonfinite(out[j]) & !(bmask && bmask[e * N + j0 + j] != 0);
      }
    }
    if (c && g) {
      const REAL mm = rb1 * cm[e] + c1 * cg[e], vv = rb2 * cv[e] + c2 * cg[e] * cg[e];
      cm[e] = mm, cv[e] = vv;
      c[e] += step * mm / (SQRT(vv) * vc + ea);
    }
    bad[e] = (unsigned char)flag;
    nbad += flag;
  }
  _mm_setcsr(csr);
  }
  return nbad;
}
