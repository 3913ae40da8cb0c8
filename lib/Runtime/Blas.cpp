//===- Blas.cpp - Matrix products of compiled code, on memref descriptors -===//
//
// `taylor-gemm-to-blas` turns matrix products into calls of
// `taylor_rt_gemm_f64` / `taylor_rt_gemm_f32`: C = A·B + beta·C with the
// operands' logical shapes A[M, K], B[K, N], C[M, N], passed as 2-D memref
// descriptors (`_mlir_ciface_` convention). Each operand may be row- or
// column-major (one unit stride, as a transposed view is); the BLAS call is
// chosen from the strides at run time. An operand with neither unit stride
// takes a plain loop (correct, slow; generated code never passes one).
//
// The BLAS is a private OpenBLAS instance loaded from the scipy-openblas64
// wheel (`taylor_rt_blas_load`): its thread count is ours, numpy's own
// OpenBLAS is left as it is.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Runtime/Runtime.h"

#include "Memref.h"
#include "Profile.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <mutex>

using taylor_rt::begin;
using taylor_rt::Layout;
using taylor_rt::layoutOf;
using taylor_rt::Memref2D;

namespace {

/// CBLAS enums (row/column major, transposition).
enum : int { kRowMajor = 101, kColMajor = 102, kNoTrans = 111, kTrans = 112 };

template <typename T>
using GemmFn = void (*)(int, int, int, int64_t, int64_t, int64_t, T, const T *,
                        int64_t, const T *, int64_t, T, T *, int64_t);

struct Blas {
  void *handle = nullptr;
  GemmFn<double> dgemm = nullptr;
  GemmFn<float> sgemm = nullptr;
  void (*setThreads)(int) = nullptr;
  int (*getThreads)() = nullptr;
};

Blas blas;
std::mutex blasMutex;

/// C = A·B + beta·C by loops (any strides).
template <typename T>
void gemmLoops(const Memref2D<T> *a, const Memref2D<T> *b, Memref2D<T> *c,
               T beta) {
  int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  const T *pa = begin(a), *pb = begin(b);
  T *pc = begin(c);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T sum = 0;
      for (int64_t l = 0; l < k; ++l)
        sum += pa[i * a->strides[0] + l * a->strides[1]] *
               pb[l * b->strides[0] + j * b->strides[1]];
      T &out = pc[i * c->strides[0] + j * c->strides[1]];
      out = beta == T(0) ? sum : sum + beta * out;
    }
}

template <typename T>
void gemm(GemmFn<T> fn, const Memref2D<T> *a, const Memref2D<T> *b,
          Memref2D<T> *c, T beta) {
  int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  auto &counters = taylor_rt::counters();
  taylor_rt::ScopedTimer timer(counters.gemmCalls, counters.gemmNanoseconds);
  if (timer.enabled())
    counters.gemmFlops.fetch_add(2 * m * n * k, std::memory_order_relaxed);
  if (m == 0 || n == 0)
    return;
  Layout la = layoutOf(m, k, a->strides), lb = layoutOf(k, n, b->strides),
         lc = layoutOf(m, n, c->strides);
  if (!fn || k == 0 || !la.valid || !lb.valid || !lc.valid)
    return gemmLoops(a, b, c, beta);
  // The layout of C; an operand stored the other way is transposed.
  int order = lc.rowMajor ? kRowMajor : kColMajor;
  int transA = la.rowMajor == lc.rowMajor ? kNoTrans : kTrans;
  int transB = lb.rowMajor == lc.rowMajor ? kNoTrans : kTrans;
  fn(order, transA, transB, m, n, k, T(1), begin(a), la.ld, begin(b), lb.ld,
     beta, begin(c), lc.ld);
}

} // namespace

extern "C" {

int taylor_rt_blas_load(const char *path, char *error, size_t errorSize) {
  std::lock_guard<std::mutex> lock(blasMutex);
  if (blas.handle)
    return 0;
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  auto fail = [&](const char *what) {
    if (error && errorSize)
      std::snprintf(error, errorSize, "%s", what);
    if (handle)
      dlclose(handle);
    return 1;
  };
  if (!handle)
    return fail(dlerror());
  Blas loaded;
  loaded.handle = handle;
  loaded.dgemm =
      reinterpret_cast<GemmFn<double>>(dlsym(handle, "scipy_cblas_dgemm64_"));
  loaded.sgemm =
      reinterpret_cast<GemmFn<float>>(dlsym(handle, "scipy_cblas_sgemm64_"));
  loaded.setThreads = reinterpret_cast<void (*)(int)>(
      dlsym(handle, "scipy_openblas_set_num_threads64_"));
  loaded.getThreads = reinterpret_cast<int (*)()>(
      dlsym(handle, "scipy_openblas_get_num_threads64_"));
  if (!loaded.dgemm || !loaded.sgemm || !loaded.setThreads ||
      !loaded.getThreads)
    return fail("not an ILP64 scipy-openblas64 library (scipy_cblas_dgemm64_ "
                "or scipy_openblas_set_num_threads64_ missing)");
  // Batch parts run on our threads; each product on one BLAS thread.
  loaded.setThreads(1);
  blas = loaded;
  return 0;
}

int taylor_rt_blas_get_num_threads(void) {
  return blas.getThreads ? blas.getThreads() : -1;
}

int taylor_rt_blas_set_num_threads(int threads) {
  if (!blas.setThreads || threads < 1)
    return 1;
  blas.setThreads(threads);
  return 0;
}

void _mlir_ciface_taylor_rt_gemm_f64(Memref2D<double> *a, Memref2D<double> *b,
                                     Memref2D<double> *c, double beta) {
  gemm(blas.dgemm, a, b, c, beta);
}

void _mlir_ciface_taylor_rt_gemm_f32(Memref2D<float> *a, Memref2D<float> *b,
                                     Memref2D<float> *c, float beta) {
  gemm(blas.sgemm, a, b, c, beta);
}

} // extern "C"
