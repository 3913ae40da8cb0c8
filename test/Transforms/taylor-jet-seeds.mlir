// Input-coefficient seeds and the selection of returned coefficients.
// RUN: taylor-opt %s --taylor-jet="order=2 directions=3 seed=broadcast" | FileCheck %s --check-prefix=BCAST
// RUN: taylor-opt %s --taylor-jet="order=2 directions=3 seed=identity sum-top result-coefficients=2" | FileCheck %s --check-prefix=IDENT
// RUN: taylor-opt %s --taylor-jet="order=3 directions=3 input-coefficients=1 result-coefficients=0,3" | FileCheck %s --check-prefix=RESULTS

func.func @f(%x: tensor<?x3xf64>) -> tensor<?x3xf64> {
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x3xf64>) outs(%x : tensor<?x3xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.sin %a : f64
    linalg.yield %t : f64
  } -> tensor<?x3xf64>
  return %r : tensor<?x3xf64>
}

// One set of directions for the whole batch, broadcast along dimension 0.
// BCAST-LABEL: func.func @f_jet(
// BCAST-SAME:    %[[X:.*]]: tensor<?x3xf64>, %[[V1:.*]]: tensor<3x3xf64>, %[[V2:.*]]: tensor<3x3xf64>)
// BCAST-SAME:    -> (tensor<?x3xf64>, tensor<3x?x3xf64>, tensor<3x?x3xf64>)
// BCAST:         %[[B:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x3xf64>
// BCAST:         %[[E1:.*]] = tensor.empty(%[[B]]) : tensor<3x?x3xf64>
// BCAST:         %[[X1:.*]] = linalg.broadcast ins(%[[V1]] : tensor<3x3xf64>) outs(%[[E1]] : tensor<3x?x3xf64>) dimensions = [1]
// BCAST:         %[[X2:.*]] = linalg.broadcast ins(%[[V2]] : tensor<3x3xf64>)
// BCAST:         taylor.make_jet %[[X]], %[[X1]], %[[X2]]

// Unit directions generated in the function: no argument for x_1; only the
// summed f_2 is returned.
// IDENT-LABEL: func.func @f_jet(
// IDENT-SAME:    %[[X:.*]]: tensor<?x3xf64>) -> tensor<?x3xf64>
// IDENT:         %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<3x?x3xf64>
// IDENT:         %[[X1:.*]] = linalg.generic {{.*}} outs(%[[E]] : tensor<3x?x3xf64>)
// IDENT:           %[[R:.*]] = linalg.index 0 : index
// IDENT:           %[[D:.*]] = linalg.index 2 : index
// IDENT:           %[[EQ:.*]] = arith.cmpi eq, %[[R]], %[[D]] : index
// IDENT:           arith.select %[[EQ]]
// IDENT:         taylor.make_jet %[[X]], %[[X1]], %{{.*}}
// IDENT:         %[[S:.*]] = taylor.sum
// IDENT:         %[[F2:.*]] = taylor.coeff %[[S]][2]
// IDENT:         return %[[F2]] : tensor<?x3xf64>

// RESULTS-LABEL: func.func @f_jet(
// RESULTS-SAME:    -> (tensor<?x3xf64>, tensor<3x?x3xf64>)
// RESULTS:         %[[P:.*]] = taylor.propagate
// RESULTS-DAG:     %[[F0:.*]] = taylor.coeff %[[P]][0]
// RESULTS-DAG:     %[[F3:.*]] = taylor.coeff %[[P]][3]
// RESULTS:         return %[[F0]], %[[F3]]
