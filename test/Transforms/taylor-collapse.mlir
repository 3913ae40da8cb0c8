// RUN: taylor-opt %s --taylor-collapse -split-input-file | FileCheck %s

// taylor-collapse moves a sum over directions of the top coefficient
// (taylor.sum) from a result of taylor.propagate to its jet operands, turning
// the propagate into a collapsed one that carries the weights. Each case
// below shows one step; the sums end at the seeds.

!s = !taylor.jet<2, 3, tensor<4x5xf64>>
!c = !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>
!s6 = !taylor.jet<2, 3, tensor<4x6xf64>>
!c6 = !taylor.jet<2, 3, tensor<4x6xf64>, collapsed>

// Past a matmul by passive weights. The seed's top coefficient %x2 is not
// known to be zero: the sum stays on it (taylor-lower reduces it there).
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X0:[a-z0-9_]+]]: tensor<4x5xf64>, %[[X1:[a-z0-9_]+]]: tensor<3x4x5xf64>, %[[X2:[a-z0-9_]+]]: tensor<3x4x5xf64>, %[[W:[a-z0-9_]+]]: tensor<5x6xf64>, %[[I:[a-z0-9_]+]]: tensor<4x6xf64>)
// CHECK-NEXT: %[[J:.+]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]] : {{.*}} -> !taylor.jet<2, 3, tensor<4x5xf64>>
// CHECK-NEXT: %[[S:.+]] = taylor.sum %[[J]] static_weights [1.000000e+00, 2.000000e+00, 3.000000e+00] : !taylor.jet<2, 3, tensor<4x5xf64>> -> !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>
// CHECK-NEXT: %[[Y:.+]] = taylor.propagate(%[[S]], %[[W]], %[[I]]) static_weights [1.000000e+00, 2.000000e+00, 3.000000e+00]
// CHECK-SAME: (!taylor.jet<2, 3, tensor<4x5xf64>, collapsed>, tensor<5x6xf64>, tensor<4x6xf64>) -> !taylor.jet<2, 3, tensor<4x6xf64>, collapsed>
// CHECK: linalg.matmul
// CHECK: %[[TOP:.+]] = taylor.coeff %[[Y]][2] : !taylor.jet<2, 3, tensor<4x6xf64>, collapsed> -> tensor<4x6xf64>
// CHECK-NEXT: return %[[TOP]]
// CHECK-NOT: taylor.sum
func.func @matmul(%x0: tensor<4x5xf64>, %x1: tensor<3x4x5xf64>, %x2: tensor<3x4x5xf64>,
                  %w: tensor<5x6xf64>, %init: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4x5xf64>, tensor<3x4x5xf64>, tensor<3x4x5xf64> -> !s
  %y = taylor.propagate(%j, %w, %init) : (!s, tensor<5x6xf64>, tensor<4x6xf64>) -> !s6 {
  ^bb0(%a: tensor<4x5xf64>, %b: tensor<5x6xf64>, %c: tensor<4x6xf64>):
    %m = linalg.matmul ins(%a, %b : tensor<4x5xf64>, tensor<5x6xf64>) outs(%c : tensor<4x6xf64>) -> tensor<4x6xf64>
    taylor.yield %m : tensor<4x6xf64>
  }
  %s = taylor.sum %y static_weights [1.0, 2.0, 3.0] : !s6 -> !c6
  %top = taylor.coeff %s[2] : !c6 -> tensor<4x6xf64>
  return %top : tensor<4x6xf64>
}

// -----

!s = !taylor.jet<2, 3, tensor<4x5xf64>>
!c = !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>

