// RUN: taylor-opt %s --taylor-lower --split-input-file | FileCheck %s
// RUN: taylor-opt %s --taylor-lower --split-input-file --mlir-pass-statistics 2>&1 >/dev/null | FileCheck %s --check-prefix=STATS

// Jets cross function boundaries, scf regions and branches: each jet becomes
// its K + 1 coefficient tensors in signatures, calls, iter_args, yields and
// block arguments (a 1:N type conversion).

// One report per split: the last counts the sum of a local jet (phase 1)
// and the sum of a jet argument (the conversion).
// STATS: (S) 1 num-propagates-lowered
// STATS-NEXT: (S) 0 num-sums-lowered
// STATS: (S) 1 num-propagates-lowered
// STATS-NEXT: (S) 1 num-sums-lowered
// STATS: (S) 1 num-propagates-lowered
// STATS-NEXT: (S) 0 num-sums-lowered
// STATS: (S) 1 num-propagates-lowered
// STATS-NEXT: (S) 2 num-sums-lowered
// STATS: (S) 0 num-propagates-lowered
// STATS-NEXT: (S) 0 num-sums-lowered

!j = !taylor.jet<2, 3, tensor<4xf64>>

// A private callee: the jet argument and result become three tensors each,
// and the rule reads the coefficients from the new arguments.
// CHECK-LABEL: func.func private @exp
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>)
// CHECK-SAME: -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>)
// CHECK: %[[Y0:.*]] = linalg.exp ins(%[[X0]] : tensor<4xf64>)
// CHECK: %[[Y:.*]]:2 = linalg.generic
// CHECK-SAME: ins(%[[X0]], %[[X1]], %[[X2]], %{{.*}} :
// CHECK: return %[[Y0]], %[[Y]]#0, %[[Y]]#1 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
func.func private @exp(%x: !j) -> !j {
  %e = tensor.empty() : tensor<4xf64>
  %y = taylor.propagate(%x, %e) : (!j, tensor<4xf64>) -> !j {
  ^bb0(%a: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%a : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return %y : !j
}

// The caller passes the coefficients of its local jet and reads the results.
// CHECK-LABEL: func.func @call_private
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>)
// CHECK-NEXT: %[[R:.*]]:3 = call @exp(%[[X0]], %[[X1]], %[[X2]]) : (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>) -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>)
// CHECK-NEXT: return %[[R]]#2, %[[R]]#0
func.func @call_private(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>) -> (tensor<3x4xf64>, tensor<4xf64>) {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !j
  %y = func.call @exp(%j) : (!j) -> !j
  %2 = taylor.coeff %y[2] : !j -> tensor<3x4xf64>
  %0 = taylor.coeff %y[0] : !j -> tensor<4xf64>
  return %2, %0 : tensor<3x4xf64>, tensor<4xf64>
}

// A public function and a declaration change their signatures the same way.
// CHECK-LABEL: func.func @public_twice
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>)
// CHECK-SAME: -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>)
// CHECK-NEXT: %[[A:.*]]:3 = call @exp(%[[X0]], %[[X1]], %[[X2]])
// CHECK-NEXT: %[[B:.*]]:3 = call @external(%[[A]]#0, %[[A]]#1, %[[A]]#2)
// CHECK-NEXT: return %[[B]]#0, %[[B]]#1, %[[B]]#2
func.func @public_twice(%x: !j) -> !j {
  %a = func.call @exp(%x) : (!j) -> !j
  %b = func.call @external(%a) : (!j) -> !j
  return %b : !j
}
// CHECK: func.func private @external(tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>) -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>)
func.func private @external(!j) -> !j

// -----

!j = !taylor.jet<2, 3, tensor<4xf64>>
!c = !taylor.jet<2, 3, tensor<4xf64>, collapsed>

