// The CUDA target on a lowered jet program (the Laplacian of a tanh MLP,
// 2 -> 8 -> 8 -> 1, batch 4; the input of taylor-cpu-codegen).
//
// taylor-cuda-codegen is taylor-cuda-map, then taylor-cuda-kernels (the
// objects' compile times set aside):
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-codegen)' | sed -e 's/TimeInMs = [0-9]*/TimeInMs = 0/g' > %t.cuda
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-map, taylor-cuda-kernels)' | sed -e 's/TimeInMs = [0-9]*/TimeInMs = 0/g' | diff - %t.cuda
// RUN: FileCheck %s < %t.cuda
// The host code translates to LLVM IR (gpu.binary and gpu.launch_func through
// the GPU offloading translation):
// RUN: mlir-translate --mlir-to-llvmir %t.cuda | FileCheck %s --check-prefix=LLVMIR
// tanh comes from libdevice, linked and inlined (no call left in the PTX):
// RUN: FileCheck %s --check-prefix=LIBDEVICE < %t.cuda
//
// The mapped form (the launches outlined to see that the host itself does not
// touch memory):
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-map)' | FileCheck %s --check-prefix=MAP
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-map, gpu-kernel-outlining)' | FileCheck %s --check-prefix=HOST
//
// Options: one chip; generated kernels instead of cuBLAS; another block size.
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-codegen{chips=sm_90 cublas=false})' | FileCheck %s --check-prefix=SM90
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-map{block-size=16})' | FileCheck %s --check-prefix=B16

// Host code in the LLVM dialect: device memory, launches and cuBLAS calls.
// CHECK-NOT:   memref.
// CHECK-NOT:   gpu.launch blocks
// CHECK-LABEL: llvm.func @term0_order2(
// CHECK:         llvm.call @mgpuStreamCreate()
// CHECK:         llvm.call @mgpuMemAlloc(
// CHECK:         gpu.launch_func <%{{.*}} : !llvm.ptr> @taylor_kernels::@term0_order2_kernel_0 blocks in
// CHECK:         llvm.call @mgpuStreamSynchronize(
// CHECK:         llvm.call @taylor_rt_cublas_gemm_f64(
// CHECK:         llvm.call @mgpuMemcpy(
// CHECK:         llvm.call @mgpuMemFree(
// All kernels in one gpu.binary, with one PTX object per chip, sm_80 first
// (the one loaded; its PTX JIT-compiles on newer GPUs).
// CHECK:       gpu.binary @taylor_kernels  [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, properties = {{.*}}, assembly = "{{.*}}.version 8.0{{.*}}.target sm_80{{.*}}">, #gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, properties = {{.*}}, assembly = "{{.*}}.target sm_90{{.*}}">]
// CHECK-NOT:   gpu.binary

// LIBDEVICE: .visible .entry term0_order2_kernel_0(
// LIBDEVICE-NOT: __nv_tanh

// LLVMIR-DAG: call ptr @mgpuModuleLoadJIT(
// LLVMIR-DAG: call void @mgpuLaunchKernel(
// LLVMIR-DAG: call void @taylor_rt_cublas_gemm_f64(
// LLVMIR-DAG: @taylor_kernels_binary = internal constant

// MAP-LABEL: func.func @term0_order2(
// MAP-SAME:    %{{.*}}: memref<4x1xf64>) {
// MAP:         %[[BUF:.*]] = gpu.alloc  () : memref<2x8xf64>
// MAP:         gpu.launch blocks({{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in
// MAP:           arith.remsi %[[TX]]
// MAP:           memref.store %{{.*}}, %[[BUF]]
// MAP:         call @taylor_rt_cublas_gemm_f64(
// MAP:         math.tanh
// MAP:         gpu.dealloc
// MAP:         gpu.memcpy  %arg8, %{{.*}} : memref<4x1xf64>, memref<4x1xf64>
// MAP-NOT:     memref.alloc
// MAP-NOT:     memref.dealloc
// MAP-NOT:     memref.copy
// MAP-NOT:     linalg.
// MAP:         return

