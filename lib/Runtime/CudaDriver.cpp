//===- CudaDriver.cpp - The CUDA driver, devices and errors ---------------===//
//
// Loads `libcuda.so.1` at the first call that needs it, keeps each thread's
// first error, current device and current stream, and sets up each device
// the first time it is used: its primary context (the one torch uses; never
// released) and a memory pool of its own that keeps freed memory for reuse
// (as torch's caching allocator does) until `taylor_rt_cuda_release`.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include "Taylor/Runtime/Runtime.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <type_traits>

using namespace taylor_rt::cuda;

namespace {

/// The outcome of loading the driver: its functions, or why not.
struct Loaded {
  Driver functions{};
  bool ok = false;
  ErrorKind kind = ErrorKind::None;
  CUresult result = CUDA_SUCCESS;
  std::string reason;
  int version = 0;
};

std::string describeWith(const Driver &driver, const char *call,
                         CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (driver.cuGetErrorName)
    driver.cuGetErrorName(result, &name);
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(result, &text);
  std::string message = std::string(call) + " failed: ";
  message += name ? name : "CUresult " + std::to_string(result);
  if (text)
    message += std::string(" (") + text + ")";
  return message;
}

Loaded *load() {
  auto *loaded = new Loaded;
  void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    loaded->kind = ErrorKind::Unavailable;
    loaded->reason = std::string("libcuda.so.1 not found (no NVIDIA driver "
                                 "is installed): ") +
                     (why ? why : "dlopen failed");
    return loaded;
  }
  Driver &d = loaded->functions;
  std::string missing;
  auto bind = [&](auto &function, const char *name, bool required = true) {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(
        dlsym(handle, name));
    if (!function && required)
      missing += std::string(missing.empty() ? "" : ", ") + name;
  };
  bind(d.cuInit, "cuInit");
  bind(d.cuDriverGetVersion, "cuDriverGetVersion");
  bind(d.cuGetErrorName, "cuGetErrorName");
  bind(d.cuGetErrorString, "cuGetErrorString");
  bind(d.cuDeviceGetCount, "cuDeviceGetCount");
  bind(d.cuDeviceGet, "cuDeviceGet");
  bind(d.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  bind(d.cuCtxGetCurrent, "cuCtxGetCurrent");
  bind(d.cuCtxSetCurrent, "cuCtxSetCurrent");
  bind(d.cuMemAlloc, "cuMemAlloc_v2");
  bind(d.cuMemFree, "cuMemFree_v2");
  bind(d.cuMemAllocManaged, "cuMemAllocManaged");
  bind(d.cuMemAllocFromPoolAsync, "cuMemAllocFromPoolAsync");
  bind(d.cuMemFreeAsync, "cuMemFreeAsync");
  bind(d.cuMemPoolCreate, "cuMemPoolCreate");
  bind(d.cuMemPoolSetAttribute, "cuMemPoolSetAttribute");
  bind(d.cuMemPoolTrimTo, "cuMemPoolTrimTo");
  bind(d.cuMemcpyAsync, "cuMemcpyAsync");
  bind(d.cuMemsetD32Async, "cuMemsetD32Async");
  bind(d.cuMemsetD16Async, "cuMemsetD16Async");
  bind(d.cuMemHostRegister, "cuMemHostRegister_v2");
  bind(d.cuMemHostUnregister, "cuMemHostUnregister");
  bind(d.cuModuleLoadData, "cuModuleLoadData");
  bind(d.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  bind(d.cuModuleGetFunction, "cuModuleGetFunction");
  bind(d.cuModuleUnload, "cuModuleUnload");
  bind(d.cuFuncSetAttribute, "cuFuncSetAttribute");
  bind(d.cuLaunchKernel, "cuLaunchKernel");
  bind(d.cuLaunchKernelEx, "cuLaunchKernelEx", /*required=*/false);
  bind(d.cuStreamSynchronize, "cuStreamSynchronize");
  bind(d.cuStreamWaitEvent, "cuStreamWaitEvent");
  bind(d.cuEventCreate, "cuEventCreate");
  bind(d.cuEventDestroy, "cuEventDestroy_v2");
  bind(d.cuEventRecord, "cuEventRecord");
  bind(d.cuEventSynchronize, "cuEventSynchronize");
  if (!missing.empty()) {
    loaded->kind = ErrorKind::TooOld;
    loaded->reason = "libcuda.so.1 lacks " + missing +
                     ": the NVIDIA driver is too old (CUDA 11.2 or newer is "
                     "needed)";
    return loaded;
  }
  if (CUresult result = d.cuInit(0)) {
    loaded->kind = ErrorKind::Unavailable;
    loaded->result = result;
    loaded->reason = describeWith(d, "cuInit", result);
    return loaded;
  }
  d.cuDriverGetVersion(&loaded->version);
  loaded->ok = true;
  return loaded;
}

/// The driver, loaded once (thread-safe); kept for the process's lifetime.
const Loaded &loaded() {
  static const Loaded *state = load();
  return *state;
}

/// The first error of a thread since it was last taken.
struct ErrorSlot {
  ErrorKind kind = ErrorKind::None;
  int result = 0;
  std::string message;
  /// Errors recorded while this one was pending.
  int later = 0;
};

thread_local ErrorSlot slot;
thread_local int threadDevice = -1;
std::atomic<int> defaultDevice{0};
thread_local CUstream threadStream = nullptr;
thread_local bool threadBlocking = false;

constexpr int kMaxDevices = 64;
std::atomic<Device *> devices[kMaxDevices];
std::mutex devicesMutex;

/// Creates `device`'s pool with its context current; null when the device
/// has no memory pools or creating one fails (allocations are then plain
/// `cuMemAlloc`s).
CUmemoryPool createPool(const Driver &d, const Device &device) {
  int supported = 0;
  d.cuDeviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                         device.device);
  if (!supported)
    return nullptr;
  CUcontext previous = nullptr;
  d.cuCtxGetCurrent(&previous);
  if (d.cuCtxSetCurrent(device.context))
    return nullptr;
  MemPoolProps props{};
  props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  props.location.id = device.device;
  CUmemoryPool pool = nullptr;
  if (d.cuMemPoolCreate(&pool, &props))
    pool = nullptr;
  // Keep freed memory for reuse until `taylor_rt_cuda_release`.
  uint64_t keepAll = UINT64_MAX;
  if (pool)
    d.cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keepAll);
  d.cuCtxSetCurrent(previous);
  return pool;
}

