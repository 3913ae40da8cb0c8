/* A stand-in for libcuda.so.1 and cuBLAS that does "device" work on the host,
 * for testing the runtime's CUDA paths on a machine without a GPU
 * (test_cuda_runtime.py builds it and puts it first on LD_LIBRARY_PATH of a
 * subprocess). Device memory is host memory; a "kernel" is a host function
 * found by name (the kernels of the tests); every call that needs a context
 * fails with CUDA_ERROR_INVALID_CONTEXT unless the primary context is
 * current. Environment: FAKE_CUDA_VERSION (the driver's CUDA version,
 * default 12040), FAKE_CUDA_MEMORY (bytes an allocation may have at most),
 * FAKE_CUBLAS_CREATE_FAILS (cublasCreate_v2 fails).
 * `fake_cuda_counter(name)` tells the tests what happened. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;

static char primary, pool, handle;
static __thread void *current;
static long launches, syncs, live, poolAllocations,
    lastStream = -1, threshold, clusterX, gemmStream = -1, dynamicShared;

static int version(void) {
  const char *text = getenv("FAKE_CUDA_VERSION");
  return text ? atoi(text) : 12040;
}

/* The newest PTX ISA (major * 10 + minor) of a driver version. */
static int newestPtx(int v) {
  return v >= 13000 ? 90 : v >= 12040 ? 84 : v >= 12000 ? 80 : 78;
}

#define NEED_CONTEXT                                                           \
  if (current != &primary)                                                     \
    return 201;

long fake_cuda_counter(const char *name) {
  if (!strcmp(name, "launches"))
    return launches;
  if (!strcmp(name, "syncs"))
    return syncs;
  if (!strcmp(name, "live"))
    return live;
  if (!strcmp(name, "pool_allocations"))
    return poolAllocations;
  if (!strcmp(name, "last_stream"))
    return lastStream;
  if (!strcmp(name, "threshold"))
    return threshold;
  if (!strcmp(name, "cluster_x"))
    return clusterX;
  if (!strcmp(name, "gemm_stream"))
    return gemmStream;
  if (!strcmp(name, "dynamic_shared"))
    return dynamicShared;
  if (!strcmp(name, "context_current"))
    return current == &primary;
  return -1;
}

static const char *names(CUresult r) {
  switch (r) {
  case 1:
    return "CUDA_ERROR_INVALID_VALUE";
  case 2:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case 101:
    return "CUDA_ERROR_INVALID_DEVICE";
  case 201:
    return "CUDA_ERROR_INVALID_CONTEXT";
  case 222:
    return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
  case 500:
    return "CUDA_ERROR_NOT_FOUND";
  default:
    return "CUDA_ERROR_UNKNOWN";
  }
}

CUresult cuGetErrorName(CUresult r, const char **s) {
  *s = names(r);
  return 0;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  *s = r == 2 ? "out of memory" : "fake error text";
  return 0;
}
CUresult cuInit(unsigned flags) { return flags ? 1 : 0; }
CUresult cuDriverGetVersion(int *v) {
  *v = version();
  return 0;
}
CUresult cuDeviceGetCount(int *n) {
  *n = 1;
  return 0;
}
CUresult cuDeviceGet(int *d, int ordinal) {
  if (ordinal != 0)
    return 101;
  *d = 0;
  return 0;
}
CUresult cuDeviceGetAttribute(int *v, int attribute, int device) {
  *v = attribute == 75 ? 9 : attribute == 115 ? 1 : 0;
  return 0;
}
CUresult cuDevicePrimaryCtxRetain(void **c, int device) {
  *c = &primary;
  return 0;
}
CUresult cuCtxGetCurrent(void **c) {
  *c = current;
  return 0;
}
CUresult cuCtxSetCurrent(void *c) {
  current = c;
  return 0;
}

