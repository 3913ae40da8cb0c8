// Scalar rules of math ops (in linalg bodies): derivatives supplied per op,
// combined by the one Faà di Bruno engine.
// RUN: taylor-opt %s --taylor-jet="function=tanh order=1 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=TANH1
// RUN: taylor-opt %s --taylor-jet="function=tanh order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=TANH2
// RUN: taylor-opt %s --taylor-jet="function=tanh order=3 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=TANH3
// RUN: taylor-opt %s --taylor-jet="function=sin order=2 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=SIN2
// RUN: taylor-opt %s --taylor-jet="function=powf order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=POW2

// tanh' = 1 - y^2, tanh'' = (2y^2 - 2) y, tanh''' = (-6y^2 + 8) y^2 - 2
// (polynomials in y = tanh(x0)); with x_k = 0 for k >= 2, f_k = tanh^(k) x1^k.
// TANH1-LABEL: func.func @tanh_jet(
// TANH1-DAG: %[[ONE:[a-z0-9_]+]] = arith.constant 1.000000e+00 : f64
// TANH1-DAG: %[[MONE:[a-z0-9_]+]] = arith.constant -1.000000e+00 : f64
// TANH1: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64, %{{[a-z0-9_]+}}: f64, %{{[a-z0-9_]+}}: f64):
// TANH1-NEXT: %[[Y:[a-z0-9_]+]] = math.tanh %[[A0]] : f64
// TANH1-NEXT: %[[T0:[a-z0-9_]+]] = arith.mulf %[[Y]], %[[MONE]] : f64
// TANH1-NEXT: %[[T1:[a-z0-9_]+]] = arith.mulf %[[T0]], %[[Y]] : f64
// TANH1-NEXT: %[[D1:[a-z0-9_]+]] = arith.addf %[[T1]], %[[ONE]] : f64
// TANH1-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[D1]], %[[A1]] : f64
// TANH1-NEXT: linalg.yield %[[F1]] : f64

// TANH2-LABEL: func.func @tanh_jet(
// TANH2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// TANH2: %[[D1:[a-z0-9_]+]] = arith.addf
// TANH2: arith.addf
// TANH2-NEXT: %[[D2:[a-z0-9_]+]] = arith.mulf %{{.*}}, %{{.*}} : f64
// TANH2-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[D1]], %[[A1]] : f64
// TANH2-NEXT: %[[SQ:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[A1]] : f64
// TANH2-NEXT: %[[F2:[a-z0-9_]+]] = arith.mulf %[[D2]], %[[SQ]] : f64
// TANH2-NEXT: linalg.yield %[[F1]], %[[F2]] : f64, f64

// TANH3-LABEL: func.func @tanh_jet(
// TANH3-DAG: %[[EIGHT:[a-z0-9_]+]] = arith.constant 8.000000e+00 : f64
// TANH3-DAG: %[[MSIX:[a-z0-9_]+]] = arith.constant -6.000000e+00 : f64
// TANH3: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// TANH3: %[[P0:[a-z0-9_]+]] = arith.mulf %[[Y:[a-z0-9_]+]], %[[MSIX]] : f64
// TANH3-NEXT: %[[P1:[a-z0-9_]+]] = arith.mulf %[[P0]], %[[Y]] : f64
// TANH3-NEXT: %[[P2:[a-z0-9_]+]] = arith.addf %[[P1]], %[[EIGHT]] : f64
// TANH3-NEXT: %[[P3:[a-z0-9_]+]] = arith.mulf %[[P2]], %[[Y]] : f64
// TANH3-NEXT: %[[P4:[a-z0-9_]+]] = arith.mulf %[[P3]], %[[Y]] : f64
// TANH3-NEXT: %[[D3:[a-z0-9_]+]] = arith.addf %[[P4]], %{{.*}} : f64
// TANH3: %[[SQ:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[A1]] : f64
// TANH3: %[[CUBE:[a-z0-9_]+]] = arith.mulf %[[SQ]], %[[A1]] : f64
// TANH3-NEXT: %[[F3:[a-z0-9_]+]] = arith.mulf %[[D3]], %[[CUBE]] : f64
// TANH3-NEXT: linalg.yield %{{.*}}, %{{.*}}, %[[F3]] : f64, f64, f64

// sin with a full jet: f1 = cos x1, f2 = cos x2 - sin x1^2.
// SIN2-LABEL: func.func @sin_jet(
// SIN2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64, %[[A2:[a-z0-9_]+]]: f64,
// SIN2-NEXT: %[[S:[a-z0-9_]+]] = math.sin %[[A0]] : f64
// SIN2-NEXT: %[[C:[a-z0-9_]+]] = math.cos %[[A0]] : f64
// SIN2-NEXT: %[[NS:[a-z0-9_]+]] = arith.negf %[[S]] : f64
// SIN2-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[C]], %[[A1]] : f64
// SIN2-NEXT: %[[L:[a-z0-9_]+]] = arith.mulf %[[C]], %[[A2]] : f64
// SIN2-NEXT: %[[SQ:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[A1]] : f64
// SIN2-NEXT: %[[N:[a-z0-9_]+]] = arith.mulf %[[NS]], %[[SQ]] : f64
// SIN2-NEXT: %[[F2:[a-z0-9_]+]] = arith.addf %[[L]], %[[N]] : f64
// SIN2-NEXT: linalg.yield %[[F1]], %[[F2]] : f64, f64

// x^1.5: g' = 1.5 x^0.5, g'' = 0.75 x^-0.5.
// POW2-LABEL: func.func @powf_jet(
// POW2-DAG: %[[MHALF:[a-z0-9_]+]] = arith.constant -5.000000e-01 : f64
// POW2-DAG: %[[C075:[a-z0-9_]+]] = arith.constant 7.500000e-01 : f64
// POW2-DAG: %[[HALF:[a-z0-9_]+]] = arith.constant 5.000000e-01 : f64
// POW2-DAG: %[[C15:[a-z0-9_]+]] = arith.constant 1.500000e+00 : f64
// POW2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// POW2-NEXT: %[[P1:[a-z0-9_]+]] = math.powf %[[A0]], %[[HALF]] : f64
// POW2-NEXT: %[[D1:[a-z0-9_]+]] = arith.mulf %[[P1]], %[[C15]] : f64
// POW2-NEXT: %[[P2:[a-z0-9_]+]] = math.powf %[[A0]], %[[MHALF]] : f64
// POW2-NEXT: %[[D2:[a-z0-9_]+]] = arith.mulf %[[P2]], %[[C075]] : f64
// POW2-NEXT: arith.mulf %[[D1]], %[[A1]] : f64

#id = affine_map<(d0) -> (d0)>
func.func @tanh(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.tanh %a : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
func.func @sin(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.sin %a : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
func.func @powf(%x: tensor<4xf64>) -> tensor<4xf64> {
  %p = arith.constant 1.5 : f64
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.powf %a, %p : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