// Past an add of two jets, then past an elementwise tanh (whose rule keeps
// the g''·x_1² term summed over directions when lowered) to the seed, whose
// zero top coefficient folds: the seed becomes a collapsed make_jet with a
// zero top. Both operands of the add reach the same jet: one sum serves both.
// Lower coefficients are read through the sum.
// CHECK-LABEL: func.func @add_and_tanh
// CHECK-SAME: (%[[X0:[a-z0-9_]+]]: tensor<4x5xf64>, %[[X1:[a-z0-9_]+]]: tensor<3x4x5xf64>, %[[E:[a-z0-9_]+]]: tensor<4x5xf64>)
// CHECK-DAG: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f64) outs(%{{.+}} : tensor<4x5xf64>) -> tensor<4x5xf64>
// CHECK-DAG: %[[SEED:.+]] = taylor.make_jet %[[X0]], %[[X1]], %[[ZERO]] : tensor<4x5xf64>, tensor<3x4x5xf64>, tensor<4x5xf64> -> !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>
// CHECK: %[[T:.+]] = taylor.propagate(%[[SEED]], %[[E]]) : (!taylor.jet<2, 3, tensor<4x5xf64>, collapsed>, tensor<4x5xf64>) -> !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>
// CHECK: math.tanh
// CHECK: %[[A:.+]] = taylor.propagate(%[[T]], %[[SEED]], %[[E]]) : (!taylor.jet<2, 3, tensor<4x5xf64>, collapsed>, !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>, tensor<4x5xf64>) -> !taylor.jet<2, 3, tensor<4x5xf64>, collapsed>
// CHECK: linalg.add
// CHECK: %[[F1:.+]] = taylor.coeff %[[A]][1] : !taylor.jet<2, 3, tensor<4x5xf64>, collapsed> -> tensor<3x4x5xf64>
// CHECK-NEXT: %[[F2:.+]] = taylor.coeff %[[A]][2] : !taylor.jet<2, 3, tensor<4x5xf64>, collapsed> -> tensor<4x5xf64>
// CHECK-NEXT: return %[[F1]], %[[F2]]
// CHECK-NOT: taylor.sum
func.func @add_and_tanh(%x0: tensor<4x5xf64>, %x1: tensor<3x4x5xf64>, %e: tensor<4x5xf64>)
    -> (tensor<3x4x5xf64>, tensor<4x5xf64>) {
  %cst = arith.constant 0.0 : f64
  %z = tensor.empty() : tensor<3x4x5xf64>
  %x2 = linalg.fill ins(%cst : f64) outs(%z : tensor<3x4x5xf64>) -> tensor<3x4x5xf64>
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4x5xf64>, tensor<3x4x5xf64>, tensor<3x4x5xf64> -> !s
  %t = taylor.propagate(%j, %e) : (!s, tensor<4x5xf64>) -> !s {
  ^bb0(%a: tensor<4x5xf64>, %o: tensor<4x5xf64>):
    %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                         iterator_types = ["parallel", "parallel"]}
        ins(%a : tensor<4x5xf64>) outs(%o : tensor<4x5xf64>) {
    ^bb0(%in: f64, %out: f64):
      %th = math.tanh %in : f64
      linalg.yield %th : f64
    } -> tensor<4x5xf64>
    taylor.yield %r : tensor<4x5xf64>
  }
  %a = taylor.propagate(%t, %j, %e) : (!s, !s, tensor<4x5xf64>) -> !s {
  ^bb0(%p: tensor<4x5xf64>, %q: tensor<4x5xf64>, %o: tensor<4x5xf64>):
    %r = linalg.add ins(%p, %q : tensor<4x5xf64>, tensor<4x5xf64>) outs(%o : tensor<4x5xf64>) -> tensor<4x5xf64>
    taylor.yield %r : tensor<4x5xf64>
  }
  %f1 = taylor.coeff %a[1] : !s -> tensor<3x4x5xf64>
  %s = taylor.sum %a : !s -> !c
  %f2 = taylor.coeff %s[2] : !c -> tensor<4x5xf64>
  return %f1, %f2 : tensor<3x4x5xf64>, tensor<4x5xf64>
}

// -----

!s = !taylor.jet<2, 2, tensor<5xf64>>
!s45 = !taylor.jet<2, 2, tensor<4x5xf64>>
!s54 = !taylor.jet<2, 2, tensor<5x4xf64>>
!c54 = !taylor.jet<2, 2, tensor<5x4xf64>, collapsed>

