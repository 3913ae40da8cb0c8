// One rule for every structured op: a linalg.generic over (direction,
// original loops) whose body is the op's scalar body pushed through the
// scalar rules. K = 2, directional jets.
// RUN: taylor-opt %s --taylor-jet="function=matmul order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=MATMUL
// RUN: taylor-opt %s --taylor-jet="function=matmul order=1 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=MATMUL1
// RUN: taylor-opt %s --taylor-jet="function=matmul order=3 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=MATMUL3
// RUN: taylor-opt %s --taylor-jet="function=bilinear order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=BILINEAR
// RUN: taylor-opt %s --taylor-jet="function=sum order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=SUM
// RUN: taylor-opt %s --taylor-jet="function=max order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=MAX
// RUN: taylor-opt %s --taylor-jet="function=transpose order=1 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=TRANSPOSE
// RUN: taylor-opt %s --taylor-jet="function=index order=1 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=INDEX

// x @ W with passive W: the primal stays a linalg.matmul; f1 = x1 @ W as a
// reduction over the shared dimension with the direction loop in front,
// accumulating into zeros; f2 = 0 (not computed).
// MATMUL-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// MATMUL-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// MATMUL-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// MATMUL-LABEL: func.func @matmul_jet(
// MATMUL-SAME: %[[X0:[a-z0-9_]+]]: tensor<4x3xf64>, %[[X1:[a-z0-9_]+]]: tensor<2x4x3xf64>, %[[W0:[a-z0-9_]+]]: tensor<3x5xf64>)
// MATMUL: %[[F0:[a-z0-9_]+]] = linalg.matmul ins(%[[X0]], %[[W0]]
// MATMUL: %[[ZERO:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<2x4x5xf64>)
// MATMUL: %[[F1:[a-z0-9_]+]] = linalg.generic {indexing_maps = [{{.*}}#[[X]], #[[W]], {{.*}}#[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// MATMUL-SAME: outs(%[[ZERO]] : tensor<2x4x5xf64>)
// MATMUL: ^bb0(%{{[a-z0-9_]+}}: f64, %[[A1:[a-z0-9_]+]]: f64, %[[B0:[a-z0-9_]+]]: f64, %{{[a-z0-9_]+}}: f64, %[[ACC:[a-z0-9_]+]]: f64):
// MATMUL-NEXT: %[[P:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[B0]] : f64
// MATMUL-NEXT: %[[S:[a-z0-9_]+]] = arith.addf %[[ACC]], %[[P]] : f64
// MATMUL-NEXT: linalg.yield %[[S]] : f64
// MATMUL: return %[[F0]], %[[F1]], %[[ZERO]]

// K = 1: one output, f1 = x1 @ W.
// MATMUL1-LABEL: func.func @matmul_jet(
// MATMUL1-SAME: -> (tensor<4x5xf64>, tensor<2x4x5xf64>)
// MATMUL1: %[[F1:[a-z0-9_]+]] = linalg.generic
// MATMUL1: return %{{.*}}, %[[F1]] :
// K = 3 with a full jet: linear, so f_k = x_k @ W for every k, one generic
// with three accumulating outputs.
// MATMUL3-LABEL: func.func @matmul_jet(
// MATMUL3: %[[G:[a-z0-9_]+]]:3 = linalg.generic
// MATMUL3: ^bb0(%{{[a-z0-9_]+}}: f64, %[[A1:[a-z0-9_]+]]: f64, %[[A2:[a-z0-9_]+]]: f64, %[[A3:[a-z0-9_]+]]: f64, %[[B:[a-z0-9_]+]]: f64, %{{[a-z0-9_]+}}: f64, %[[C1:[a-z0-9_]+]]: f64, %[[C2:[a-z0-9_]+]]: f64, %[[C3:[a-z0-9_]+]]: f64):
// MATMUL3-DAG: arith.mulf %[[A1]], %[[B]] : f64
// MATMUL3-DAG: arith.mulf %[[A2]], %[[B]] : f64
// MATMUL3-DAG: arith.mulf %[[A3]], %[[B]] : f64
// MATMUL3: return %{{.*}}, %[[G]]#0, %[[G]]#1, %[[G]]#2 :

// x @ x: Leibniz inside the reduction, f1 = x0 x1' + x1 x0', f2 = 2 x1 x1'.
// BILINEAR-LABEL: func.func @bilinear_jet(
// BILINEAR: %[[G:[a-z0-9_]+]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// BILINEAR: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64, %[[B0:[a-z0-9_]+]]: f64, %[[B1:[a-z0-9_]+]]: f64, %{{[a-z0-9_]+}}: f64, %[[ACC1:[a-z0-9_]+]]: f64, %[[ACC2:[a-z0-9_]+]]: f64):
// BILINEAR-NEXT: %[[T0:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[B1]] : f64
// BILINEAR-NEXT: %[[T1:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[B0]] : f64
// BILINEAR-NEXT: %[[P1:[a-z0-9_]+]] = arith.addf %[[T0]], %[[T1]] : f64
// BILINEAR-NEXT: %[[T2:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[B1]] : f64
// BILINEAR-NEXT: %[[P2:[a-z0-9_]+]] = arith.mulf %[[T2]], %{{.*}} : f64
// BILINEAR-NEXT: %[[S1:[a-z0-9_]+]] = arith.addf %[[ACC1]], %[[P1]] : f64
// BILINEAR-NEXT: %[[S2:[a-z0-9_]+]] = arith.addf %[[ACC2]], %[[P2]] : f64
// BILINEAR-NEXT: linalg.yield %[[S1]], %[[S2]] : f64, f64
// BILINEAR: return %{{.*}}, %[[G]]#0, %[[G]]#1

