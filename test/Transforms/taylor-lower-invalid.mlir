// RUN: taylor-opt %s --taylor-lower -split-input-file -verify-diagnostics

// expected-error @+1 {{'func.func' op has a jet argument of type '!taylor.jet<1, 3, tensor<4xf64>>'; pass coefficient tensors and build the jet with 'taylor.make_jet' instead}}
func.func @jet_argument(%j: !taylor.jet<1, 3, tensor<4xf64>>) -> tensor<4xf64> {
  %0 = taylor.coeff %j[0] : !taylor.jet<1, 3, tensor<4xf64>> -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

func.func @jet_result(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) -> !taylor.jet<1, 3, tensor<4xf64>> {
  // expected-error @+1 {{'taylor.make_jet' op cannot be lowered: its jet is used by 'func.return', which has no lowering for jet operands}}
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
  return %j : !taylor.jet<1, 3, tensor<4xf64>>
}

// -----

func.func @jet_through_scf_if(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %c: i1) -> tensor<4xf64> {
  %j = scf.if %c -> !taylor.jet<1, 3, tensor<4xf64>> {
    // expected-error @+1 {{'taylor.make_jet' op cannot be lowered: its jet is used by 'scf.yield', which has no lowering for jet operands}}
    %a = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
    scf.yield %a : !taylor.jet<1, 3, tensor<4xf64>>
  } else {
    // expected-error @+1 {{'taylor.make_jet' op cannot be lowered: its jet is used by 'scf.yield', which has no lowering for jet operands}}
    %b = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
    scf.yield %b : !taylor.jet<1, 3, tensor<4xf64>>
  }
  // expected-error @+1 {{'taylor.coeff' op cannot be lowered: its jet operand is produced by 'scf.if'; jets must be built by 'taylor.make_jet' in the same function}}
  %0 = taylor.coeff %j[0] : !taylor.jet<1, 3, tensor<4xf64>> -> tensor<4xf64>
  return %0 : tensor<4xf64>
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