// HOST-LABEL: func.func @term0_order2(
// HOST-NOT:     memref.load
// HOST-NOT:     memref.store
// HOST:         return
// HOST:       gpu.module @taylor_kernels
// HOST-NOT:   gpu.module

// SM90-NOT:    taylor_rt_cublas_gemm
// SM90:        gpu.binary @taylor_kernels  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, properties = {{.*}}, assembly = "{{.*}}.target sm_90{{.*}}">]

// 16 threads per block: 64 elements in 4 blocks.
// B16-LABEL: func.func @term0_order2(
// B16-DAG:     %[[C4:.*]] = arith.constant 4 : index
// B16-DAG:     %[[C16:.*]] = arith.constant 16 : index
// B16:         gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C4]], {{.*}}) threads({{.*}}) in (%{{.*}} = %[[C16]],

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map6 = affine_map<(d0, d1) -> (d0, d1)>
#map7 = affine_map<(d0, d1) -> (d1)>
#map8 = affine_map<(d0, d1, d2) -> (d1, d2)>
#map9 = affine_map<(d0, d1, d2) -> (d0)>
module {
  func.func @term0_order2(%arg0: tensor<4x2xf64>, %arg1: tensor<2xf64>, %arg2: tensor<8x2xf64>, %arg3: tensor<8xf64>, %arg4: tensor<8x8xf64>, %arg5: tensor<8xf64>, %arg6: tensor<1x8xf64>, %arg7: tensor<1xf64>) -> tensor<4x1xf64> {
    %cst = arith.constant -2.000000e+00 : f64
    %cst_0 = arith.constant 2.000000e+00 : f64
    %cst_1 = arith.constant -1.000000e+00 : f64
    %cst_2 = arith.constant 0.000000e+00 : f64
    %cst_3 = arith.constant 1.000000e+00 : f64
    %0 = tensor.empty() : tensor<2x4x2xf64>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel"]} outs(%0 : tensor<2x4x2xf64>) {
    ^bb0(%out: f64):
      %28 = linalg.index 0 : index
      %29 = linalg.index 2 : index
      %30 = arith.cmpi eq, %28, %29 : index
      %31 = arith.select %30, %cst_3, %cst_2 : f64
      linalg.yield %31 : f64
    } -> tensor<2x4x2xf64>
    %2 = tensor.empty() : tensor<2x8xf64>
    %transposed = linalg.transpose ins(%arg2 : tensor<8x2xf64>) outs(%2 : tensor<2x8xf64>) permutation = [1, 0] 
    %3 = tensor.empty() : tensor<4x8xf64>
    %4 = linalg.fill ins(%cst_2 : f64) outs(%3 : tensor<4x8xf64>) -> tensor<4x8xf64>
    %5 = linalg.matmul ins(%arg0, %transposed : tensor<4x2xf64>, tensor<2x8xf64>) outs(%4 : tensor<4x8xf64>) -> tensor<4x8xf64>
    %6 = tensor.empty() : tensor<2x4x8xf64>
    %7 = linalg.fill ins(%cst_2 : f64) outs(%6 : tensor<2x4x8xf64>) -> tensor<2x4x8xf64>
    %8 = linalg.generic {indexing_maps = [#map1, #map2, #map3, #map4, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %1, %transposed, %4 : tensor<4x2xf64>, tensor<2x4x2xf64>, tensor<2x8xf64>, tensor<4x8xf64>) outs(%7 : tensor<2x4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %in_9: f64, %in_10: f64, %out: f64):
      %28 = arith.mulf %in_8, %in_9 : f64
      %29 = arith.addf %out, %28 : f64
      linalg.yield %29 : f64
    } -> tensor<2x4x8xf64>
    %9 = linalg.generic {indexing_maps = [#map6, #map7, #map6], iterator_types = ["parallel", "parallel"]} ins(%5, %arg3 : tensor<4x8xf64>, tensor<8xf64>) outs(%3 : tensor<4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %out: f64):
      %28 = arith.addf %in, %in_8 : f64
      linalg.yield %28 : f64
    } -> tensor<4x8xf64>
    %10 = linalg.generic {indexing_maps = [#map6, #map6], iterator_types = ["parallel", "parallel"]} ins(%9 : tensor<4x8xf64>) outs(%3 : tensor<4x8xf64>) {
    ^bb0(%in: f64, %out: f64):
      %28 = math.tanh %in : f64
      linalg.yield %28 : f64
    } -> tensor<4x8xf64>
    %11:2 = linalg.generic {indexing_maps = [#map8, #map, #map8, #map9, #map, #map8], iterator_types = ["reduction", "parallel", "parallel"]} ins(%9, %8, %3, %arg1 : tensor<4x8xf64>, tensor<2x4x8xf64>, tensor<4x8xf64>, tensor<2xf64>) outs(%6, %4 : tensor<2x4x8xf64>, tensor<4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %in_9: f64, %in_10: f64, %out: f64, %out_11: f64):
      %28 = math.tanh %in : f64
      %29 = arith.mulf %28, %cst_1 : f64
      %30 = arith.mulf %29, %28 : f64
      %31 = arith.addf %30, %cst_3 : f64
      %32 = arith.mulf %28, %cst_0 : f64
      %33 = arith.mulf %32, %28 : f64
      %34 = arith.addf %33, %cst : f64
      %35 = arith.mulf %34, %28 : f64
      %36 = arith.mulf %31, %in_8 : f64
      %37 = arith.mulf %in_8, %in_8 : f64
      %38 = arith.mulf %35, %37 : f64
      %39 = arith.mulf %in_10, %38 : f64
      %40 = arith.addf %out_11, %39 : f64
      linalg.yield %36, %40 : f64, f64
    } -> (tensor<2x4x8xf64>, tensor<4x8xf64>)
    %12 = tensor.empty() : tensor<8x8xf64>
    %transposed_4 = linalg.transpose ins(%arg4 : tensor<8x8xf64>) outs(%12 : tensor<8x8xf64>) permutation = [1, 0] 
    %13 = linalg.matmul ins(%10, %transposed_4 : tensor<4x8xf64>, tensor<8x8xf64>) outs(%4 : tensor<4x8xf64>) -> tensor<4x8xf64>
    %expanded = tensor.expand_shape %11#1 [[0, 1], [2]] output_shape [1, 4, 8] : tensor<4x8xf64> into tensor<1x4x8xf64>
    %14 = tensor.empty() : tensor<1x4x8xf64>
    %15 = linalg.fill ins(%cst_2 : f64) outs(%14 : tensor<1x4x8xf64>) -> tensor<1x4x8xf64>
    %16 = linalg.generic {indexing_maps = [#map1, #map2, #map3, #map4, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%10, %expanded, %transposed_4, %4 : tensor<4x8xf64>, tensor<1x4x8xf64>, tensor<8x8xf64>, tensor<4x8xf64>) outs(%15 : tensor<1x4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %in_9: f64, %in_10: f64, %out: f64):
      %28 = arith.mulf %in_8, %in_9 : f64
      %29 = arith.addf %out, %28 : f64
      linalg.yield %29 : f64
    } -> tensor<1x4x8xf64>
    %17 = linalg.generic {indexing_maps = [#map1, #map2, #map3, #map4, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%10, %11#0, %transposed_4, %4 : tensor<4x8xf64>, tensor<2x4x8xf64>, tensor<8x8xf64>, tensor<4x8xf64>) outs(%7 : tensor<2x4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %in_9: f64, %in_10: f64, %out: f64):
      %28 = arith.mulf %in_8, %in_9 : f64
      %29 = arith.addf %out, %28 : f64
      linalg.yield %29 : f64
    } -> tensor<2x4x8xf64>
    %18 = linalg.generic {indexing_maps = [#map6, #map7, #map6], iterator_types = ["parallel", "parallel"]} ins(%13, %arg5 : tensor<4x8xf64>, tensor<8xf64>) outs(%3 : tensor<4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %out: f64):
      %28 = arith.addf %in, %in_8 : f64
      linalg.yield %28 : f64
    } -> tensor<4x8xf64>
    %19 = linalg.generic {indexing_maps = [#map6, #map6], iterator_types = ["parallel", "parallel"]} ins(%18 : tensor<4x8xf64>) outs(%3 : tensor<4x8xf64>) {
    ^bb0(%in: f64, %out: f64):
      %28 = math.tanh %in : f64
      linalg.yield %28 : f64
    } -> tensor<4x8xf64>
    %20 = linalg.generic {indexing_maps = [#map8, #map, #map8, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %16, %3 : tensor<4x8xf64>, tensor<1x4x8xf64>, tensor<4x8xf64>) outs(%14 : tensor<1x4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %in_9: f64, %out: f64):
      %28 = math.tanh %in : f64
      %29 = arith.mulf %28, %cst_1 : f64
      %30 = arith.mulf %29, %28 : f64
      %31 = arith.addf %30, %cst_3 : f64
      %32 = arith.mulf %31, %in_8 : f64
      linalg.yield %32 : f64
    } -> tensor<1x4x8xf64>
    %collapsed = tensor.collapse_shape %20 [[0, 1], [2]] : tensor<1x4x8xf64> into tensor<4x8xf64>
    %21:2 = linalg.generic {indexing_maps = [#map8, #map, #map8, #map9, #map, #map8], iterator_types = ["reduction", "parallel", "parallel"]} ins(%18, %17, %3, %arg1 : tensor<4x8xf64>, tensor<2x4x8xf64>, tensor<4x8xf64>, tensor<2xf64>) outs(%6, %collapsed : tensor<2x4x8xf64>, tensor<4x8xf64>) {
    ^bb0(%in: f64, %in_8: f64, %in_9: f64, %in_10: f64, %out: f64, %out_11: f64):
      %28 = math.tanh %in : f64
      %29 = arith.mulf %28, %cst_1 : f64
      %30 = arith.mulf %29, %28 : f64
      %31 = arith.addf %30, %cst_3 : f64
      %32 = arith.mulf %28, %cst_0 : f64
      %33 = arith.mulf %32, %28 : f64
      %34 = arith.addf %33, %cst : f64
      %35 = arith.mulf %34, %28 : f64
      %36 = arith.mulf %31, %in_8 : f64
      %37 = arith.mulf %in_8, %in_8 : f64
      %38 = arith.mulf %35, %37 : f64
      %39 = arith.mulf %in_10, %38 : f64
      %40 = arith.addf %out_11, %39 : f64
      linalg.yield %36, %40 : f64, f64
    } -> (tensor<2x4x8xf64>, tensor<4x8xf64>)
    %22 = tensor.empty() : tensor<8x1xf64>
    %transposed_5 = linalg.transpose ins(%arg6 : tensor<1x8xf64>) outs(%22 : tensor<8x1xf64>) permutation = [1, 0] 
    %23 = tensor.empty() : tensor<4x1xf64>
    %24 = linalg.fill ins(%cst_2 : f64) outs(%23 : tensor<4x1xf64>) -> tensor<4x1xf64>
    %expanded_6 = tensor.expand_shape %21#1 [[0, 1], [2]] output_shape [1, 4, 8] : tensor<4x8xf64> into tensor<1x4x8xf64>
    %25 = tensor.empty() : tensor<1x4x1xf64>
    %26 = linalg.fill ins(%cst_2 : f64) outs(%25 : tensor<1x4x1xf64>) -> tensor<1x4x1xf64>
    %27 = linalg.generic {indexing_maps = [#map1, #map2, #map3, #map4, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %expanded_6, %transposed_5, %24 : tensor<4x8xf64>, tensor<1x4x8xf64>, tensor<8x1xf64>, tensor<4x1xf64>) outs(%26 : tensor<1x4x1xf64>) {
    ^bb0(%in: f64, %in_8: f64, %in_9: f64, %in_10: f64, %out: f64):
      %28 = arith.mulf %in_8, %in_9 : f64
      %29 = arith.addf %out, %28 : f64
      linalg.yield %29 : f64
    } -> tensor<1x4x1xf64>
    %collapsed_7 = tensor.collapse_shape %27 [[0, 1], [2]] : tensor<1x4x1xf64> into tensor<4x1xf64>
    return %collapsed_7 : tensor<4x1xf64>
  }
}
