// RUN: taylor-opt %s --taylor-parallel-dims-first | FileCheck %s
// RUN: taylor-opt %s --taylor-parallel-dims-first --convert-linalg-to-parallel-loops | FileCheck %s --check-prefix=LOOPS
// RUN: taylor-opt %s --taylor-parallel-dims-first --mlir-pass-statistics -o /dev/null 2>&1 | FileCheck %s --check-prefix=STATS

// STATS: 2 num-interchanged

// The sum over the directions of a jet (the reduction first): the loops are
// permuted to (parallel, parallel, reduction), the maps with them; loops
// then give one scf.parallel over the outputs holding the reduction.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d2, d0, d1)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @direction_sum(
// CHECK:         linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// LOOPS-LABEL: func.func @direction_sum(
// LOOPS:         scf.parallel (%[[B:.*]], %[[N:.*]]) =
// LOOPS:           scf.for %[[R:.*]] =
// LOOPS:             memref.load %{{.*}}[%[[R]], %[[B]], %[[N]]]
// LOOPS-LABEL: func.func @named(
#x = affine_map<(r, b, n) -> (r, b, n)>
#w = affine_map<(r, b, n) -> (r)>
#out = affine_map<(r, b, n) -> (b, n)>
func.func @direction_sum(%x: memref<3x8x16xf64>, %w: memref<3xf64>, %out: memref<8x16xf64>) {
  linalg.generic {indexing_maps = [#x, #w, #out], iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%x, %w : memref<3x8x16xf64>, memref<3xf64>) outs(%out : memref<8x16xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %p = arith.mulf %a, %b : f64
    %s = arith.addf %o, %p : f64
    linalg.yield %s : f64
  }
  return
}

// A named reduction over the first dimension is generalized first.
// CHECK-LABEL: func.func @named(
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-NOT:     linalg.reduce
func.func @named(%x: tensor<5x7xf64>, %init: tensor<7xf64>) -> tensor<7xf64> {
  %r = linalg.reduce ins(%x : tensor<5x7xf64>) outs(%init : tensor<7xf64>) dimensions = [0]
    (%a: f64, %b: f64) {
      %s = arith.addf %a, %b : f64
      linalg.yield %s : f64
    }
  return %r : tensor<7xf64>
}

// Already parallel-first: left alone (a named op stays named).
// CHECK-LABEL: func.func @ordered(
// CHECK:         linalg.matmul
func.func @ordered(%a: memref<4x5xf64>, %b: memref<5x6xf64>, %c: memref<4x6xf64>) {
  linalg.matmul ins(%a, %b : memref<4x5xf64>, memref<5x6xf64>) outs(%c : memref<4x6xf64>)
  return
}
