// RUN: taylor-opt %s --taylor-gpu-launch-to-loops --convert-linalg-to-loops \
// RUN:   --lower-affine --convert-scf-to-cf --convert-math-to-llvm \
// RUN:   --expand-strided-metadata --lower-affine --finalize-memref-to-llvm \
// RUN:   --convert-arith-to-llvm --convert-func-to-llvm --convert-cf-to-llvm \
// RUN:   --reconcile-unrealized-casts \
// RUN: | mlir-translate --mlir-to-llvmir | lli | FileCheck %s

// The emulated program of a mapped kernel runs on the CPU: a 10 x 7 array
// in "device" memory, set to 1 by gpu.memset, gets 10 i + j added by a
// launch of 3 x 2 blocks of 4 x 4 threads with a bounds guard (as
// convert-parallel-loops-to-gpu maps a tiled loop), then is copied back.
// Every element is written once: sum = 70 + 10 * 7 * 45 + 10 * 21 = 3430.
// A 1-D launch (gpu.global_id, 2 blocks of 8 threads, 13 live) then
// writes global id * 2 to a vector: sum = 2 * 78 = 156.

// CHECK: sum2d 3430
// CHECK-NEXT: corner 97
// CHECK-NEXT: sum1d 156

llvm.mlir.global internal constant @fmt_sum2d("sum2d %g\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @fmt_corner("corner %g\0A\00") {addr_space = 0 : i32}
llvm.mlir.global internal constant @fmt_sum1d("sum1d %g\0A\00") {addr_space = 0 : i32}
llvm.func @printf(!llvm.ptr, ...) -> i32

func.func @print(%fmt: !llvm.ptr, %x: f64) {
  %0 = llvm.call @printf(%fmt, %x) vararg(!llvm.func<i32 (ptr, ...)>) : (!llvm.ptr, f64) -> i32
  return
}

func.func @sum(%m: memref<?xf64>) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f64
  %n = memref.dim %m, %c0 : memref<?xf64>
  %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> f64 {
    %v = memref.load %m[%i] : memref<?xf64>
    %a = arith.addf %acc, %v : f64
    scf.yield %a : f64
  }
  return %s : f64
}

func.func @main() -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c7 = arith.constant 7 : index
  %c8 = arith.constant 8 : index
  %c9 = arith.constant 9 : index
  %c10 = arith.constant 10 : index
  %c13 = arith.constant 13 : index
  %one = arith.constant 1.0 : f64

  %host = memref.alloc() : memref<10x7xf64>
  %dev = gpu.alloc () : memref<10x7xf64>
  gpu.memset %dev, %one : memref<10x7xf64>, f64
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c3, %gy = %c2, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c4, %sz = %c1) {
    %x0 = arith.muli %bx, %sx : index
    %y0 = arith.muli %by, %sy : index
    %x = arith.addi %x0, %tx : index
    %y = arith.addi %y0, %ty : index
    %inx = arith.cmpi slt, %x, %c10 : index
    %iny = arith.cmpi slt, %y, %c7 : index
    %in = arith.andi %inx, %iny : i1
    scf.if %in {
      %xi = arith.index_cast %x : index to i64
      %yi = arith.index_cast %y : index to i64
      %xf = arith.sitofp %xi : i64 to f64
      %yf = arith.sitofp %yi : i64 to f64
      %ten = arith.constant 10.0 : f64
      %t = arith.mulf %xf, %ten : f64
      %v = arith.addf %t, %yf : f64
      %old = memref.load %dev[%x, %y] : memref<10x7xf64>
      %new = arith.addf %old, %v : f64
      memref.store %new, %dev[%x, %y] : memref<10x7xf64>
    }
    gpu.terminator
  }
  gpu.memcpy %host, %dev : memref<10x7xf64>, memref<10x7xf64>
  gpu.wait
  gpu.dealloc %dev : memref<10x7xf64>
  %flat = memref.collapse_shape %host [[0, 1]] : memref<10x7xf64> into memref<70xf64>
  %dyn = memref.cast %flat : memref<70xf64> to memref<?xf64>
  %s2 = func.call @sum(%dyn) : (memref<?xf64>) -> f64
  %fmt2 = llvm.mlir.addressof @fmt_sum2d : !llvm.ptr
  func.call @print(%fmt2, %s2) : (!llvm.ptr, f64) -> ()
  %corner = memref.load %host[%c9, %c6] : memref<10x7xf64>
  %fmtc = llvm.mlir.addressof @fmt_corner : !llvm.ptr
  func.call @print(%fmtc, %corner) : (!llvm.ptr, f64) -> ()
  memref.dealloc %host : memref<10x7xf64>

  %vec = memref.alloc(%c13) : memref<?xf64>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %i = gpu.global_id x
    %live = arith.cmpi slt, %i, %c13 : index
    scf.if %live {
      %ii = arith.index_cast %i : index to i64
      %f = arith.sitofp %ii : i64 to f64
      %v = arith.addf %f, %f : f64
      memref.store %v, %vec[%i] : memref<?xf64>
    }
    gpu.terminator
  }
  %s1 = func.call @sum(%vec) : (memref<?xf64>) -> f64
  %fmt1 = llvm.mlir.addressof @fmt_sum1d : !llvm.ptr
  func.call @print(%fmt1, %s1) : (!llvm.ptr, f64) -> ()
  memref.dealloc %vec : memref<?xf64>
  %ok = arith.constant 0 : i32
  return %ok : i32
}