// scf.for carries the jet as three iter_args; the propagate in the body reads
// the block arguments. The sum of the loop result is reduced after the loop.
// CHECK-LABEL: func.func @for_iter_args
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[N:.*]]: index)
// CHECK: %[[R:.*]]:3 = scf.for %{{.*}} = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[A0:.*]] = %[[X0]], %[[A1:.*]] = %[[X1]], %[[A2:.*]] = %[[X2]]) -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>)
// CHECK: %[[S0:.*]] = linalg.exp ins(%[[A0]] : tensor<4xf64>)
// CHECK: %[[S:.*]]:2 = linalg.generic
// CHECK-SAME: ins(%[[A0]], %[[A1]], %[[A2]], %{{.*}} :
// CHECK: scf.yield %[[S0]], %[[S]]#0, %[[S]]#1 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
// CHECK: %[[TOP:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK-SAME: ins(%[[R]]#2 : tensor<3x4xf64>)
// CHECK: return %[[R]]#1, %[[TOP]]
func.func @for_iter_args(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>, %n: index) -> (tensor<3x4xf64>, tensor<4xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !j
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %j) -> !j {
    %e = tensor.empty() : tensor<4xf64>
    %y = taylor.propagate(%acc, %e) : (!j, tensor<4xf64>) -> !j {
    ^bb0(%a: tensor<4xf64>, %o: tensor<4xf64>):
      %t = linalg.exp ins(%a : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
      taylor.yield %t : tensor<4xf64>
    }
    scf.yield %y : !j
  }
  %s = taylor.sum %r : !j -> !c
  %1 = taylor.coeff %s[1] : !c -> tensor<3x4xf64>
  %2 = taylor.coeff %s[2] : !c -> tensor<4xf64>
  return %1, %2 : tensor<3x4xf64>, tensor<4xf64>
}

// scf.if yields the coefficients of the jet of either branch.
// CHECK-LABEL: func.func @if_yields_jets
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[C:.*]]: i1)
// CHECK-NEXT: %[[R:.*]]:3 = scf.if %[[C]] -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>)
// CHECK-NEXT: scf.yield %[[X0]], %[[X1]], %[[X2]]
// CHECK-NEXT: } else {
// CHECK-NEXT: scf.yield %[[X0]], %[[X2]], %[[X1]]
// CHECK-NEXT: }
// CHECK-NEXT: return %[[R]]#1
func.func @if_yields_jets(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>, %c: i1) -> tensor<3x4xf64> {
  %r = scf.if %c -> !j {
    %a = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !j
    scf.yield %a : !j
  } else {
    %b = taylor.make_jet %x0, %x2, %x1 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !j
    scf.yield %b : !j
  }
  %1 = taylor.coeff %r[1] : !j -> tensor<3x4xf64>
  return %1 : tensor<3x4xf64>
}

// -----

!j = !taylor.jet<2, 3, tensor<4xf64>>

