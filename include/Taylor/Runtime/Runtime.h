//===- Runtime.h - The native runtime of compiled taylor-mlir code -*- C
//-*-===//
//
// The C interface of `libTaylorRuntime.so`, the library compiled code and the
// Python package call into. It has four parts:
//
// - Memory: the pool allocator behind MLIR's generic allocation functions
//   (`_mlir_memref_to_llvm_alloc` / `_aligned_alloc` / `_free`, which
//   `finalize-memref-to-llvm{use-generic-functions=true}` emits). Freed
//   buffers are kept for the next allocations of about the same size.
// - BLAS: `taylor_rt_gemm_f64` / `_f32`, the matrix products that
//   `taylor-gemm-to-blas` emits, on memref descriptors (any operand with one
//   unit stride), computed by a private OpenBLAS instance.
// - Execution: calls of compiled functions (their packed `_mlir_ciface_`
//   wrappers) from descriptors built natively, one job or many jobs spread
//   over native threads.
// - CUDA: MLIR's GPU runtime functions (`mgpu*`, which `gpu-to-llvm` and the
//   `gpu.binary` translation emit) over the CUDA driver, loaded with
//   `dlopen("libcuda.so.1")` at first use; a cuBLAS GEMM shim; calls of
//   compiled host code on torch's current stream (`taylor_rt_run_cuda`).
//   Nothing needs a CUDA toolkit, at build or at run time.
//
// Nothing here calls back into Python.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RUNTIME_RUNTIME_H
#define TAYLOR_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

/// A buffer pool. Every allocation of compiled code is served by the pool of
/// the thread's current call (`taylor_rt_run`), or by the process's shared
/// pool outside of one; it is returned to the pool that served it.
typedef struct TaylorRtPool TaylorRtPool;

/// Counters of a pool, in bytes unless named otherwise.
typedef struct {
  /// Bytes of the buffers handed out and not freed.
  uint64_t live;
  /// The largest `live` since the last `taylor_rt_pool_reset_peak`.
  uint64_t peak;
  /// Bytes of the freed buffers kept for reuse.
  uint64_t cached;
  /// Allocations served, and those of them served from the cache.
  uint64_t allocations;
  uint64_t reused;
} TaylorRtPoolStats;

/// The process's shared pool (reuse on).
TaylorRtPool *taylor_rt_shared_pool(void);
/// A new pool; `reuse` = 0: freed buffers go back to the C library at once.
TaylorRtPool *taylor_rt_pool_create(int reuse);
/// Releases the pool's cached buffers and the pool once its last buffer is
/// freed.
void taylor_rt_pool_destroy(TaylorRtPool *pool);
void taylor_rt_pool_stats(TaylorRtPool *pool, TaylorRtPoolStats *stats);
void taylor_rt_pool_reset_peak(TaylorRtPool *pool);
/// Returns the cached free buffers to the C library.
void taylor_rt_pool_release(TaylorRtPool *pool);

/// A buffer of `size` bytes (64-byte aligned) from `pool`, and its return
/// (to the pool that served it): what compiled code's allocations do.
void *taylor_rt_pool_allocate(TaylorRtPool *pool, size_t size);
void taylor_rt_pool_free(void *buffer);

/// MLIR's generic allocation functions.
void *_mlir_memref_to_llvm_alloc(size_t size);
void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
void _mlir_memref_to_llvm_free(void *pointer);

//===----------------------------------------------------------------------===//
// BLAS
//===----------------------------------------------------------------------===//

/// Loads the OpenBLAS at `path` (an ILP64 build with the `scipy_` symbol
/// prefix and `64_` suffix, as in the scipy-openblas64 wheel) with one
/// thread. Returns 0 on success; otherwise writes a message to `error`.
int taylor_rt_blas_load(const char *path, char *error, size_t errorSize);
/// Threads of the BLAS's own parallelism (>= 1); -1 when none is loaded.
int taylor_rt_blas_get_num_threads(void);
int taylor_rt_blas_set_num_threads(int threads);

//===----------------------------------------------------------------------===//
// Execution
//===----------------------------------------------------------------------===//

/// One argument of a compiled function: a strided array of `rank`
/// dimensions at `data` (strides in elements).
typedef struct {
  void *data;
  int64_t rank;
  const int64_t *sizes;
  const int64_t *strides;
} TaylorRtArray;

