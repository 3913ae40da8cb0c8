// RUN: taylor-opt %s --taylor-lower-matrix-ops --canonicalize | FileCheck %s
// RUN: taylor-opt %s --taylor-lower-matrix-ops --mlir-pass-statistics 2>&1 >/dev/null | FileCheck %s --check-prefix=STATS
// RUN: taylor-opt %s --taylor-to-llvm | FileCheck %s --check-prefix=LLVM

// One scf.for per batch dimension; per matrix, Gauss-Jordan elimination
// with partial pivoting on the matrix and an identity beside it.
// CHECK-LABEL: func.func @inverse(
// CHECK-SAME: %[[A:.*]]: tensor<3x4x4xf64>)
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<3x4x4xf64>
// CHECK: %[[R:.*]] = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (tensor<3x4x4xf64>) {
// CHECK: %[[M:.*]] = tensor.extract_slice %[[A]][%[[B]], 0, 0] [1, 4, 4] [1, 1, 1] : tensor<3x4x4xf64> to tensor<4x4xf64>
// CHECK: %[[ID:.*]] = tensor.generate
// CHECK: %[[GJ:.*]]:2 = scf.for %[[K:.*]] = {{.*}} iter_args(%[[W:.*]] = %[[M]], %[[V:.*]] = %[[ID]])
// Pivot: the largest |W[i, k]| for i >= k.
// CHECK: scf.for %[[I:.*]] = %[[K]] to
// CHECK: math.absf
// CHECK: arith.cmpf ogt
// Row swap, scaling by the reciprocal pivot, elimination of column k.
// CHECK: tensor.insert
// CHECK: arith.divf
// CHECK: arith.cmpi eq
// CHECK: arith.select
// CHECK: tensor.insert_slice %[[GJ]]#1 into %[[ACC]][%[[B]], 0, 0] [1, 4, 4] [1, 1, 1]
// CHECK: return %[[R]]
func.func @inverse(%a: tensor<3x4x4xf64>) -> tensor<3x4x4xf64> {
  %0 = taylor.matrix_inverse %a : tensor<3x4x4xf64>
  return %0 : tensor<3x4x4xf64>
}

// A single matrix: no batch loop. LU with partial pivoting: a row swap
// flips the sign, each pivot multiplies it by its sign and adds log |p|;
// a zero pivot is skipped in the elimination (no 0/0), leaving sign 0 and
// logabsdet -inf.
// CHECK-LABEL: func.func @slogdet(
// CHECK-SAME: %[[A:.*]]: tensor<4x4xf64>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.0
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.0
// CHECK: %[[LU:.*]]:3 = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[A]], %[[SIGN:.*]] = %[[ONE]], %[[LOG:.*]] = %[[ZERO]]) -> (tensor<4x4xf64>, f64, f64)
// CHECK: %[[SWAPPED:.*]] = arith.cmpi ne
// CHECK: %[[FLIPPED:.*]] = arith.negf %[[SIGN]]
// CHECK: arith.select %[[SWAPPED]], %[[FLIPPED]], %[[SIGN]]
// CHECK: %[[PIVOT:.*]] = tensor.extract %{{.*}}[%[[K]], %[[K]]]
// CHECK: math.absf %[[PIVOT]]
// CHECK: math.log
// CHECK: %[[IS_ZERO:.*]] = arith.cmpf oeq, %[[PIVOT]], %[[ZERO]]
// CHECK: %[[RECIP:.*]] = arith.divf %[[ONE]], %[[PIVOT]]
// CHECK: arith.select %[[IS_ZERO]], %[[ZERO]], %[[RECIP]]
// CHECK: %[[S:.*]] = tensor.insert %[[LU]]#1 into %{{.*}}[] : tensor<f64>
// CHECK: %[[L:.*]] = tensor.insert %[[LU]]#2 into %{{.*}}[] : tensor<f64>
// CHECK: return %[[S]], %[[L]]
func.func @slogdet(%a: tensor<4x4xf64>) -> (tensor<f64>, tensor<f64>) {
  %s, %l = taylor.slogdet %a : tensor<4x4xf64>
  return %s, %l : tensor<f64>, tensor<f64>
}

// Dynamic sizes: the loop bounds are tensor.dim; the factor starts as
// zeros (strict upper triangle), column j gets sqrt(A[j, j] - Σ L[j, k]²)
// and (A[i, j] - Σ L[i, k] L[j, k]) / L[j, j] below it.
// CHECK-LABEL: func.func @cholesky(
// CHECK-SAME: %[[A:.*]]: tensor<?x?x?xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[A]], %{{.*}} : tensor<?x?x?xf32>
// CHECK: scf.for
// CHECK: %[[M:.*]] = tensor.extract_slice %[[A]]
// CHECK: %[[ZEROS:.*]] = linalg.fill
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%{{.*}} = %[[ZEROS]])
// CHECK: tensor.extract %[[M]][%[[J]], %[[J]]]
// CHECK: %[[D:.*]] = math.sqrt
// CHECK: tensor.insert %[[D]]
// CHECK: arith.divf %{{.*}}, %[[D]] : f32
// CHECK: tensor.insert_slice
func.func @cholesky(%a: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %0 = taylor.cholesky %a : tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// Gauss-Jordan on [A | b]: the right-hand side's rows follow the matrix's
// swaps, scalings and eliminations over its own 3 columns.
// CHECK-LABEL: func.func @solve(
// CHECK-SAME: %[[A:.*]]: tensor<2x4x4xf64>, %[[B:.*]]: tensor<2x4x3xf64>)
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<2x4x3xf64>)
// CHECK: %[[M:.*]] = tensor.extract_slice %[[A]][%[[I]], 0, 0] [1, 4, 4]
// CHECK: %[[R:.*]] = tensor.extract_slice %[[B]][%[[I]], 0, 0] [1, 4, 3]
// CHECK: %[[GJ:.*]]:2 = scf.for %{{.*}} to %[[C4]] {{.*}} iter_args(%{{.*}} = %[[M]], %{{.*}} = %[[R]]) -> (tensor<4x4xf64>, tensor<4x3xf64>)
// CHECK: scf.for %{{.*}} to %[[C3]]
// CHECK: tensor.insert_slice %[[GJ]]#1 into %[[ACC]][%[[I]], 0, 0] [1, 4, 3]
func.func @solve(%a: tensor<2x4x4xf64>, %b: tensor<2x4x3xf64>) -> tensor<2x4x3xf64> {
  %0 = taylor.solve %a, %b : tensor<2x4x4xf64>, tensor<2x4x3xf64>
  return %0 : tensor<2x4x3xf64>
}

// STATS: TaylorLowerMatrixOps
// STATS: (S) 4 num-ops-lowered

// The taylor-to-llvm pipeline runs the expansion before bufferization.
// LLVM-LABEL: llvm.func @inverse(
// LLVM-LABEL: llvm.func @slogdet(
// LLVM: llvm.intr.log
// LLVM-LABEL: llvm.func @cholesky(
// LLVM: llvm.intr.sqrt
// LLVM-LABEL: llvm.func @solve(
