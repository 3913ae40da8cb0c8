// Each named stage pipeline is exactly the pass sequence it documents (the
// one taylor_mlir runs by name).
//
// taylor-collapse-jets, taylor-lower-jets:
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-jet{function=f order=2 directions=3 sum-top=true}, taylor-collapse-jets)' > %t.a
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-jet{function=f order=2 directions=3 sum-top=true}, func.func(taylor-collapse))' | diff - %t.a
// RUN: FileCheck %s --check-prefix=COLLAPSE < %t.a
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-jet{function=f order=2 directions=3 sum-top=true}, taylor-collapse-jets, taylor-lower-jets)' > %t.b
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-jet{function=f order=2 directions=3 sum-top=true}, func.func(taylor-collapse), func.func(taylor-lower), canonicalize, cse)' | diff - %t.b
// RUN: FileCheck %s --check-prefix=LOWER < %t.b
//
// taylor-vjp and taylor-split-vjp:
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-vjp{function=f vjp-function=f_vjp arguments=0})' > %t.c
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-reverse{function=f vjp-function=f_vjp arguments=0}, canonicalize, cse)' | diff - %t.c
// RUN: FileCheck %s --check-prefix=VJP < %t.c
// RUN: taylor-opt %t.c --pass-pipeline='builtin.module(taylor-split-vjp{function=f_vjp cotangents=1 primal-results=1})' > %t.d
// RUN: taylor-opt %t.c --pass-pipeline='builtin.module(taylor-split-adjoint{function=f_vjp cotangents=1 primal-results=1}, canonicalize, cse)' | diff - %t.d
// RUN: FileCheck %s --check-prefix=SPLIT < %t.d
//
// taylor-inline-cleanup:
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-inline-cleanup)' > %t.e
// RUN: taylor-opt %s --pass-pipeline='builtin.module(inline, canonicalize, cse, symbol-dce)' | diff - %t.e
// RUN: FileCheck %s --check-prefix=INLINE < %t.e

// COLLAPSE: !taylor.jet<2, 3, tensor<4x3xf64>, collapsed>
// LOWER-NOT: taylor.
// LOWER: func.func @f_jet(
// VJP: func.func @f_vjp(%{{.*}}: tensor<4x3xf64>, %{{.*}}: tensor<4xf64>) -> (tensor<4xf64>, tensor<4x3xf64>)
// SPLIT-DAG: func.func @f_vjp_primal(
// SPLIT-DAG: func.func @f_vjp_adjoint(
// The private helper is inlined into @caller and erased.
// INLINE-NOT: @helper
// INLINE: func.func @caller(
// INLINE-NOT: call
// INLINE: math.tanh

func.func @f(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4x3xf64>
  %t = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x3xf64>) outs(%e : tensor<4x3xf64>) {
  ^bb0(%a: f64, %o: f64):
    %y = math.tanh %a : f64
    linalg.yield %y : f64
  } -> tensor<4x3xf64>
  %z = arith.constant 0.0 : f64
  %i = tensor.empty() : tensor<4xf64>
  %f = linalg.fill ins(%z : f64) outs(%i : tensor<4xf64>) -> tensor<4xf64>
  %s = linalg.reduce ins(%t : tensor<4x3xf64>) outs(%f : tensor<4xf64>) dimensions = [1]
    (%a: f64, %b: f64) {
      %c = arith.addf %a, %b : f64
      linalg.yield %c : f64
    }
  return %s : tensor<4xf64>
}

func.func private @helper(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %r = func.call @f(%x) : (tensor<4x3xf64>) -> tensor<4xf64>
  return %r : tensor<4xf64>
}

func.func @caller(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %r = func.call @helper(%x) : (tensor<4x3xf64>) -> tensor<4xf64>
  return %r : tensor<4xf64>
}
