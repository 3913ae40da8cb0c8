// RUN: taylor-opt %s --taylor-gpu-host-memory -split-input-file -verify-diagnostics

// The host cannot read or write device memory: every error is reported, and
// nothing is rewritten.
func.func @host_access(%a: memref<8xf64>) {
  %c0 = arith.constant 0 : index
  %b = memref.alloc() : memref<8xf64>
  // expected-error @+1 {{'memref.load' op accesses device memory on the host (taylor-gpu-map-loops places memory accesses on the device)}}
  %x = memref.load %a[%c0] : memref<8xf64>
  // expected-error @+1 {{'memref.store' op accesses device memory on the host (taylor-gpu-map-loops places memory accesses on the device)}}
  memref.store %x, %b[%c0] : memref<8xf64>
  memref.dealloc %b : memref<8xf64>
  return
}

// -----

// A strided copy is not a gpu.memcpy.
func.func @strided_copy(%a: memref<4x8xf64>, %b: memref<8x4xf64>) {
  %t = memref.transpose %b (i, j) -> (j, i) : memref<8x4xf64> to memref<4x8xf64, strided<[1, 4]>>
  // expected-error @+1 {{'memref.copy' op cannot copy device memory on the host: an operand is not contiguous (taylor-gpu-map-loops makes such copies kernels)}}
  memref.copy %t, %a : memref<4x8xf64, strided<[1, 4]>> to memref<4x8xf64>
  return
}

// -----

func.func @stack(%a: memref<8xf64>) {
  // expected-error @+1 {{'memref.alloca' op cannot be placed in device memory: stack allocation on the host}}
  %t = memref.alloca() : memref<8xf64>
  return
}

// -----

func.func @layout() {
  // expected-error @+1 {{'memref.alloc' op cannot allocate device memory: a layout is not supported}}
  %t = memref.alloc() : memref<8xf64, strided<[2]>>
  return
}
