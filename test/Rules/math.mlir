// Scalar rules of math ops (in linalg bodies): derivatives supplied per op,
// combined by the one Faà di Bruno engine.
// RUN: taylor-opt %s --taylor-jet="function=tanh order=1 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=TANH1
// RUN: taylor-opt %s --taylor-jet="function=tanh order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=TANH2
// RUN: taylor-opt %s --taylor-jet="function=tanh order=3 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=TANH3
// RUN: taylor-opt %s --taylor-jet="function=sin order=2 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=SIN2
// RUN: taylor-opt %s --taylor-jet="function=powf order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=POW2
// RUN: taylor-opt %s --taylor-jet="function=asin order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=ASIN2
// RUN: taylor-opt %s --taylor-jet="function=acosh order=1 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=ACOSH1
// RUN: taylor-opt %s --taylor-jet="function=atanh order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=ATANH2
// RUN: taylor-opt %s --taylor-jet="function=atan2 order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=ATAN2Y
// RUN: taylor-opt %s --taylor-jet="function=atan2 argument=1 order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=ATAN2X

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

// asin' = (1 - x^2)^(-1/2), asin'' = x (1 - x^2)^(-3/2) (P_2 = x).
// ASIN2-LABEL: func.func @asin_jet(
// ASIN2-DAG: %[[ONE:[a-z0-9_]+]] = arith.constant 1.000000e+00 : f64
// ASIN2-DAG: %[[MONE:[a-z0-9_]+]] = arith.constant -1.000000e+00 : f64
// ASIN2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// ASIN2-NEXT: %[[T0:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[MONE]] : f64
// ASIN2-NEXT: %[[T1:[a-z0-9_]+]] = arith.mulf %[[T0]], %[[A0]] : f64
// ASIN2-NEXT: %[[U:[a-z0-9_]+]] = arith.addf %[[T1]], %[[ONE]] : f64
// ASIN2-NEXT: %[[ROOT:[a-z0-9_]+]] = math.sqrt %[[U]] : f64
// ASIN2-NEXT: %[[D1:[a-z0-9_]+]] = arith.divf %[[ONE]], %[[ROOT]] : f64
// ASIN2-NEXT: %[[INV:[a-z0-9_]+]] = arith.divf %[[ONE]], %[[U]] : f64
// ASIN2-NEXT: %[[P:[a-z0-9_]+]] = arith.mulf %[[D1]], %[[INV]] : f64
// ASIN2-NEXT: %[[D2:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[P]] : f64
// ASIN2-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[D1]], %[[A1]] : f64
// ASIN2-NEXT: %[[SQ:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[A1]] : f64
// ASIN2-NEXT: %[[F2:[a-z0-9_]+]] = arith.mulf %[[D2]], %[[SQ]] : f64
// ASIN2-NEXT: linalg.yield %[[F1]], %[[F2]] : f64, f64

// acosh' = (x^2 - 1)^(-1/2).
// ACOSH1-LABEL: func.func @acosh_jet(
// ACOSH1-DAG: %[[ONE:[a-z0-9_]+]] = arith.constant 1.000000e+00 : f64
// ACOSH1-DAG: %[[MONE:[a-z0-9_]+]] = arith.constant -1.000000e+00 : f64
// ACOSH1: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// ACOSH1-NEXT: %[[SQ:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[A0]] : f64
// ACOSH1-NEXT: %[[U:[a-z0-9_]+]] = arith.addf %[[SQ]], %[[MONE]] : f64
// ACOSH1-NEXT: %[[ROOT:[a-z0-9_]+]] = math.sqrt %[[U]] : f64
// ACOSH1-NEXT: %[[D1:[a-z0-9_]+]] = arith.divf %[[ONE]], %[[ROOT]] : f64
// ACOSH1-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[D1]], %[[A1]] : f64
// ACOSH1-NEXT: linalg.yield %[[F1]] : f64

// atanh' = 1 / (1 - x^2), atanh'' = 2x / (1 - x^2)^2.
// ATANH2-LABEL: func.func @atanh_jet(
// ATANH2-DAG: %[[TWO:[a-z0-9_]+]] = arith.constant 2.000000e+00 : f64
// ATANH2-DAG: %[[ONE:[a-z0-9_]+]] = arith.constant 1.000000e+00 : f64
// ATANH2-DAG: %[[MONE:[a-z0-9_]+]] = arith.constant -1.000000e+00 : f64
// ATANH2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// ATANH2-NEXT: %[[T0:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[MONE]] : f64
// ATANH2-NEXT: %[[T1:[a-z0-9_]+]] = arith.mulf %[[T0]], %[[A0]] : f64
// ATANH2-NEXT: %[[U:[a-z0-9_]+]] = arith.addf %[[T1]], %[[ONE]] : f64
// ATANH2-NEXT: %[[D1:[a-z0-9_]+]] = arith.divf %[[ONE]], %[[U]] : f64
// ATANH2-NEXT: %[[D1SQ:[a-z0-9_]+]] = arith.mulf %[[D1]], %[[D1]] : f64
// ATANH2-NEXT: %[[TWOX:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[TWO]] : f64
// ATANH2-NEXT: %[[D2:[a-z0-9_]+]] = arith.mulf %[[TWOX]], %[[D1SQ]] : f64
// ATANH2-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[D1]], %[[A1]] : f64
// ATANH2-NEXT: %[[SQ:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[A1]] : f64
// ATANH2-NEXT: %[[F2:[a-z0-9_]+]] = arith.mulf %[[D2]], %[[SQ]] : f64
// ATANH2-NEXT: linalg.yield %[[F1]], %[[F2]] : f64, f64