static CUresult allocate(uintptr_t *p, size_t size) {
  const char *limit = getenv("FAKE_CUDA_MEMORY");
  if (limit && size > (size_t)atol(limit))
    return 2;
  *p = (uintptr_t)malloc(size);
  ++live;
  return 0;
}
CUresult cuMemAlloc_v2(uintptr_t *p, size_t size) {
  NEED_CONTEXT return allocate(p, size);
}
CUresult cuMemAllocManaged(uintptr_t *p, size_t size, unsigned flags) {
  NEED_CONTEXT
  return flags == 1 ? allocate(p, size) : 1;
}
CUresult cuMemFree_v2(uintptr_t p) {
  NEED_CONTEXT free((void *)p);
  --live;
  return 0;
}
CUresult cuMemAllocFromPoolAsync(uintptr_t *p, size_t size, void *from,
                                 void *stream) {
  NEED_CONTEXT
  if (from != &pool)
    return 1;
  lastStream = (long)stream;
  ++poolAllocations;
  return allocate(p, size);
}
CUresult cuMemFreeAsync(uintptr_t p, void *stream) {
  NEED_CONTEXT
  lastStream = (long)stream;
  free((void *)p);
  --live;
  return 0;
}
struct Props {
  int allocType, handleTypes, locationType, locationId;
};
CUresult cuMemPoolCreate(void **p, const struct Props *props) {
  NEED_CONTEXT
  if (props->allocType != 1 || props->handleTypes != 0 ||
      props->locationType != 1 || props->locationId != 0)
    return 1;
  *p = &pool;
  return 0;
}
CUresult cuMemPoolSetAttribute(void *p, int attribute, void *value) {
  if (p != &pool || attribute != 4)
    return 1;
  threshold = (long)*(uint64_t *)value;
  return 0;
}
CUresult cuMemPoolTrimTo(void *p, size_t keep) { return p == &pool ? 0 : 1; }
CUresult cuMemcpyAsync(uintptr_t dst, uintptr_t src, size_t n, void *stream) {
  NEED_CONTEXT
  lastStream = (long)stream;
  memcpy((void *)dst, (void *)src, n);
  return 0;
}
CUresult cuMemsetD32Async(uintptr_t dst, unsigned v, size_t n, void *stream) {
  NEED_CONTEXT
  for (size_t i = 0; i < n; ++i)
    ((uint32_t *)dst)[i] = v;
  return 0;
}
CUresult cuMemsetD16Async(uintptr_t dst, unsigned short v, size_t n, void *s) {
  NEED_CONTEXT
  for (size_t i = 0; i < n; ++i)
    ((uint16_t *)dst)[i] = v;
  return 0;
}
CUresult cuMemHostRegister_v2(void *p, size_t n, unsigned flags) {
  NEED_CONTEXT return 0;
}
CUresult cuMemHostUnregister(void *p) { NEED_CONTEXT return 0; }

/* Modules: the PTX text; kernels: host functions by name. */
typedef void (*Kernel)(void **params, unsigned block, unsigned thread,
                       unsigned blockDim);
/* scale(float *a): a[i] += a[i] (test/gpu's MLIR kernel, bare pointers). */
static void scale(void **params, unsigned block, unsigned thread,
                  unsigned blockDim) {
  float *a = *(float **)params[0];
  a[thread] = a[thread] + a[thread];
}
/* add_one(float *a, unsigned n): a[i] += 1 for i < n. */
static void addOne(void **params, unsigned block, unsigned thread,
                   unsigned blockDim) {
  float *a = *(float **)params[0];
  unsigned n = *(unsigned *)params[1], i = block * blockDim + thread;
  if (i < n)
    a[i] += 1.0f;
}

CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned n,
                            int *options, void **values) {
  NEED_CONTEXT
  const char *text = image, *at = strstr(text, ".version ");
  int major = 0, minor = 0;
  if (!at || sscanf(at + 9, "%d.%d", &major, &minor) != 2)
    return 218;
  if (major * 10 + minor > newestPtx(version())) {
    for (unsigned i = 0; i < n; ++i)
      if (options[i] == 5)
        snprintf(values[i], 100, "ptxas fatal: Unsupported .version %d.%d\n",
                 major, minor);
    return 222;
  }
  *m = strdup(text);
  return 0;
}
CUresult cuModuleLoadData(void **m, const void *image) {
  return cuModuleLoadDataEx(m, image, 0, 0, 0);
}
CUresult cuModuleUnload(void *m) {
  free(m);
  return 0;
}
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
  NEED_CONTEXT
  char entry[128];
  snprintf(entry, sizeof(entry), ".entry %s(", name);
  if (!strstr(m, entry))
    return 500;
  if (!strcmp(name, "scale"))
    *f = (void *)scale;
  else if (!strcmp(name, "add_one"))
    *f = (void *)addOne;
  else
    return 500;
  return 0;
}
CUresult cuFuncSetAttribute(void *f, int attribute, int value) {
  if (attribute == 8)
    dynamicShared = value;
  return 0;
}
static void run(void *f, unsigned gx, unsigned bx, void **params) {
  for (unsigned b = 0; b < gx; ++b)
    for (unsigned t = 0; t < bx; ++t)
      ((Kernel)f)(params, b, t, bx);
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *stream, void **params, void **extra) {
  NEED_CONTEXT
  ++launches;
  lastStream = (long)stream;
  run(f, gx, bx, params);
  return 0;
}
struct Attribute {
  int id;
  char pad[4];
  unsigned x, y, z;
  char rest[52];
};
struct Config {
  unsigned gx, gy, gz, bx, by, bz, smem;
  void *stream;
  struct Attribute *attrs;
  unsigned count;
};
CUresult cuLaunchKernelEx(const struct Config *c, void *f, void **params,
                          void **extra) {
  NEED_CONTEXT
  if (c->count != 1 || c->attrs[0].id != 4)
    return 1;
  clusterX = c->attrs[0].x;
  ++launches;
  lastStream = (long)c->stream;
  run(f, c->gx, c->bx, params);
  return 0;
}
CUresult cuStreamSynchronize(void *s) {
  NEED_CONTEXT++ syncs;
  return 0;
}
CUresult cuStreamWaitEvent(void *s, void *e, unsigned f) {
  NEED_CONTEXT return 0;
}
CUresult cuEventCreate(void **e, unsigned flags) {
  NEED_CONTEXT *e = malloc(1);
  return 0;
}
CUresult cuEventDestroy_v2(void *e) {
  free(e);
  return 0;
}
CUresult cuEventRecord(void *e, void *s) { NEED_CONTEXT return 0; }
CUresult cuEventSynchronize(void *e) {
  ++syncs;
  return 0;
}

/* cuBLAS: column-major reference products, with cuBLAS's argument checks. */
int cublasCreate_v2(void **h) {
  if (getenv("FAKE_CUBLAS_CREATE_FAILS"))
    return 3; /* CUBLAS_STATUS_ALLOC_FAILED, as with a too old driver */
  if (current != &primary)
    return 1; /* CUBLAS_STATUS_NOT_INITIALIZED */
  *h = &handle;
  return 0;
}
int cublasSetStream_v2(void *h, void *stream) {
  gemmStream = (long)stream;
  return 0;
}
const char *cublasGetStatusName(int s) {
  return s == 7 ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_UNKNOWN";
}
const char *cublasGetStatusString(int s) { return "fake cuBLAS status"; }
#define MAX1(x) ((x) > 1 ? (x) : 1)
#define GEMM(NAME, T)                                                          \
  int NAME(void *h, int ta, int tb, int64_t m, int64_t n, int64_t k,           \
           const T *alpha, const T *a, int64_t lda, const T *b, int64_t ldb,   \
           const T *beta, T *c, int64_t ldc) {                                 \
    if (current != &primary)                                                   \
      return 1;                                                                \
    if (lda < MAX1(ta ? k : m) || ldb < MAX1(tb ? n : k) || ldc < MAX1(m))     \
      return 7;                                                                \
    for (int64_t i = 0; i < m; ++i)                                            \
      for (int64_t j = 0; j < n; ++j) {                                        \
        T sum = 0;                                                             \
        for (int64_t l = 0; l < k; ++l)                                        \
          sum += (ta ? a[l + i * lda] : a[i + l * lda]) *                      \
                 (tb ? b[j + l * ldb] : b[l + j * ldb]);                       \
        T *out = &c[i + j * ldc];                                              \
        *out = *alpha * sum + (*beta == 0 ? 0 : *beta * *out);                 \
      }                                                                        \
    return 0;                                                                  \
  }
GEMM(cublasDgemm_v2_64, double)
GEMM(cublasSgemm_v2_64, float)
