/* Checked scratch allocation for the C kernels (fused.c, attack.c) and their status codes
 * (engine/native_abi.py mirrors them; tests/test_native_abi.py compares).
 *
 * Every allocation goes through hj_alloc / hj_calloc, and an entry point that gets NULL frees what
 * it holds and returns HJ_NO_MEMORY (its outputs are then undefined), which native_abi turns into
 * one Python error line. Two globals let tests reach every allocation site (tests/test_native_errors.py):
 * hj_fail_alloc = n > 0 makes the n-th allocation from then on fail; hj_live_allocs counts blocks not
 * yet freed (a leak leaves it above 0). They cost one atomic operation per allocation, and a kernel
 * call allocates a few blocks per thread. Weak: the six objects of the library share one copy.
 */
#ifndef HJ_ALLOC_H
#define HJ_ALLOC_H
#include <stdint.h>
#include <stdlib.h>

#define HJ_OK 0
#define HJ_REFUSED 1    /* shapes outside what the kernel handles */
#define HJ_NO_MEMORY 2  /* a scratch allocation failed */

int64_t hj_fail_alloc __attribute__((weak)) = 0;
int64_t hj_live_allocs __attribute__((weak)) = 0;

static inline int hj_injected_failure(void) {
  return __atomic_load_n(&hj_fail_alloc, __ATOMIC_RELAXED) > 0 &&
         __atomic_sub_fetch(&hj_fail_alloc, 1, __ATOMIC_RELAXED) == 0;
}

/* 64-byte aligned (one vector), size rounded up to a multiple of 64 as aligned_alloc requires */
static inline void *hj_alloc(size_t bytes) {
  if (hj_injected_failure()) return NULL;
  void *p = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
  if (p) __atomic_add_fetch(&hj_live_allocs, 1, __ATOMIC_RELAXED);
  return p;
}

/* zeroed; calloc, whose large blocks come as fresh zero pages instead of a memset */
static inline void *hj_calloc(size_t count, size_t size) {
  if (hj_injected_failure()) return NULL;
  void *p = calloc(count ? count : 1, size);
  if (p) __atomic_add_fetch(&hj_live_allocs, 1, __ATOMIC_RELAXED);
  return p;
}

static inline void hj_free(void *p) {
  if (!p) return;
  __atomic_sub_fetch(&hj_live_allocs, 1, __ATOMIC_RELAXED);
  free(p);
}

#endif
