# RUN: %python %s | FileCheck %s
"""Builds taylor IR with the generated Python builders and verifies it."""

from taylor_mlir import ir
from taylor_mlir.dialects import func, taylor


def run(f):
    print("\nTEST:", f.__name__)
    with ir.Context(), ir.Location.unknown():
        f()
    return f


# CHECK-LABEL: TEST: jet_type
@run
def jet_type():
    value = ir.RankedTensorType.get([8, 5], ir.F64Type.get())
    jet = taylor.JetType.get(2, 5, value)
    # CHECK: !taylor.jet<2, 5, tensor<8x5xf64>> 2 5 False
    print(jet, jet.order, jet.directions, jet.collapsed)
    # CHECK: tensor<8x5xf64> tensor<5x8x5xf64> tensor<5x8x5xf64>
    print(*(jet.coefficient_type(k) for k in range(3)))
    collapsed = taylor.JetType.get(2, 5, value, collapsed=True)
    # CHECK: !taylor.jet<2, 5, tensor<8x5xf64>, collapsed> tensor<8x5xf64>
    print(collapsed, collapsed.coefficient_type(2))
    # The parsed type is the same object and downcasts to JetType.
    parsed = ir.Type.parse("!taylor.jet<2, 5, tensor<8x5xf64>>")
    # CHECK: True True
    print(parsed == jet, isinstance(parsed, taylor.JetType))
    # CHECK: JetType(!taylor.jet<2, 5, tensor<8x5xf64>>)
    print(repr(taylor.JetType(parsed)))
    # CHECK: False
    print(isinstance(value, taylor.JetType))


# CHECK-LABEL: TEST: jet_type_errors
@run
def jet_type_errors():
    value = ir.RankedTensorType.get([4], ir.F32Type.get())
    try:
        taylor.JetType.get(0, 3, value)
    except ir.MLIRError as e:
        # CHECK: Invalid jet type:
        # CHECK: jet order must be at least 1, got 0
        print(e)
    try:
        taylor.JetType.get(1, 3, ir.F32Type.get())
    except ir.MLIRError as e:
        # CHECK: jet value type must be a ranked tensor type, got 'f32'
        print(e)
    try:
        taylor.JetType.get(2, 3, value).coefficient_type(3)
    except IndexError as e:
        # CHECK: coefficient index 3 is out of range for a jet of order 2
        print(e)


# CHECK-LABEL: TEST: build_and_verify
@run
def build_and_verify():
    f64 = ir.F64Type.get()
    primal = ir.RankedTensorType.get([4], f64)
    directional = ir.RankedTensorType.get([3, 4], f64)
    weights = ir.RankedTensorType.get([3], f64)
    jet_type = taylor.JetType.get(2, 3, primal)
    module = ir.Module.create()
    with ir.InsertionPoint(module.body):

        @func.FuncOp.from_py_func(primal, directional, directional, weights)
        def laplacian_like(x0, x1, x2, w):
            jet = taylor.make_jet(jet_type, [x0, x1, x2])
            summed = taylor.sum(jet, weights=w)
            ones = taylor.SumOp(jet, static_weights=[1.0, 1.0, 1.0])
            top = taylor.coeff(summed, 2)
            first = taylor.CoeffOp(ones.result, 1)
            # The result types of sum and coeff are inferred.
            print("inferred:", summed.type, top.type, first.result.type)
            return top, first.result

    # CHECK: inferred: !taylor.jet<2, 3, tensor<4xf64>, collapsed> tensor<4xf64> tensor<3x4xf64>
    # CHECK: True
    print(module.operation.verify())
    # CHECK: func.func @laplacian_like(%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[W:.*]]: tensor<3xf64>) -> (tensor<4xf64>, tensor<3x4xf64>)
    # CHECK: %[[J:.*]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]] : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !taylor.jet<2, 3, tensor<4xf64>>
    # CHECK: %[[S:.*]] = taylor.sum %[[J]] weights(%[[W]] : tensor<3xf64>) : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
    # CHECK: %[[O:.*]] = taylor.sum %[[J]] static_weights [1.000000e+00, 1.000000e+00, 1.000000e+00]
    # CHECK: taylor.coeff %[[S]][2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
    # CHECK: taylor.coeff %[[O]][1] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<3x4xf64>
    print(module)


# CHECK-LABEL: TEST: verifier_rejects
@run
def verifier_rejects():
    f64 = ir.F64Type.get()
    primal = ir.RankedTensorType.get([4], f64)
    jet_type = taylor.JetType.get(2, 3, primal)
    module = ir.Module.create()
    with ir.InsertionPoint(module.body):

        @func.FuncOp.from_py_func(primal)
        def too_few(x0):
            taylor.make_jet(jet_type, [x0])
            return

    try:
        module.operation.verify()
    except ir.MLIRError as e:
        # CHECK: 'taylor.make_jet' op expects 3 coefficients for a jet of order 2, got 1
        print(e)