/// Device `ordinal`, set up at its first use; null (error recorded) when it
/// cannot be.
const Device *deviceState(int ordinal) {
  const Driver *d = driver();
  if (!d)
    return nullptr;
  if (ordinal >= 0 && ordinal < kMaxDevices)
    if (Device *device = devices[ordinal].load(std::memory_order_acquire))
      return device;
  std::lock_guard<std::mutex> lock(devicesMutex);
  int count = 0;
  if (!check(d->cuDeviceGetCount(&count), "cuDeviceGetCount"))
    return nullptr;
  if (ordinal < 0 || ordinal >= count || ordinal >= kMaxDevices) {
    recordError(ErrorKind::Unavailable, CUDA_ERROR_INVALID_DEVICE,
                "no CUDA device " + std::to_string(ordinal) +
                    ": the driver sees " + std::to_string(count));
    return nullptr;
  }
  if (Device *device = devices[ordinal].load(std::memory_order_acquire))
    return device;
  auto *device = new Device{ordinal, 0, nullptr, nullptr};
  if (!check(d->cuDeviceGet(&device->device, ordinal), "cuDeviceGet") ||
      !check(d->cuDevicePrimaryCtxRetain(&device->context, device->device),
             "cuDevicePrimaryCtxRetain")) {
    delete device;
    return nullptr;
  }
  device->pool = createPool(*d, *device);
  devices[ordinal].store(device, std::memory_order_release);
  return device;
}

/// "12.4" for 12040.
std::string cudaVersion(int version) {
  return std::to_string(version / 1000) + "." +
         std::to_string(version % 1000 / 10);
}

/// The CUDA version that introduced each PTX ISA (PTX ISA release notes).
struct PtxRelease {
  int major, minor, cuda;
};
constexpr PtxRelease kPtxReleases[] = {
    {5, 0, 8000},  {6, 0, 9000},  {6, 1, 9010},  {6, 2, 9020},  {6, 3, 10000},
    {6, 4, 10010}, {6, 5, 10020}, {7, 0, 11000}, {7, 1, 11010}, {7, 2, 11020},
    {7, 3, 11030}, {7, 4, 11040}, {7, 5, 11050}, {7, 6, 11060}, {7, 7, 11070},
    {7, 8, 11080}, {8, 0, 12000}, {8, 1, 12010}, {8, 2, 12020}, {8, 3, 12030},
    {8, 4, 12040}, {8, 5, 12050}, {8, 6, 12070}, {8, 7, 12080}, {8, 8, 12090},
    {9, 0, 13000},
};

