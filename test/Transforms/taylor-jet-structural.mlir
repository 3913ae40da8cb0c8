// taylor-jet through calls, scf.for, scf.if and branches.
// RUN: taylor-opt %s --taylor-jet="function=f order=2 directions=3" -split-input-file | FileCheck %s
// RUN: taylor-opt %s --taylor-jet="function=f order=2 directions=3" --taylor-lower -split-input-file | FileCheck %s --check-prefix=LOWER
// RUN: taylor-opt %s --taylor-jet="function=f order=2 directions=3" --taylor-lower -split-input-file | FileCheck %s --check-prefix=NOJET
// RUN: taylor-opt %s --taylor-jet="function=f order=2 directions=3 sum-top" --taylor-collapse --taylor-lower -split-input-file | FileCheck %s --check-prefix=NOJET

// Every function lowers to coefficient tensors, collapsed or not.
// NOJET-NOT: taylor.

!j = !taylor.jet<2, 3, tensor<4xf64>>

func.func private @act(%x: tensor<4xf64>, %b: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %s = linalg.add ins(%x, %b : tensor<4xf64>, tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %t = linalg.exp ins(%s : tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  return %t : tensor<4xf64>
}

// One jet callee per set of active arguments, shared by the calls that have
// it; a call without active operands is left alone.
// (Each jet callee follows its callee, the latest first.)
// CHECK-LABEL: func.func private @act_jet_1
// CHECK-SAME: (%{{.*}}: tensor<4xf64>, %{{.*}}: !taylor.jet<2, 3, tensor<4xf64>>) -> !taylor.jet<2, 3, tensor<4xf64>>
// CHECK-LABEL: func.func private @act_jet_0
// CHECK-SAME: (%[[X:.*]]: !taylor.jet<2, 3, tensor<4xf64>>, %[[B:.*]]: tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>>
// CHECK: %[[S:.*]] = taylor.propagate(%[[X]], %[[B]], %{{.*}})
// CHECK: linalg.add
// CHECK: %[[T:.*]] = taylor.propagate(%[[S]], %{{.*}})
// CHECK: linalg.exp
// CHECK: return %[[T]] : !taylor.jet<2, 3, tensor<4xf64>>
// CHECK-LABEL: func.func @f_jet
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[B:.*]]: tensor<4xf64>)
// CHECK: %[[J:.*]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]]
// CHECK: %[[Y:.*]] = call @act_jet_0(%[[J]], %[[B]])
// CHECK: %[[Z:.*]] = call @act_jet_0(%[[Y]], %[[B]])
// CHECK: %[[P:.*]] = call @act(%[[B]], %[[B]]) : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
// CHECK: %[[Q:.*]] = call @act_jet_1(%[[P]], %[[Z]])
// CHECK: taylor.coeff %[[Q]][0]
// CHECK-NOT: func.func private @act_jet
// LOWER-LABEL: func.func private @act_jet_0
// LOWER-SAME: (%{{.*}}: tensor<4xf64>, %{{.*}}: tensor<3x4xf64>, %{{.*}}: tensor<3x4xf64>, %{{.*}}: tensor<4xf64>)
// LOWER-LABEL: func.func @f_jet
// LOWER: call @act_jet_0
func.func @f(%x: tensor<4xf64>, %b: tensor<4xf64>) -> tensor<4xf64> {
  %y = func.call @act(%x, %b) : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %z = func.call @act(%y, %b) : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %p = func.call @act(%b, %b) : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %q = func.call @act(%p, %z) : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  return %q : tensor<4xf64>
}

// -----

