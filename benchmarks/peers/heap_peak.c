/* heap_peak: an LD_PRELOAD library that counts the bytes live in the C heap
 * (malloc, calloc, realloc, free, posix_memalign, aligned_alloc, memalign)
 * and their peak, for `benchmarks/operators.py --memory-check`: a second,
 * independent measurement of peak memory to compare with the resident-set
 * protocol (VmHWM - VmRSS). Sizes are malloc_usable_size; allocations that
 * bypass malloc (direct mmap) are not seen.
 *
 *   gcc -O2 -shared -fPIC -o heap_peak.so heap_peak.c -ldl
 *
 * Read from Python through ctypes: heap_peak_live(), heap_peak_peak(),
 * heap_peak_reset() (peak := live). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

static _Atomic long live_bytes;
static _Atomic long peak_bytes;

/* dlsym may allocate (calloc) before the real functions are known. */
static _Alignas(16) char bootstrap[1 << 16];
static size_t bootstrap_used;
static int initializing;

static int from_bootstrap(void *p) {
  return (char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap;
}

static void *bootstrap_alloc(size_t size) {
  size_t start = (bootstrap_used + 15) & ~(size_t)15;
  if (start + size > sizeof bootstrap)
    return NULL;
  bootstrap_used = start + size;
  return bootstrap + start;
}

static void init(void) {
  if (real_malloc || initializing)
    return;
  initializing = 1;
  real_calloc = dlsym(RTLD_NEXT, "calloc");
  real_malloc = dlsym(RTLD_NEXT, "malloc");
  real_free = dlsym(RTLD_NEXT, "free");
  real_realloc = dlsym(RTLD_NEXT, "realloc");
  real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
  real_memalign = dlsym(RTLD_NEXT, "memalign");
  initializing = 0;
}

static void count(void *p) {
  if (!p || from_bootstrap(p))
    return;
  long size = (long)malloc_usable_size(p);
  long now = atomic_fetch_add(&live_bytes, size) + size;
  long peak = atomic_load(&peak_bytes);
  while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now))
    ;
}

static void uncount(void *p) {
  if (!p || from_bootstrap(p))
    return;
  atomic_fetch_sub(&live_bytes, (long)malloc_usable_size(p));
}

void *malloc(size_t size) {
  init();
  if (!real_malloc)
    return bootstrap_alloc(size);
  void *p = real_malloc(size);
  count(p);
  return p;
}

void *calloc(size_t n, size_t size) {
  init();
  if (!real_calloc) {
    void *p = bootstrap_alloc(n * size);
    if (p)
      memset(p, 0, n * size);
    return p;
  }
  void *p = real_calloc(n, size);
  count(p);
  return p;
}

void free(void *p) {
  init();
  if (!p || from_bootstrap(p))
    return;
  uncount(p);
  real_free(p);
}

void *realloc(void *p, size_t size) {
  init();
  if (from_bootstrap(p)) {
    void *q = malloc(size);
    size_t available = (size_t)(bootstrap + sizeof bootstrap - (char *)p);
    if (q)
      memcpy(q, p, size < available ? size : available);
    return q;
  }
  long old = p ? (long)malloc_usable_size(p) : 0;
  void *q = real_realloc(p, size);
  if (q || size == 0) {
    atomic_fetch_sub(&live_bytes, old);
    count(q);
  }
  return q;
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  init();
  int status = real_posix_memalign(out, alignment, size);
  if (status == 0)
    count(*out);
  return status;
}

void *aligned_alloc(size_t alignment, size_t size) {
  init();
  void *p = real_aligned_alloc(alignment, size);
  count(p);
  return p;
}

void *memalign(size_t alignment, size_t size) {
  init();
  void *p = real_memalign(alignment, size);
  count(p);
  return p;
}

long heap_peak_live(void) { return atomic_load(&live_bytes); }
long heap_peak_peak(void) { return atomic_load(&peak_bytes); }
void heap_peak_reset(void) { atomic_store(&peak_bytes, atomic_load(&live_bytes)); }