void fill(TaylorRtCudaError *error, ErrorKind kind, int result,
          const std::string &message) {
  if (!error)
    return;
  error->kind = static_cast<int>(kind);
  error->result = result;
  std::snprintf(error->message, sizeof(error->message), "%s", message.c_str());
}

void copy(const std::string &text, char *buffer, size_t size) {
  if (buffer && size)
    std::snprintf(buffer, size, "%s", text.c_str());
}

} // namespace

const Driver *taylor_rt::cuda::driver() {
  const Loaded &state = loaded();
  if (state.ok)
    return &state.functions;
  recordError(state.kind, state.result, state.reason);
  return nullptr;
}

int taylor_rt::cuda::driverVersion() { return loaded().version; }

void taylor_rt::cuda::recordError(ErrorKind kind, int result,
                                  const std::string &message) {
  if (slot.kind != ErrorKind::None) {
    ++slot.later;
    return;
  }
  slot.kind = kind;
  slot.result = result;
  slot.message = message;
}

bool taylor_rt::cuda::hasError() { return slot.kind != ErrorKind::None; }

std::string taylor_rt::cuda::describe(const char *call, CUresult result) {
  return describeWith(loaded().functions, call, result);
}

PendingError taylor_rt::cuda::pendingError() {
  return {slot.kind, slot.result, slot.message};
}

QuietErrors::QuietErrors()
    : saved{slot.kind, slot.result, slot.message}, savedLater(slot.later) {
  slot = ErrorSlot();
}

QuietErrors::~QuietErrors() {
  slot = ErrorSlot{saved.kind, saved.result, saved.message, savedLater};
}

bool taylor_rt::cuda::check(CUresult result, const char *call, ErrorKind kind) {
  if (result == CUDA_SUCCESS)
    return true;
  recordError(kind, result, describe(call, result));
  return false;
}

int taylor_rt::cuda::currentOrdinal() {
  return threadDevice >= 0 ? threadDevice : defaultDevice.load();
}

int taylor_rt::cuda::threadOrdinal() { return threadDevice; }

CUstream taylor_rt::cuda::currentStream() { return threadStream; }

bool taylor_rt::cuda::blockingWaits() { return threadBlocking; }

void taylor_rt::cuda::setBlockingWaits(bool blocking) {
  threadBlocking = blocking;
}

ScopedContext::ScopedContext(int ordinal) {
  const Device *state = deviceState(ordinal);
  if (!state)
    return;
  const Driver &d = loaded().functions;
  CUcontext current = nullptr;
  if (!check(d.cuCtxGetCurrent(&current), "cuCtxGetCurrent"))
    return;
  if (current != state->context) {
    if (!check(d.cuCtxSetCurrent(state->context), "cuCtxSetCurrent"))
      return;
    previous = current;
    restore = true;
  }
  device = state;
}

ScopedContext::~ScopedContext() {
  if (restore)
    loaded().functions.cuCtxSetCurrent(previous);
}

std::string taylor_rt::cuda::describePtx(const char *ptx, int driverVersion,
                                         bool &tooOld) {
  tooOld = false;
  int major = 0, minor = 0;
  if (taylor_rt_cuda_ptx_isa(ptx, &major, &minor))
    return "the module has no PTX .version directive";
  std::string isa = std::to_string(major) + "." + std::to_string(minor);
  std::string driverText = "this driver is CUDA " + cudaVersion(driverVersion) +
                           " (driver API version " +
                           std::to_string(driverVersion) + ")";
  int minimum = taylor_rt_cuda_minimum_driver(major, minor);
  const PtxRelease &newest = std::end(kPtxReleases)[-1];
  std::string message;
  if (minimum < 0) {
    tooOld = driverVersion <= newest.cuda;
    message = "the kernels are PTX ISA " + isa +
              ", newer than every ISA this runtime knows (the newest, " +
              std::to_string(newest.major) + "." +
              std::to_string(newest.minor) + ", needs CUDA " +
              cudaVersion(newest.cuda) + "); " + driverText;
  } else {
    tooOld = driverVersion < minimum;
    message = "the kernels are PTX ISA " + isa + ", which needs a CUDA " +
              cudaVersion(minimum) + " driver or newer; " + driverText;
  }
  int newestMajor = 0, newestMinor = 0;
  if (tooOld &&
      !taylor_rt_cuda_newest_ptx_isa(driverVersion, &newestMajor, &newestMinor))
    message += "; update the NVIDIA driver, or compile the kernels for PTX "
               "ISA " +
               std::to_string(newestMajor) + "." + std::to_string(newestMinor) +
               " or older (the newest this driver runs)";
  else if (tooOld)
    message += "; update the NVIDIA driver";
  return message;
}