/// One call: the packed wrapper (`_mlir__mlir_ciface_<name>`, which takes
/// `void **`) of a function whose arguments are all ranked memrefs.
typedef struct {
  void (*function)(void **);
  int64_t numArguments;
  const TaylorRtArray *arguments;
} TaylorRtJob;

/// Runs `numJobs` calls, each on one thread (this one and up to
/// `taylor_rt_get_num_threads() - 1` native workers), allocating from
/// `pool` (null: the shared pool). Returns when every job is done.
void taylor_rt_run(const TaylorRtJob *jobs, int64_t numJobs,
                   TaylorRtPool *pool);
/// Threads `taylor_rt_run` uses (>= 1).
int taylor_rt_get_num_threads(void);
void taylor_rt_set_num_threads(int threads);

//===----------------------------------------------------------------------===//
// Profiling
//===----------------------------------------------------------------------===//

/// Time and work inside the runtime while profiling is on (all threads).
typedef struct {
  uint64_t gemmCalls, gemmFlops, gemmNanoseconds;
  uint64_t allocatorCalls, allocatorNanoseconds;
  uint64_t jobs, jobNanoseconds;
} TaylorRtProfile;

/// Turns the counters on (1) or off (0; the default: no clock is read).
void taylor_rt_profile_enable(int enabled);
void taylor_rt_profile_read(TaylorRtProfile *profile);
void taylor_rt_profile_reset(void);

//===----------------------------------------------------------------------===//
// CUDA
//===----------------------------------------------------------------------===//
//
// Every CUDA call of a thread runs on the thread's *current device* (its
// primary context, the one torch uses) and *current stream* (torch's
// `current_stream().cuda_stream`). `mgpuStreamCreate` returns the current
// stream, and waits for it (`mgpuStreamSynchronize`, `mgpuEventSynchronize`)
// return at once: compiled calls are stream-ordered like torch's own kernels.
//
// A failing driver or cuBLAS call prints nothing and aborts nothing: the first
// error of a thread is kept (call, error name and text) until it is taken
// (`taylor_rt_cuda_take_error`, or the end of `taylor_rt_run_cuda`). While an
// error is pending, the thread's allocations return null and its launches,
// copies, fills and GEMMs do nothing (frees still free).

/// What a CUDA error is about.
enum {
  TAYLOR_RT_CUDA_OK = 0,
  /// A driver or cuBLAS call failed.
  TAYLOR_RT_CUDA_ERROR = 1,
  /// No `libcuda.so.1`, `cuInit` failed, or no such device.
  TAYLOR_RT_CUDA_UNAVAILABLE = 2,
  /// The driver is older than the PTX ISA of a module.
  TAYLOR_RT_CUDA_DRIVER_TOO_OLD = 3,
};

/// The first CUDA error of a thread.
typedef struct {
  /// `TAYLOR_RT_CUDA_*`.
  int kind;
  /// The `CUresult` (or `cublasStatus_t`) of the failing call; 0 if none.
  int result;
  /// What failed and why, NUL-terminated.
  char message[2048];
} TaylorRtCudaError;

/// Takes the calling thread's pending error: fills `error` (if not null),
/// clears it, and returns its kind (`TAYLOR_RT_CUDA_OK`: none).
int taylor_rt_cuda_take_error(TaylorRtCudaError *error);

/// The driver's CUDA version (e.g. 12040 for 12.4) and its number of
/// devices. Returns `TAYLOR_RT_CUDA_OK`, or the kind of the reason why the
/// driver cannot be used (in `error`: libcuda.so.1 not found, `cuInit`
/// failed, no device).
int taylor_rt_cuda_driver(int *version, int *devices, TaylorRtCudaError *error);
/// The compute capability of `device`.
int taylor_rt_cuda_capability(int device, int *major, int *minor,
                              TaylorRtCudaError *error);

/// Sets the calling thread's current device (and the process's default for
/// threads that set none) for the `mgpu*` functions: set it before running
/// an ExecutionEngine's global constructors, which load the kernels.
void taylor_rt_cuda_set_device(int device);
/// Sets the calling thread's current stream (a `CUstream`; null: the legacy
/// default stream).
void taylor_rt_cuda_set_stream(void *stream);

