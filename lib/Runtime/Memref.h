//===- Memref.h - MLIR's memref descriptors, as the runtime reads them ----===//
//
// Internal to libTaylorRuntime: the layout of the `_mlir_ciface_` arguments
// of the GEMM shims (CPU: Blas.cpp, cuBLAS: CudaBlas.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RUNTIME_MEMREF_H
#define TAYLOR_RUNTIME_MEMREF_H

#include <cstdint>

namespace taylor_rt {

/// A 2-D memref descriptor (the `_mlir_ciface_` argument layout).
template <typename T> struct Memref2D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
};

} // namespace taylor_rt

#endif // TAYLOR_RUNTIME_MEMREF_H