extern "C" {

int taylor_rt_cuda_take_error(TaylorRtCudaError *error) {
  auto kind = slot.kind;
  std::string message = slot.message;
  if (slot.later)
    message += " (and " + std::to_string(slot.later) +
               " later CUDA error(s) while it was pending)";
  fill(error, kind, slot.result, message);
  slot = ErrorSlot();
  return static_cast<int>(kind);
}

int taylor_rt_cuda_driver(int *version, int *devices,
                          TaylorRtCudaError *error) {
  const Loaded &state = loaded();
  fill(error, ErrorKind::None, 0, "");
  if (!state.ok) {
    fill(error, state.kind, state.result, state.reason);
    return static_cast<int>(state.kind);
  }
  int count = 0;
  if (CUresult result = state.functions.cuDeviceGetCount(&count)) {
    fill(error, ErrorKind::Unavailable, result,
         describe("cuDeviceGetCount", result));
    return static_cast<int>(ErrorKind::Unavailable);
  }
  if (count == 0) {
    fill(error, ErrorKind::Unavailable, CUDA_ERROR_NO_DEVICE,
         "the NVIDIA driver (CUDA " + cudaVersion(state.version) +
             ") sees no CUDA device");
    return static_cast<int>(ErrorKind::Unavailable);
  }
  *version = state.version;
  *devices = count;
  return 0;
}

int taylor_rt_cuda_capability(int device, int *major, int *minor,
                              TaylorRtCudaError *error) {
  const Loaded &state = loaded();
  fill(error, ErrorKind::None, 0, "");
  if (!state.ok) {
    fill(error, state.kind, state.result, state.reason);
    return static_cast<int>(state.kind);
  }
  const Driver &d = state.functions;
  CUdevice handle = 0;
  CUresult result = d.cuDeviceGet(&handle, device);
  if (!result)
    result = d.cuDeviceGetAttribute(
        major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, handle);
  if (!result)
    result = d.cuDeviceGetAttribute(
        minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, handle);
  if (result) {
    fill(error, ErrorKind::Unavailable, result,
         describe("cuDeviceGetAttribute", result) + " for CUDA device " +
             std::to_string(device));
    return static_cast<int>(ErrorKind::Unavailable);
  }
  return 0;
}

void taylor_rt_cuda_set_device(int device) {
  threadDevice = device;
  defaultDevice = device;
}

void taylor_rt_cuda_set_stream(void *stream) {
  threadStream = static_cast<CUstream>(stream);
}

void mgpuSetDefaultDevice(int32_t device) { threadDevice = device; }

int taylor_rt_cuda_ptx_isa(const char *ptx, int *major, int *minor) {
  for (const char *line = ptx; line && *line;) {
    const char *p = line;
    while (*p == ' ' || *p == '\t')
      ++p;
    if (std::strncmp(p, ".version", 8) == 0 && (p[8] == ' ' || p[8] == '\t'))
      return std::sscanf(p + 8, " %d.%d", major, minor) == 2 ? 0 : 1;
    line = std::strchr(line, '\n');
    if (line)
      ++line;
  }
  return 1;
}

int taylor_rt_cuda_minimum_driver(int major, int minor) {
  for (const PtxRelease &release : kPtxReleases)
    if (release.major > major ||
        (release.major == major && release.minor >= minor))
      return release.cuda;
  return -1;
}

int taylor_rt_cuda_newest_ptx_isa(int driverVersion, int *major, int *minor) {
  const PtxRelease *found = nullptr;
  for (const PtxRelease &release : kPtxReleases)
    if (release.cuda <= driverVersion)
      found = &release;
  if (!found)
    return 1;
  *major = found->major;
  *minor = found->minor;
  return 0;
}

int taylor_rt_cuda_check_ptx(const char *ptx, int driverVersion, char *message,
                             size_t messageSize) {
  int major = 0, minor = 0;
  if (taylor_rt_cuda_ptx_isa(ptx, &major, &minor)) {
    copy("the module has no PTX .version directive", message, messageSize);
    return TAYLOR_RT_CUDA_ERROR;
  }
  bool tooOld = false;
  std::string text = describePtx(ptx, driverVersion, tooOld);
  if (!tooOld) {
    copy("", message, messageSize);
    return TAYLOR_RT_CUDA_OK;
  }
  copy("a CUDA " + cudaVersion(driverVersion) +
           " driver cannot run these kernels: " + text,
       message, messageSize);
  return TAYLOR_RT_CUDA_DRIVER_TOO_OLD;
}

} // extern "C"
