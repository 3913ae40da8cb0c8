//===- CudaLaunch.cpp - Modules, kernels, streams and events of mgpu* -----===//
//
// The kernels of a compiled module are loaded by its global constructor
// (`#gpu.select_object` emits `mgpuModuleLoad(cubin/fatbin, size)` or
// `mgpuModuleLoadJIT(ptx, optLevel)`) and launched by its host code
// (`mgpuModuleGetFunction`, `mgpuLaunchKernel`). A PTX module that fails to
// load reports its PTX ISA, the driver's version and the oldest driver that
// runs that ISA; a kernel of a module that failed to load reports that
// failure instead of launching.
//
// Streams and events: `mgpuStreamCreate` returns the current stream (torch's
// stream; nothing is created, and `mgpuStreamDestroy` destroys nothing), and
// waits for work on it (`mgpuStreamSynchronize`, `mgpuEventSynchronize`)
// return at once unless the run is synchronous: every kernel, copy and free
// is ordered on that stream, where torch's later work on the results is
// ordered too. Events order work between streams as usual.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include "Taylor/Runtime/Runtime.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <unordered_map>

using namespace taylor_rt::cuda;

namespace {

/// The loaded modules (and the device of each, to unload it there), and the
/// last failure to load one.
struct Modules {
  std::mutex mutex;
  std::unordered_map<CUmodule, int> ordinals;
  PendingError lastFailure;
};

Modules &modules() {
  // Leaked: modules may be unloaded during process exit.
  static Modules *state = new Modules;
  return *state;
}

CUmodule loaded(CUmodule module) {
  Modules &m = modules();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.ordinals[module] = currentOrdinal();
  return module;
}

/// Records the thread's pending error as the last failure to load a module.
CUmodule failed() {
  Modules &m = modules();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.lastFailure = pendingError();
  return nullptr;
}

/// "CUDA device 0 (compute capability 9.0)".
std::string deviceText(const Device &device) {
  int major = 0, minor = 0;
  taylor_rt_cuda_capability(device.ordinal, &major, &minor, nullptr);
  return "CUDA device " + std::to_string(device.ordinal) +
         " (compute capability " + std::to_string(major) + "." +
         std::to_string(minor) + ")";
}

/// Loads PTX text, JIT-compiled by the driver at `optLevel` (0-4; < 0: the
/// driver's default).
CUmodule loadPtx(const char *ptx, int optLevel) {
  if (!ptx) {
    recordError(ErrorKind::Error, CUDA_ERROR_INVALID_VALUE,
                "mgpuModuleLoadJIT: no PTX (a null pointer)");
    return failed();
  }
  ScopedContext scope;
  if (!scope)
    return failed();
  char log[8192] = {0};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {
      log, reinterpret_cast<void *>(static_cast<uintptr_t>(sizeof(log))),
      reinterpret_cast<void *>(
          static_cast<uintptr_t>(std::clamp(optLevel, 0, 4)))};
  CUmodule module = nullptr;
  CUresult result = driver()->cuModuleLoadDataEx(
      &module, ptx, optLevel >= 0 ? 3 : 2, options, values);
  if (result == CUDA_SUCCESS)
    return loaded(module);
  bool tooOld = false;
  std::string message = describe("cuModuleLoadDataEx", result) + " on " +
                        deviceText(*scope.get()) + ": " +
                        describePtx(ptx, driverVersion(), tooOld);
  std::string jitLog(log, strnlen(log, sizeof(log)));
  while (!jitLog.empty() && (jitLog.back() == '\n' || jitLog.back() == ' '))
    jitLog.pop_back();
  if (!jitLog.empty())
    message += "; JIT log: " + jitLog;
  recordError(result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION || tooOld
                  ? ErrorKind::TooOld
                  : ErrorKind::Error,
              result, message);
  return failed();
}

/// Whether `size` bytes at `data` are PTX text rather than a cubin (ELF) or
/// a fatbin.
bool isPtx(const char *data, size_t size) {
  if (size >= 4 && std::memcmp(data,
                               "\x7f"
                               "ELF",
                               4) == 0)
    return false;
  uint32_t magic = 0;
  if (size >= 4)
    std::memcpy(&magic, data, 4);
  if (magic == 0xBA55ED50u) // A fatbin's header.
    return false;
  int major = 0, minor = 0;
  std::string text(data, strnlen(data, size));
  return taylor_rt_cuda_ptx_isa(text.c_str(), &major, &minor) == 0;
}

/// Checks launch dimensions: false when one is 0 (nothing to run) or out of
/// range (an error).
bool validDimensions(std::initializer_list<intptr_t> dimensions,
                     int32_t sharedMemory) {
  for (intptr_t dimension : dimensions) {
    if (dimension == 0)
      return false;
    if (dimension < 0 || dimension > INT32_MAX) {
      recordError(ErrorKind::Error, CUDA_ERROR_INVALID_VALUE,
                  "mgpuLaunchKernel: a launch dimension of " +
                      std::to_string(dimension));
      return false;
    }
  }
  if (sharedMemory < 0) {
    recordError(ErrorKind::Error, CUDA_ERROR_INVALID_VALUE,
                "mgpuLaunchKernel: " + std::to_string(sharedMemory) +
                    " bytes of shared memory");
    return false;
  }
  return true;
}

/// Prepares a launch of `function`: false (error recorded, or nothing to
/// do) when it must not happen. Above 48 KiB of dynamic shared memory, the
/// kernel must opt in.
bool prepareLaunch(CUfunction function, int32_t sharedMemory) {
  if (!function) {
    recordError(ErrorKind::Error, CUDA_ERROR_INVALID_VALUE,
                "mgpuLaunchKernel: no kernel (mgpuModuleGetFunction failed)");
    return false;
  }
  if (sharedMemory > 48 * 1024)
    return check(driver()->cuFuncSetAttribute(
                     function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                     sharedMemory),
                 "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
  return true;
}

} // namespace

extern "C" {

void *mgpuModuleLoad(void *data, size_t size) {
  const char *bytes = static_cast<const char *>(data);
  if (size && isPtx(bytes, size)) {
    std::string text(bytes, strnlen(bytes, size));
    return loadPtx(text.c_str(), -1);
  }
  ScopedContext scope;
  if (!scope)
    return failed();
  CUmodule module = nullptr;
  CUresult result = driver()->cuModuleLoadData(&module, data);
  if (result == CUDA_SUCCESS)
    return loaded(module);
  recordError(ErrorKind::Error, result,
              describe("cuModuleLoadData", result) + " for a cubin/fatbin on " +
                  deviceText(*scope.get()));
  return failed();
}

void *mgpuModuleLoadJIT(void *ptx, int optLevel) {
  return loadPtx(static_cast<const char *>(ptx), optLevel);
}

void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  int ordinal = currentOrdinal();
  {
    Modules &m = modules();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto found = m.ordinals.find(static_cast<CUmodule>(module));
    if (found == m.ordinals.end())
      return;
    ordinal = found->second;
    m.ordinals.erase(found);
  }
  // Nobody waits for an unload (engines unload in their destructors, even
  // during process exit): its errors are nobody's.
  QuietErrors quiet;
  ScopedContext scope(ordinal);
  if (scope)
    driver()->cuModuleUnload(static_cast<CUmodule>(module));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  if (hasError())
    return nullptr;
  if (!module) {
    PendingError cause;
    {
      Modules &m = modules();
      std::lock_guard<std::mutex> lock(m.mutex);
      cause = m.lastFailure;
    }
    recordError(cause.kind == ErrorKind::None ? ErrorKind::Error : cause.kind,
                cause.result,
                std::string("kernel '") + name +
                    "' cannot run: its module was not loaded" +
                    (cause.message.empty() ? "" : " (" + cause.message + ")"));
    return nullptr;
  }
  ScopedContext scope;
  if (!scope)
    return nullptr;
  CUfunction function = nullptr;
  CUresult result = driver()->cuModuleGetFunction(
      &function, static_cast<CUmodule>(module), name);
  if (result)
    recordError(ErrorKind::Error, result,
                describe("cuModuleGetFunction", result) + " for kernel '" +
                    name + "'");
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedMemory, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  if (hasError() ||
      !validDimensions({gridX, gridY, gridZ, blockX, blockY, blockZ},
                       sharedMemory))
    return;
  ScopedContext scope;
  auto kernel = static_cast<CUfunction>(function);
  if (!scope || !prepareLaunch(kernel, sharedMemory))
    return;
  countLaunch();
  check(driver()->cuLaunchKernel(
            kernel, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemory,
            resolveStream(static_cast<CUstream>(stream)), params, extra),
        "cuLaunchKernel");
}

void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t sharedMemory, void *stream, void **params,
                             void **extra) {
  if (hasError() || !validDimensions({clusterX, clusterY, clusterZ, gridX,
                                      gridY, gridZ, blockX, blockY, blockZ},
                                     sharedMemory))
    return;
  ScopedContext scope;
  auto kernel = static_cast<CUfunction>(function);
  if (!scope || !prepareLaunch(kernel, sharedMemory))
    return;
  const Driver &d = *driver();
  if (!d.cuLaunchKernelEx) {
    recordError(ErrorKind::TooOld, 0,
                "mgpuLaunchClusterKernel: the driver has no cuLaunchKernelEx "
                "(CUDA 12.0 or newer is needed for thread block clusters)");
    return;
  }
  // Clusters of more than 8 blocks are not portable: the kernel opts in.
  if (clusterX * clusterY * clusterZ > 8 &&
      !check(
          d.cuFuncSetAttribute(
              kernel, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1),
          "cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED)"))
    return;
  LaunchAttribute cluster{};
  cluster.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  cluster.value.clusterDim = {static_cast<unsigned>(clusterX),
                              static_cast<unsigned>(clusterY),
                              static_cast<unsigned>(clusterZ)};
  LaunchConfig config{};
  config.gridDimX = gridX;
  config.gridDimY = gridY;
  config.gridDimZ = gridZ;
  config.blockDimX = blockX;
  config.blockDimY = blockY;
  config.blockDimZ = blockZ;
  config.sharedMemBytes = sharedMemory;
  config.hStream = resolveStream(static_cast<CUstream>(stream));
  config.attrs = &cluster;
  config.numAttrs = 1;
  countLaunch();
  check(d.cuLaunchKernelEx(&config, kernel, params, extra), "cuLaunchKernelEx");
}