// atan2(y, x), y active (x passive): with r = x^2 + y^2,
// θ_1 = x y_1 / r, θ_2 = -(2 y y_1) θ_1 / r.
// ATAN2Y-LABEL: func.func @atan2_jet(
// ATAN2Y-DAG: %[[ONE:[a-z0-9_]+]] = arith.constant 1.000000e+00 : f64
// ATAN2Y: ^bb0(%[[Y0:[a-z0-9_]+]]: f64, %[[Y1:[a-z0-9_]+]]: f64, %[[X0:[a-z0-9_]+]]: f64,
// ATAN2Y-NEXT: %[[N0:[a-z0-9_]+]] = arith.mulf %[[X0]], %[[Y1]] : f64
// ATAN2Y-NEXT: %[[YY1:[a-z0-9_]+]] = arith.mulf %[[Y0]], %[[Y1]] : f64
// ATAN2Y-NEXT: %[[R1:[a-z0-9_]+]] = arith.addf %[[YY1]], %[[YY1]] : f64
// ATAN2Y-NEXT: %[[YSQ:[a-z0-9_]+]] = arith.mulf %[[Y0]], %[[Y0]] : f64
// ATAN2Y-NEXT: %[[XSQ:[a-z0-9_]+]] = arith.mulf %[[X0]], %[[X0]] : f64
// ATAN2Y-NEXT: %[[R0:[a-z0-9_]+]] = arith.addf %[[XSQ]], %[[YSQ]] : f64
// ATAN2Y-NEXT: %[[INV:[a-z0-9_]+]] = arith.divf %[[ONE]], %[[R0]] : f64
// ATAN2Y-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[N0]], %[[INV]] : f64
// ATAN2Y-NEXT: %[[T:[a-z0-9_]+]] = arith.mulf %[[R1]], %[[F1]] : f64
// ATAN2Y-NEXT: %[[NT:[a-z0-9_]+]] = arith.negf %[[T]] : f64
// ATAN2Y-NEXT: %[[F2:[a-z0-9_]+]] = arith.mulf %[[NT]], %[[INV]] : f64
// ATAN2Y-NEXT: linalg.yield %[[F1]], %[[F2]] : f64, f64

// atan2(y, x), x active (y passive): θ_1 = -y x_1 / r,
// θ_2 = -(2 x x_1) θ_1 / r.
// ATAN2X-LABEL: func.func @atan2_jet(
// ATAN2X-DAG: %[[ONE:[a-z0-9_]+]] = arith.constant 1.000000e+00 : f64
// ATAN2X: ^bb0(%[[Y0:[a-z0-9_]+]]: f64, %[[X0:[a-z0-9_]+]]: f64, %[[X1:[a-z0-9_]+]]: f64,
// ATAN2X-NEXT: %[[YX1:[a-z0-9_]+]] = arith.mulf %[[Y0]], %[[X1]] : f64
// ATAN2X-NEXT: %[[N0:[a-z0-9_]+]] = arith.negf %[[YX1]] : f64
// ATAN2X-NEXT: %[[XX1:[a-z0-9_]+]] = arith.mulf %[[X0]], %[[X1]] : f64
// ATAN2X-NEXT: %[[R1:[a-z0-9_]+]] = arith.addf %[[XX1]], %[[XX1]] : f64
// ATAN2X-NEXT: %[[YSQ:[a-z0-9_]+]] = arith.mulf %[[Y0]], %[[Y0]] : f64
// ATAN2X-NEXT: %[[XSQ:[a-z0-9_]+]] = arith.mulf %[[X0]], %[[X0]] : f64
// ATAN2X-NEXT: %[[R0:[a-z0-9_]+]] = arith.addf %[[XSQ]], %[[YSQ]] : f64
// ATAN2X-NEXT: %[[INV:[a-z0-9_]+]] = arith.divf %[[ONE]], %[[R0]] : f64
// ATAN2X-NEXT: %[[F1:[a-z0-9_]+]] = arith.mulf %[[N0]], %[[INV]] : f64
// ATAN2X-NEXT: %[[T:[a-z0-9_]+]] = arith.mulf %[[R1]], %[[F1]] : f64
// ATAN2X-NEXT: %[[NT:[a-z0-9_]+]] = arith.negf %[[T]] : f64
// ATAN2X-NEXT: %[[F2:[a-z0-9_]+]] = arith.mulf %[[NT]], %[[INV]] : f64
// ATAN2X-NEXT: linalg.yield %[[F1]], %[[F2]] : f64, f64

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
func.func @asin(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.asin %a : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
func.func @atanh(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.atanh %a : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
func.func @acosh(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.acosh %a : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
func.func @atan2(%y: tensor<4xf64>, %x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%y, %x : tensor<4xf64>, tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %t = math.atan2 %a, %b : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
