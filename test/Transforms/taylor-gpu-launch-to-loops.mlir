// RUN: taylor-opt %s --taylor-gpu-launch-to-loops --split-input-file | FileCheck %s

// A 2-D tiled launch, as convert-parallel-loops-to-gpu maps a tiled
// scf.parallel with a bounds guard: the grid loop holds the block loop, the
// body reads the loop indices.

// CHECK-LABEL: func.func @tiled_2d
// CHECK-SAME: (%[[A:.*]]: memref<100x70xf32>, %[[B:.*]]: memref<100x70xf32>)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C13:.*]] = arith.constant 13 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT: scf.parallel (%[[BX:.*]], %[[BY:.*]], %[[BZ:.*]]) = (%[[ZERO]], %[[ZERO]], %[[ZERO]]) to (%[[C13]], %[[C3]], %[[C1]]) step (%[[ONE]], %[[ONE]], %[[ONE]]) {
// CHECK-NEXT: scf.parallel (%[[TX:.*]], %[[TY:.*]], %[[TZ:.*]]) = (%[[ZERO]], %[[ZERO]], %[[ZERO]]) to (%[[C8]], %[[C32]], %[[C1]]) step (%[[ONE]], %[[ONE]], %[[ONE]]) {
// CHECK-NEXT: %[[X0:.*]] = affine.apply #{{.*}}()[%[[BX]]]
// CHECK-NEXT: %[[Y0:.*]] = affine.apply #{{.*}}()[%[[BY]]]
// CHECK-NEXT: %[[X:.*]] = arith.addi %[[X0]], %[[TX]] : index
// CHECK-NEXT: %[[Y:.*]] = arith.addi %[[Y0]], %[[TY]] : index
// CHECK: scf.if
// CHECK-NEXT: %[[V:.*]] = memref.load %[[A]][%[[X]], %[[Y]]]
// CHECK-NEXT: %[[W:.*]] = math.exp %[[V]]
// CHECK-NEXT: memref.store %[[W]], %[[B]][%[[X]], %[[Y]]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// CHECK-NEXT: }
// CHECK-NOT: gpu.
// CHECK: return
func.func @tiled_2d(%a: memref<100x70xf32>, %b: memref<100x70xf32>) {
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  %c70 = arith.constant 70 : index
  %c13 = arith.constant 13 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c13, %gy = %c3, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c32, %sz = %c1) {
    %0 = affine.apply affine_map<()[s0] -> (s0 * 8)>()[%bx]
    %1 = affine.apply affine_map<()[s0] -> (s0 * 32)>()[%by]
    %2 = arith.addi %0, %tx : index
    %3 = arith.addi %1, %ty : index
    %4 = arith.cmpi slt, %2, %c100 : index
    %5 = arith.cmpi slt, %3, %c70 : index
    %6 = arith.andi %4, %5 : i1
    scf.if %6 {
      %7 = memref.load %a[%2, %3] : memref<100x70xf32>
      %8 = math.exp %7 : f32
      memref.store %8, %b[%2, %3] : memref<100x70xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// The id ops and the region's size arguments read the loop indices and the
// launch's sizes; gpu.global_id is block id * block size + thread id.

// CHECK-LABEL: func.func @id_ops
// CHECK-SAME: (%[[OUT:.*]]: memref<?xindex>, %[[G:.*]]: index, %[[N:.*]]: index)
// CHECK: scf.parallel (%[[BX:.*]], %{{.*}}, %{{.*}}) = {{.*}} to (%[[G]], %{{.*}}, %{{.*}})
// CHECK-NEXT: scf.parallel (%[[TX:.*]], %{{.*}}, %{{.*}}) = {{.*}} to (%[[N]], %{{.*}}, %{{.*}})
// CHECK-NEXT: %[[M:.*]] = arith.muli %[[BX]], %[[N]] : index
// CHECK-NEXT: %[[GID:.*]] = arith.addi %[[M]], %[[TX]] : index
// CHECK-NEXT: %[[M2:.*]] = arith.muli %[[BX]], %[[N]] : index
// CHECK-NEXT: %[[I:.*]] = arith.addi %[[M2]], %[[TX]] : index
// CHECK-NEXT: %[[T:.*]] = arith.muli %[[G]], %[[N]] : index
// CHECK-NEXT: %[[T2:.*]] = arith.muli %[[G]], %[[N]] : index
// CHECK-NEXT: %[[S:.*]] = arith.addi %[[T]], %[[T2]] : index
// CHECK-NEXT: %[[V:.*]] = arith.addi %[[S]], %[[GID]] : index
// CHECK-NEXT: memref.store %[[V]], %[[OUT]][%[[I]]]
func.func @id_ops(%out: memref<?xindex>, %g: index, %n: index) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %g, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %n, %sy = %c1, %sz = %c1) {
    %gid = gpu.global_id x
    %b = gpu.block_id x
    %t = gpu.thread_id x
    %d = gpu.block_dim x
    %m = arith.muli %b, %d : index
    %i = arith.addi %m, %t : index
    %gd = gpu.grid_dim x
    %total = arith.muli %gd, %d : index
    %total2 = arith.muli %gx, %sx : index
    %s = arith.addi %total, %total2 : index
    %v = arith.addi %s, %gid : index
    memref.store %v, %out[%i] : memref<?xindex>
    gpu.terminator
  }
  return
}

// -----

// A body with several blocks runs in an scf.execute_region.

