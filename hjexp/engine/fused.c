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
 * Written with GCC vector extensions (one vector of VL lanes = VEC_BYTES, simd.h: 64 with AVX-512, else 32), so the same source becomes
 * AVX-512, AVX2 or SSE code under -march=native; exp is inlined (range reduction and a polynomial,
 * ≤ 2 ulp on the clamped range), log runs once per row. Compiled twice by hjexp/engine/native_build.py
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
 * that cannot matter (cull.h), kept [E, 2] or NULL their counts. mrow [E, n] or NULL: last call's row
 * maxima, then this call's (one sweep for logits and exponentials: blocks.h).
 *
 * Layout: the entry point (end of file) sets up a Pass and per-thread partial sums; each thread
 * runs work items (member, super-block of rows) through three phases: gather_blocks (rows into
 * lanes), per block the Gibbs weights (blocks.h) and block_outputs (predictions or loss terms),
 * then the super-block's gradient (blocks.h or wide.h); merge_threads adds the partials.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <xmmintrin.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define KMAX 72  /* largest K = d+1 (native.py keeps to the torch path above it) */
#define FLOOR ((REAL)-80)  /* e^−80 ≈ 2e−35 is below the resolution of a row sum ≥ 1 */
#define CULL_RB 4  /* blocks per super-block when culling: 4·VL rows share one bounding box */
#define STALE_WINDOW ((REAL)20)  /* the stale sweep's tolerance on a row maximum's move (logit units) */
#define UNKNOWN_MAX ((REAL)1e29)  /* a block whose first mrow entry is at least this has no last maximum yet */
#define CULL_MIN 32  /* members with fewer neurons never cull: the test would cost about what it saves */
#define LOG2E ((REAL)1.4426950408889634)
#define INLINE static inline __attribute__((always_inline))
/* STMT with KC a compile-time constant for K ≤ 9 (the block kernels are always inlined, so the
   compiler unrolls their loops over k and keeps per-k accumulators in registers), K above */
#define WITH_CONST_K(K, KC, STMT)                          \
  switch (K) {                                             \
    case 2: { const int64_t KC = 2; STMT; } break;         \
    case 3: { const int64_t KC = 3; STMT; } break;         \
    case 4: { const int64_t KC = 4; STMT; } break;         \
    case 5: { const int64_t KC = 5; STMT; } break;         \
    case 6: { const int64_t KC = 6; STMT; } break;         \
    case 7: { const int64_t KC = 7; STMT; } break;         \
    case 8: { const int64_t KC = 8; STMT; } break;         \
    case 9: { const int64_t KC = 9; STMT; } break;         \
    default: { const int64_t KC = (K); STMT; }             \
  }

#include "simd.h"
#include "wide.h"
#include "blocks.h"
#include "cull.h"
#include "alloc.h"

/* The call: its arguments (fused.c's header comment) and the work split derived from them. */
typedef struct {
  int64_t E, n, N, K, n_act, xa_es, off_es;
  const int64_t *active, *width;
  const unsigned char *cull;
  const REAL *xa, *thT, *keep, *eps, *scale, *norm, *off, *target, *w;
  int mode;
  REAL *out, *gthT, *gf, *mrow;
  double *kept;
  int64_t RB, SB, ns, items;  /* row blocks per super-block, its rows, super-blocks per member, work items */
  int nt, wide, split;        /* threads; products of wide.h; per-thread gradient copies */
  REAL *lpart, *gpart, *part; /* per thread: loss and Σ r f per member [nt, E], gradient [nt|1, E, K, N] */
  double *kpart;              /* per thread: culling's neurons kept, tested per member [nt, E, 2] */
} Pass;

