// RUN: taylor-opt %s --taylor-gpu-map-loops -split-input-file | FileCheck %s --check-prefix=MAP
// RUN: taylor-opt %s --taylor-gpu-map-loops --convert-parallel-loops-to-gpu --canonicalize -split-input-file | FileCheck %s
// RUN: taylor-opt %s --taylor-gpu-map-loops=block-size=64 --convert-parallel-loops-to-gpu --canonicalize -split-input-file | FileCheck %s --check-prefix=B64
// RUN: taylor-opt %s --taylor-gpu-map-loops=kernel-module= -split-input-file | FileCheck %s --check-prefix=UNNAMED

// 1-D loop smaller than a block: one block of exactly 24 threads. The outer
// loop goes to block x, the inner one to thread x; the outer one names the
// kernel's module and function for outlining.
// MAP-LABEL: func.func @small(
// MAP:         scf.parallel
// MAP:           scf.parallel
// MAP:             math.tanh
// MAP:           } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// MAP:         } {function = @small_kernel_0, mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>], module = @taylor_kernels}
// UNNAMED-LABEL: func.func @small(
// UNNAMED:         } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK-LABEL: func.func @small(
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C24:.*]] = arith.constant 24 : index
// CHECK:         gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C24]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) module(@taylor_kernels) function(@small_kernel_0) {
// CHECK-NEXT:      memref.load %{{.*}}[%[[TX]]]
// CHECK-NEXT:      math.tanh
// CHECK-NEXT:      memref.store
// CHECK-NEXT:      gpu.terminator
func.func @small(%a: memref<24xf64>, %b: memref<24xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c24 = arith.constant 24 : index
  scf.parallel (%i) = (%c0) to (%c24) step (%c1) {
    %x = memref.load %a[%i] : memref<24xf64>
    %y = math.tanh %x : f64
    memref.store %y, %b[%i] : memref<24xf64>
    scf.reduce
  }
  return
}

// -----

// 2-D: collapsed to 8 * 100 = 800 iterations (the last dimension fastest),
// 4 blocks of 256 threads, the last block guarded.
// CHECK-LABEL: func.func @collapse(
// CHECK-DAG:     %[[C800:.*]] = arith.constant 800 : index
// CHECK-DAG:     %[[C100:.*]] = arith.constant 100 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C4]], {{.*}} threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK:           %[[OFF:.*]] = affine.apply #{{.*}}()[%[[BX]]]
// CHECK:           %[[I:.*]] = arith.addi %[[TX]], %[[OFF]] : index
// CHECK:           %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %[[C800]] : index
// CHECK:           scf.if %[[IN]] {
// CHECK-DAG:         %[[J:.*]] = arith.remsi %[[I]], %[[C100]] : index
// CHECK-DAG:         %[[R:.*]] = arith.divsi %[[I]], %[[C100]] : index
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[R]], %[[J]]] : memref<8x100xf64>
// B64-LABEL: func.func @collapse(
// B64-DAG:     %[[C13:.*]] = arith.constant 13 : index
// B64-DAG:     %[[C64:.*]] = arith.constant 64 : index
// B64:         gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C13]], {{.*}} threads({{.*}}) in (%{{.*}} = %[[C64]],
func.func @collapse(%a: memref<8x100xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c100 = arith.constant 100 : index
  %z = arith.constant 0.0 : f64
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c100) step (%c1, %c1) {
    memref.store %z, %a[%i, %j] : memref<8x100xf64>
    scf.reduce
  }
  return
}

// -----

