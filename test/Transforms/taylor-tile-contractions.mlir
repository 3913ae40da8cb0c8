// RUN: taylor-opt %s --taylor-tile-contractions=skip-matmuls=false -split-input-file | FileCheck %s
// RUN: taylor-opt %s --taylor-tile-contractions -split-input-file | FileCheck %s --check-prefix=DEFAULT

// A matmul: rows tiled by 8, and inside a tile the loops run k, rows, n.
// By default, linalg.matmul is left for taylor-gemm-to-blas.
// DEFAULT-LABEL: func.func @matmul
// DEFAULT-NOT: scf.for
// DEFAULT: linalg.matmul
// DEFAULT-NEXT: return
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
// DEFAULT-LABEL: func.func @coefficients
// DEFAULT: scf.for
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

// -----

// A coefficient contraction of standard Taylor mode: a placeholder input the
// body does not read, and two outputs (f_1 and f_2) in one loop nest; the
// contraction is found between the inputs it reads.
// CHECK-LABEL: func.func @placeholder_two_outputs
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel"]
// CHECK-SAME: outs(%{{.+}}, %{{.+}} : tensor<8x6xf64>, tensor<8x6xf64>)
func.func @placeholder_two_outputs(%p: tensor<16x5xf64>, %x1: tensor<16x5xf64>, %x2: tensor<16x5xf64>, %w: tensor<5x6xf64>, %o: tensor<16x6xf64>) -> (tensor<16x6xf64>, tensor<16x6xf64>) {
  %r:2 = linalg.generic {indexing_maps = [affine_map<(b, n, k) -> (b, k)>, affine_map<(b, n, k) -> (b, k)>, affine_map<(b, n, k) -> (b, k)>,
                                          affine_map<(b, n, k) -> (k, n)>, affine_map<(b, n, k) -> (b, n)>, affine_map<(b, n, k) -> (b, n)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%p, %x1, %x2, %w : tensor<16x5xf64>, tensor<16x5xf64>, tensor<16x5xf64>, tensor<5x6xf64>) outs(%o, %o : tensor<16x6xf64>, tensor<16x6xf64>) {
  ^bb0(%in: f64, %a1: f64, %a2: f64, %b: f64, %acc1: f64, %acc2: f64):
    %p1 = arith.mulf %a1, %b : f64
    %p2 = arith.mulf %a2, %b : f64
    %s1 = arith.addf %acc1, %p1 : f64
    %s2 = arith.addf %acc2, %p2 : f64
    linalg.yield %s1, %s2 : f64, f64
  } -> (tensor<16x6xf64>, tensor<16x6xf64>)
  return %r#0, %r#1 : tensor<16x6xf64>, tensor<16x6xf64>
}

// -----

// An elementwise product reduced over k, with no operand indexed by k and
// n: not a contraction of rows by columns, left alone.
// CHECK-LABEL: func.func @no_columns
// CHECK-NOT: scf.for
// CHECK: linalg.generic
func.func @no_columns(%a: tensor<16x4x5xf64>, %b: tensor<16x4x5xf64>, %o: tensor<16x4xf64>) -> tensor<16x4xf64> {
  %r = linalg.generic {indexing_maps = [affine_map<(b, n, k) -> (b, n, k)>, affine_map<(b, n, k) -> (b, n, k)>, affine_map<(b, n, k) -> (b, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<16x4x5xf64>, tensor<16x4x5xf64>) outs(%o : tensor<16x4xf64>) {
  ^bb0(%x: f64, %y: f64, %acc: f64):
    %p = arith.mulf %x, %y : f64
    %s = arith.addf %acc, %p : f64
    linalg.yield %s : f64
  } -> tensor<16x4xf64>
  return %r : tensor<16x4xf64>
}

// -----

// A matmul that taylor-gemm-to-blas does not take (f16) is tiled by default.
// DEFAULT-LABEL: func.func @matmul_f16
// DEFAULT: scf.for
// DEFAULT: linalg.generic
func.func @matmul_f16(%a: tensor<16x4xf16>, %b: tensor<4x32xf16>, %c: tensor<16x32xf16>) -> tensor<16x32xf16> {
  %r = linalg.matmul ins(%a, %b : tensor<16x4xf16>, tensor<4x32xf16>) outs(%c : tensor<16x32xf16>) -> tensor<16x32xf16>
  return %r : tensor<16x32xf16>
}
