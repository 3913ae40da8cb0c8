// RUN: taylor-opt %s --taylor-fold-unit-directions | FileCheck %s
// RUN: taylor-opt %s --taylor-fold-unit-directions --mlir-pass-statistics -o /dev/null 2>&1 | FileCheck %s --check-prefix=STATS

// CHECK-DAG: #[[X0:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-DAG: #[[WM:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[OUT:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

#id3 = affine_map<(r, b, d) -> (r, b, d)>
#x0 = affine_map<(r, b, h, d) -> (b, d)>
#x1 = affine_map<(r, b, h, d) -> (r, b, d)>
#w = affine_map<(r, b, h, d) -> (d, h)>
#out = affine_map<(r, b, h, d) -> (r, b, h)>

// f_1 of the first layer x W with the unit directions as x_1 (as taylor-jet
// with seed=identity and taylor-lower produce it): a slice of W per
// direction, no loop over d.
// CHECK-LABEL: func.func @first_layer(
// CHECK-SAME:    %[[X:.*]]: tensor<8x5xf64>, %[[W:.*]]: tensor<5x16xf64>)
// CHECK:         %[[F:.*]] = linalg.fill
// CHECK:         %[[R:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[X0]], #[[WM]], #[[OUT]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%[[X]], %[[W]] : tensor<8x5xf64>, tensor<5x16xf64>) outs(%[[F]] : tensor<5x8x16xf64>)
// CHECK-NEXT:    ^bb0(%{{.*}}: f64, %[[IN:.*]]: f64, %[[O:.*]]: f64):
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[O]], %[[IN]] : f64
// CHECK-NEXT:      linalg.yield %[[S]] : f64
// CHECK:         return %[[R]]
func.func @first_layer(%x: tensor<8x5xf64>, %w: tensor<5x16xf64>) -> tensor<5x8x16xf64> {
  %zero = arith.constant 0.0 : f64
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<5x8x5xf64>
  %delta = linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%e : tensor<5x8x5xf64>) {
  ^bb0(%o: f64):
    %r = linalg.index 0 : index
    %d = linalg.index 2 : index
    %eq = arith.cmpi eq, %r, %d : index
    %v = arith.select %eq, %one, %zero : f64
    linalg.yield %v : f64
  } -> tensor<5x8x5xf64>
  %e2 = tensor.empty() : tensor<5x8x16xf64>
  %f = linalg.fill ins(%zero : f64) outs(%e2 : tensor<5x8x16xf64>) -> tensor<5x8x16xf64>
  %y = linalg.generic {indexing_maps = [#x0, #x1, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %delta, %w : tensor<8x5xf64>, tensor<5x8x5xf64>, tensor<5x16xf64>) outs(%f : tensor<5x8x16xf64>) {
  ^bb0(%a: f64, %dl: f64, %b: f64, %o: f64):
    %m = arith.mulf %dl, %b : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<5x8x16xf64>
  return %y : tensor<5x8x16xf64>
}

// Not folded: the delta is an operand of an elementwise product (no
// reduction loop over d).
// CHECK-LABEL: func.func @elementwise(
// CHECK:         arith.mulf
func.func @elementwise(%g: tensor<4x4xf64>) -> tensor<4x4xf64> {
  %zero = arith.constant 0.0 : f64
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<4x4xf64>
  %delta = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<4x4xf64>) {
  ^bb0(%o: f64):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %eq = arith.cmpi eq, %i, %j : index
    %v = arith.select %eq, %one, %zero : f64
    linalg.yield %v : f64
  } -> tensor<4x4xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%delta, %g : tensor<4x4xf64>, tensor<4x4xf64>) outs(%e : tensor<4x4xf64>) {
  ^bb0(%dl: f64, %b: f64, %o: f64):
    %m = arith.mulf %dl, %b : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<4x4xf64>
  return %y : tensor<4x4xf64>
}

// Not folded: the delta's sizes differ along the equated dimensions (the
// sum over d would miss rows r >= 3).
// CHECK-LABEL: func.func @unequal_sizes(
// CHECK:         arith.mulf
func.func @unequal_sizes(%w: tensor<3x6xf64>) -> tensor<4x6xf64> {
  %zero = arith.constant 0.0 : f64
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<4x3xf64>
  %delta = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<4x3xf64>) {
  ^bb0(%o: f64):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %eq = arith.cmpi eq, %i, %j : index
    %v = arith.select %eq, %one, %zero : f64
    linalg.yield %v : f64
  } -> tensor<4x3xf64>
  %e2 = tensor.empty() : tensor<4x6xf64>
  %f = linalg.fill ins(%zero : f64) outs(%e2 : tensor<4x6xf64>) -> tensor<4x6xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(r, h, d) -> (r, d)>, affine_map<(r, h, d) -> (d, h)>, affine_map<(r, h, d) -> (r, h)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%delta, %w : tensor<4x3xf64>, tensor<3x6xf64>) outs(%f : tensor<4x6xf64>) {
  ^bb0(%dl: f64, %b: f64, %o: f64):
    %m = arith.mulf %dl, %b : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<4x6xf64>
  return %y : tensor<4x6xf64>
}

// STATS: (S) 1 num-folded

// Not folded: the body reads the index of the loop that would be dropped.
// CHECK-LABEL: func.func @reads_index(
// CHECK:         arith.mulf
func.func @reads_index(%w: tensor<3x6xf64>) -> tensor<3x6xf64> {
  %zero = arith.constant 0.0 : f64
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<3x3xf64>
  %delta = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<3x3xf64>) {
  ^bb0(%o: f64):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %eq = arith.cmpi eq, %i, %j : index
    %v = arith.select %eq, %one, %zero : f64
    linalg.yield %v : f64
  } -> tensor<3x3xf64>
  %e2 = tensor.empty() : tensor<3x6xf64>
  %f = linalg.fill ins(%zero : f64) outs(%e2 : tensor<3x6xf64>) -> tensor<3x6xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(r, h, d) -> (r, d)>, affine_map<(r, h, d) -> (d, h)>, affine_map<(r, h, d) -> (r, h)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%delta, %w : tensor<3x3xf64>, tensor<3x6xf64>) outs(%f : tensor<3x6xf64>) {
  ^bb0(%dl: f64, %b: f64, %o: f64):
    %d = linalg.index 2 : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f64
    %bd = arith.mulf %b, %df : f64
    %m = arith.mulf %dl, %bd : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<3x6xf64>
  return %y : tensor<3x6xf64>
}
