// RUN: taylor-opt %s --taylor-jet="order=2 directions=4 input-coefficients=1 sum-top" \
// RUN:   --taylor-collapse -mlir-pass-statistics -mlir-pass-statistics-display=list \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=STATS
// RUN: taylor-opt %s --taylor-jet="order=2 directions=4 input-coefficients=1 sum-top" \
// RUN:   --taylor-collapse="cost-analysis" -mlir-print-op-on-diagnostic=false \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// The exact Laplacian of an MLP (K = 2, R = D = 4 unit directions): standard
// Taylor mode carries 1 + K·R = 9 coefficient tensors per jet, collapsed
// Taylor mode 1 + (K-1)·R + 1 = 6. Every one of the 4 jets carried between
// ops (matmul, bias add, tanh, matmul) is collapsed.

// STATS: TaylorCollapse
// STATS-DAG: (S) 24 coefficient-tensors-after
// STATS-DAG: (S) 36 coefficient-tensors-before
// STATS-DAG: (S)  6 coefficient-tensors-per-jet-after
// STATS-DAG: (S)  9 coefficient-tensors-per-jet-before
// STATS-DAG: (S)  4 jets-before
// STATS-DAG: (S)  1 num-seeds-collapsed
// STATS-DAG: (S)  4 num-sums-pushed
// STATS-DAG: (S)  0 standard-jets-after

// The FLOP estimate (of the lowered code) drops too.
// REMARK: remark: taylor-collapse: 4 jets, coefficient tensors per jet 9 -> 6, in total 36 -> 24, estimated FLOPs [[BEFORE:[0-9]+]] -> [[AFTER:[0-9]+]]

#id = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
func.func @mlp(%x: tensor<2x4xf64>, %w1: tensor<4x8xf64>, %b1: tensor<8xf64>,
               %w2: tensor<8x1xf64>) -> tensor<2x1xf64> {
  %c0 = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<2x8xf64>
  %z = linalg.fill ins(%c0 : f64) outs(%e : tensor<2x8xf64>) -> tensor<2x8xf64>
  %h = linalg.matmul ins(%x, %w1 : tensor<2x4xf64>, tensor<4x8xf64>) outs(%z : tensor<2x8xf64>) -> tensor<2x8xf64>
  %hb = linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %b1 : tensor<2x8xf64>, tensor<8xf64>) outs(%e : tensor<2x8xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %s = arith.addf %a, %b : f64
    linalg.yield %s : f64
  } -> tensor<2x8xf64>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%hb : tensor<2x8xf64>) outs(%e : tensor<2x8xf64>) {
  ^bb0(%a: f64, %o: f64):
    %th = math.tanh %a : f64
    linalg.yield %th : f64
  } -> tensor<2x8xf64>
  %e1 = tensor.empty() : tensor<2x1xf64>
  %z1 = linalg.fill ins(%c0 : f64) outs(%e1 : tensor<2x1xf64>) -> tensor<2x1xf64>
  %y = linalg.matmul ins(%t, %w2 : tensor<2x8xf64>, tensor<8x1xf64>) outs(%z1 : tensor<2x1xf64>) -> tensor<2x1xf64>
  return %y : tensor<2x1xf64>
}
