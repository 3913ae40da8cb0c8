// RUN: taylor-opt %s --taylor-gpu-split-reductions --split-input-file | FileCheck %s
// RUN: taylor-opt %s --taylor-gpu-split-reductions="min-parallel-work=64" --split-input-file | FileCheck %s --check-prefix=SMALL

// A sum of 4096 elements per row over 8 rows runs on 8 threads. The ratio
// is the largest divisor of 4096 up to 4096 / 4 (none reaches 16384 / 8
// partials): 8 x 1024 threads of 4 elements each, the new dimension
// outermost. The final reduction over 1024 qualifies in turn (ratio 256,
// then 64, then 16), down to a reduction of 16 < 64 elements.

// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @row_sums
// CHECK-SAME: (%[[X:.*]]: tensor<8x4096xf32>, %[[ACC:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [8, 1024, 4] : tensor<8x4096xf32> into tensor<8x1024x4xf32>
// CHECK-NEXT: %[[EMPTY:.*]] = tensor.empty() : tensor<1024x8xf32>
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<1024x8xf32>)
// CHECK-NEXT: %[[PART:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[E]] : tensor<8x1024x4xf32>) outs(%[[FILL]] : tensor<1024x8xf32>)
// CHECK: arith.addf
// CHECK: tensor.expand_shape %[[PART]] {{\[\[}}0, 1], [2]] output_shape [256, 4, 8] : tensor<1024x8xf32> into tensor<256x4x8xf32>
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<256x8xf32>)
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<64x8xf32>)
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: %[[R:.*]] = linalg.generic
// CHECK-SAME: iterator_types = ["reduction", "parallel"]
// CHECK-SAME: ins(%{{.*}} : tensor<16x8xf32>) outs(%[[ACC]] : tensor<8xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @row_sums(%x: tensor<8x4096xf32>, %acc: tensor<8xf32>) -> tensor<8xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                       affine_map<(d0, d1) -> (d0)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x4096xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// The ratio is the smallest divisor that reaches the parallel work target:
// 128 outputs need 16384 / 128 = 128 partials each (of 2048 / 128 = 16
// elements). The final reduction over 128 qualifies again (ratio 32: no
// divisor up to 128 / 4 reaches the target), then stops at 32 < 64. With
// min-parallel-work=64, 128 outputs are enough.

// CHECK-LABEL: func.func @sum_over_directions
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [128, 16, 128] : tensor<2048x128xf64> into tensor<128x16x128xf64>
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-SAME: outs(%{{.*}} : tensor<128x128xf64>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [32, 4, 128] : tensor<128x128xf64> into tensor<32x4x128xf64>
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<32x128xf64>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : tensor<32x128xf64>) outs(%{{.*}} : tensor<128xf64>)
// CHECK-NOT: linalg.generic
// SMALL-LABEL: func.func @sum_over_directions
// SMALL-NOT: tensor.expand_shape
// SMALL: linalg.generic
// SMALL-NOT: linalg.generic
// SMALL: return
func.func @sum_over_directions(%x: tensor<2048x128xf64>, %w: tensor<2048xf64>, %acc: tensor<128xf64>) -> tensor<128xf64> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                       affine_map<(d0, d1) -> (d0)>,
                       affine_map<(d0, d1) -> (d1)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%x, %w : tensor<2048x128xf64>, tensor<2048xf64>) outs(%acc : tensor<128xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %p = arith.mulf %a, %b : f64
    %s = arith.addf %p, %o : f64
    linalg.yield %s : f64
  } -> tensor<128xf64>
  return %r : tensor<128xf64>
}

// -----

// linalg.reduce with a max combiner: generalized, then split (the neutral
// element is -inf): 128 partials of 4 elements, then 32 of 4, then one
// thread for the last 32.

// CHECK-LABEL: func.func @reduce_max
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NINF]] : f32) outs(%{{.*}} : tensor<128xf32>)
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<32xf32>)
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["reduction"]
// CHECK-SAME: ins(%{{.*}} : tensor<32xf32>)
// CHECK: arith.maximumf
// CHECK-NOT: linalg.reduce
func.func @reduce_max(%x: tensor<512xf32>, %acc: tensor<f32>) -> tensor<f32> {
  %r = linalg.reduce ins(%x : tensor<512xf32>) outs(%acc : tensor<f32>) dimensions = [0]
    (%a: f32, %o: f32) {
      %m = arith.maximumf %a, %o : f32
      linalg.yield %m : f32
    }
  return %r : tensor<f32>
}

// -----

// Not split: enough parallel work (128 x 128 = 16384 threads).

// CHECK-LABEL: func.func @enough_parallel_work
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @enough_parallel_work(%x: tensor<128x128x256xf32>, %acc: tensor<128x128xf32>) -> tensor<128x128xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                       affine_map<(d0, d1, d2) -> (d0, d1)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<128x128x256xf32>) outs(%acc : tensor<128x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<128x128xf32>
  return %r : tensor<128x128xf32>
}

// -----

// Not split: a reduction of 32 < 64 elements.

// CHECK-LABEL: func.func @small_reduction
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @small_reduction(%x: tensor<4x32xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                       affine_map<(d0, d1) -> (d0)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Not split: a dynamic reduction size.

// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @dynamic(%x: tensor<4x?xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                       affine_map<(d0, d1) -> (d0)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x?xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Not split: the combiner (a subtraction) has no neutral element on both
// sides; nor a body that reads linalg.index, nor a prime reduction size.

// CHECK-LABEL: func.func @unsupported_combiner
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @unsupported_combiner(%x: tensor<4x256xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                       affine_map<(d0, d1) -> (d0)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x256xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.subf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// CHECK-LABEL: func.func @reads_index
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @reads_index(%x: tensor<4x256xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                       affine_map<(d0, d1) -> (d0)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x256xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i32
    %kf = arith.sitofp %ki : i32 to f32
    %p = arith.mulf %a, %kf : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// CHECK-LABEL: func.func @prime_size
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @prime_size(%x: tensor<4x257xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                       affine_map<(d0, d1) -> (d0)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x257xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Not split: a named contraction (left for BLAS).

// CHECK-LABEL: func.func @matmul
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.matmul
func.func @matmul(%a: tensor<2x4096xf32>, %b: tensor<4096x2xf32>, %c: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<2x4096xf32>, tensor<4096x2xf32>) outs(%c : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}
