// RUN: taylor-opt %s --taylor-gpu-map-loops -split-input-file -verify-diagnostics
// RUN: not taylor-opt %s --taylor-gpu-map-loops=block-size=0 -split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=BLOCK

// BLOCK: error: taylor-gpu-map-loops: block-size must be positive, got 0

// A parallel loop that allocates cannot become a kernel.
func.func @alloc_in_loop(%a: memref<8xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  // expected-error @+1 {{'scf.parallel' op cannot be mapped to the GPU: it contains 'memref.alloc', which runs on the host}}
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    // expected-note @+1 {{host op here}}
    %t = memref.alloc() : memref<2xf64>
    %x = memref.load %a[%i] : memref<8xf64>
    memref.store %x, %t[%c0] : memref<2xf64>
    memref.dealloc %t : memref<2xf64>
    scf.reduce
  }
  return
}

// -----

// Nor one that calls a function.
func.func private @sink(memref<8xf64>)
func.func @call_in_loop(%a: memref<8xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  // expected-error @+1 {{'scf.parallel' op cannot be mapped to the GPU: it contains 'func.call', which runs on the host}}
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    // expected-note @+1 {{host op here}}
    func.call @sink(%a) : (memref<8xf64>) -> ()
    scf.reduce
  }
  return
}

// -----

// Parallel reductions (scf.parallel results) are not mapped.
func.func @parallel_reduction(%a: memref<8xf64>) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f64
  // expected-error @+1 {{'scf.parallel' op cannot be mapped to the GPU: reductions (results) are not supported}}
  %s = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%z) -> f64 {
    %x = memref.load %a[%i] : memref<8xf64>
    scf.reduce(%x : f64) {
    ^bb0(%l: f64, %r: f64):
      %y = arith.addf %l, %r : f64
      scf.reduce.return %y : f64
    }
  }
  return %s : f64
}

// -----

// A value read from device memory that the host needs (here a size).
func.func @size_from_memory(%n: memref<index>) {
  // expected-error @+1 {{'memref.load' op cannot be placed on the GPU: its result is computed from device memory but used on the host by 'memref.alloc'}}
  %size = memref.load %n[] : memref<index>
  // expected-note @+1 {{used here}}
  %t = memref.alloc(%size) : memref<?xf64>
  memref.dealloc %t : memref<?xf64>
  return
}

// -----

// A value computed from device memory and returned.
func.func @returned(%a: memref<8xf64>) -> f64 {
  %c0 = arith.constant 0 : index
  %x = memref.load %a[%c0] : memref<8xf64>
  // expected-error @+1 {{'arith.mulf' op cannot be placed on the GPU: its result is computed from device memory but used on the host by 'func.return'}}
  %y = arith.mulf %x, %x : f64
  // expected-note @+1 {{used here}}
  return %y : f64
}

// -----

// A mutable global would be copied into each kernel's module.
memref.global "private" @state : memref<2xf64> = dense<0.0>
func.func @mutable_global(%a: memref<2xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  // expected-error @+1 {{'memref.get_global' op cannot be used on the GPU: only constant globals can be}}
  %w = memref.get_global @state : memref<2xf64>
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    %x = memref.load %w[%i] : memref<2xf64>
    memref.store %x, %a[%i] : memref<2xf64>
    scf.reduce
  }
  return
}

// -----

// An unranked copy has no loops.
func.func @unranked_copy(%a: memref<*xf64>, %b: memref<*xf64>) {
  // expected-error @+1 {{'memref.copy' op cannot be placed on the GPU: unranked operands}}
  memref.copy %a, %b : memref<*xf64> to memref<*xf64>
  return
}