// Past a transpose and a broadcast, with runtime weights.
// CHECK-LABEL: func.func @broadcast_transpose
// CHECK-SAME: %[[W:[a-z0-9_]+]]: tensor<2xf64>)
// CHECK: %[[S:.+]] = taylor.sum %{{.+}} weights(%[[W]] : tensor<2xf64>) : !taylor.jet<2, 2, tensor<5xf64>> -> !taylor.jet<2, 2, tensor<5xf64>, collapsed>
// CHECK-NEXT: %[[B:.+]] = taylor.propagate(%[[S]], %{{.+}}) weights(%[[W]] : tensor<2xf64>) : (!taylor.jet<2, 2, tensor<5xf64>, collapsed>, tensor<4x5xf64>) -> !taylor.jet<2, 2, tensor<4x5xf64>, collapsed>
// CHECK: linalg.broadcast
// CHECK: %[[T:.+]] = taylor.propagate(%[[B]], %{{.+}}) weights(%[[W]] : tensor<2xf64>) : (!taylor.jet<2, 2, tensor<4x5xf64>, collapsed>, tensor<5x4xf64>) -> !taylor.jet<2, 2, tensor<5x4xf64>, collapsed>
// CHECK: linalg.transpose
// CHECK: taylor.coeff %[[T]][2]
// CHECK-NOT: taylor.sum
func.func @broadcast_transpose(%x0: tensor<5xf64>, %x1: tensor<2x5xf64>, %x2: tensor<2x5xf64>,
                               %e45: tensor<4x5xf64>, %e54: tensor<5x4xf64>, %w: tensor<2xf64>) -> tensor<5x4xf64> {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<5xf64>, tensor<2x5xf64>, tensor<2x5xf64> -> !s
  %b = taylor.propagate(%j, %e45) : (!s, tensor<4x5xf64>) -> !s45 {
  ^bb0(%a: tensor<5xf64>, %o: tensor<4x5xf64>):
    %r = linalg.broadcast ins(%a : tensor<5xf64>) outs(%o : tensor<4x5xf64>) dimensions = [0]
    taylor.yield %r : tensor<4x5xf64>
  }
  %t = taylor.propagate(%b, %e54) : (!s45, tensor<5x4xf64>) -> !s54 {
  ^bb0(%a: tensor<4x5xf64>, %o: tensor<5x4xf64>):
    %r = linalg.transpose ins(%a : tensor<4x5xf64>) outs(%o : tensor<5x4xf64>) permutation = [1, 0]
    taylor.yield %r : tensor<5x4xf64>
  }
  %s = taylor.sum %t weights(%w : tensor<2xf64>) : !s54 -> !c54
  %top = taylor.coeff %s[2] : !c54 -> tensor<5x4xf64>
  return %top : tensor<5x4xf64>
}

// -----

!s = !taylor.jet<3, 2, tensor<6xf64>>
!c = !taylor.jet<3, 2, tensor<6xf64>, collapsed>

// Past a product of two jets (Leibniz: u_0·v_K + u_K·v_0 is the linear part).
// CHECK-LABEL: func.func @product
// CHECK: %[[SU:.+]] = taylor.sum %[[U:.+]] : !taylor.jet<3, 2, tensor<6xf64>> -> !taylor.jet<3, 2, tensor<6xf64>, collapsed>
// CHECK-NEXT: %[[SV:.+]] = taylor.sum %[[V:.+]] : !taylor.jet<3, 2, tensor<6xf64>> -> !taylor.jet<3, 2, tensor<6xf64>, collapsed>
// CHECK-NEXT: %[[P:.+]] = taylor.propagate(%[[SU]], %[[SV]], %{{.+}}) : (!taylor.jet<3, 2, tensor<6xf64>, collapsed>, !taylor.jet<3, 2, tensor<6xf64>, collapsed>, tensor<6xf64>)
// CHECK: linalg.mul
// CHECK: taylor.coeff %[[P]][3]
func.func @product(%u0: tensor<6xf64>, %u1: tensor<2x6xf64>, %u2: tensor<2x6xf64>, %u3: tensor<2x6xf64>,
                   %v1: tensor<2x6xf64>, %e: tensor<6xf64>) -> tensor<6xf64> {
  %u = taylor.make_jet %u0, %u1, %u2, %u3 : tensor<6xf64>, tensor<2x6xf64>, tensor<2x6xf64>, tensor<2x6xf64> -> !s
  %v = taylor.make_jet %u0, %v1, %u2, %u3 : tensor<6xf64>, tensor<2x6xf64>, tensor<2x6xf64>, tensor<2x6xf64> -> !s
  %p = taylor.propagate(%u, %v, %e) : (!s, !s, tensor<6xf64>) -> !s {
  ^bb0(%a: tensor<6xf64>, %b: tensor<6xf64>, %o: tensor<6xf64>):
    %r = linalg.mul ins(%a, %b : tensor<6xf64>, tensor<6xf64>) outs(%o : tensor<6xf64>) -> tensor<6xf64>
    taylor.yield %r : tensor<6xf64>
  }
  %s = taylor.sum %p : !s -> !c
  %top = taylor.coeff %s[3] : !c -> tensor<6xf64>
  return %top : tensor<6xf64>
}

// -----

!s = !taylor.jet<2, 2, tensor<4x5xf64>>
!c = !taylor.jet<2, 2, tensor<4x5xf64>, collapsed>