// CHECK-LABEL: func.func @cfg_body
// CHECK: scf.parallel
// CHECK-NEXT: scf.parallel (%[[TX:.*]], %{{.*}}, %{{.*}}) =
// CHECK-NEXT: scf.execute_region {
// CHECK-NEXT: %[[C:.*]] = arith.cmpi eq, %[[TX]], %{{.*}} : index
// CHECK-NEXT: cf.cond_br %[[C]], ^[[BB1:.*]], ^[[BB2:.*]]
// CHECK-NEXT: ^[[BB1]]:
// CHECK-NEXT: memref.store
// CHECK-NEXT: cf.br ^[[BB2]]
// CHECK-NEXT: ^[[BB2]]:
// CHECK-NEXT: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
func.func @cfg_body(%out: memref<4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %first = arith.cmpi eq, %tx, %c0 : index
    cf.cond_br %first, ^store, ^done
  ^store:
    memref.store %x, %out[%tx] : memref<4xf32>
    cf.br ^done
  ^done:
    gpu.terminator
  }
  return
}

// -----

// Host-side buffer ops become their memref counterparts; a synchronous
// gpu.wait goes.

// CHECK-LABEL: func.func @host_ops
// CHECK-SAME: (%[[H:.*]]: memref<?xf64>, %[[N:.*]]: index)
// CHECK-NEXT: %[[CST:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT: %[[D:.*]] = memref.alloc(%[[N]]) : memref<?xf64>
// CHECK-NEXT: %[[S:.*]] = memref.alloc() : memref<8xf64>
// CHECK-NEXT: memref.copy %[[H]], %[[D]] : memref<?xf64> to memref<?xf64>
// CHECK-NEXT: linalg.fill ins(%[[CST]] : f64) outs(%[[S]] : memref<8xf64>)
// CHECK-NEXT: memref.copy %[[D]], %[[H]] : memref<?xf64> to memref<?xf64>
// CHECK-NEXT: memref.dealloc %[[D]] : memref<?xf64>
// CHECK-NEXT: memref.dealloc %[[S]] : memref<8xf64>
// CHECK-NEXT: return
func.func @host_ops(%h: memref<?xf64>, %n: index) {
  %zero = arith.constant 0.0 : f64
  %d = gpu.alloc (%n) : memref<?xf64>
  %s = gpu.alloc host_shared () : memref<8xf64>
  gpu.memcpy %d, %h : memref<?xf64>, memref<?xf64>
  gpu.memset %s, %zero : memref<8xf64>, f64
  gpu.wait
  gpu.memcpy %h, %d : memref<?xf64>, memref<?xf64>
  gpu.dealloc %d : memref<?xf64>
  gpu.dealloc %s : memref<8xf64>
  return
}

// -----

// cuBLAS calls call the CPU BLAS shim (same signature); the unused cuBLAS
// declaration goes.

// CHECK-NOT: taylor_rt_cublas_gemm
// CHECK: func.func private @taylor_rt_gemm_f64(memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, f64) attributes {llvm.emit_c_interface}
// CHECK-NOT: taylor_rt_cublas_gemm
// CHECK-LABEL: func.func @gemm
// CHECK: call @taylor_rt_gemm_f64(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, f64) -> ()
// CHECK-NOT: taylor_rt_cublas_gemm
func.func private @taylor_rt_cublas_gemm_f64(
    memref<?x?xf64, strided<[?, ?], offset: ?>>,
    memref<?x?xf64, strided<[?, ?], offset: ?>>,
    memref<?x?xf64, strided<[?, ?], offset: ?>>, f64)
    attributes {llvm.emit_c_interface}
func.func @gemm(%a: memref<4x8xf64>, %b: memref<8x2xf64>, %c: memref<4x2xf64>) {
  %beta = arith.constant 0.0 : f64
  %0 = memref.cast %a : memref<4x8xf64> to memref<?x?xf64, strided<[?, ?], offset: ?>>
  %1 = memref.cast %b : memref<8x2xf64> to memref<?x?xf64, strided<[?, ?], offset: ?>>
  %2 = memref.cast %c : memref<4x2xf64> to memref<?x?xf64, strided<[?, ?], offset: ?>>
  call @taylor_rt_cublas_gemm_f64(%0, %1, %2, %beta) : (memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, f64) -> ()
  return
}

// -----

// An existing declaration of the CPU shim is reused.

// CHECK-LABEL: func.func private @taylor_rt_gemm_f32
// CHECK-NOT: func.func private @taylor_rt_gemm_f32
// CHECK-NOT: taylor_rt_cublas_gemm
// CHECK-LABEL: func.func @gemm_existing
// CHECK: call @taylor_rt_gemm_f32
// CHECK: call @taylor_rt_gemm_f32
func.func private @taylor_rt_gemm_f32(
    memref<?x?xf32, strided<[?, ?], offset: ?>>,
    memref<?x?xf32, strided<[?, ?], offset: ?>>,
    memref<?x?xf32, strided<[?, ?], offset: ?>>, f32)
    attributes {llvm.emit_c_interface}
func.func private @taylor_rt_cublas_gemm_f32(
    memref<?x?xf32, strided<[?, ?], offset: ?>>,
    memref<?x?xf32, strided<[?, ?], offset: ?>>,
    memref<?x?xf32, strided<[?, ?], offset: ?>>, f32)
    attributes {llvm.emit_c_interface}
func.func @gemm_existing(%a: memref<?x?xf32, strided<[?, ?], offset: ?>>, %beta: f32) {
  call @taylor_rt_gemm_f32(%a, %a, %a, %beta) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, f32) -> ()
  call @taylor_rt_cublas_gemm_f32(%a, %a, %a, %beta) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, f32) -> ()
  return
}
