//===- Runtime.h - The native runtime of compiled taylor-mlir code -*- C
//-*-===//
//
// The C interface of `libTaylorRuntime.so`, the library compiled code and the
// Python package call into. It has three parts:
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
//
// Nothing here calls back into Python.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RUNTIME_RUNTIME_H
#define TAYLOR_RUNTIME_RUNTIME_H

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

#ifdef __cplusplus
}
#endif

#endif // TAYLOR_RUNTIME_RUNTIME_H
