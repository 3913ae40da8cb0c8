// RUN: taylor-opt %s --taylor-reverse="function=mlp" | FileCheck %s --check-prefix=MLP
// RUN: taylor-opt %s --taylor-reverse="function=square_sum" | FileCheck %s --check-prefix=SQUARES
// RUN: taylor-opt %s --taylor-reverse="function=shapes" | FileCheck %s --check-prefix=SHAPES
// RUN: taylor-opt %s --taylor-reverse="function=broadcast_unit" | FileCheck %s --check-prefix=UNIT
// RUN: taylor-opt %s --taylor-reverse="function=mlp arguments=1 vjp-function=dw" | FileCheck %s --check-prefix=WRT
// RUN: taylor-opt %s --taylor-reverse="function=mlp" --taylor-contractions-to-gemm | FileCheck %s --check-prefix=GEMM
// RUN: taylor-opt %s --taylor-reverse="function=max_with_index" | FileCheck %s --check-prefix=MAX

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
#row = affine_map<(d0, d1) -> (d0)>
#unit = affine_map<(d0, d1) -> (0, d1)>

// A layer tanh(x W + b): the result adjoint is pulled back through tanh by
// a generic that recomputes tanh (nothing scalar is stored); the bias
// adjoint reduces over the batch (a reduction iterator); the matmul adjoints
// are contractions.
// MLP-LABEL: func.func @mlp_vjp(
// MLP-SAME: %[[X:.*]]: tensor<4x3xf64>, %[[W:.*]]: tensor<3x5xf64>, %[[B:.*]]: tensor<5xf64>, %[[YBAR:.*]]: tensor<4x5xf64>)
// MLP-SAME: -> (tensor<4x5xf64>, tensor<4x3xf64>, tensor<3x5xf64>, tensor<5xf64>)
// MLP: %[[MM:.*]] = linalg.matmul ins(%[[X]], %[[W]]
// MLP: %[[Y:.*]] = linalg.generic
// MLP: %[[PRE:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[MM]], %[[B]], %[[YBAR]] :
// MLP: math.tanh
// MLP: arith.mulf
// MLP: %[[BBAR:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[MM]], %[[B]], %[[YBAR]] :
// MLP: math.tanh
// MLP: %[[XBAR:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[W]], %[[PRE]] :
// MLP-NEXT: ^bb0(%[[WI:.*]]: f64, %[[PI:.*]]: f64, %[[ACC:.*]]: f64):
// MLP-NEXT: %[[P:.*]] = arith.mulf %[[PI]], %[[WI]]
// MLP-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[P]]
// MLP-NEXT: linalg.yield %[[S]]
// MLP: %[[WBAR:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel"]} ins(%[[X]], %[[PRE]] :
// MLP: return %[[Y]], %[[XBAR]], %[[WBAR]], %[[BBAR]]
func.func @mlp(%x: tensor<4x3xf64>, %w: tensor<3x5xf64>, %b: tensor<5xf64>) -> tensor<4x5xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x5xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<4x5xf64>) -> tensor<4x5xf64>
  %mm = linalg.matmul ins(%x, %w : tensor<4x3xf64>, tensor<3x5xf64>) outs(%z : tensor<4x5xf64>) -> tensor<4x5xf64>
  %y = linalg.generic {indexing_maps = [#id2, #bias, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<4x5xf64>, tensor<5xf64>) outs(%e : tensor<4x5xf64>) {
  ^bb0(%m: f64, %bb: f64, %o: f64):
    %s = arith.addf %m, %bb : f64
    %t = math.tanh %s : f64
    linalg.yield %t : f64
  } -> tensor<4x5xf64>
  return %y : tensor<4x5xf64>
}

// Only the weights: the primal, the pre-activation adjoint and the weight
// adjoint; none for x or b.
// WRT-LABEL: func.func @dw(
// WRT-SAME: -> (tensor<4x5xf64>, tensor<3x5xf64>)
// WRT-COUNT-3: linalg.generic
// WRT-NOT: linalg.generic
// WRT: return

// The adjoints of the matmul reach the BLAS path again.
// GEMM-LABEL: func.func @mlp_vjp(
// GEMM-COUNT-2: linalg.matmul

