// RUN: taylor-opt %s --taylor-gpu-launch-to-loops --split-input-file -verify-diagnostics

// What independent loop iterations cannot emulate is refused, and the
// program is left as it was.

func.func @barrier(%out: memref<4xf32>, %x: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    memref.store %x, %out[%tx] : memref<4xf32>
    // expected-error @+1 {{'gpu.barrier' op cannot be emulated on the CPU: the loop iterations that stand for the threads of a block do not synchronize}}
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

func.func @workgroup_attribution(%x: f32) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'gpu.launch' op cannot be emulated on the CPU: workgroup attributions (shared memory) are not supported}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             workgroup(%shared : memref<4xf32, #gpu.address_space<workgroup>>) {
    memref.store %x, %shared[%tx] : memref<4xf32, #gpu.address_space<workgroup>>
    gpu.terminator
  }
  return
}

// -----

func.func @private_attribution(%x: f32) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'gpu.launch' op cannot be emulated on the CPU: private attributions are not supported}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             private(%scratch : memref<4xf32, #gpu.address_space<private>>) {
    memref.store %x, %scratch[%tx] : memref<4xf32, #gpu.address_space<private>>
    gpu.terminator
  }
  return
}

// -----

func.func @dynamic_shared_memory(%size: i32) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'gpu.launch' op cannot be emulated on the CPU: dynamic shared memory is not supported}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             dynamic_shared_memory_size %size {
    gpu.terminator
  }
  return
}

// -----

func.func @address_space_3(%x: f32) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.alloca' op cannot be emulated on the CPU: defines a memref in shared (workgroup) memory}}
  %shared = memref.alloca() : memref<4xf32, 3>
  memref.store %x, %shared[%c0] : memref<4xf32, 3>
  return
}

// -----

// expected-error @+1 {{'func.func' op cannot be emulated on the CPU: has a region argument in shared (workgroup) memory}}
func.func @shared_argument(%shared: memref<4xf32, #gpu.address_space<workgroup>>) {
  return
}

// -----

func.func @async_launch() {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'gpu.wait' op cannot be emulated on the CPU: async tokens and dependencies are not supported (the mapped form is synchronous)}}
  %t0 = gpu.wait async
  // expected-error @+1 {{'gpu.launch' op cannot be emulated on the CPU: async tokens and dependencies are not supported (the mapped form is synchronous)}}
  %t1 = gpu.launch async [%t0] blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}

// -----

func.func @async_alloc() {
  // expected-error @+1 {{'gpu.alloc' op cannot be emulated on the CPU: async tokens and dependencies are not supported (the mapped form is synchronous)}}
  %m, %t = gpu.alloc async () : memref<4xf32>
  return
}

// -----

module attributes {gpu.container_module} {
  // expected-error @+1 {{'gpu.module' op cannot be emulated on the CPU: the kernel is already outlined (run the pass on the mapped form, with gpu.launch)}}
  gpu.module @kernels {
    gpu.func @kernel() kernel {
      gpu.return
    }
  }
  func.func @outlined() {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{'gpu.launch_func' op cannot be emulated on the CPU: the kernel is already outlined (run the pass on the mapped form, with gpu.launch)}}
    gpu.launch_func @kernels::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

func.func @shuffle(%out: memref<32xf32>, %x: f32) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %o = arith.constant 1 : i32
  %w = arith.constant 32 : i32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{'gpu.shuffle' op cannot be emulated on the CPU: threads exchange values or depend on subgroups}}
    %y, %valid = gpu.shuffle xor %x, %o, %w : f32
    memref.store %y, %out[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @subgroup_reduce(%out: memref<32xf32>, %x: f32) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{'gpu.subgroup_reduce' op cannot be emulated on the CPU: threads exchange values or depend on subgroups}}
    %y = gpu.subgroup_reduce add %x : (f32) -> f32
    memref.store %y, %out[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @lane_id(%out: memref<32xindex>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{'gpu.lane_id' op cannot be emulated on the CPU: threads exchange values or depend on subgroups}}
    %lane = gpu.lane_id
    memref.store %lane, %out[%tx] : memref<32xindex>
    gpu.terminator
  }
  return
}

// -----

func.func @id_outside_launch() -> index {
  // expected-error @+1 {{'gpu.thread_id' op cannot be emulated on the CPU: used outside a gpu.launch}}
  %t = gpu.thread_id x
  return %t : index
}

// -----

func.func @cluster() {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'gpu.launch' op cannot be emulated on the CPU: thread-block clusters are not supported}}
  gpu.launch clusters(%cx, %cy, %cz) in (%ncx = %c1, %ncy = %c1, %ncz = %c1)
             blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}

// -----

func.func @printf(%x: f32) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{'gpu.printf' op cannot be emulated on the CPU: no emulation of this gpu op}}
    gpu.printf "%f\n", %x : f32
    gpu.terminator
  }
  return
}

// -----

func.func private @taylor_rt_gemm_f64(memref<?x?xf64>)
func.func private @taylor_rt_cublas_gemm_f64(
    memref<?x?xf64, strided<[?, ?], offset: ?>>,
    memref<?x?xf64, strided<[?, ?], offset: ?>>,
    memref<?x?xf64, strided<[?, ?], offset: ?>>, f64)
    attributes {llvm.emit_c_interface}
func.func @gemm_clash(%a: memref<?x?xf64, strided<[?, ?], offset: ?>>, %beta: f64) {
  // expected-error @+1 {{'func.call' op cannot be redirected to @taylor_rt_gemm_f64: that symbol exists with another type}}
  call @taylor_rt_cublas_gemm_f64(%a, %a, %a, %beta) : (memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, memref<?x?xf64, strided<[?, ?], offset: ?>>, f64) -> ()
  return
}
