// RUN: taylor-opt %s --taylor-gpu-host-memory | FileCheck %s
// RUN: taylor-opt %s --taylor-gpu-host-memory --mlir-pass-statistics -o /dev/null 2>&1 | FileCheck %s --check-prefix=STATS

// STATS: 2 num-allocs
// STATS: 1 num-copies
// STATS: 2 num-deallocs

// Host allocations, copies and deallocations on device memory; device code
// (a launch, a mapped loop) keeps its memref ops.
// CHECK-LABEL: func.func @host(
// CHECK-SAME:    %[[A:.*]]: memref<8xf64>, %[[N:.*]]: index, %[[OUT:.*]]: memref<8xf64>)
// CHECK:         %[[B:.*]] = gpu.alloc  () : memref<8xf64>
// CHECK:         %[[D:.*]] = gpu.alloc  (%[[N]]) : memref<?xf64>
// CHECK:         gpu.launch
// CHECK:           memref.load %[[A]]
// CHECK:           memref.store %{{.*}}, %[[B]]
// CHECK:         scf.parallel
// CHECK:           memref.load %[[B]]
// CHECK:           memref.store %{{.*}}, %[[D]]
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK:         gpu.memcpy  %[[OUT]], %[[B]] : memref<8xf64>, memref<8xf64>
// CHECK:         gpu.dealloc  %[[B]] : memref<8xf64>
// CHECK:         gpu.dealloc  %[[D]] : memref<?xf64>
// CHECK-NOT:     memref.
// CHECK:         return
func.func @host(%a: memref<8xf64>, %n: index, %out: memref<8xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %b = memref.alloc() {alignment = 64 : i64} : memref<8xf64>
  %d = memref.alloc(%n) : memref<?xf64>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %x = memref.load %a[%tx] : memref<8xf64>
    memref.store %x, %b[%tx] : memref<8xf64>
    gpu.terminator
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    %x = memref.load %b[%c0] : memref<8xf64>
    memref.store %x, %d[%c0] : memref<?xf64>
    scf.reduce
  } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
  memref.copy %b, %out : memref<8xf64> to memref<8xf64>
  memref.dealloc %b : memref<8xf64>
  memref.dealloc %d : memref<?xf64>
  return
}