// A sum reduction (linalg.reduce) is linear: f1 = Σ x1.
// SUM-LABEL: func.func @sum_jet(
// SUM: linalg.reduce
// SUM: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// SUM: ^bb0(%{{[a-z0-9_]+}}: f64, %[[A1:[a-z0-9_]+]]: f64, %{{[a-z0-9_]+}}: f64, %[[ACC:[a-z0-9_]+]]: f64):
// SUM-NEXT: %[[S:[a-z0-9_]+]] = arith.addf %[[A1]], %[[ACC]] : f64
// SUM-NEXT: linalg.yield %[[S]] : f64

// A max reduction needs the running primal maximum: it is carried per
// direction (initialized by broadcasting the init) and picks the
// coefficients of the current maximum.
// MAX-LABEL: func.func @max_jet(
// MAX: %[[BCAST:[a-z0-9_]+]] = linalg.broadcast ins(%{{.*}} : tensor<4xf64>) outs(%{{.*}} : tensor<2x4xf64>) dimensions = [0]
// MAX: %[[G:[a-z0-9_]+]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %[[BCAST]] : tensor<2x4xf64>, tensor<2x4xf64>)
// MAX-NEXT: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64, %[[ACC1:[a-z0-9_]+]]: f64, %[[MAX0:[a-z0-9_]+]]: f64):
// MAX-NEXT: %[[NEW:[a-z0-9_]+]] = arith.maximumf %[[A0]], %[[MAX0]] : f64
// MAX-NEXT: %[[PICK:[a-z0-9_]+]] = arith.cmpf ogt, %[[A0]], %[[MAX0]] : f64
// MAX-NEXT: %[[F1:[a-z0-9_]+]] = arith.select %[[PICK]], %[[A1]], %[[ACC1]] : f64
// MAX-NEXT: linalg.yield %[[F1]], %[[NEW]] : f64, f64
// MAX: return %{{.*}}, %[[G]]#0,

// A transpose moves the coefficient elements like the primal ones.
// TRANSPOSE-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// TRANSPOSE-LABEL: func.func @transpose_jet(
// TRANSPOSE: linalg.transpose
// TRANSPOSE: linalg.generic {indexing_maps = [{{.*}}#[[IN]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel"]}
// TRANSPOSE-NEXT: ^bb0(%{{[a-z0-9_]+}}: f64, %[[A1:[a-z0-9_]+]]: f64,
// TRANSPOSE-NEXT: linalg.yield %[[A1]] : f64

// linalg.index sees the new leading direction loop: index 0 becomes 1.
// INDEX-LABEL: func.func @index_jet(
// INDEX: linalg.index 0 : index
// INDEX: linalg.generic
// INDEX: linalg.index 1 : index

func.func @matmul(%x: tensor<4x3xf64>, %w: tensor<3x5xf64>) -> tensor<4x5xf64> {
  %cst = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x5xf64>
  %f = linalg.fill ins(%cst : f64) outs(%e : tensor<4x5xf64>) -> tensor<4x5xf64>
  %r = linalg.matmul ins(%x, %w : tensor<4x3xf64>, tensor<3x5xf64>) outs(%f : tensor<4x5xf64>) -> tensor<4x5xf64>
  return %r : tensor<4x5xf64>
}
func.func @bilinear(%x: tensor<4x4xf64>) -> tensor<4x4xf64> {
  %cst = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x4xf64>
  %f = linalg.fill ins(%cst : f64) outs(%e : tensor<4x4xf64>) -> tensor<4x4xf64>
  %r = linalg.matmul ins(%x, %x : tensor<4x4xf64>, tensor<4x4xf64>) outs(%f : tensor<4x4xf64>) -> tensor<4x4xf64>
  return %r : tensor<4x4xf64>
}
func.func @sum(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %cst = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %f = linalg.fill ins(%cst : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %r = linalg.reduce ins(%x : tensor<4x3xf64>) outs(%f : tensor<4xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %s = arith.addf %in, %acc : f64
      linalg.yield %s : f64
    }
  return %r : tensor<4xf64>
}
func.func @max(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %cst = arith.constant 0xFFF0000000000000 : f64
  %e = tensor.empty() : tensor<4xf64>
  %f = linalg.fill ins(%cst : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %r = linalg.reduce ins(%x : tensor<4x3xf64>) outs(%f : tensor<4xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %s = arith.maximumf %in, %acc : f64
      linalg.yield %s : f64
    }
  return %r : tensor<4xf64>
}
func.func @transpose(%x: tensor<4x3xf64>) -> tensor<3x4xf64> {
  %e = tensor.empty() : tensor<3x4xf64>
  %t = linalg.transpose ins(%x : tensor<4x3xf64>) outs(%e : tensor<3x4xf64>) permutation = [1, 0]
  return %t : tensor<3x4xf64>
}
func.func @index(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    %fi = arith.sitofp %ii : i64 to f64
    %m = arith.mulf %a, %fi : f64
    linalg.yield %m : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