// A dynamic trip count: ceil(n * 4 / 256) blocks, and no launch at all when
// it is zero (a grid of zero blocks is an error).
// CHECK-LABEL: func.func @dynamic(
// CHECK:         %[[N:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK:         %[[ANY:.*]] = arith.cmpi sgt, %[[N]], %{{.*}} : index
// CHECK:         scf.if %[[ANY]] {
// CHECK:           %[[BLOCKS:.*]] = affine.apply #{{.*}}()[%[[N]]]
// CHECK:           gpu.launch blocks({{.*}}) in (%{{.*}} = %[[BLOCKS]],
// CHECK:             arith.cmpi ult, %{{.*}}, %[[N]] : index
func.func @dynamic(%a: memref<?x4xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %n = memref.dim %a, %c0 : memref<?x4xf64>
  %z = arith.constant 0.0 : f64
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c4) step (%c1, %c1) {
    memref.store %z, %a[%i, %j] : memref<?x4xf64>
    scf.reduce
  }
  return
}

// -----

// A reduction in the loop runs in each thread; a nested scf.parallel becomes
// an scf.for in the thread.
// CHECK-LABEL: func.func @reduction(
// CHECK:         gpu.launch blocks({{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in
// CHECK:           scf.for %[[K:.*]] =
// CHECK:             memref.load %{{.*}}[%[[TX]], %[[K]]]
// CHECK:           scf.for %[[J:.*]] =
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[TX]], %[[J]]]
// CHECK-NOT:       scf.parallel
// CHECK:           gpu.terminator
func.func @reduction(%a: memref<8x16xf64>, %s: memref<8xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.for %k = %c0 to %c16 step %c1 {
      %x = memref.load %a[%i, %k] : memref<8x16xf64>
      %acc = memref.load %s[%i] : memref<8xf64>
      %y = arith.addf %acc, %x : f64
      memref.store %y, %s[%i] : memref<8xf64>
    }
    scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
      %x = memref.load %a[%i, %j] : memref<8x16xf64>
      %y = arith.mulf %x, %x : f64
      memref.store %y, %a[%i, %j] : memref<8x16xf64>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// Serial code (a reduction to a scalar, arithmetic on it and its store) runs
// in a launch of one thread; the allocation between stays on the host,
// before the launch, and so do the copy and deallocation after it.
// CHECK-LABEL: func.func @serial(
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[BUF:.*]] = memref.alloc() : memref<f64>
// CHECK:         gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads({{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// CHECK:           %[[SUM:.*]] = scf.for
// CHECK:           %[[SQ:.*]] = arith.mulf %[[SUM]], %[[SUM]] : f64
// CHECK:           memref.store %[[SQ]], %[[BUF]][]
// CHECK:           gpu.terminator
// CHECK:         memref.copy %[[BUF]], %{{.*}}
// CHECK:         memref.dealloc %[[BUF]]
func.func @serial(%a: memref<16xf64>, %out: memref<f64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant 0.0 : f64
  %r = scf.for %k = %c0 to %c16 step %c1 iter_args(%acc = %z) -> f64 {
    %x = memref.load %a[%k] : memref<16xf64>
    %y = arith.addf %acc, %x : f64
    scf.yield %y : f64
  }
  %buf = memref.alloc() : memref<f64>
  %h = arith.mulf %r, %r : f64
  memref.store %h, %buf[] : memref<f64>
  memref.copy %buf, %out : memref<f64> to memref<f64>
  memref.dealloc %buf : memref<f64>
  return
}

// -----

// A host loop that allocates stays on the host; the memory accesses in its
// body are placed, one launch each (the loop index is passed in).
// CHECK-LABEL: func.func @host_loop(
// CHECK:         scf.for %[[R:.*]] =
// CHECK:           %[[T:.*]] = memref.alloc() : memref<8xf64>
// CHECK:           gpu.launch {{.*}} function(@host_loop_kernel_0)
// CHECK:             memref.load %{{.*}}[%[[R]], %{{.*}}]
// CHECK:             memref.store %{{.*}}, %[[T]]
// CHECK:           gpu.launch {{.*}} function(@host_loop_kernel_1)
// CHECK:             memref.load %[[T]]
// CHECK:           memref.dealloc %[[T]]
func.func @host_loop(%a: memref<4x8xf64>, %b: memref<4x8xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.for %r = %c0 to %c4 step %c1 {
    %t = memref.alloc() : memref<8xf64>
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      %x = memref.load %a[%r, %j] : memref<4x8xf64>
      memref.store %x, %t[%j] : memref<8xf64>
      scf.reduce
    }
    %x0 = memref.load %t[%c0] : memref<8xf64>
    memref.store %x0, %b[%r, %c0] : memref<4x8xf64>
    memref.dealloc %t : memref<8xf64>
  }
  return
}