/* One thread's scratch for one super-block (see the phases below for what each holds). */
typedef struct {
  vec *Z;       /* [RB, N] exponentials */
  vec *Gv;      /* [K, N] lane-wise gradient of the open member (narrow rows only) */
  vec *A;       /* [RB, K] rows in lanes, then a_k = q·x_k */
  vec *WL;      /* [RB, 4] weights, targets, offsets, last maxima */
  int *NV;      /* [RB] rows in each block */
  int64_t *I0;  /* [RB] first row of each block */
  REAL *zc, *bnd, *Tc, *kc;  /* culling: centre logits, bounds, the kept set's network and keep mask */
  int64_t *jl;  /* culling: kept indices */
} Scratch;

/* The member whose sums a thread has open: they go to the per-thread partials when it changes. */
typedef struct {
  int64_t e, N;   /* member (−1: none), its width */
  vec loss, gfl;  /* lane-wise Σ w res², Σ r f */
} Open;

static void scratch_free(Scratch *s) {
  hj_free(s->Z), hj_free(s->Gv), hj_free(s->A), hj_free(s->WL), hj_free(s->NV), hj_free(s->I0);
  hj_free(s->zc), hj_free(s->bnd), hj_free(s->jl), hj_free(s->Tc), hj_free(s->kc);
  memset(s, 0, sizeof *s);
}

/* returns 0, or 1 (everything freed) when an allocation failed */
static int scratch_alloc(Scratch *s, const Pass *p) {
  const size_t RB = (size_t)p->RB, N = (size_t)p->N, K = (size_t)p->K;
  memset(s, 0, sizeof *s);
  int bad = !(s->Z = hj_alloc(RB * N * sizeof(vec))) || !(s->A = hj_alloc(RB * K * sizeof(vec))) ||
            !(s->WL = hj_alloc(RB * 4 * sizeof(vec))) || !(s->NV = hj_alloc(RB * sizeof(int))) ||
            !(s->I0 = hj_alloc(RB * sizeof(int64_t)));
  if (!bad && p->mode >= 2 && !p->wide) bad = !(s->Gv = hj_alloc(K * N * sizeof(vec)));
  if (!bad && p->cull)
    bad = !(s->zc = hj_alloc(N * sizeof(REAL))) || !(s->bnd = hj_alloc(N * sizeof(REAL))) ||
          !(s->jl = hj_alloc((N + 1) * sizeof(int64_t))) || !(s->Tc = hj_alloc(K * N * sizeof(REAL))) ||
          !(s->kc = hj_alloc(N * sizeof(REAL)));
  if (bad) scratch_free(s);
  return bad;
}

/* ---- phase 1: the super-block's blocks of VL rows into lanes ---- */

/* X's [VL, K] rows i0.. transposed into lanes; padding lanes (l ≥ nv) repeat the first row. Through
   a local array, which the compiler knows X does not alias, so it vectorises the transpose (into xb,
   a scratch pointer, the loads and stores stayed scalar: +2 % of a wide-row pass). */
INLINE void gather_rows(vec *xb, const REAL *X, int64_t i0, int nv, int64_t KC) {
  vec t[KMAX];
  for (int64_t k = 0; k < KC; ++k)
    for (int l = 0; l < VL; ++l) t[k][l] = X[(i0 + (l < nv ? l : 0)) * KC + k];
  for (int64_t k = 0; k < KC; ++k) xb[k] = t[k];
}

/* Member e's rows s0 .. s0+SB into s->A (and weights, targets, offsets, last maxima into s->WL);
   blocks nobody weighs are dropped. Returns the number of blocks kept. */
static int64_t gather_blocks(const Pass *p, Scratch *s, int64_t e, int64_t s0) {
  const int64_t n = p->n, K = p->K;
  const REAL *X = p->xa + e * p->xa_es, *O = p->off ? p->off + e * p->off_es : 0;
  const REAL *Y = p->target ? p->target + e * n : 0, *Wt = p->w ? p->w + e * n : 0;
  const REAL *M = p->mrow ? p->mrow + e * n : 0;  /* this member's row maxima of the last call */
  int64_t nb = 0;
  for (int64_t i0 = s0; i0 < n && i0 < s0 + p->SB; i0 += VL) {
    const int nv = n - i0 < VL ? (int)(n - i0) : VL;
    vec wl = {}, yl = {}, ol = {}, ml = {};
    int any = p->mode == 0;
    vec *xb = s->A + nb * K;
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
    if (nv == VL) {
      WITH_CONST_K(K, KC, gather_rows(xb, X, i0, VL, KC))  /* constant bounds: the transpose unrolls */
    } else {
      gather_rows(xb, X, i0, nv, K);
    }
    vec *wb = s->WL + 4 * nb;
    wb[0] = wl, wb[1] = yl, wb[2] = ol, wb[3] = ml, s->NV[nb] = nv, s->I0[nb] = i0;
    ++nb;
  }
  return nb;
}

