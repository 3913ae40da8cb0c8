// RUN: taylor-opt %s --taylor-contractions-to-gemm | FileCheck %s

#x1 = affine_map<(r, b, h, d) -> (r, b, d)>
#x0 = affine_map<(r, b, h, d) -> (b, d)>
#w = affine_map<(r, b, h, d) -> (d, h)>
#wt = affine_map<(r, b, h, d) -> (h, d)>
#out = affine_map<(r, b, h, d) -> (r, b, h)>

// No generic is left behind carrying a marker: the products are named ops.
// CHECK-NOT: taylor.gemm
// CHECK-DAG: #[[MK:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[NK:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[MN:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d1)>

// A coefficient contraction of a Taylor rule (directions r, data b, an
// unused placeholder input): one [r·b, d] x [d, h] product.
// CHECK-LABEL: func.func @coefficients(
// CHECK-SAME:    %[[X0:.*]]: tensor<8x5xf64>, %[[X1:.*]]: tensor<3x8x5xf64>, %[[W:.*]]: tensor<5x16xf64>)
// CHECK:         %[[F:.*]] = linalg.fill
// CHECK:         %[[A:.*]] = tensor.collapse_shape %[[X1]] {{\[}}[0, 1], [2]] : tensor<3x8x5xf64> into tensor<24x5xf64>
// CHECK:         %[[C:.*]] = tensor.collapse_shape %[[F]] {{\[}}[0, 1], [2]] : tensor<3x8x16xf64> into tensor<24x16xf64>
// CHECK:         %[[G:.*]] = linalg.matmul ins(%[[A]], %[[W]] : tensor<24x5xf64>, tensor<5x16xf64>) outs(%[[C]] : tensor<24x16xf64>) -> tensor<24x16xf64>
// CHECK-NEXT:    %[[R:.*]] = tensor.expand_shape %[[G]] {{\[}}[0, 1], [2]] output_shape [3, 8, 16]
// CHECK:         return %[[R]]
func.func @coefficients(%x0: tensor<8x5xf64>, %x1: tensor<3x8x5xf64>, %w: tensor<5x16xf64>) -> tensor<3x8x16xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<3x8x16xf64>
  %f = linalg.fill ins(%zero : f64) outs(%e : tensor<3x8x16xf64>) -> tensor<3x8x16xf64>
  %y = linalg.generic {indexing_maps = [#x0, #x1, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x0, %x1, %w : tensor<8x5xf64>, tensor<3x8x5xf64>, tensor<5x16xf64>) outs(%f : tensor<3x8x16xf64>) {
  ^bb0(%p: f64, %a: f64, %b: f64, %o: f64):
    %m = arith.mulf %a, %b : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<3x8x16xf64>
  return %y : tensor<3x8x16xf64>
}

// A transposed weight ([h, d]) and a dynamic batch.
// CHECK-LABEL: func.func @transposed(
// CHECK:         linalg.matmul indexing_maps = [#[[MK]], #[[NK]], #[[MN]]]
// CHECK-SAME:      tensor<?x5xf32>, tensor<16x5xf32>) outs(%{{.*}} : tensor<?x16xf32>)
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [3, %{{.*}}, 16]
func.func @transposed(%x1: tensor<3x?x5xf32>, %w: tensor<16x5xf32>, %init: tensor<3x?x16xf32>) -> tensor<3x?x16xf32> {
  %y = linalg.generic {indexing_maps = [#x1, #wt, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1, %w : tensor<3x?x5xf32>, tensor<16x5xf32>) outs(%init : tensor<3x?x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %m, %o : f32
    linalg.yield %s : f32
  } -> tensor<3x?x16xf32>
  return %y : tensor<3x?x16xf32>
}

// torch-mlir's linalg.matmul is a matrix product already.
// CHECK-LABEL: func.func @forward(
// CHECK-NEXT:    linalg.matmul ins(
// CHECK-NEXT:    return
func.func @forward(%x: tensor<8x5xf64>, %w: tensor<5x16xf64>, %init: tensor<8x16xf64>) -> tensor<8x16xf64> {
  %y = linalg.matmul ins(%x, %w : tensor<8x5xf64>, tensor<5x16xf64>) outs(%init : tensor<8x16xf64>) -> tensor<8x16xf64>
  return %y : tensor<8x16xf64>
}

// Not a matrix product: a loop (b) read by every operand (a batch loop).
// CHECK-LABEL: func.func @batched(
// CHECK-NEXT:    linalg.batch_matmul
// CHECK-NEXT:    return
func.func @batched(%a: tensor<4x3x5xf64>, %b: tensor<4x5x6xf64>, %c: tensor<4x3x6xf64>) -> tensor<4x3x6xf64> {
  %y = linalg.batch_matmul ins(%a, %b : tensor<4x3x5xf64>, tensor<4x5x6xf64>) outs(%c : tensor<4x3x6xf64>) -> tensor<4x3x6xf64>
  return %y : tensor<4x3x6xf64>
}

// Not a matrix product: the body is not out + a * b.
// CHECK-LABEL: func.func @not_multiply_add(
// CHECK-NOT:     linalg.matmul
// CHECK:         math.exp
// CHECK-NOT:     linalg.matmul
// CHECK:         return
func.func @not_multiply_add(%a: tensor<3x5xf64>, %b: tensor<5x6xf64>, %c: tensor<3x6xf64>) -> tensor<3x6xf64> {
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<3x5xf64>, tensor<5x6xf64>) outs(%c : tensor<3x6xf64>) {
  ^bb0(%x: f64, %y: f64, %o: f64):
    %m = arith.mulf %x, %y : f64
    %e = math.exp %m : f64
    %s = arith.addf %o, %e : f64
    linalg.yield %s : f64
  } -> tensor<3x6xf64>
  return %y : tensor<3x6xf64>
}

// Standard Taylor mode: f_1 and f_2 of a linear layer in one loop nest, each
// its own product — split, then both become GEMMs.
// CHECK-LABEL: func.func @two_coefficients(
// CHECK-SAME:    %[[X1:.*]]: tensor<3x8x5xf64>, %[[X2:.*]]: tensor<3x8x5xf64>, %[[W:.*]]: tensor<5x16xf64>
// CHECK:         %[[A1:.*]] = tensor.collapse_shape %[[X1]]
// CHECK:         linalg.matmul ins(%[[A1]], %[[W]] : tensor<24x5xf64>, tensor<5x16xf64>)
// CHECK:         %[[A2:.*]] = tensor.collapse_shape %[[X2]]
// CHECK:         linalg.matmul ins(%[[A2]], %[[W]] : tensor<24x5xf64>, tensor<5x16xf64>)
func.func @two_coefficients(%x1: tensor<3x8x5xf64>, %x2: tensor<3x8x5xf64>, %w: tensor<5x16xf64>, %init: tensor<3x8x16xf64>) -> (tensor<3x8x16xf64>, tensor<3x8x16xf64>) {
  %y:2 = linalg.generic {indexing_maps = [#x1, #x1, #w, #out, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1, %x2, %w : tensor<3x8x5xf64>, tensor<3x8x5xf64>, tensor<5x16xf64>) outs(%init, %init : tensor<3x8x16xf64>, tensor<3x8x16xf64>) {
  ^bb0(%a1: f64, %a2: f64, %b: f64, %o1: f64, %o2: f64):
    %m1 = arith.mulf %a1, %b : f64
    %m2 = arith.mulf %a2, %b : f64
    %s1 = arith.addf %o1, %m1 : f64
    %s2 = arith.addf %o2, %m2 : f64
    linalg.yield %s1, %s2 : f64, f64
  } -> (tensor<3x8x16xf64>, tensor<3x8x16xf64>)
  return %y#0, %y#1 : tensor<3x8x16xf64>, tensor<3x8x16xf64>
}

// Not split: the results share a body op.
// CHECK-LABEL: func.func @shared(
// CHECK-NOT:     linalg.matmul
// CHECK:         linalg.generic
// CHECK-SAME:      outs(%{{.*}}, %{{.*}} :
func.func @shared(%x1: tensor<3x8x5xf64>, %w: tensor<5x16xf64>, %init: tensor<3x8x16xf64>) -> (tensor<3x8x16xf64>, tensor<3x8x16xf64>) {
  %y:2 = linalg.generic {indexing_maps = [#x1, #w, #out, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1, %w : tensor<3x8x5xf64>, tensor<5x16xf64>) outs(%init, %init : tensor<3x8x16xf64>, tensor<3x8x16xf64>) {
  ^bb0(%a: f64, %b: f64, %o1: f64, %o2: f64):
    %m = arith.mulf %a, %b : f64
    %s1 = arith.addf %o1, %m : f64
    %s2 = arith.addf %o2, %m : f64
    linalg.yield %s1, %s2 : f64, f64
  } -> (tensor<3x8x16xf64>, tensor<3x8x16xf64>)
  return %y#0, %y#1 : tensor<3x8x16xf64>, tensor<3x8x16xf64>
}

// nn.Linear's weight [h, d], transposed by torch-mlir before the product:
// the product reads the weight itself through the transposed map (BLAS
// takes a transpose flag) and the transpose goes — for both products.
// CHECK-LABEL: func.func @linear_weight(
// CHECK-SAME:    %[[X:.*]]: tensor<8x5xf64>, %[[X1:.*]]: tensor<3x8x5xf64>, %[[W:.*]]: tensor<16x5xf64>)
// CHECK-NOT:     linalg.transpose
// CHECK:         linalg.matmul indexing_maps = [#[[MK]], #[[NK]], #[[MN]]]
// CHECK-SAME:      ins(%[[X]], %[[W]] : tensor<8x5xf64>, tensor<16x5xf64>)
// CHECK:         linalg.matmul indexing_maps = [#[[MK]], #[[NK]], #[[MN]]]
// CHECK-SAME:      ins(%{{.*}}, %[[W]] : tensor<24x5xf64>, tensor<16x5xf64>)
func.func @linear_weight(%x: tensor<8x5xf64>, %x1: tensor<3x8x5xf64>, %w: tensor<16x5xf64>) -> (tensor<8x16xf64>, tensor<3x8x16xf64>) {
  %zero = arith.constant 0.0 : f64
  %et = tensor.empty() : tensor<5x16xf64>
  %wt = linalg.transpose ins(%w : tensor<16x5xf64>) outs(%et : tensor<5x16xf64>) permutation = [1, 0]
  %e0 = tensor.empty() : tensor<8x16xf64>
  %f0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<8x16xf64>) -> tensor<8x16xf64>
  %y0 = linalg.matmul ins(%x, %wt : tensor<8x5xf64>, tensor<5x16xf64>) outs(%f0 : tensor<8x16xf64>) -> tensor<8x16xf64>
  %e1 = tensor.empty() : tensor<3x8x16xf64>
  %f1 = linalg.fill ins(%zero : f64) outs(%e1 : tensor<3x8x16xf64>) -> tensor<3x8x16xf64>
  %y1 = linalg.generic {indexing_maps = [#x1, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1, %wt : tensor<3x8x5xf64>, tensor<5x16xf64>) outs(%f1 : tensor<3x8x16xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %m = arith.mulf %a, %b : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<3x8x16xf64>
  return %y0, %y1 : tensor<8x16xf64>, tensor<3x8x16xf64>
}

// A transpose with another user stays for it; the product still reads the
// source.
// CHECK-LABEL: func.func @transpose_kept(
// CHECK:         %[[T:.*]] = linalg.transpose
// CHECK:         linalg.matmul indexing_maps = [#[[MK]], #[[NK]], #[[MN]]]
// CHECK:         return %{{.*}}, %[[T]]
func.func @transpose_kept(%x: tensor<8x5xf64>, %w: tensor<16x5xf64>) -> (tensor<8x16xf64>, tensor<5x16xf64>) {
  %zero = arith.constant 0.0 : f64
  %et = tensor.empty() : tensor<5x16xf64>
  %wt = linalg.transpose ins(%w : tensor<16x5xf64>) outs(%et : tensor<5x16xf64>) permutation = [1, 0]
  %e0 = tensor.empty() : tensor<8x16xf64>
  %f0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<8x16xf64>) -> tensor<8x16xf64>
  %y0 = linalg.matmul ins(%x, %wt : tensor<8x5xf64>, tensor<5x16xf64>) outs(%f0 : tensor<8x16xf64>) -> tensor<8x16xf64>
  return %y0, %wt : tensor<8x16xf64>, tensor<5x16xf64>
}

// A sum of matrix products into one output (the weights' adjoint of a
// multi-result contraction): a chain of products, each a GEMM.
// CHECK-LABEL: func.func @sum_of_products(
// CHECK-SAME: %[[X1:[^:]*]]: tensor<6x4xf64>, %[[Y1:[^:]*]]: tensor<6x5xf64>, %[[X2:[^:]*]]: tensor<6x4xf64>, %[[Y2:[^:]*]]: tensor<6x5xf64>, %[[INIT:[^:]*]]: tensor<4x5xf64>)
// CHECK: %[[FIRST:.*]] = linalg.matmul indexing_maps = [#[[KM:map[0-9]*]], #[[KN:map[0-9]*]], #[[MN]]] ins(%[[X1]], %[[Y1]] : {{.*}}) outs(%[[INIT]] : tensor<4x5xf64>)
// CHECK: %[[SECOND:.*]] = linalg.matmul indexing_maps = [#[[KM]], #[[KN]], #[[MN]]] ins(%[[X2]], %[[Y2]] : {{.*}}) outs(%[[FIRST]] : tensor<4x5xf64>)
// CHECK: return %[[SECOND]]
func.func @sum_of_products(%x1: tensor<6x4xf64>, %y1: tensor<6x5xf64>,
                           %x2: tensor<6x4xf64>, %y2: tensor<6x5xf64>,
                           %init: tensor<4x5xf64>) -> tensor<4x5xf64> {
  %r = linalg.generic {indexing_maps = [affine_map<(b, k, n) -> (b, k)>, affine_map<(b, k, n) -> (b, n)>,
                                        affine_map<(b, k, n) -> (b, k)>, affine_map<(b, k, n) -> (b, n)>,
                                        affine_map<(b, k, n) -> (k, n)>],
                       iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%x1, %y1, %x2, %y2 : tensor<6x4xf64>, tensor<6x5xf64>, tensor<6x4xf64>, tensor<6x5xf64>)
      outs(%init : tensor<4x5xf64>) {
  ^bb0(%a: f64, %b: f64, %c: f64, %d: f64, %o: f64):
    %p = arith.mulf %a, %b : f64
    %q = arith.mulf %c, %d : f64
    %s = arith.addf %p, %q : f64
    %t = arith.addf %o, %s : f64
    linalg.yield %t : f64
  } -> tensor<4x5xf64>
  return %r : tensor<4x5xf64>
}

// Not a BLAS product: f32 factors accumulated in f64 (upstream sees a
// contraction with casts).
// CHECK-LABEL: func.func @mixed_types(
// CHECK-NOT:     linalg.matmul
// CHECK:         linalg.generic
func.func @mixed_types(%a: tensor<3x5xf32>, %b: tensor<5x6xf32>, %c: tensor<3x6xf64>) -> tensor<3x6xf64> {
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<3x5xf32>, tensor<5x6xf32>) outs(%c : tensor<3x6xf64>) {
  ^bb0(%x: f32, %y: f32, %o: f64):
    %xe = arith.extf %x : f32 to f64
    %ye = arith.extf %y : f32 to f64
    %m = arith.mulf %xe, %ye : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<3x6xf64>
  return %y : tensor<3x6xf64>
}

// Not a matrix product: the row loops are interleaved with the reduction
// in `a` ([m1, k, m2]).
// CHECK-LABEL: func.func @interleaved(
// CHECK-NOT:     linalg.matmul
// CHECK:         linalg.generic
func.func @interleaved(%a: tensor<2x5x3xf64>, %b: tensor<5x6xf64>, %c: tensor<2x3x6xf64>) -> tensor<2x3x6xf64> {
  %y = linalg.generic {indexing_maps = [affine_map<(m1, m2, n, k) -> (m1, k, m2)>, affine_map<(m1, m2, n, k) -> (k, n)>, affine_map<(m1, m2, n, k) -> (m1, m2, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<2x5x3xf64>, tensor<5x6xf64>) outs(%c : tensor<2x3x6xf64>) {
  ^bb0(%x: f64, %y: f64, %o: f64):
    %m = arith.mulf %x, %y : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<2x3x6xf64>
  return %y : tensor<2x3x6xf64>
}

// The weight first, the output with the data rows first
// (`c[r, b, o] += w[o, i] * x[r, b, i]`, a layer's product on every
// direction): the matmul of the data by the transposed weight.

// CHECK-LABEL: func.func @weight_first
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<5x8x6xf64> into tensor<40x6xf64>
// CHECK: linalg.matmul indexing_maps = [#[[MK]], #[[NK]], #[[MN]]] ins(%{{.*}}, %{{.*}} : tensor<40x6xf64>, tensor<7x6xf64>) outs(%{{.*}} : tensor<40x7xf64>)
// CHECK-NOT: linalg.generic
func.func @weight_first(%w: tensor<7x6xf64>, %x: tensor<5x8x6xf64>) -> tensor<5x8x7xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<5x8x7xf64>
  %f = linalg.fill ins(%zero : f64) outs(%e : tensor<5x8x7xf64>) -> tensor<5x8x7xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d3, d2)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>],
                       iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%w, %x : tensor<7x6xf64>, tensor<5x8x6xf64>) outs(%f : tensor<5x8x7xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %m = arith.mulf %b, %a : f64
    %s = arith.addf %o, %m : f64
    linalg.yield %s : f64
  } -> tensor<5x8x7xf64>
  return %r : tensor<5x8x7xf64>
}
