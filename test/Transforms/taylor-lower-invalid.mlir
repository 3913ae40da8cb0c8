// RUN: taylor-opt %s --taylor-lower -split-input-file -verify-diagnostics

// Jets may cross calls, scf regions and branches (taylor-lower-structural.mlir),
// but not ops without a lowering for them; nothing is rewritten then.

!j = !taylor.jet<1, 3, tensor<4xf64>>
func.func @jet_through_select(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %c: i1) -> tensor<4xf64> {
  %a = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !j
  // expected-error @+1 {{'arith.select' op cannot be lowered: it produces a jet, and taylor-lower has no lowering for its jets}}
  %s = arith.select %c, %a, %a : !j
  %0 = taylor.coeff %s[0] : !j -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

!j = !taylor.jet<1, 3, tensor<4xf64>>
func.func private @callee(!j) -> tensor<4xf64>
func.func @jet_to_indirect_call(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) -> tensor<4xf64> {
  %f = func.constant @callee : (!j) -> tensor<4xf64>
  // expected-error @+1 {{'taylor.make_jet' op cannot be lowered: its jet is used by 'func.call_indirect', which has no lowering for jet operands}}
  %a = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !j
  %0 = func.call_indirect %f(%a) : (!j) -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

!j = !taylor.jet<1, 3, tensor<4xf64>>
func.func @jet_argument_to_indirect_call(%a: !j, %f: (!j) -> tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{'func.call_indirect' op cannot be lowered: it has a jet operand, and taylor-lower has no lowering for its jets}}
  %0 = func.call_indirect %f(%a) : (!j) -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

!j = !taylor.jet<1, 3, tensor<4xf64>>
func.func @jet_block_argument_in_execute_region(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) -> tensor<3x4xf64> {
  %a = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !j
  // expected-error @+1 {{'scf.execute_region' op cannot be lowered: a block of its region has a jet argument, which taylor-lower cannot retype}}
  %r = scf.execute_region -> tensor<3x4xf64> {
    cf.br ^bb1(%a : !j)
  ^bb1(%b: !j):
    %t = taylor.coeff %b[1] : !j -> tensor<3x4xf64>
    scf.yield %t : tensor<3x4xf64>
  }
  return %r : tensor<3x4xf64>
}

// -----

// A collapsed propagate needs the wrapped op's rule as much as a standard one.
!c = !taylor.jet<2, 2, tensor<4x5xf64>, collapsed>
func.func @collapsed_without_rule(%x0: tensor<4x5xf64>, %x1: tensor<2x4x5xf64>, %x2: tensor<4x5xf64>,
                                  %e: tensor<4x5xf64>) -> tensor<4x5xf64> {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4x5xf64>, tensor<2x4x5xf64>, tensor<4x5xf64> -> !c
  // expected-error @+1 {{'taylor.propagate' op cannot be lowered: no Taylor-mode rule for 'linalg.softmax'}}
  %p = taylor.propagate(%j, %e) : (!c, tensor<4x5xf64>) -> !c {
  ^bb0(%a: tensor<4x5xf64>, %o: tensor<4x5xf64>):
    %r = linalg.softmax dimension(1) ins(%a : tensor<4x5xf64>) outs(%o : tensor<4x5xf64>) -> tensor<4x5xf64>
    taylor.yield %r : tensor<4x5xf64>
  }
  %top = taylor.coeff %p[2] : !c -> tensor<4x5xf64>
  return %top : tensor<4x5xf64>
}
