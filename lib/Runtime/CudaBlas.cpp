//===- CudaBlas.cpp - Matrix products of compiled GPU code, by cuBLAS -----===//
//
// `_mlir_ciface_taylor_rt_cublas_gemm_f64` / `_f32`: C = A·B + beta·C on
// device memory, with the descriptors of the CPU shim (`Blas.cpp`): logical
// shapes A[M, K], B[K, N], C[M, N] in `_mlir_ciface_` memref descriptors,
// each operand row- or column-major. cuBLAS is column-major: a column-major C
// is computed as C = op(A)·op(B), a row-major C as its transpose, Cᵀ =
// op(B)ᵀ·op(A)ᵀ, and an operand stored the other way than C is passed
// transposed. An operand with neither unit stride is refused (an error):
// generated code never passes one.
//
// cuBLAS (`libcublas.so.13` of the nvidia-cublas wheel) is loaded by
// `taylor_rt_cuda_load_cublas`. Each thread has one handle per context,
// created at its first product and kept until the process exits; every
// product runs on the current stream.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "Memref.h"
#include "Profile.h"

#include "Taylor/Runtime/Runtime.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <dlfcn.h>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using namespace taylor_rt::cuda;

using taylor_rt::begin;
using taylor_rt::Layout;
using taylor_rt::layoutOf;
using taylor_rt::Memref2D;

namespace {

using Handle = struct cublasContext *;
using Status = int;
enum : int { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };

/// `cublas<T>gemm_v2_64`.
template <typename T>
using GemmFn = Status (*)(Handle, int, int, int64_t, int64_t, int64_t,
                          const T *, const T *, int64_t, const T *, int64_t,
                          const T *, T *, int64_t);

/// The functions of the loaded cuBLAS.
struct Cublas {
  Status (*create)(Handle *);
  Status (*setStream)(Handle, CUstream);
  GemmFn<double> dgemm;
  GemmFn<float> sgemm;
  const char *(*statusName)(Status);
  const char *(*statusString)(Status);
};

std::atomic<const Cublas *> cublas{nullptr};
std::mutex loadMutex;

bool checkCublas(const Cublas &library, Status status, const char *call) {
  if (status == 0)
    return true;
  const char *name = library.statusName(status);
  const char *text = library.statusString(status);
  recordError(ErrorKind::Error, status,
              std::string(call) + " failed: " +
                  (name ? name : "status " + std::to_string(status)) +
                  (text ? std::string(" (") + text + ")" : ""));
  return false;
}

/// The calling thread's handle for `context`, created at first use.
Handle handleFor(const Cublas &library, CUcontext context) {
  thread_local std::vector<std::pair<CUcontext, Handle>> handles;
  for (const auto &[owner, handle] : handles)
    if (owner == context)
      return handle;
  Handle handle = nullptr;
  Status status = library.create(&handle);
  if (status && driverVersion() < 13000) {
    // The common cause: cuBLAS 13 runs on CUDA 13 drivers only.
    int version = driverVersion();
    recordError(ErrorKind::TooOld, status,
                "cublasCreate_v2 failed (status " + std::to_string(status) +
                    "): cuBLAS 13 (the nvidia-cublas wheel) needs a CUDA 13.0 "
                    "driver or newer; this driver is CUDA " +
                    std::to_string(version / 1000) + "." +
                    std::to_string(version % 1000 / 10));
    return nullptr;
  }
  if (!checkCublas(library, status, "cublasCreate_v2"))
    return nullptr;
  handles.emplace_back(context, handle);
  return handle;
}

std::string shapeText(const char *name, const int64_t *sizes,
                      const int64_t *strides) {
  char text[160];
  std::snprintf(
      text, sizeof(text), "operand %s [%lld x %lld] with strides [%lld, %lld]",
      name, static_cast<long long>(sizes[0]), static_cast<long long>(sizes[1]),
      static_cast<long long>(strides[0]), static_cast<long long>(strides[1]));
  return text;
}

template <typename T>
void gemm(const char *name, GemmFn<T> Cublas::*function, const Memref2D<T> *a,
          const Memref2D<T> *b, Memref2D<T> *c, T beta) {
  if (hasError())
    return;
  int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  if (a->sizes[0] != m || b->sizes[0] != k || b->sizes[1] != n) {
    recordError(ErrorKind::Error, 0,
                std::string(name) + ": mismatched shapes, " +
                    shapeText("A", a->sizes, a->strides) + ", " +
                    shapeText("B", b->sizes, b->strides) + ", " +
                    shapeText("C", c->sizes, c->strides));
    return;
  }
  auto &counters = taylor_rt::counters();
  taylor_rt::ScopedTimer timer(counters.gemmCalls, counters.gemmNanoseconds);
  if (timer.enabled())
    counters.gemmFlops.fetch_add(2 * m * n * k, std::memory_order_relaxed);
  if (m == 0 || n == 0)
    return;
  Layout la = layoutOf(m, k, a->strides), lb = layoutOf(k, n, b->strides),
         lc = layoutOf(m, n, c->strides);
  if (k == 0) {
    // A and B are not read; any valid leading dimensions do.
    int64_t ld = std::max<int64_t>({1, m, n});
    la = lb = {true, lc.rowMajor, ld};
  }
  for (auto [layout, operand, memref] :
       {std::make_tuple(la, "A", static_cast<const Memref2D<T> *>(a)),
        std::make_tuple(lb, "B", static_cast<const Memref2D<T> *>(b)),
        std::make_tuple(lc, "C", static_cast<const Memref2D<T> *>(c))})
    if (!layout.valid) {
      recordError(ErrorKind::Error, 0,
                  std::string(name) + ": " +
                      shapeText(operand, memref->sizes, memref->strides) +
                      " has no unit stride (cuBLAS takes row- or "
                      "column-major operands)");
      return;
    }
  const Cublas *library = cublas.load(std::memory_order_acquire);
  if (!library) {
    recordError(ErrorKind::Unavailable, 0,
                std::string(name) +
                    ": cuBLAS is not loaded (install the nvidia-cublas "
                    "wheel: pip install 'taylor-mlir[cuda]')");
    return;
  }
  ScopedContext scope;
  if (!scope)
    return;
  Handle handle = handleFor(*library, scope.get()->context);
  if (!handle ||
      !checkCublas(*library, library->setStream(handle, currentStream()),
                   "cublasSetStream_v2"))
    return;
  // An operand stored the other way than C is passed transposed.
  int opA = la.rowMajor == lc.rowMajor ? CUBLAS_OP_N : CUBLAS_OP_T;
  int opB = lb.rowMajor == lc.rowMajor ? CUBLAS_OP_N : CUBLAS_OP_T;
  T one = 1;
  countGemm();
  Status status =
      lc.rowMajor
          ? (library->*function)(handle, opB, opA, n, m, k, &one, begin(b),
                                 lb.ld, begin(a), la.ld, &beta, begin(c), lc.ld)
          : (library->*function)(handle, opA, opB, m, n, k, &one, begin(a),
                                 la.ld, begin(b), lb.ld, &beta, begin(c),
                                 lc.ld);
  checkCublas(*library, status,
              std::is_same_v<T, double> ? "cublasDgemm_v2_64"
                                        : "cublasSgemm_v2_64");
}

} // namespace

