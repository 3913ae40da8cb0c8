//===- CudaDriver.h - The CUDA driver API, loaded at first use --*- C++ -*-===//
//
// Internal to libTaylorRuntime. The few CUDA driver types, constants and
// functions the runtime uses, declared here (no cuda.h: nothing of a CUDA
// toolkit is needed to build or install), and the driver itself, loaded
// with `dlopen("libcuda.so.1")` at the first call that needs it.
//
// Also the state the `mgpu*` functions share: each thread's pending error,
// current device and current stream, and each device's primary context and
// memory pool.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RUNTIME_CUDADRIVER_H
#define TAYLOR_RUNTIME_CUDADRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace taylor_rt::cuda {

//===----------------------------------------------------------------------===//
// Driver API declarations (the subset used; values from the driver API
// reference)
//===----------------------------------------------------------------------===//

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUmemoryPool = struct CUmemPoolHandle_st *;

enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_DEINITIALIZED = 4,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_PTX = 218,
  CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
  CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
};

enum : int {
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED = 115,
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
  CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 14,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
  CU_JIT_OPTIMIZATION_LEVEL = 7,
  CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4,
  CU_MEM_ALLOCATION_TYPE_PINNED = 1,
  CU_MEM_LOCATION_TYPE_DEVICE = 1,
  CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4,
  CU_MEM_ATTACH_GLOBAL = 1,
  CU_EVENT_DISABLE_TIMING = 2,
};

/// `CUlaunchAttribute`: an id and a 64-byte value (for the cluster
/// dimension: three unsigned ints).
struct LaunchAttribute {
  int id;
  char pad[4];
  union {
    alignas(8) char raw[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};

/// `CUlaunchConfig`.
struct LaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};

/// `CUmemPoolProps`.
struct MemPoolProps {
  int allocType;
  int handleTypes;
  struct {
    int type;
    int id;
  } location;
  void *win32SecurityAttributes;
  size_t maxSize;
  unsigned short usage;
  unsigned char reserved[54];
};

/// The driver's functions (exported names; `_v2` where the driver has
/// one). Those marked optional may be null (older drivers).
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxGetCurrent)(CUcontext *);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemAllocFromPoolAsync)(CUdeviceptr *, size_t, CUmemoryPool,
                                      CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuMemPoolCreate)(CUmemoryPool *, const MemPoolProps *);
  CUresult (*cuMemPoolSetAttribute)(CUmemoryPool, int, void *);
  CUresult (*cuMemPoolTrimTo)(CUmemoryPool, size_t);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*cuMemHostRegister)(void *, size_t, unsigned);
  CUresult (*cuMemHostUnregister)(void *);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  /// Optional (CUDA 12.0).
  CUresult (*cuLaunchKernelEx)(const LaunchConfig *, CUfunction, void **,
                               void **);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
};

//===----------------------------------------------------------------------===//
// The driver and each thread's pending error
//===----------------------------------------------------------------------===//

/// `TAYLOR_RT_CUDA_*` (Runtime.h).
enum class ErrorKind : int { None = 0, Error = 1, Unavailable = 2, TooOld = 3 };

/// The driver, loaded and initialized (`cuInit`) at the first call. Null
/// when it cannot be: the reason is then recorded as the thread's error.
const Driver *driver();

/// Records an error for the calling thread unless one is pending.
void recordError(ErrorKind kind, int result, const std::string &message);
/// Whether the calling thread has a pending error.
bool hasError();
/// "`call` failed: NAME (text)" for a failed driver call.
std::string describe(const char *call, CUresult result);
/// Records a failed driver call (of kind `kind`); returns `result == 0`.
bool check(CUresult result, const char *call,
           ErrorKind kind = ErrorKind::Error);

/// A thread's error.
struct PendingError {
  ErrorKind kind = ErrorKind::None;
  int result = 0;
  std::string message;
};
/// The calling thread's pending error (kind `None`: none).
PendingError pendingError();

/// Discards the errors recorded in its scope, and keeps the one pending
/// before it (for work no caller waits for: unloading a module).
class QuietErrors {
public:
  QuietErrors();
  QuietErrors(const QuietErrors &) = delete;
  ~QuietErrors();

private:
  PendingError saved;
  int savedLater;
};

//===----------------------------------------------------------------------===//
// Devices, streams and contexts
//===----------------------------------------------------------------------===//

/// A device as the runtime uses it: its primary context (the one torch
/// uses) and a memory pool of its own (null: the device has no memory pools).
struct Device {
  int ordinal;
  CUdevice device;
  CUcontext context;
  CUmemoryPool pool;
};

/// The calling thread's current device (ordinal) and stream.
int currentOrdinal();
/// The device the calling thread set (`mgpuSetDefaultDevice`); -1 if none.
int threadOrdinal();
CUstream currentStream();
/// `stream`, or the current stream for null (what MLIR passes for work
/// without a stream).
inline CUstream resolveStream(CUstream stream) {
  return stream ? stream : currentStream();
}
/// Whether waits block (a run with `synchronize`); otherwise waits for the
/// current stream return at once.
bool blockingWaits();
void setBlockingWaits(bool blocking);

/// Makes a device's primary context (by default, the current device's)
/// current on this thread for the scope, and the previous one current again
/// after it. False (and an error recorded) when the driver or the device
/// cannot be used.
class ScopedContext {
public:
  explicit ScopedContext(int ordinal = currentOrdinal());
  ScopedContext(const ScopedContext &) = delete;
  ~ScopedContext();
  explicit operator bool() const { return device != nullptr; }
  const Device *get() const { return device; }

private:
  const Device *device = nullptr;
  CUcontext previous = nullptr;
  bool restore = false;
};

/// The CUDA version of the driver (e.g. 12040), 0 if unknown.
int driverVersion();

//===----------------------------------------------------------------------===//
// PTX
//===----------------------------------------------------------------------===//

/// What a driver of version `driverVersion` makes of the PTX ISA of `ptx`,
/// for messages: "the kernels are PTX ISA 8.7, which needs a CUDA 12.8
/// driver or newer; this driver is CUDA 12.4". Sets `tooOld` when the
/// driver is older than the ISA needs.
std::string describePtx(const char *ptx, int driverVersion, bool &tooOld);

/// Counters of `TaylorRtCudaStats` (CudaMemory.cpp).
void countLaunch();
void countGemm();

} // namespace taylor_rt::cuda

#endif // TAYLOR_RUNTIME_CUDADRIVER_H
