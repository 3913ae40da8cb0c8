// RUN: taylor-opt %s --pass-pipeline="builtin.module(func.func(taylor-fuse-sub-byte-tensors), canonicalize, cse)" | FileCheck %s

// A mask reduced over rows (torch `all`, as attention's softmax computes)
// and read by two ops cannot be fused into both: it is stored as i8, and
// each reader narrows it back to i1 in its own body.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @all_read_twice(%x: tensor<4x3xf64>, %y: tensor<4x3xf64>) -> (tensor<4x3xf64>, tensor<4x3xf64>) {
  %true = arith.constant true
  %zero = arith.constant 0.0 : f64
  %e1 = tensor.empty() : tensor<4x3xi1>
  %isneg = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x3xf64>) outs(%e1 : tensor<4x3xi1>) {
  ^bb0(%a: f64, %o: i1):
    %c = arith.cmpf olt, %a, %zero : f64
    linalg.yield %c : i1
  } -> tensor<4x3xi1>
  %e2 = tensor.empty() : tensor<4x1xi1>
  %init = linalg.fill ins(%true : i1) outs(%e2 : tensor<4x1xi1>) -> tensor<4x1xi1>
  %all = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%isneg : tensor<4x3xi1>) outs(%init : tensor<4x1xi1>) {
  ^bb0(%a: i1, %acc: i1):
    %r = arith.andi %a, %acc : i1
    linalg.yield %r : i1
  } -> tensor<4x1xi1>
  %e3 = tensor.empty() : tensor<4x3xf64>
  %r1 = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%all, %x : tensor<4x1xi1>, tensor<4x3xf64>) outs(%e3 : tensor<4x3xf64>) {
  ^bb0(%m: i1, %a: f64, %o: f64):
    %s = arith.select %m, %zero, %a : f64
    linalg.yield %s : f64
  } -> tensor<4x3xf64>
  %r2 = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%all, %y : tensor<4x1xi1>, tensor<4x3xf64>) outs(%e3 : tensor<4x3xf64>) {
  ^bb0(%m: i1, %a: f64, %o: f64):
    %s = arith.select %m, %a, %zero : f64
    linalg.yield %s : f64
  } -> tensor<4x3xf64>
  return %r1, %r2 : tensor<4x3xf64>, tensor<4x3xf64>
}

// CHECK-LABEL: func.func @all_read_twice
// CHECK:         %[[ONE:.*]] = arith.constant 1 : i8
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%[[ONE]] : i8) outs(%{{.*}} : tensor<4x1xi8>)
// CHECK:         %[[ALL:.*]] = linalg.generic {{.*}} outs(%[[INIT]] : tensor<4x1xi8>)
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: f64, %[[ACC:.*]]: i8):
// CHECK-NEXT:      %[[NARROW:.*]] = arith.trunci %[[ACC]] : i8 to i1
// CHECK-NEXT:      %[[NEG:.*]] = arith.cmpf olt, %[[IN]]
// CHECK-NEXT:      %[[AND:.*]] = arith.andi %[[NEG]], %[[NARROW]] : i1
// CHECK-NEXT:      %[[WIDE:.*]] = arith.extui %[[AND]] : i1 to i8
// CHECK-NEXT:      linalg.yield %[[WIDE]] : i8
// CHECK:         linalg.generic {{.*}} ins(%[[ALL]], %{{.*}} : tensor<4x1xi8>, tensor<4x3xf64>)
// CHECK:           arith.trunci %{{.*}} : i8 to i1
// CHECK:           arith.select
// CHECK:         linalg.generic {{.*}} ins(%[[ALL]], %{{.*}} : tensor<4x1xi8>, tensor<4x3xf64>)
// CHECK:           arith.trunci %{{.*}} : i8 to i1
// CHECK:           arith.select
// CHECK-NOT:     xi1>
// CHECK:         return
