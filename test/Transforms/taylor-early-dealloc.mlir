// RUN: taylor-opt %s --taylor-early-dealloc -split-input-file | FileCheck %s

// Deallocations at the end of the block move up to the last use of the
// buffer or of a view of it; nested uses count as their ancestor; a buffer
// that escapes through the terminator stays.

// CHECK-LABEL: func.func @straight_line
// CHECK: %[[A:.+]] = memref.alloc() : memref<4xf64>
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[A]] : memref<4xf64>)
// CHECK-NEXT: %[[B:.+]] = memref.alloc() : memref<4xf64>
// CHECK-NEXT: linalg.copy ins(%[[A]] : memref<4xf64>) outs(%[[B]] : memref<4xf64>)
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK-NEXT: %[[V:.+]] = memref.expand_shape %[[B]]
// CHECK-NEXT: %[[C:.+]] = memref.alloc() : memref<2x2xf64>
// CHECK-NEXT: scf.for
// CHECK-NEXT: linalg.copy ins(%[[V]] : memref<2x2xf64>) outs(%[[C]] : memref<2x2xf64>)
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %[[B]]
// CHECK-NEXT: linalg.copy ins(%[[C]] : memref<2x2xf64>) outs(%{{.+}} : memref<2x2xf64>)
// CHECK-NEXT: memref.dealloc %[[C]]
// CHECK-NEXT: %[[D:.+]] = memref.alloc() : memref<4xf64>
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: return %[[D]]
func.func @straight_line(%out: memref<2x2xf64>, %lb: index, %ub: index, %step: index) -> memref<4xf64> {
  %cst = arith.constant 1.0 : f64
  %a = memref.alloc() : memref<4xf64>
  linalg.fill ins(%cst : f64) outs(%a : memref<4xf64>)
  %b = memref.alloc() : memref<4xf64>
  linalg.copy ins(%a : memref<4xf64>) outs(%b : memref<4xf64>)
  %v = memref.expand_shape %b [[0, 1]] output_shape [2, 2] : memref<4xf64> into memref<2x2xf64>
  %c = memref.alloc() : memref<2x2xf64>
  scf.for %i = %lb to %ub step %step {
    linalg.copy ins(%v : memref<2x2xf64>) outs(%c : memref<2x2xf64>)
  }
  linalg.copy ins(%c : memref<2x2xf64>) outs(%out : memref<2x2xf64>)
  %d = memref.alloc() : memref<4xf64>
  linalg.fill ins(%cst : f64) outs(%d : memref<4xf64>)
  memref.dealloc %a : memref<4xf64>
  memref.dealloc %b : memref<4xf64>
  memref.dealloc %c : memref<2x2xf64>
  return %d : memref<4xf64>
}

// -----

// A buffer whose view escapes through the terminator is not moved.
// CHECK-LABEL: func.func @escapes
// CHECK: memref.expand_shape
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func @escapes() -> memref<2x2xf64> {
  %cst = arith.constant 1.0 : f64
  %a = memref.alloc() : memref<4xf64>
  %v = memref.expand_shape %a [[0, 1]] output_shape [2, 2] : memref<4xf64> into memref<2x2xf64>
  linalg.fill ins(%cst : f64) outs(%a : memref<4xf64>)
  memref.dealloc %a : memref<4xf64>
  return %v : memref<2x2xf64>
}

// -----

// A buffer passed to a call, or cast to another memref type by an op that
// this pass does not follow as a view, stays freed at the end.
// CHECK-LABEL: func.func @unknown_aliases
// CHECK: call @keep
// CHECK-NEXT: memref.cast
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func private @keep(memref<4xf64>)
func.func @unknown_aliases() {
  %cst = arith.constant 1.0 : f64
  %a = memref.alloc() : memref<4xf64>
  %b = memref.alloc() : memref<4xf64>
  call @keep(%a) : (memref<4xf64>) -> ()
  %c = memref.cast %b : memref<4xf64> to memref<?xf64>
  linalg.fill ins(%cst : f64) outs(%c : memref<?xf64>)
  memref.dealloc %a : memref<4xf64>
  memref.dealloc %b : memref<4xf64>
  return
}
