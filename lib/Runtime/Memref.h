//===- Memref.h - MLIR's memref descriptors, as the runtime reads them ----===//
//
// Internal to libTaylorRuntime: the layout of the `_mlir_ciface_` arguments
// of the GEMM shims (CPU: Blas.cpp, cuBLAS: CudaBlas.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RUNTIME_MEMREF_H
#define TAYLOR_RUNTIME_MEMREF_H

#include <algorithm>
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

/// How a 2-D operand is stored, as BLAS takes it: row- or column-major with
/// leading dimension `ld` (`valid` false: neither, e.g. both strides > 1).
/// A dimension of size 0 or 1 fits either order.
struct Layout {
  bool valid;
  bool rowMajor;
  int64_t ld;
};

/// The layout of a `rows` x `cols` operand with element `strides`.
inline Layout layoutOf(int64_t rows, int64_t cols, const int64_t *strides) {
  if (strides[1] == 1 || cols <= 1) {
    int64_t ld = rows > 1 ? strides[0] : std::max<int64_t>(1, cols);
    if (ld >= std::max<int64_t>(1, cols))
      return {true, true, ld};
  }
  if (strides[0] == 1 || rows <= 1) {
    int64_t ld = cols > 1 ? strides[1] : std::max<int64_t>(1, rows);
    if (ld >= std::max<int64_t>(1, rows))
      return {true, false, ld};
  }
  return {false, false, 0};
}

/// The first element of `m`.
template <typename T> T *begin(const Memref2D<T> *m) {
  return m->aligned + m->offset;
}

} // namespace taylor_rt

#endif // TAYLOR_RUNTIME_MEMREF_H
