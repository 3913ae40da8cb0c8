// RUN: taylor-opt %s --taylor-tile-contractions -split-input-file | FileCheck %s

// A matmul: rows tiled by 8, and inside a tile the loops run k, rows, n.
// CHECK-DAG: #[[A:.+]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[C:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @matmul
// CHECK: %[[C8:.+]] = arith.constant 8 : index
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %[[C8]] iter_args(%[[ACC:.+]] = %{{.+}}) -> (tensor<16x32xf64>)
// CHECK: tensor.extract_slice %{{.+}}[%[[I]], 0] [8, 4] [1, 1] : tensor<16x4xf64> to tensor<8x4xf64>
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["reduction", "parallel", "parallel"]}
// CHECK-SAME: outs(%{{.+}} : tensor<8x32xf64>)
// CHECK: tensor.insert_slice
func.func @matmul(%a: tensor<16x4xf64>, %b: tensor<4x32xf64>, %c: tensor<16x32xf64>) -> tensor<16x32xf64> {
  %r = linalg.matmul ins(%a, %b : tensor<16x4xf64>, tensor<4x32xf64>) outs(%c : tensor<16x32xf64>) -> tensor<16x32xf64>
  return %r : tensor<16x32xf64>
}

// -----

// A coefficient contraction over (direction, batch, n, k) with 3 directions
// and a batch of 4: a tile takes the whole batch and one direction (8 rows
// asked for; tiles divide the extents exactly). Loops inside: r, k, b, n.
// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[O:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-LABEL: func.func @coefficients
// CHECK: scf.for %[[R:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: tensor.extract_slice %{{.+}}[%[[R]], %[[B]], 0] [1, 4, 5] [1, 1, 1] : tensor<3x4x5xf64> to tensor<1x4x5xf64>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[O]]], iterator_types = ["parallel", "reduction", "parallel", "parallel"]}
func.func @coefficients(%x: tensor<3x4x5xf64>, %w: tensor<5x6xf64>, %o: tensor<3x4x6xf64>) -> tensor<3x4x6xf64> {
  %r = linalg.generic {indexing_maps = [affine_map<(r, b, n, k) -> (r, b, k)>, affine_map<(r, b, n, k) -> (k, n)>,
                                        affine_map<(r, b, n, k) -> (r, b, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<3x4x5xf64>, tensor<5x6xf64>) outs(%o : tensor<3x4x6xf64>) {
  ^bb0(%a: f64, %b: f64, %acc: f64):
    %p = arith.mulf %a, %b : f64
    %s = arith.addf %acc, %p : f64
    linalg.yield %s : f64
  } -> tensor<3x4x6xf64>
  return %r : tensor<3x4x6xf64>
}

// -----

// A row reduction is not a contraction (no operand indexed by k and n): left
// alone.
// CHECK-LABEL: func.func @row_sum
// CHECK-NOT: scf.for
// CHECK: linalg.reduce
func.func @row_sum(%x: tensor<16x4xf64>, %o: tensor<16xf64>) -> tensor<16xf64> {
  %r = linalg.reduce ins(%x : tensor<16x4xf64>) outs(%o : tensor<16xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %s = arith.addf %in, %acc : f64
      linalg.yield %s : f64
    }
  return %r : tensor<16xf64>
}