// Branches pass the coefficients as block arguments (the unused primal
// argument of the join block is then dropped by the final folding).
// CHECK-LABEL: func.func @branches
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[C:.*]]: i1)
// CHECK: cf.cond_br %[[C]], ^[[EXP:.*]], ^[[JOIN:bb[0-9]+]](%[[X1]], %[[X2]] : tensor<3x4xf64>, tensor<3x4xf64>)
// CHECK: ^[[EXP]]:
// CHECK: %[[Y:.*]]:2 = linalg.generic
// CHECK-SAME: ins(%[[X0]], %[[X1]], %[[X2]], %{{.*}} :
// CHECK: math.exp
// CHECK: cf.br ^[[JOIN]](%[[Y]]#0, %[[Y]]#1 : tensor<3x4xf64>, tensor<3x4xf64>)
// CHECK: ^[[JOIN]](%[[B1:.*]]: tensor<3x4xf64>, %[[B2:.*]]: tensor<3x4xf64>):
// CHECK-NEXT: return %[[B1]], %[[B2]]
func.func @branches(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>, %c: i1) -> (tensor<3x4xf64>, tensor<3x4xf64>) {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !j
  cf.cond_br %c, ^bb1(%j : !j), ^bb2(%j : !j)
^bb1(%a: !j):
  %e = tensor.empty() : tensor<4xf64>
  %y = taylor.propagate(%a, %e) : (!j, tensor<4xf64>) -> !j {
  ^bb0(%p: tensor<4xf64>, %o: tensor<4xf64>):
    %t = linalg.exp ins(%p : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %t : tensor<4xf64>
  }
  cf.br ^bb2(%y : !j)
^bb2(%b: !j):
  %1 = taylor.coeff %b[1] : !j -> tensor<3x4xf64>
  %2 = taylor.coeff %b[2] : !j -> tensor<3x4xf64>
  return %1, %2 : tensor<3x4xf64>, tensor<3x4xf64>
}

// -----

!j = !taylor.jet<2, 3, tensor<4xf64>>
!c = !taylor.jet<2, 3, tensor<4xf64>, collapsed>

// Collapsed jets cross calls too: the summed top coefficient is one tensor
// without the direction dimension.
// CHECK-LABEL: func.func private @collapsed_exp
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<4xf64>)
// CHECK-SAME: -> (tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>)
// CHECK: linalg.exp ins(%[[X0]] : tensor<4xf64>)
// CHECK: return {{.*}} : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>
func.func private @collapsed_exp(%x: !c) -> !c {
  %e = tensor.empty() : tensor<4xf64>
  %y = taylor.propagate(%x, %e) : (!c, tensor<4xf64>) -> !c {
  ^bb0(%a: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%a : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return %y : !c
}

// The caller sums its seed (phase 1, a local make_jet) and passes the
// collapsed coefficients.
// CHECK-LABEL: func.func @call_collapsed
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>)
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK-SAME: ins(%[[X2]] : tensor<3x4xf64>)
// CHECK: %[[R:.*]]:3 = call @collapsed_exp(%[[X0]], %[[X1]], %[[S]]) : (tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>) -> (tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>)
// CHECK: return %[[R]]#2 : tensor<4xf64>
func.func @call_collapsed(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>) -> tensor<4xf64> {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !j
  %s = taylor.sum %j : !j -> !c
  %y = func.call @collapsed_exp(%s) : (!c) -> !c
  %2 = taylor.coeff %y[2] : !c -> tensor<4xf64>
  return %2 : tensor<4xf64>
}

// A sum of a jet argument (no make_jet in sight) is lowered by the conversion
// with the same reduction, here with runtime weights.
// CHECK-LABEL: func.func @sum_of_argument
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[W:.*]]: tensor<3xf64>)
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK-SAME: ins(%[[X2]], %[[W]] : tensor<3x4xf64>, tensor<3xf64>)
// CHECK: return %[[X1]], %[[S]] : tensor<3x4xf64>, tensor<4xf64>
func.func @sum_of_argument(%x: !j, %w: tensor<3xf64>) -> (tensor<3x4xf64>, tensor<4xf64>) {
  %s = taylor.sum %x weights(%w : tensor<3xf64>) : !j -> !c
  %1 = taylor.coeff %s[1] : !c -> tensor<3x4xf64>
  %2 = taylor.coeff %s[2] : !c -> tensor<4xf64>
  return %1, %2 : tensor<3x4xf64>, tensor<4xf64>
}

// -----

!j = !taylor.jet<1, 2, tensor<4xf64>>

// scf.while carries the coefficients in both regions.
// CHECK-LABEL: func.func @while_carries_jets
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<2x4xf64>, %[[C:.*]]: i1)
// CHECK: %[[R:.*]]:2 = scf.while (%[[A0:.*]] = %[[X0]], %[[A1:.*]] = %[[X1]]) : (tensor<4xf64>, tensor<2x4xf64>) -> (tensor<4xf64>, tensor<2x4xf64>)
// CHECK: scf.condition(%[[C]]) %[[A0]], %[[A1]] : tensor<4xf64>, tensor<2x4xf64>
// CHECK: ^bb0(%[[B0:.*]]: tensor<4xf64>, %[[B1:.*]]: tensor<2x4xf64>):
// CHECK: scf.yield %[[B0]], %[[B1]] : tensor<4xf64>, tensor<2x4xf64>
// CHECK: return %[[R]]#1 : tensor<2x4xf64>
func.func @while_carries_jets(%x0: tensor<4xf64>, %x1: tensor<2x4xf64>, %c: i1) -> tensor<2x4xf64> {
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<2x4xf64> -> !j
  %r = scf.while (%a = %j) : (!j) -> !j {
    scf.condition(%c) %a : !j
  } do {
  ^bb0(%b: !j):
    scf.yield %b : !j
  }
  %t = taylor.coeff %r[1] : !j -> tensor<2x4xf64>
  return %t : tensor<2x4xf64>
}