/* ---- culling: the neurons a super-block can skip (header comment) ---- */

/* The set member e's super-block of nb blocks runs on: all its Ne neurons, or (culling, when it
   keeps at most half) the kept ones copied into scratch. Counts kept/tested into kpart. */
static Set neuron_set(const Pass *p, Scratch *s, int64_t e, int64_t nb, int t) {
  const int64_t N = p->N, K = p->K, Ne = p->width ? p->width[e] : N;
  const REAL *T = p->thT + e * K * N, *kp = p->keep ? p->keep + e * N : 0;
  const Set all = {T, kp, 0, N, Ne};
  if (!(p->cull && p->cull[e] && Ne > CULL_MIN)) return all;
  const int64_t nj = cull_set(T, N, Ne, K, s->A, s->NV, nb, s->zc, s->bnd, s->jl);
  p->kpart[(t * p->E + e) * 2] += nj, p->kpart[(t * p->E + e) * 2 + 1] += Ne;
  if (2 * nj > Ne) return all;  /* not worth it for this super-block: every neuron */
  for (int64_t k = 0; k < K; ++k)
    for (int64_t jj = 0; jj < nj; ++jj) s->Tc[k * nj + jj] = T[k * N + s->jl[jj]];
  if (kp)
    for (int64_t jj = 0; jj < nj; ++jj) s->kc[jj] = kp[s->jl[jj]];
  return (Set){s->Tc, kp ? s->kc : 0, s->jl, nj, nj};
}

/* ---- phase 2, per block: logits, row max, exponentials and their lane-wise sums ---- */

/* The block's predictions, or its loss terms into o and a_k = q·x_k in place of its rows (for phase
   3). Returns whether the block's gradient is wanted. */
static int block_outputs(const Pass *p, int64_t e, const Scratch *s, int64_t b, vec shift, vec tot, Open *o) {
  const vec *wb = s->WL + 4 * b, wl = wb[0], yl = wb[1], ol = wb[2];
  const REAL ep = p->eps[e], sc = p->scale[e], nm = p->norm[e];
  vec lt = vlog(tot);
  const ivec lok = vlog_ok(tot);
  for (int l = 0; l < VL; ++l)
    if (!lok[l]) lt[l] = LOG(tot[l]);  /* 0, inf, NaN or subnormal: the library's answer */
  const vec f = ep * (shift + lt);
  const vec pred = sc * f + ol;
  if (p->mode == 0) {
    for (int l = 0; l < s->NV[b]; ++l) p->out[e * p->n + s->I0[b] + l] = pred[l];
    return 0;
  }
  const vec res = pred - yl, wres = res * wl, r = p->mode == 3 ? yl * wl : 2 * wres / nm;
  if (p->mode != 3) o->loss += wres * res;
  o->gfl += r * f;
  if (p->mode == 1) return 0;
  const vec q = r * sc / tot;
  vec *xb = s->A + b * p->K;
  for (int64_t k = 0; k < p->K; ++k) xb[k] *= q;
  return 1;
}

/* ---- phase 3: Σ_i q_i x_ik e_ij over the super-block, neuron by neuron, lane-wise in registers ---- */

/* ---- work items and the threads' partial sums ---- */

/* The open member's sums into this thread's partials (its own width: a narrow member in a wide
   group pays its width), lane sums taken here. */