extern "C" {

int taylor_rt_cuda_load_cublas(const char *path, char *error,
                               size_t errorSize) {
  std::lock_guard<std::mutex> lock(loadMutex);
  if (cublas.load())
    return 0;
  auto fail = [&](const std::string &why) {
    if (error && errorSize)
      std::snprintf(error, errorSize, "%s", why.c_str());
    return 1;
  };
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *why = dlerror();
    return fail(why ? why : "dlopen failed");
  }
  auto *loaded = new Cublas{};
  std::string missing;
  auto bind = [&](auto &function, const char *name) {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(
        dlsym(library, name));
    if (!function)
      missing += std::string(missing.empty() ? "" : ", ") + name;
  };
  bind(loaded->create, "cublasCreate_v2");
  bind(loaded->setStream, "cublasSetStream_v2");
  bind(loaded->dgemm, "cublasDgemm_v2_64");
  bind(loaded->sgemm, "cublasSgemm_v2_64");
  bind(loaded->statusName, "cublasGetStatusName");
  bind(loaded->statusString, "cublasGetStatusString");
  if (!missing.empty()) {
    delete loaded;
    dlclose(library);
    return fail(std::string(path) + " lacks " + missing +
                " (cuBLAS 12 or newer is needed)");
  }
  cublas.store(loaded, std::memory_order_release);
  return 0;
}

void _mlir_ciface_taylor_rt_cublas_gemm_f64(Memref2D<double> *a,
                                            Memref2D<double> *b,
                                            Memref2D<double> *c, double beta) {
  gemm("taylor_rt_cublas_gemm_f64", &Cublas::dgemm, a, b, c, beta);
}

void _mlir_ciface_taylor_rt_cublas_gemm_f32(Memref2D<float> *a,
                                            Memref2D<float> *b,
                                            Memref2D<float> *c, float beta) {
  gemm("taylor_rt_cublas_gemm_f32", &Cublas::sgemm, a, b, c, beta);
}

} // extern "C"