// -----

// A strided copy (a transposed view) becomes a kernel; a contiguous one is
// left for gpu.memcpy.
// CHECK-LABEL: func.func @copies(
// CHECK:         %[[T:.*]] = memref.transpose
// CHECK:         gpu.launch
// CHECK:           memref.load %[[T]]
// CHECK:           memref.store
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<4x8xf64> to memref<4x8xf64>
func.func @copies(%a: memref<4x8xf64>, %b: memref<8x4xf64>, %c: memref<4x8xf64>) {
  %t = memref.transpose %b (i, j) -> (j, i) : memref<8x4xf64> to memref<4x8xf64, strided<[1, 4]>>
  memref.copy %t, %a : memref<4x8xf64, strided<[1, 4]>> to memref<4x8xf64>
  memref.copy %a, %c : memref<4x8xf64> to memref<4x8xf64>
  return
}

// -----

// A constant global read on the device is taken in the kernel (the kernel's
// module gets its own copy), not from the host.
// CHECK-LABEL: func.func @global(
// CHECK-NOT:     memref.get_global
// CHECK:         gpu.launch
// CHECK-NEXT:      %[[W:.*]] = memref.get_global @weights : memref<2xf64>
// CHECK-NEXT:      memref.load %[[W]]
memref.global "private" constant @weights : memref<2xf64> = dense<[0.5, -2.0]>
func.func @global(%a: memref<2xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %w = memref.get_global @weights : memref<2xf64>
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    %x = memref.load %w[%i] : memref<2xf64>
    memref.store %x, %a[%i] : memref<2xf64>
    scf.reduce
  }
  return
}

// -----

// A host loop around a parallel loop (a linalg op whose reduction could not
// be put inside): the loop stays on the host and the parallel loop is mapped
// in each iteration, rather than the whole nest running in one thread. With
// results (a scalar carried across iterations), the nest runs in one thread.
// CHECK-LABEL: func.func @loop_around_parallel(
// CHECK:         scf.for %[[R:.*]] =
// CHECK-NEXT:      gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %[[C16:.*]], %{{.*}}, %{{.*}}) {{.*}} function(@loop_around_parallel_kernel_0)
// CHECK:             memref.load %{{.*}}[%[[R]], %{{.*}}]
// CHECK:         gpu.launch {{.*}} function(@loop_around_parallel_kernel_1)
// CHECK-NEXT:      scf.for {{.*}} iter_args
// CHECK:             scf.for
// CHECK:               memref.store
func.func @loop_around_parallel(%x: memref<3x16xf64>, %out: memref<16xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant 0.0 : f64
  scf.for %r = %c0 to %c3 step %c1 {
    scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
      %a = memref.load %x[%r, %i] : memref<3x16xf64>
      %o = memref.load %out[%i] : memref<16xf64>
      %s = arith.addf %o, %a : f64
      memref.store %s, %out[%i] : memref<16xf64>
      scf.reduce
    }
  }
  %t = scf.for %r = %c0 to %c3 step %c1 iter_args(%acc = %z) -> f64 {
    %a = memref.load %x[%r, %c0] : memref<3x16xf64>
    %s = arith.addf %acc, %a : f64
    scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
      memref.store %s, %out[%i] : memref<16xf64>
      scf.reduce
    }
    scf.yield %s : f64
  }
  return
}
