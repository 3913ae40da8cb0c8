// RUN: taylor-opt %s --taylor-lower -canonicalize -cse -split-input-file | FileCheck %s

// Lowering of collapsed taylor.propagate: lower coefficients per direction,
// the top coefficient summed over directions, F_K = J·X_K + Σ_r w_r N_K^(r).

!c = !taylor.jet<2, 3, tensor<4xf64>, collapsed>

// Elementwise tanh: one generic computes f_1 per direction and sums the
// nonlinear part w_r·g''·x_1² over the directions (the direction loop is a
// reduction; no [R, 4] tensor of it exists). Its accumulator starts from the
// linear part g'·X_2, computed by the order-1 rule on the summed top
// coefficient (one direction, reshaped).
// CHECK-LABEL: func.func @tanh
// CHECK-SAME: (%[[X0:[a-z0-9_]+]]: tensor<4xf64>, %[[X1:[a-z0-9_]+]]: tensor<3x4xf64>, %[[X2:[a-z0-9_]+]]: tensor<4xf64>)
// CHECK-DAG: %[[W:.+]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf64>
// CHECK: %[[T:.+]] = tensor.expand_shape %[[X2]] {{\[\[}}0, 1]] output_shape [1, 4] : tensor<4xf64> into tensor<1x4xf64>
// CHECK: %[[LIN1:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X0]], %[[T]]
// CHECK: %[[LIN:.+]] = tensor.collapse_shape %[[LIN1]] {{\[\[}}0, 1]] : tensor<1x4xf64> into tensor<4xf64>
// CHECK: %[[F:.+]]:2 = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[X0]], %[[X1]], %{{.+}}, %[[W]] : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>, tensor<3xf64>) outs(%{{.+}}, %[[LIN]] : tensor<3x4xf64>, tensor<4xf64>)
// CHECK: ^bb0(%{{.+}}: f64, %[[IX1:.+]]: f64, %{{.+}}: f64, %[[IW:.+]]: f64, %{{.+}}: f64, %[[ACC:.+]]: f64):
// CHECK: %[[SQ:.+]] = arith.mulf %[[IX1]], %[[IX1]]
// CHECK: %[[N:.+]] = arith.mulf %{{.+}}, %[[SQ]]
// CHECK: %[[WN:.+]] = arith.mulf %[[IW]], %[[N]]
// CHECK: %[[SUM:.+]] = arith.addf %[[ACC]], %[[WN]]
// CHECK: linalg.yield %{{.+}}, %[[SUM]]
// CHECK: return %{{.+}}, %[[F]]#0, %[[F]]#1
func.func @tanh(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<4xf64>)
    -> (tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>) {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64> -> !c
  %e = tensor.empty() : tensor<4xf64>
  %y = taylor.propagate(%j, %e) static_weights [1.0, 2.0, 3.0] : (!c, tensor<4xf64>) -> !c {
  ^bb0(%a: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                         iterator_types = ["parallel"]}
        ins(%a : tensor<4xf64>) outs(%o : tensor<4xf64>) {
    ^bb0(%in: f64, %out: f64):
      %t = math.tanh %in : f64
      linalg.yield %t : f64
    } -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  %f0 = taylor.coeff %y[0] : !c -> tensor<4xf64>
  %f1 = taylor.coeff %y[1] : !c -> tensor<3x4xf64>
  %f2 = taylor.coeff %y[2] : !c -> tensor<4xf64>
  return %f0, %f1, %f2 : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>
}

// -----

!c = !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>
!c6 = !taylor.jet<2, 3, tensor<4x6xf64>, collapsed>

// A matmul by passive weights is linear: nothing to sum, the summed top
// coefficient is just X_2·W (one matmul-like generic over one direction),
// while f_1 keeps its direction loop.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X0:[a-z0-9_]+]]: tensor<4x5xf64>, %[[X1:[a-z0-9_]+]]: tensor<3x4x5xf64>, %[[X2:[a-z0-9_]+]]: tensor<4x5xf64>, %[[W:[a-z0-9_]+]]: tensor<5x6xf64>)
// CHECK-NOT: iterator_types = ["reduction", "parallel", "parallel"
// CHECK: tensor.expand_shape %[[X2]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[X0]], %{{.+}}, %[[W]]
// CHECK: %[[TOP:.+]] = tensor.collapse_shape
// CHECK: %[[F1:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[X0]], %[[X1]], %[[W]]
// CHECK: return %[[F1]], %[[TOP]]
func.func @matmul(%x0: tensor<4x5xf64>, %x1: tensor<3x4x5xf64>, %x2: tensor<4x5xf64>,
                  %w: tensor<5x6xf64>) -> (tensor<3x4x6xf64>, tensor<4x6xf64>) {
  %cst = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x6xf64>
  %init = linalg.fill ins(%cst : f64) outs(%e : tensor<4x6xf64>) -> tensor<4x6xf64>
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4x5xf64>, tensor<3x4x5xf64>, tensor<4x5xf64> -> !c
  %y = taylor.propagate(%j, %w, %init) : (!c, tensor<5x6xf64>, tensor<4x6xf64>) -> !c6 {
  ^bb0(%a: tensor<4x5xf64>, %b: tensor<5x6xf64>, %c: tensor<4x6xf64>):
    %m = linalg.matmul ins(%a, %b : tensor<4x5xf64>, tensor<5x6xf64>) outs(%c : tensor<4x6xf64>) -> tensor<4x6xf64>
    taylor.yield %m : tensor<4x6xf64>
  }
  %f1 = taylor.coeff %y[1] : !c6 -> tensor<3x4x6xf64>
  %f2 = taylor.coeff %y[2] : !c6 -> tensor<4x6xf64>
  return %f1, %f2 : tensor<3x4x6xf64>, tensor<4x6xf64>
}

// -----

!c = !taylor.jet<2, 2, tensor<4x5xf64>, collapsed>
!c4 = !taylor.jet<2, 2, tensor<4xf64>, collapsed>

// A product reduction does not accumulate additively (its accumulator feeds
// arith.mulf): the rule runs by parts, N_2^(r) per direction (carrying the
// running primal product) followed by a separate weighted reduction over the
// runtime weights.
// CHECK-LABEL: func.func @product_reduction
// CHECK-SAME: %[[W:[a-z0-9_]+]]: tensor<2xf64>)
// CHECK: %[[N:.+]]:{{[0-9]+}} = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[N]]#{{[0-9]+}}, %[[W]] : tensor<2x4xf64>, tensor<2xf64>)
func.func @product_reduction(%x0: tensor<4x5xf64>, %x1: tensor<2x4x5xf64>, %init: tensor<4xf64>,
                         %w: tensor<2xf64>) -> tensor<4xf64> {
  %cst = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x5xf64>
  %x2 = linalg.fill ins(%cst : f64) outs(%e : tensor<4x5xf64>) -> tensor<4x5xf64>
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4x5xf64>, tensor<2x4x5xf64>, tensor<4x5xf64> -> !c
  %y = taylor.propagate(%j, %init) weights(%w : tensor<2xf64>) : (!c, tensor<4xf64>) -> !c4 {
  ^bb0(%a: tensor<4x5xf64>, %o: tensor<4xf64>):
    %r = linalg.reduce ins(%a : tensor<4x5xf64>) outs(%o : tensor<4xf64>) dimensions = [1]
      (%in: f64, %acc: f64) {
        %m = arith.mulf %in, %acc : f64
        linalg.yield %m : f64
      }
    taylor.yield %r : tensor<4xf64>
  }
  %f2 = taylor.coeff %y[2] : !c4 -> tensor<4xf64>
  return %f2 : tensor<4xf64>
}

// -----

!c = !taylor.jet<2, 2, tensor<4x5xf64>, collapsed>
!c20 = !taylor.jet<2, 2, tensor<20xf64>, collapsed>

// A reshape is linear: the summed top coefficient goes through the reshape
// rule once (one direction), f_1 with its direction dimension.
// CHECK-LABEL: func.func @reshape
// CHECK-SAME: (%[[X0:[a-z0-9_]+]]: tensor<4x5xf64>, %[[X1:[a-z0-9_]+]]: tensor<2x4x5xf64>, %[[X2:[a-z0-9_]+]]: tensor<4x5xf64>)
// CHECK-DAG: %[[F1:.+]] = tensor.collapse_shape %[[X1]] {{\[\[}}0], [1, 2]] : tensor<2x4x5xf64> into tensor<2x20xf64>
// CHECK-DAG: %[[F2:.+]] = tensor.collapse_shape %[[X2]] {{\[\[}}0, 1]] : tensor<4x5xf64> into tensor<20xf64>
// CHECK: return %[[F1]], %[[F2]]
func.func @reshape(%x0: tensor<4x5xf64>, %x1: tensor<2x4x5xf64>, %x2: tensor<4x5xf64>)
    -> (tensor<2x20xf64>, tensor<20xf64>) {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4x5xf64>, tensor<2x4x5xf64>, tensor<4x5xf64> -> !c
  %y = taylor.propagate(%j) : (!c) -> !c20 {
  ^bb0(%a: tensor<4x5xf64>):
    %r = tensor.collapse_shape %a [[0, 1]] : tensor<4x5xf64> into tensor<20xf64>
    taylor.yield %r : tensor<20xf64>
  }
  %f1 = taylor.coeff %y[1] : !c20 -> tensor<2x20xf64>
  %f2 = taylor.coeff %y[2] : !c20 -> tensor<20xf64>
  return %f1, %f2 : tensor<2x20xf64>, tensor<20xf64>
}