// An iter_arg whose initial value is passive becomes a jet when the loop
// yields a value that depends on the input (%acc); one that stays passive
// (%other) is left a tensor. The body reads coefficient 0 as the primal.
// CHECK-LABEL: func.func @f_jet
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[B:.*]]: tensor<4xf64>, %[[N:.*]]: index)
// CHECK: %[[J:.*]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]]
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: %[[INIT:.*]] = taylor.make_jet %[[B]], %[[ZERO]], %[[ZERO]]
// CHECK: %[[R:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]], %[[OTHER:.*]] = %[[B]]) -> (!taylor.jet<2, 3, tensor<4xf64>>, tensor<4xf64>)
// CHECK: %[[M:.*]] = taylor.propagate(%[[ACC]], %[[J]], %{{.*}})
// CHECK: linalg.mul
// CHECK: %[[O:.*]] = linalg.add ins(%[[OTHER]], %[[OTHER]]
// CHECK: scf.yield %[[M]], %[[O]] : !taylor.jet<2, 3, tensor<4xf64>>, tensor<4xf64>
// CHECK: taylor.coeff %[[R]]#0[2]
func.func @f(%x: tensor<4xf64>, %b: tensor<4xf64>, %n: index) -> (tensor<4xf64>, tensor<4xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r:2 = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %b, %other = %b) -> (tensor<4xf64>, tensor<4xf64>) {
    %e = tensor.empty() : tensor<4xf64>
    %m = linalg.mul ins(%acc, %x : tensor<4xf64>, tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
    %o = linalg.add ins(%other, %other : tensor<4xf64>, tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
    scf.yield %m, %o : tensor<4xf64>, tensor<4xf64>
  }
  return %r#0, %r#1 : tensor<4xf64>, tensor<4xf64>
}

// -----

// scf.if yields jets; a branch that yields a passive value yields it with
// zero higher coefficients.
// CHECK-LABEL: func.func @f_jet
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[B:.*]]: tensor<4xf64>, %[[C:.*]]: i1)
// CHECK: %[[J:.*]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]]
// CHECK: %[[R:.*]] = scf.if %[[C]] -> (!taylor.jet<2, 3, tensor<4xf64>>) {
// CHECK: %[[E:.*]] = taylor.propagate(%[[J]], %{{.*}})
// CHECK: linalg.exp
// CHECK: scf.yield %[[E]] : !taylor.jet<2, 3, tensor<4xf64>>
// CHECK: } else {
// CHECK: %[[Z:.*]] = taylor.make_jet %[[B]], %{{.*}}, %{{.*}}
// CHECK: scf.yield %[[Z]] : !taylor.jet<2, 3, tensor<4xf64>>
// CHECK: taylor.coeff %[[R]][1]
func.func @f(%x: tensor<4xf64>, %b: tensor<4xf64>, %c: i1) -> tensor<4xf64> {
  %r = scf.if %c -> tensor<4xf64> {
    %e = tensor.empty() : tensor<4xf64>
    %t = linalg.exp ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
    scf.yield %t : tensor<4xf64>
  } else {
    scf.yield %b : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}

// -----

// A loop made of branches: the block argument %acc becomes a jet because the
// back edge passes it a value that depends on the input (a fixpoint over the
// branches); the entry edge passes the passive %b with zero coefficients.
// CHECK-LABEL: func.func @f_jet
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[B:.*]]: tensor<4xf64>, %[[N:.*]]: index)
// CHECK: %[[J:.*]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]]
// CHECK: %[[INIT:.*]] = taylor.make_jet %[[B]], %{{.*}}, %{{.*}}
// CHECK: cf.br ^[[HEAD:bb[0-9]+]](%[[INIT]], %{{.*}} : !taylor.jet<2, 3, tensor<4xf64>>, index)
// CHECK: ^[[HEAD]](%[[ACC:.*]]: !taylor.jet<2, 3, tensor<4xf64>>, %[[I:.*]]: index):
// CHECK: cf.cond_br %{{.*}}, ^[[BODY:bb[0-9]+]], ^[[EXIT:bb[0-9]+]]
// CHECK: ^[[BODY]]:
// CHECK: %[[M:.*]] = taylor.propagate(%[[ACC]], %[[J]], %{{.*}})
// CHECK: linalg.mul
// CHECK: cf.br ^[[HEAD]](%[[M]], %{{.*}} : !taylor.jet<2, 3, tensor<4xf64>>, index)
// CHECK: ^[[EXIT]]:
// CHECK: taylor.coeff %[[ACC]][2]
// LOWER-LABEL: func.func @f_jet
// LOWER: ^bb1(%{{.*}}: tensor<4xf64>, %{{.*}}: tensor<3x4xf64>, %{{.*}}: tensor<3x4xf64>, %{{.*}}: index):
func.func @f(%x: tensor<4xf64>, %b: tensor<4xf64>, %n: index) -> tensor<4xf64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  cf.br ^bb1(%b, %c0 : tensor<4xf64>, index)
^bb1(%acc: tensor<4xf64>, %i: index):
  %more = arith.cmpi slt, %i, %n : index
  cf.cond_br %more, ^bb2, ^bb3
^bb2:
  %e = tensor.empty() : tensor<4xf64>
  %m = linalg.mul ins(%acc, %x : tensor<4xf64>, tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %next = arith.addi %i, %c1 : index
  cf.br ^bb1(%m, %next : tensor<4xf64>, index)
^bb3:
  return %acc : tensor<4xf64>
}

// -----

// A callee with branches gets a jet version with jet block arguments.
// CHECK-LABEL: func.func private @two_blocks_jet_0
// CHECK-SAME: (%{{.*}}: !taylor.jet<2, 3, tensor<4xf64>>) -> !taylor.jet<2, 3, tensor<4xf64>>
// CHECK: cf.br ^[[NEXT:bb[0-9]+]](%{{.*}} : !taylor.jet<2, 3, tensor<4xf64>>)
// CHECK: ^[[NEXT]](%[[Y:.*]]: !taylor.jet<2, 3, tensor<4xf64>>):
// CHECK: %[[E:.*]] = taylor.propagate(%[[Y]], %{{.*}})
// CHECK: return %[[E]] : !taylor.jet<2, 3, tensor<4xf64>>
// CHECK-LABEL: func.func @f_jet
// CHECK: call @two_blocks_jet_0
func.func private @two_blocks(%x: tensor<4xf64>) -> tensor<4xf64> {
  cf.br ^bb1(%x : tensor<4xf64>)
^bb1(%y: tensor<4xf64>):
  %e = tensor.empty() : tensor<4xf64>
  %t = linalg.exp ins(%y : tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  return %t : tensor<4xf64>
}

func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  %y = func.call @two_blocks(%x) : (tensor<4xf64>) -> tensor<4xf64>
  return %y : tensor<4xf64>
}
