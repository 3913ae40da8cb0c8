// taylor-opt reports malformed and invalid IR with a diagnostic and a non-zero
// exit code, never a crash.
// RUN: split-file %s %t
// RUN: not taylor-opt %t/syntax.mlir 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not taylor-opt %t/unknown-type.mlir 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not taylor-opt %t/unknown-op.mlir 2>&1 | FileCheck %s --check-prefix=OP
// RUN: not taylor-opt %t/invalid.mlir 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not taylor-opt %t/lower-fails.mlir --taylor-lower 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: taylor-opt --help | FileCheck %s --check-prefix=HELP

// SYNTAX: syntax.mlir:2:{{[0-9]+}}: error: expected ','
// TYPE: unknown-type.mlir:1:{{[0-9]+}}: error: unknown type `jets` in dialect `taylor`
// OP: unknown-op.mlir:2:{{[0-9]+}}: error: custom op 'taylor.frobnicate' is unknown
// INVALID: invalid.mlir:2:{{[0-9]+}}: error: 'taylor.make_jet' op expects 2 coefficients for a jet of order 1, got 1
// LOWER: lower-fails.mlir:2:{{[0-9]+}}: error: 'arith.select' op cannot be lowered: it produces a jet
// HELP-DAG: --taylor-lower
// HELP-DAG: --taylor-to-llvm

//--- syntax.mlir
func.func private @f(
  !taylor.jet<2 3, tensor<4xf64>>)
//--- unknown-type.mlir
func.func private @f(!taylor.jets<2, 3, tensor<4xf64>>)
//--- unknown-op.mlir
func.func @f() {
  taylor.frobnicate
  return
}
//--- invalid.mlir
func.func @f(%x0: tensor<4xf64>) {
  %j = taylor.make_jet %x0 : tensor<4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
  return
}
//--- lower-fails.mlir
func.func @f(%j: !taylor.jet<1, 3, tensor<4xf64>>, %c: i1) -> !taylor.jet<1, 3, tensor<4xf64>> {
  %s = arith.select %c, %j, %j : !taylor.jet<1, 3, tensor<4xf64>>
  return %s : !taylor.jet<1, 3, tensor<4xf64>>
}