static void flush_member(const Pass *p, const Scratch *s, const Open *o, int t) {
  if (o->e < 0) return;
  const int64_t E = p->E, K = p->K, N = p->N;
  REAL sl = 0, sg = 0;
  for (int l = 0; l < VL; ++l) sl += o->loss[l], sg += o->gfl[l];
  p->lpart[t * E + o->e] += sl, p->gpart[t * E + o->e] += sg;
  if (!s->Gv) return;
  REAL *G = p->part + ((p->split ? t * E : 0) + o->e) * K * N;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < o->N; ++j) {
      REAL g = 0;
      for (int l = 0; l < VL; ++l) g += s->Gv[k * N + j][l];
      G[k * N + j] += g;
    }
}

/* Work item it: member e's super-block it mod ns, through the three phases. */
static void run_item(const Pass *p, Scratch *s, Open *o, int64_t it, int t) {
  const int64_t e = p->active ? p->active[it / p->ns] : it / p->ns, s0 = (it % p->ns) * p->SB;
  const int64_t K = p->K, N = p->N;
  if (e != o->e) {
    flush_member(p, s, o, t);
    *o = (Open){e, p->width ? p->width[e] : N, {}, {}};
    if (s->Gv)
      for (int64_t k = 0; k < K; ++k) memset(s->Gv + k * N, 0, (size_t)o->N * sizeof(vec));
  }
  const int64_t nb = gather_blocks(p, s, e, s0);
  if (nb == 0) return;
  const Set S = neuron_set(p, s, e, nb, t);
  if (p->wide) wide_logits(s->A, nb, K, S.T, S.ld, S.Nn, s->Z);  /* the super-block's logits at once */
  int grad = 0;
  for (int64_t b = 0; b < nb; ++b) {
    vec *Zb = s->Z + b * S.Nn, m, tot;
    const vec mp = s->WL[4 * b + 3];
    int stale = 0;
#if STALE_MAX
    stale = !p->wide && p->mrow && mp[0] < UNKNOWN_MAX && stale_weights(&S, s->A + b * K, K, mp, Zb, &m, &tot);
#endif
    if (!stale) fresh_weights(&S, s->A + b * K, K, p->wide, Zb, &m, &tot);
    if (p->mrow)
      for (int l = 0; l < s->NV[b]; ++l) p->mrow[e * p->n + s->I0[b] + l] = m[l];
    grad = block_outputs(p, e, s, b, stale ? mp : m, tot, o);
  }
  if (!grad) return;
  if (p->wide)
    wide_grad(s->A, s->Z, nb, K, S.Nn, S.jx, p->part + ((p->split ? t * p->E : 0) + e) * K * N, N);
  else
    WITH_CONST_K(K, KC, grad_narrow(s->A, s->Z, nb, S.Nn, S.jx, s->Gv, N, KC))  /* accumulators in registers */
}

/* The threads' partials added in thread order (deterministic for a given thread count). */
static void merge_threads(const Pass *p) {
  const int64_t E = p->E, EKN = p->E * p->K * p->N;
  if (p->mode != 0)
    for (int64_t e = 0; e < E; ++e) {
      REAL sl = 0, sg = 0;
      for (int t = 0; t < p->nt; ++t) sl += p->lpart[t * E + e], sg += p->gpart[t * E + e];
      p->out[e] = sl;
      if (p->gf) p->gf[e] = sg;
    }
  if (p->part != p->gthT)
    for (int t = 0; t < p->nt; ++t)
      for (int64_t i = 0; i < EKN; ++i) p->gthT[i] += p->part[(size_t)t * EKN + i];
  if (p->kept)
    for (int t = 0; t < p->nt; ++t)
      for (int64_t i = 0; i < 2 * E; ++i) p->kept[i] += p->kpart[t * E * 2 + i];
}

static void free_partials(Pass *p) {
  hj_free(p->lpart), hj_free(p->gpart), hj_free(p->kpart);
  if (p->part != p->gthT) hj_free(p->part);
}