void *mgpuStreamCreate(void) { return currentStream(); }

void mgpuStreamDestroy(void * /*stream*/) {}

void mgpuStreamSynchronize(void *stream) {
  CUstream resolved = resolveStream(static_cast<CUstream>(stream));
  if (hasError() || (resolved == currentStream() && !blockingWaits()))
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuStreamSynchronize(resolved), "cuStreamSynchronize");
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  if (hasError() || !event)
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuStreamWaitEvent(
              resolveStream(static_cast<CUstream>(stream)),
              static_cast<CUevent>(event), 0),
          "cuStreamWaitEvent");
}

void *mgpuEventCreate(void) {
  if (hasError())
    return nullptr;
  ScopedContext scope;
  CUevent event = nullptr;
  if (scope)
    check(driver()->cuEventCreate(&event, CU_EVENT_DISABLE_TIMING),
          "cuEventCreate");
  return event;
}

void mgpuEventDestroy(void *event) {
  if (!event)
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuEventDestroy(static_cast<CUevent>(event)),
          "cuEventDestroy");
}

void mgpuEventSynchronize(void *event) {
  if (hasError() || !event || !blockingWaits())
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuEventSynchronize(static_cast<CUevent>(event)),
          "cuEventSynchronize");
}

void mgpuEventRecord(void *event, void *stream) {
  if (hasError() || !event)
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuEventRecord(static_cast<CUevent>(event),
                                  resolveStream(static_cast<CUstream>(stream))),
          "cuEventRecord");
}

} // extern "C"
