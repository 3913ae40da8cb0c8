// RUN: taylor-opt %s --taylor-gemm-to-blas --mlir-pass-statistics -o - 2>/dev/null | FileCheck %s
// RUN: taylor-opt %s --taylor-gemm-to-blas --verify-diagnostics -o /dev/null
// RUN: taylor-opt %s --taylor-gemm-to-blas=library=cublas -o - 2>/dev/null | FileCheck %s --check-prefix=CUBLAS
// RUN: taylor-opt %s --taylor-gemm-to-blas=library=cpu -o - 2>/dev/null | FileCheck %s
// RUN: not taylor-opt %s --taylor-gemm-to-blas=library=mkl -o /dev/null 2>&1 | FileCheck %s --check-prefix=LIBRARY

// With library=cublas, the runtime's cuBLAS shim: the same signature, the
// same calls (beta included), on device buffers.
// CUBLAS-LABEL: func.func private @taylor_rt_cublas_gemm_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, f32) attributes {llvm.emit_c_interface}
// CUBLAS-LABEL: func.func private @taylor_rt_cublas_gemm_f64(memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, f64) attributes {llvm.emit_c_interface}
// CUBLAS-NOT:   @taylor_rt_gemm_
// CUBLAS-LABEL: func.func @plain(
// CUBLAS:         call @taylor_rt_cublas_gemm_f64(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CUBLAS-LABEL: func.func @transposed_b(
// CUBLAS:         call @taylor_rt_cublas_gemm_f32(
// CUBLAS-LABEL: func.func @zero_filled(
// CUBLAS:         linalg.fill {{.*}} outs(%arg2 : memref<3xf64>)
// CUBLAS:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CUBLAS:         call @taylor_rt_cublas_gemm_f64(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[ZERO]])
// LIBRARY: for the --library option: Cannot find option named 'mkl'!

// The runtime's GEMM on memref descriptors (C interface), declared once per
// element type.
// CHECK-LABEL: func.func private @taylor_rt_gemm_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, f32) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func private @taylor_rt_gemm_f64(memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, f64) attributes {llvm.emit_c_interface}
// CHECK-NOT:   extract_aligned_pointer_as_index
// CHECK-NOT:   llvm.inttoptr

// CHECK-LABEL: func.func @plain(
// CHECK-SAME:    %[[A:.*]]: memref<24x5xf64>, %[[B:.*]]: memref<5x16xf64>, %[[C:.*]]: memref<24x16xf64>)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG:     %[[CA:.*]] = memref.cast %[[A]] : memref<24x5xf64> to memref<?x?xf64, strided<[?, ?], offset: ?>>
// CHECK-DAG:     %[[CB:.*]] = memref.cast %[[B]] : memref<5x16xf64> to memref<?x?xf64, strided<[?, ?], offset: ?>>
// CHECK-DAG:     %[[CC:.*]] = memref.cast %[[C]] : memref<24x16xf64> to memref<?x?xf64, strided<[?, ?], offset: ?>>
// CHECK:         call @taylor_rt_gemm_f64(%[[CA]], %[[CB]], %[[CC]], %[[ONE]])
// CHECK-NOT:     linalg.matmul
func.func @plain(%a: memref<24x5xf64>, %b: memref<5x16xf64>, %c: memref<24x16xf64>) {
  linalg.matmul ins(%a, %b : memref<24x5xf64>, memref<5x16xf64>) outs(%c : memref<24x16xf64>)
  return
}

// b as [n, k]: passed as a transposed view of its logical shape [k, n]
// (column-major).
// CHECK-LABEL: func.func @transposed_b(
// CHECK-SAME:    %[[A:.*]]: memref<?x5xf32>, %[[B:.*]]: memref<16x5xf32>, %[[C:.*]]: memref<?x16xf32>)
// CHECK-DAG:     %[[CA:.*]] = memref.cast %[[A]]
// CHECK-DAG:     %[[T:.*]] = memref.transpose %[[B]] (d0, d1) -> (d1, d0) : memref<16x5xf32> to memref<5x16xf32, strided<[1, 5]>>
// CHECK-DAG:     %[[CB:.*]] = memref.cast %[[T]] : memref<5x16xf32, strided<[1, 5]>> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG:     %[[CC:.*]] = memref.cast %[[C]]
// CHECK:         call @taylor_rt_gemm_f32(%[[CA]], %[[CB]], %[[CC]], %{{.*}})
func.func @transposed_b(%a: memref<?x5xf32>, %b: memref<16x5xf32>, %c: memref<?x16xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%a, %b : memref<?x5xf32>, memref<16x5xf32>) outs(%c : memref<?x16xf32>)
  return
}