// A sum of squares: the init's adjoint is zero (a fill), and x, read twice,
// gets two contributions accumulated in place (the second generic's init is
// the first's result).
// SQUARES-LABEL: func.func @square_sum_vjp(
// SQUARES-SAME: %[[X:.*]]: tensor<4x3xf64>, %[[SBAR:.*]]: tensor<4xf64>)
// SQUARES: %[[FIRST:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[SBAR]] : {{.*}}) outs(%{{.*}} : tensor<4x3xf64>)
// SQUARES: %[[SECOND:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[SBAR]] : {{.*}}) outs(%[[FIRST]] : tensor<4x3xf64>)
// SQUARES: return %{{.*}}, %[[SECOND]]
func.func @square_sum(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %s = linalg.generic {indexing_maps = [#id2, #id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %x : tensor<4x3xf64>, tensor<4x3xf64>) outs(%z : tensor<4xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %p = arith.mulf %a, %b : f64
    %q = arith.addf %o, %p : f64
    linalg.yield %q : f64
  } -> tensor<4xf64>
  return %s : tensor<4xf64>
}

// Tensor ops are transposed: insert_slice -> slice of the adjoint and the
// destination's adjoint with the slice zeroed; extract_slice -> added into
// the slice of the accumulated adjoint; concat -> slices.
// SHAPES-LABEL: func.func @shapes_vjp(
// SHAPES-SAME: %[[RBAR:[^:]*]]: tensor<6x3xf64>) -> (tensor<6x3xf64>, tensor<4x3xf64>, tensor<2x3xf64>)
// SHAPES-DAG: %[[SRCBAR:.*]] = tensor.extract_slice %[[RBAR]][3, 0] [3, 3] [1, 1]
// SHAPES-DAG: %[[DESTBAR:.*]] = tensor.insert_slice %{{.*}} into %[[RBAR]][3, 0] [3, 3] [1, 1]
// SHAPES: %[[OLD:.*]] = tensor.extract_slice %[[DESTBAR]][1, 0] [3, 3] [1, 1]
// SHAPES: %[[ADDED:.*]] = linalg.generic {{.*}} ins(%[[OLD]], %[[SRCBAR]]
// SHAPES: %[[CBAR:.*]] = tensor.insert_slice %[[ADDED]] into %[[DESTBAR]][1, 0] [3, 3] [1, 1]
// SHAPES: %[[XBAR:.*]] = tensor.extract_slice %[[CBAR]][0, 0] [4, 3] [1, 1]
// SHAPES: %[[YBAR:.*]] = tensor.extract_slice %[[CBAR]][4, 0] [2, 3] [1, 1]
// SHAPES: return %{{.*}}, %[[XBAR]], %[[YBAR]]
func.func @shapes(%x: tensor<4x3xf64>, %y: tensor<2x3xf64>) -> tensor<6x3xf64> {
  %c = tensor.concat dim(0) %x, %y : (tensor<4x3xf64>, tensor<2x3xf64>) -> tensor<6x3xf64>
  %s = tensor.extract_slice %c[1, 0] [3, 3] [1, 1] : tensor<6x3xf64> to tensor<3x3xf64>
  %f = tensor.collapse_shape %s [[0, 1]] : tensor<3x3xf64> into tensor<9xf64>
  %g = tensor.expand_shape %f [[0, 1]] output_shape [3, 3] : tensor<9xf64> into tensor<3x3xf64>
  %r = tensor.insert_slice %g into %c[3, 0] [3, 3] [1, 1] : tensor<3x3xf64> into tensor<6x3xf64>
  return %r : tensor<6x3xf64>
}

// An operand broadcast along a unit dimension (map result 0): its adjoint is
// reduced over the broadcast loop into the operand without the unit
// dimension, then expanded back.
// UNIT-LABEL: func.func @broadcast_unit_vjp(
// UNIT: %[[C:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x3xf64> into tensor<3xf64>
// UNIT: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} {{.*}} outs(%[[C]] : tensor<3xf64>)
// UNIT: arith.divf
// UNIT: %[[E:.*]] = tensor.expand_shape %[[R]] {{\[\[}}0, 1]] output_shape [1, 3] : tensor<3xf64> into tensor<1x3xf64>
// UNIT: return %{{.*}}, %[[E]], %{{.*}}
func.func @broadcast_unit(%x: tensor<1x3xf64>, %y: tensor<4x3xf64>) -> tensor<4x3xf64> {
  %e = tensor.empty() : tensor<4x3xf64>
  %r = linalg.generic {indexing_maps = [#unit, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<1x3xf64>, tensor<4x3xf64>) outs(%e : tensor<4x3xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %p = arith.divf %a, %b : f64
    linalg.yield %p : f64
  } -> tensor<4x3xf64>
  return %r : tensor<4x3xf64>
}

// A max reduction (with its argmax, as torch-mlir emits torch.max(dim)):
// the adjoint goes to the first iteration where the input attains the max,
// found by a min-reduction over the iterations' linear indices.
// MAX-LABEL: func.func @max_with_index_vjp(
// MAX-SAME: %[[X:[^:]*]]: tensor<4x3xf64>, %[[YBAR:[^:]*]]: tensor<4xf64>)
// MAX: %[[Y:.*]]:2 = linalg.generic
// MAX: %[[FIRST:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[Y]]#0 : {{.*}}) outs(%{{.*}} : tensor<4xi64>)
// MAX: arith.cmpf oeq
// MAX: arith.minsi
// MAX: %[[XBAR:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[YBAR]], %[[FIRST]] : tensor<4xf64>, tensor<4xi64>)
// MAX: arith.cmpi eq
// MAX: arith.select
// MAX: return %[[Y]]#0, %[[Y]]#1, %[[XBAR]]
func.func @max_with_index(%x: tensor<4x3xf64>) -> (tensor<4xf64>, tensor<4xi64>) {
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %c0 = arith.constant 0 : i64
  %e = tensor.empty() : tensor<4xf64>
  %ei = tensor.empty() : tensor<4xi64>
  %z = linalg.fill ins(%ninf : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %zi = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4xi64>) -> tensor<4xi64>
  %s:2 = linalg.generic {indexing_maps = [#id2, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x3xf64>) outs(%z, %zi : tensor<4xf64>, tensor<4xi64>) {
  ^bb0(%a: f64, %o: f64, %i: i64):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i64
    %m = arith.maximumf %a, %o : f64
    %better = arith.cmpf ogt, %a, %o : f64
    %idx = arith.select %better, %ki, %i : i64
    linalg.yield %m, %idx : f64, i64
  } -> (tensor<4xf64>, tensor<4xi64>)
  return %s#0, %s#1 : tensor<4xf64>, tensor<4xi64>
}
