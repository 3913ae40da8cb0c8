// Scalar rules of arith ops (in linalg bodies) at K = 1, 2, 3, directional
// jets (x_1 only): the emitted coefficient arithmetic.
// RUN: taylor-opt %s --taylor-jet="function=mul order=1 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=MUL1
// RUN: taylor-opt %s --taylor-jet="function=mul order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=MUL2
// RUN: taylor-opt %s --taylor-jet="function=mul order=3 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=MUL3
// RUN: taylor-opt %s --taylor-jet="function=div order=2 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=DIV2
// RUN: taylor-opt %s --taylor-jet="function=linear order=3 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=LIN3
// RUN: taylor-opt %s --taylor-jet="function=relu order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=RELU2

#id = affine_map<(d0) -> (d0)>

// Leibniz: (x*x)_1 = 2 x0 x1, (x*x)_2 = 2 x1^2 (x2 = 0), (x*x)_3 = 0.
// MUL1-LABEL: func.func @mul_jet(
// MUL1-SAME: %[[X0:[a-z0-9_]+]]: tensor<4xf64>, %[[X1:[a-z0-9_]+]]: tensor<2x4xf64>) -> (tensor<4xf64>, tensor<2x4xf64>)
// MUL1: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X0]], %[[X1]],
// MUL1-NEXT: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// MUL1-NEXT: %[[P:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[A1]] : f64
// MUL1-NEXT: %[[S:[a-z0-9_]+]] = arith.addf %[[P]], %[[P]] : f64
// MUL1-NEXT: linalg.yield %[[S]] : f64
// MUL2-LABEL: func.func @mul_jet(
// MUL2-DAG: %[[TWO:[a-z0-9_]+]] = arith.constant 2.000000e+00 : f64
// MUL2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// MUL2-NEXT: %[[P:[a-z0-9_]+]] = arith.mulf %[[A0]], %[[A1]] : f64
// MUL2-NEXT: %[[F1:[a-z0-9_]+]] = arith.addf %[[P]], %[[P]] : f64
// MUL2-NEXT: %[[SQ:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[A1]] : f64
// MUL2-NEXT: %[[F2:[a-z0-9_]+]] = arith.mulf %[[SQ]], %[[TWO]] : f64
// MUL2-NEXT: linalg.yield %[[F1]], %[[F2]] : f64, f64
// The third coefficient is identically zero: a fill, no arithmetic.
// MUL3-LABEL: func.func @mul_jet(
// MUL3: %[[G:[a-z0-9_]+]]:2 = linalg.generic
// MUL3: %[[ZERO:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<2x4xf64>)
// MUL3: return %{{.*}}, %[[G]]#0, %[[G]]#1, %[[ZERO]]
func.func @mul(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %m = arith.mulf %a, %a : f64
    linalg.yield %m : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}

// The quotient recurrence for c / x with a full jet (x1, x2):
// q1 = -x1 q0 / x0, q2 = -(x2 q0 + 2 x1 q1) / x0, one reciprocal of x0.
// DIV2-LABEL: func.func @div_jet(
// DIV2-SAME: %[[X0:[a-z0-9_]+]]: tensor<4xf64>, %[[X1:[a-z0-9_]+]]: tensor<2x4xf64>, %[[X2:[a-z0-9_]+]]: tensor<2x4xf64>)
// DIV2-DAG: %[[THREE:[a-z0-9_]+]] = arith.constant 3.000000e+00 : f64
// DIV2-DAG: %[[ONE:[a-z0-9_]+]] = arith.constant 1.000000e+00 : f64
// DIV2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64, %[[A2:[a-z0-9_]+]]: f64,
// DIV2-NEXT: %[[Q0:[a-z0-9_]+]] = arith.divf %[[THREE]], %[[A0]] : f64
// DIV2-NEXT: %[[T:[a-z0-9_]+]] = arith.mulf %[[A1]], %[[Q0]] : f64
// DIV2-NEXT: %[[NT:[a-z0-9_]+]] = arith.negf %[[T]] : f64
// DIV2-NEXT: %[[INV:[a-z0-9_]+]] = arith.divf %[[ONE]], %[[A0]] : f64
// DIV2-NEXT: %[[Q1:[a-z0-9_]+]] = arith.mulf %[[NT]], %[[INV]] : f64
// DIV2: %[[X2Q0:[a-z0-9_]+]] = arith.mulf %[[A2]], %[[Q0]] : f64
// DIV2: %[[Q2:[a-z0-9_]+]] = arith.mulf %{{.*}}, %[[INV]] : f64
// DIV2-NEXT: linalg.yield %[[Q1]], %[[Q2]] : f64, f64
func.func @div(%x: tensor<4xf64>) -> tensor<4xf64> {
  %c = arith.constant 3.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %q = arith.divf %c, %a : f64
    linalg.yield %q : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}

// Linear ops act coefficient-wise: (2 - ext(x))_k = -ext(x_k), doubled.
// LIN3-LABEL: func.func @linear_jet(
// LIN3: ^bb0(%[[A0:[a-z0-9_]+]]: f32, %[[A1:[a-z0-9_]+]]: f32, %[[A2:[a-z0-9_]+]]: f32, %[[A3:[a-z0-9_]+]]: f32,
// LIN3-DAG: %[[E1:[a-z0-9_]+]] = arith.extf %[[A1]] : f32 to f64
// LIN3-DAG: %[[E2:[a-z0-9_]+]] = arith.extf %[[A2]] : f32 to f64
// LIN3-DAG: %[[E3:[a-z0-9_]+]] = arith.extf %[[A3]] : f32 to f64
// LIN3-DAG: %[[N1:[a-z0-9_]+]] = arith.negf %[[E1]] : f64
// LIN3-DAG: %[[N2:[a-z0-9_]+]] = arith.negf %[[E2]] : f64
// LIN3-DAG: %[[N3:[a-z0-9_]+]] = arith.negf %[[E3]] : f64
// LIN3-DAG: %[[D1:[a-z0-9_]+]] = arith.addf %[[N1]], %[[N1]] : f64
// LIN3-DAG: %[[D2:[a-z0-9_]+]] = arith.addf %[[N2]], %[[N2]] : f64
// LIN3-DAG: %[[D3:[a-z0-9_]+]] = arith.addf %[[N3]], %[[N3]] : f64
// LIN3: linalg.yield %[[D1]], %[[D2]], %[[D3]] : f64, f64, f64
func.func @linear(%x: tensor<4xf32>) -> tensor<4xf64> {
  %c = arith.constant 2.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f32, %o: f64):
    %w = arith.extf %a : f32 to f64
    %s = arith.subf %c, %w : f64
    %d = arith.addf %s, %s : f64
    linalg.yield %d : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}

// Piecewise-linear: the coefficients of the operand the primal picks (the
// first-order rule); no curvature, so the second coefficient is zero.
// RELU2-LABEL: func.func @relu_jet(
// RELU2: ^bb0(%[[A0:[a-z0-9_]+]]: f64, %[[A1:[a-z0-9_]+]]: f64,
// RELU2: %[[PICK:[a-z0-9_]+]] = arith.cmpf ogt, %[[A0]], %[[ZERO:[a-z0-9_]+]] : f64
// RELU2: %[[F1:[a-z0-9_]+]] = arith.select %[[PICK]], %[[A1]], %[[ZERO]] : f64
// RELU2: linalg.yield %[[F1]] : f64
// RELU2: return %{{.*}}, %{{.*}}, %{{.*}} :
func.func @relu(%x: tensor<4xf64>) -> tensor<4xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %m = arith.maximumf %a, %zero : f64
    linalg.yield %m : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}