// a as [k, m]: a transposed view too.
// CHECK-LABEL: func.func @transposed_a(
// CHECK-SAME:    %[[A:.*]]: memref<5x24xf64>
// CHECK:         %[[T:.*]] = memref.transpose %[[A]] (d0, d1) -> (d1, d0) : memref<5x24xf64> to memref<24x5xf64, strided<[1, 24]>>
// CHECK:         %[[CA:.*]] = memref.cast %[[T]]
// CHECK:         call @taylor_rt_gemm_f64(%[[CA]],
func.func @transposed_a(%a: memref<5x24xf64>, %b: memref<5x16xf64>, %c: memref<24x16xf64>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>] ins(%a, %b : memref<5x24xf64>, memref<5x16xf64>) outs(%c : memref<24x16xf64>)
  return
}

// A column-major operand (unit stride in the first dimension) goes to the
// runtime, which reads the strides; a column slice (strides [10, 2]) has no
// unit stride: left as loops.
// CHECK-LABEL: func.func @strided(
// CHECK:         call @taylor_rt_gemm_f64(
// CHECK:         linalg.matmul
func.func @strided(%a: memref<4x5xf64, strided<[10, 2]>>, %b: memref<5x6xf64>, %c: memref<4x6xf64>, %at: memref<4x5xf64, strided<[1, 4]>>, %ct: memref<4x6xf64, strided<[1, 4]>>) {
  linalg.matmul ins(%at, %b : memref<4x5xf64, strided<[1, 4]>>, memref<5x6xf64>) outs(%ct : memref<4x6xf64, strided<[1, 4]>>)
  // expected-remark @+1 {{taylor-gemm-to-blas: left as loops (an operand without a unit stride)}}
  linalg.matmul ins(%a, %b : memref<4x5xf64, strided<[10, 2]>>, memref<5x6xf64>) outs(%c : memref<4x6xf64>)
  return
}

// A product onto a freshly zero-filled allocation (through a reshape, with
// an unrelated op in between): the fill goes, the call overwrites
// (beta = 0). The second product accumulates onto the first (beta = 1).
// CHECK-LABEL: func.func @zero_filled(
// CHECK:         linalg.fill {{.*}} outs(%arg2 : memref<3xf64>)
// CHECK-NOT:     linalg.fill
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         call @taylor_rt_gemm_f64(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[ZERO]])
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         call @taylor_rt_gemm_f64(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[ONE]])
func.func @zero_filled(%a: memref<6x5xf64>, %b: memref<5x4xf64>, %other: memref<3xf64>, %out: memref<2x3x4xf64>) {
  %zero = arith.constant 0.0 : f64
  %alloc = memref.alloc() : memref<2x3x4xf64>
  linalg.fill ins(%zero : f64) outs(%alloc : memref<2x3x4xf64>)
  linalg.fill ins(%zero : f64) outs(%other : memref<3xf64>)
  %c = memref.collapse_shape %alloc [[0, 1], [2]] : memref<2x3x4xf64> into memref<6x4xf64>
  linalg.matmul ins(%a, %b : memref<6x5xf64>, memref<5x4xf64>) outs(%c : memref<6x4xf64>)
  linalg.matmul ins(%a, %b : memref<6x5xf64>, memref<5x4xf64>) outs(%c : memref<6x4xf64>)
  memref.copy %alloc, %out : memref<2x3x4xf64> to memref<2x3x4xf64>
  memref.dealloc %alloc : memref<2x3x4xf64>
  return
}