/// Runs `numJobs` calls of compiled host code (arguments: device pointers,
/// see `TaylorRtJob`) in order on the calling thread, on `device` and
/// `stream`, then restores the thread's device, stream and context. With
/// `synchronize`, waits for the stream and so reports the kernels' own
/// errors. Stops at the first error; returns its kind (the pending error of
/// the thread, if any, is reported without running) and fills `error`.
int taylor_rt_run_cuda(const TaylorRtJob *jobs, int64_t numJobs, int device,
                       void *stream, int synchronize, TaylorRtCudaError *error);

/// Loads cuBLAS from `path` (`libcublas.so.13` of the nvidia-cublas wheel).
/// Returns 0 on success; otherwise writes a message to `error`.
int taylor_rt_cuda_load_cublas(const char *path, char *error, size_t errorSize);

/// The PTX ISA version of `ptx` (its `.version` directive). Returns 0, or 1
/// when it has none.
int taylor_rt_cuda_ptx_isa(const char *ptx, int *major, int *minor);
/// The oldest driver (CUDA version, e.g. 12000) that runs PTX ISA
/// `major.minor`; -1 for an ISA newer than every one known.
int taylor_rt_cuda_minimum_driver(int major, int minor);
/// The newest PTX ISA a driver of CUDA version `driverVersion` runs.
/// Returns 0, or 1 for a driver older than every ISA known.
int taylor_rt_cuda_newest_ptx_isa(int driverVersion, int *major, int *minor);
/// Whether a driver of CUDA version `driverVersion` runs `ptx`: returns
/// `TAYLOR_RT_CUDA_OK`, or `TAYLOR_RT_CUDA_DRIVER_TOO_OLD` with a message
/// naming both versions, or `TAYLOR_RT_CUDA_ERROR` when `ptx` has no
/// `.version`.
int taylor_rt_cuda_check_ptx(const char *ptx, int driverVersion, char *message,
                             size_t messageSize);

/// Device memory of the `mgpu*` functions, over all devices.
typedef struct {
  uint64_t allocations;
  uint64_t allocatedBytes;
  /// Bytes allocated and not freed (a stream-ordered free counts at once).
  uint64_t live;
  /// The largest `live` since the last `taylor_rt_cuda_reset_peak`.
  uint64_t peak;
  uint64_t launches;
  uint64_t gemms;
} TaylorRtCudaStats;

void taylor_rt_cuda_stats(TaylorRtCudaStats *stats);
void taylor_rt_cuda_reset_peak(void);
/// Returns the memory cached by `device`'s pool (freed, and whose frees
/// have completed) to the driver.
int taylor_rt_cuda_release(int device, TaylorRtCudaError *error);

/// The cuBLAS GEMM shim: C = A·B + beta·C on device memory, with the
/// descriptors and layouts of `taylor_rt_gemm_f64` / `_f32` (any operand
/// row- or column-major), on the current stream. An operand without a unit
/// stride is refused (an error). Declared with memref descriptors in
/// `CudaBlas.cpp`:
///   void _mlir_ciface_taylor_rt_cublas_gemm_f64(A *, B *, C *, double beta);
///   void _mlir_ciface_taylor_rt_cublas_gemm_f32(A *, B *, C *, float beta);

/// MLIR's CUDA runtime functions, as MLIR 22's `gpu-to-llvm` and
/// `#gpu.select_object` call them (pointers: `CUmodule`, `CUfunction`,
/// `CUstream`, `CUevent`).
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *ptx, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedMemory, void *stream,
                      void **params, void **extra, size_t paramsCount);
void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t sharedMemory, void *stream, void **params,
                             void **extra);
void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate(void);
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t size, void *stream, bool hostShared);
void mgpuMemFree(void *pointer, void *stream);
void mgpuMemcpy(void *destination, void *source, size_t size, void *stream);
void mgpuMemset32(void *destination, unsigned int value, size_t count,
                  void *stream);
void mgpuMemset16(void *destination, unsigned short value, size_t count,
                  void *stream);
void mgpuMemHostRegister(void *pointer, uint64_t size);
void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSize);
void mgpuMemHostUnregister(void *pointer);
void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSize);
void mgpuSetDefaultDevice(int32_t device);

#ifdef __cplusplus
}
#endif

#endif // TAYLOR_RUNTIME_RUNTIME_H
