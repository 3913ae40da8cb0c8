// RUN: taylor-opt %s --taylor-reverse="function=rowmax" | FileCheck %s
// RUN: taylor-opt %s --taylor-reverse="function=dynamic_reduction" -verify-diagnostics

// A max over the features of a dynamic batch (softmax, amax with
// dynamic_batch=True): the -inf init is shaped by `tensor.dim` of x, a size
// that carries no derivative, so the init is not active; only the reduction
// loop must be static.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

func.func @rowmax(%x: tensor<?x3xf64>) -> tensor<?xf64> {
  %c0 = arith.constant 0 : index
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %b = tensor.dim %x, %c0 : tensor<?x3xf64>
  %e = tensor.empty(%b) : tensor<?xf64>
  %init = linalg.fill ins(%ninf : f64) outs(%e : tensor<?xf64>) -> tensor<?xf64>
  %m = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x3xf64>) outs(%init : tensor<?xf64>) {
  ^bb0(%a: f64, %o: f64):
    %r = arith.maximumf %o, %a : f64
    linalg.yield %r : f64
  } -> tensor<?xf64>
  return %m : tensor<?xf64>
}

// CHECK-LABEL: func.func @rowmax_vjp
// CHECK-SAME:    (%[[X:.*]]: tensor<?x3xf64>, %[[DY:.*]]: tensor<?xf64>)
// CHECK:         linalg.index 1
// CHECK:         return %{{.*}}, %{{.*}} : tensor<?xf64>, tensor<?x3xf64>

// The position of the first maximum is linearized over the reduction loops,
// whose sizes must be static.
func.func @dynamic_reduction(%x: tensor<4x?xf64>) -> tensor<4xf64> {
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %e = tensor.empty() : tensor<4xf64>
  %init = linalg.fill ins(%ninf : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  // expected-error @+1 {{'linalg.generic' op has no adjoint rule: result #0 is a max/min reduction over loops of dynamic size}}
  %m = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x?xf64>) outs(%init : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %r = arith.maximumf %o, %a : f64
    linalg.yield %r : f64
  } -> tensor<4xf64>
  return %m : tensor<4xf64>
}
