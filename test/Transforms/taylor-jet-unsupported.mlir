// Ops without a Taylor-mode rule are reported with their location.
// Body ops are checked when taylor-lower expands the structured op.
// RUN: taylor-opt %s --taylor-jet="order=2 directions=2" --taylor-lower -split-input-file -verify-diagnostics

func.func @softmax(%x: tensor<2x4xf64>) -> tensor<2x4xf64> {
  %e = tensor.empty() : tensor<2x4xf64>
  // expected-error @+1 {{no Taylor-mode rule for 'linalg.softmax'}}
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf64>) outs(%e : tensor<2x4xf64>) -> tensor<2x4xf64>
  return %s : tensor<2x4xf64>
}

// -----

func.func @tensor_level_arith(%x: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{no Taylor-mode rule for 'arith.mulf'}}
  %y = arith.mulf %x, %x : tensor<4xf64>
  return %y : tensor<4xf64>
}

// -----

func.func @body_op(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    // expected-error @+1 {{no Taylor-mode rule for 'arith.remf' in the body of 'linalg.generic'}}
    %y = arith.remf %a, %a : f64
    linalg.yield %y : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}

// -----

// scf.for and scf.if carry jets (taylor-jet-structural.mlir); scf.while
// does not.
func.func @while_loop(%x: tensor<4xf64>, %c: i1) -> tensor<4xf64> {
  // expected-error @+1 {{no Taylor-mode rule for 'scf.while'}}
  %r = scf.while (%acc = %x) : (tensor<4xf64>) -> tensor<4xf64> {
    scf.condition(%c) %acc : tensor<4xf64>
  } do {
  ^bb0(%a: tensor<4xf64>):
    scf.yield %a : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}

// -----

func.func private @external(tensor<4xf64>) -> tensor<4xf64>

func.func @call_external(%x: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{taylor-jet: cannot push jets through the call of '@external': the callee has no body}}
  %y = func.call @external(%x) : (tensor<4xf64>) -> tensor<4xf64>
  return %y : tensor<4xf64>
}

// -----

// Branches carry jets (taylor-jet-structural.mlir); unreachable blocks and
// other terminators do not.
// expected-error @+1 {{taylor-jet: functions with unreachable blocks are not supported}}
func.func @unreachable_block(%x: tensor<4xf64>) -> tensor<4xf64> {
  return %x : tensor<4xf64>
^bb1:
  return %x : tensor<4xf64>
}

// -----

func.func @other_terminator(%x: tensor<4xf64>, %c: i1) -> tensor<4xf64> {
  cf.cond_br %c, ^bb1, ^bb2
^bb1:
  return %x : tensor<4xf64>
^bb2:
  // expected-error @+1 {{taylor-jet: cannot pass jets along 'llvm.unreachable'; blocks must end in a branch or 'func.return'}}
  llvm.unreachable
}

// -----

func.func @captured_in_region(%x: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{taylor-jet: 'scf.execute_region' uses a value that depends on the differentiated input inside a region}}
  %r = scf.execute_region -> tensor<4xf64> {
    scf.yield %x : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}