int CAT(hj_pass_, SUFFIX)(int64_t E, const int64_t *active, int64_t n_act, const unsigned char *cull, int64_t n,
                          int64_t N, int64_t K, const REAL *xa, int64_t xa_es, const REAL *thT, const REAL *keep,
                          const int64_t *width, const REAL *eps, const REAL *scale, const REAL *norm, const REAL *off,
                          int64_t off_es, const REAL *target, const REAL *w, int mode, REAL *out, REAL *gthT,
                          REAL *gf, int nthreads, double *kept, REAL *mrow) {
  if (K > KMAX) return HJ_REFUSED;  /* the gradient's register accumulators hold at most KMAX columns */
  Pass p = {.E = E, .n = n, .N = N, .K = K, .n_act = n_act, .xa_es = xa_es, .off_es = off_es, .active = active,
            .width = width, .cull = cull, .xa = xa, .thT = thT, .keep = keep, .eps = eps, .scale = scale,
            .norm = norm, .off = off, .target = target, .w = w, .mode = mode, .out = out, .gthT = gthT, .gf = gf,
            .mrow = mrow, .kept = kept};
  /* a super-block of RB row blocks keeps its exponentials [RB, N] in L2, so the gradient can then
     be accumulated neuron by neuron in registers, reading each exponential once; with culling,
     super-blocks of CULL_RB blocks (a smaller box keeps fewer neurons) */
  p.RB = cull ? CULL_RB : N * (int64_t)sizeof(vec) * 16 <= (1 << 19) ? 16 : (1 << 19) / (N * (int64_t)sizeof(vec)) + 1;
  p.wide = K > 9;  /* the products register-blocked (wide.h) */
  p.SB = p.RB * VL, p.ns = (n + p.SB - 1) / p.SB, p.items = (active ? n_act : E) * p.ns;
  /* work items (member, super-block) dealt round-robin (item i to thread i mod nt: members of
     different widths are spread over the threads, where contiguous runs gave one thread the wide
     ones); each thread keeps partial sums per member; the gradient's only where a member spans
     items: a member whose rows are one super-block is one item, so one thread, and its gradient
     goes straight to gthT (a minibatch step then allocates, clears and adds no copies [nt, E, K, N]) */
  p.nt = nthreads < 1 ? 1 : (p.items < nthreads ? (int)(p.items > 0 ? p.items : 1) : nthreads);
  p.split = p.nt > 1 && p.ns > 1;
  p.lpart = hj_calloc((size_t)p.nt * E, sizeof(REAL)), p.gpart = hj_calloc((size_t)p.nt * E, sizeof(REAL));
  p.kpart = hj_calloc((size_t)p.nt * E * 2, sizeof(double));
  p.part = mode >= 2 && p.split ? hj_calloc((size_t)p.nt * E * K * N, sizeof(REAL)) : gthT;
  if (!p.lpart || !p.gpart || !p.kpart || (mode >= 2 && !p.part)) {
    free_partials(&p);
    return HJ_NO_MEMORY;
  }
  int failed = 0;  /* a thread without scratch skips its items; the call then reports it */
#pragma omp parallel num_threads(p.nt)
  {
    /* flush denormals in this thread: gradient products q·x·e^−80 fall below float32's normal
       range, and denormal arithmetic is ~100x slower; they are < 1e-38 of every sum they enter */
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);
    const int t = omp_get_thread_num();
    Scratch s;
    const int ok = !scratch_alloc(&s, &p);
    if (!ok) __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
    Open o = {-1, 0, {}, {}};
#pragma omp for schedule(static, 1)
    for (int64_t it = 0; it < p.items; ++it)
      if (ok) run_item(&p, &s, &o, it, t);
    if (ok) flush_member(&p, &s, &o, t);
    scratch_free(&s);
    _mm_setcsr(csr);
  }
  if (!failed) merge_threads(&p);
  free_partials(&p);
  return failed ? HJ_NO_MEMORY : HJ_OK;
}