// The rewrite stops at an op without a Taylor-mode rule (linalg.softmax):
// the sum stays after it, and the propagate stays standard.
// CHECK-LABEL: func.func @stops_at_op_without_rule
// CHECK: %[[P:.+]] = taylor.propagate(%{{.+}}, %{{.+}}) : (!taylor.jet<2, 2, tensor<4x5xf64>>, tensor<4x5xf64>) -> !taylor.jet<2, 2, tensor<4x5xf64>>
// CHECK: linalg.softmax
// CHECK: %[[S:.+]] = taylor.sum %[[P]] : !taylor.jet<2, 2, tensor<4x5xf64>> -> !taylor.jet<2, 2, tensor<4x5xf64>, collapsed>
// CHECK: taylor.coeff %[[S]][2]
func.func @stops_at_op_without_rule(%x0: tensor<4x5xf64>, %x1: tensor<2x4x5xf64>, %x2: tensor<2x4x5xf64>,
                                    %e: tensor<4x5xf64>) -> tensor<4x5xf64> {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4x5xf64>, tensor<2x4x5xf64>, tensor<2x4x5xf64> -> !s
  %p = taylor.propagate(%j, %e) : (!s, tensor<4x5xf64>) -> !s {
  ^bb0(%a: tensor<4x5xf64>, %o: tensor<4x5xf64>):
    %r = linalg.softmax dimension(1) ins(%a : tensor<4x5xf64>) outs(%o : tensor<4x5xf64>) -> tensor<4x5xf64>
    taylor.yield %r : tensor<4x5xf64>
  }
  %s = taylor.sum %p : !s -> !c
  %top = taylor.coeff %s[2] : !c -> tensor<4x5xf64>
  return %top : tensor<4x5xf64>
}

// -----

!s = !taylor.jet<2, 2, tensor<4xf64>>
!c = !taylor.jet<2, 2, tensor<4xf64>, collapsed>

// The rewrite stops when the runtime weights are computed after the
// producer, and at jets that are not built in the function (block arguments).
// CHECK-LABEL: func.func @stops_at_late_weights
// CHECK: %[[P:.+]] = taylor.propagate(%{{.+}}, %{{.+}}) : (!taylor.jet<2, 2, tensor<4xf64>>, tensor<4xf64>) -> !taylor.jet<2, 2, tensor<4xf64>>
// CHECK: %[[W:.+]] = tensor.extract_slice
// CHECK: taylor.sum %[[P]] weights(%[[W]] : tensor<2xf64>)
func.func @stops_at_late_weights(%j: !s, %e: tensor<4xf64>, %v: tensor<3xf64>) -> tensor<4xf64> {
  %p = taylor.propagate(%j, %e) : (!s, tensor<4xf64>) -> !s {
  ^bb0(%a: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%a : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  %w = tensor.extract_slice %v[0] [2] [1] : tensor<3xf64> to tensor<2xf64>
  %s = taylor.sum %p weights(%w : tensor<2xf64>) : !s -> !c
  %top = taylor.coeff %s[2] : !c -> tensor<4xf64>
  return %top : tensor<4xf64>
}

// -----

!s = !taylor.jet<2, 2, tensor<4xf64>>
!c = !taylor.jet<2, 2, tensor<4xf64>, collapsed>

// Fan-out: a jet that is also needed per direction keeps its standard
// producer; the summed use gets a collapsed copy.
// CHECK-LABEL: func.func @keeps_standard_for_other_uses
// CHECK: %[[SEED:.+]] = taylor.make_jet
// CHECK: %[[SS:.+]] = taylor.sum %[[SEED]] : !taylor.jet<2, 2, tensor<4xf64>>
// CHECK: %[[C:.+]] = taylor.propagate(%[[SS]], %{{.+}}) : (!taylor.jet<2, 2, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 2, tensor<4xf64>, collapsed>
// CHECK: %[[P:.+]] = taylor.propagate(%[[SEED]], %{{.+}}) : (!taylor.jet<2, 2, tensor<4xf64>>, tensor<4xf64>) -> !taylor.jet<2, 2, tensor<4xf64>>
// CHECK-DAG: taylor.coeff %[[P]][2] : !taylor.jet<2, 2, tensor<4xf64>> -> tensor<2x4xf64>
// CHECK-DAG: taylor.coeff %[[C]][2] : !taylor.jet<2, 2, tensor<4xf64>, collapsed> -> tensor<4xf64>
func.func @keeps_standard_for_other_uses(%x0: tensor<4xf64>, %x1: tensor<2x4xf64>, %x2: tensor<2x4xf64>,
                                         %e: tensor<4xf64>) -> (tensor<2x4xf64>, tensor<4xf64>) {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<2x4xf64>, tensor<2x4xf64> -> !s
  %p = taylor.propagate(%j, %e) : (!s, tensor<4xf64>) -> !s {
  ^bb0(%a: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%a : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  %per_direction = taylor.coeff %p[2] : !s -> tensor<2x4xf64>
  %s = taylor.sum %p : !s -> !c
  %top = taylor.coeff %s[2] : !c -> tensor<4xf64>
  return %per_direction, %top : tensor<2x4xf64>, tensor<4xf64>
}