// The fill stays (beta = 1): a non-zero fill; a read of the allocation in
// between; a fill of only part of it; a buffer that is not an allocation.
// CHECK-LABEL: func.func @fill_kept(
// CHECK:         linalg.fill ins(%{{.*}}) outs(%alloc :
// CHECK:         %[[B1:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         call @taylor_rt_gemm_f64(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[B1]])
// CHECK:         linalg.fill
// CHECK:         memref.copy
// CHECK:         %[[B2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         call @taylor_rt_gemm_f64(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[B2]])
// CHECK:         linalg.fill ins(%{{.*}}) outs(%subview
// CHECK:         %[[B3:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         call @taylor_rt_gemm_f64(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[B3]])
// CHECK:         linalg.fill ins(%{{.*}}) outs(%arg2
// CHECK:         %[[B4:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         call @taylor_rt_gemm_f64(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[B4]])
func.func @fill_kept(%a: memref<6x5xf64>, %b: memref<5x4xf64>, %arg: memref<6x4xf64>, %sink: memref<6x4xf64>) {
  %zero = arith.constant 0.0 : f64
  %two = arith.constant 2.0 : f64
  %c1 = memref.alloc() : memref<6x4xf64>
  linalg.fill ins(%two : f64) outs(%c1 : memref<6x4xf64>)
  linalg.matmul ins(%a, %b : memref<6x5xf64>, memref<5x4xf64>) outs(%c1 : memref<6x4xf64>)
  %c2 = memref.alloc() : memref<6x4xf64>
  linalg.fill ins(%zero : f64) outs(%c2 : memref<6x4xf64>)
  memref.copy %c2, %sink : memref<6x4xf64> to memref<6x4xf64>
  linalg.matmul ins(%a, %b : memref<6x5xf64>, memref<5x4xf64>) outs(%c2 : memref<6x4xf64>)
  %c3 = memref.alloc() : memref<12x4xf64>
  %half = memref.subview %c3[0, 0] [6, 4] [1, 1] : memref<12x4xf64> to memref<6x4xf64, strided<[4, 1]>>
  linalg.fill ins(%zero : f64) outs(%half : memref<6x4xf64, strided<[4, 1]>>)
  linalg.matmul ins(%a, %b : memref<6x5xf64>, memref<5x4xf64>) outs(%half : memref<6x4xf64, strided<[4, 1]>>)
  linalg.fill ins(%zero : f64) outs(%arg : memref<6x4xf64>)
  linalg.matmul ins(%a, %b : memref<6x5xf64>, memref<5x4xf64>) outs(%arg : memref<6x4xf64>)
  memref.dealloc %c1 : memref<6x4xf64>
  memref.dealloc %c2 : memref<6x4xf64>
  memref.dealloc %c3 : memref<12x4xf64>
  return
}

// Not a BLAS product (no call, no remark): integers; f32 factors
// accumulated in f64; a product on tensors.
// CHECK-LABEL: func.func @not_blas(
// CHECK-NOT:     call
// CHECK:         linalg.matmul ins(%{{.*}} : memref<4x5xi32>
// CHECK:         linalg.matmul ins(%{{.*}} : memref<4x5xf32>
// CHECK:         linalg.matmul ins(%{{.*}} : tensor<4x5xf64>
func.func @not_blas(%ai: memref<4x5xi32>, %bi: memref<5x6xi32>, %ci: memref<4x6xi32>,
                    %af: memref<4x5xf32>, %bf: memref<5x6xf32>, %cd: memref<4x6xf64>,
                    %at: tensor<4x5xf64>, %bt: tensor<5x6xf64>, %ct: tensor<4x6xf64>) -> tensor<4x6xf64> {
  linalg.matmul ins(%ai, %bi : memref<4x5xi32>, memref<5x6xi32>) outs(%ci : memref<4x6xi32>)
  linalg.matmul ins(%af, %bf : memref<4x5xf32>, memref<5x6xf32>) outs(%cd : memref<4x6xf64>)
  %r = linalg.matmul ins(%at, %bt : tensor<4x5xf64>, tensor<5x6xf64>) outs(%ct : tensor<4x6xf64>) -> tensor<4x6xf64>
  return %r : tensor<4x6xf64>
}
