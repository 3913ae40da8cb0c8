//===- CudaMemory.cpp - Device memory of the mgpu* functions --------------===//
//
// `mgpuMemAlloc` allocates from the current device's own memory pool in
// stream order, on the given stream (null: the current stream), and
// `mgpuMemFree` frees the same way: the memory a call frees is reused by
// the next one without a synchronization or a driver allocation. A
// `host_shared` allocation is managed memory. Every live allocation is
// recorded (its size, how it is freed): for the counters, and so that a free
// of a pointer the runtime did not allocate is an error rather than a crash.
//
// Copies and fills are asynchronous on the given stream (null: the current
// one).
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include "Taylor/Runtime/Runtime.h"

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <unordered_map>

using namespace taylor_rt::cuda;

namespace {

/// How an allocation was made, so how it is freed.
enum class Kind { Pool, Plain, Managed };

struct Allocation {
  uint64_t size;
  Kind kind;
};

/// The live allocations and the counters.
struct Memory {
  std::mutex mutex;
  std::unordered_map<CUdeviceptr, Allocation> live;
  TaylorRtCudaStats stats{};
};

Memory &memory() {
  // Leaked: buffers may be freed during process exit.
  static Memory *state = new Memory;
  return *state;
}

std::atomic<uint64_t> launchCount{0}, gemmCount{0};

std::string bytesOn(uint64_t size, const Device &device) {
  return " (" + std::to_string(size) + " bytes on CUDA device " +
         std::to_string(device.ordinal) + ")";
}

/// The bytes a strided memref descriptor's elements span (0 if empty), or
/// -1 for a negative stride.
int64_t spanOf(int64_t rank, const int64_t *sizes, const int64_t *strides) {
  int64_t last = 0;
  for (int64_t i = 0; i < rank; ++i) {
    if (sizes[i] == 0)
      return 0;
    if (strides[i] < 0)
      return -1;
    last += (sizes[i] - 1) * strides[i];
  }
  return last + 1;
}

/// The first element of a memref descriptor (`{allocated, aligned, offset,
/// sizes[rank], strides[rank]}`) and the bytes its elements span.
bool hostRange(int64_t rank, void *descriptor, int64_t elementSize,
               char *&begin, uint64_t &bytes) {
  auto *words = static_cast<int64_t *>(descriptor);
  int64_t span = spanOf(rank, words + 3, words + 3 + rank);
  if (span < 0) {
    recordError(ErrorKind::Error, CUDA_ERROR_INVALID_VALUE,
                "mgpuMemHostRegisterMemRef: a memref with a negative stride");
    return false;
  }
  begin = reinterpret_cast<char *>(words[1]) + words[2] * elementSize;
  bytes = static_cast<uint64_t>(span) * elementSize;
  return true;
}

} // namespace

void taylor_rt::cuda::countLaunch() {
  launchCount.fetch_add(1, std::memory_order_relaxed);
}

void taylor_rt::cuda::countGemm() {
  gemmCount.fetch_add(1, std::memory_order_relaxed);
}

extern "C" {

void *mgpuMemAlloc(uint64_t size, void *stream, bool hostShared) {
  if (hasError() || size == 0)
    return nullptr;
  ScopedContext scope;
  if (!scope)
    return nullptr;
  const Driver &d = *driver();
  const Device &device = *scope.get();
  CUdeviceptr pointer = 0;
  Kind kind = hostShared    ? Kind::Managed
              : device.pool ? Kind::Pool
                            : Kind::Plain;
  CUresult result;
  const char *call;
  if (kind == Kind::Managed) {
    call = "cuMemAllocManaged";
    result = d.cuMemAllocManaged(&pointer, size, CU_MEM_ATTACH_GLOBAL);
  } else if (kind == Kind::Pool) {
    call = "cuMemAllocFromPoolAsync";
    result =
        d.cuMemAllocFromPoolAsync(&pointer, size, device.pool,
                                  resolveStream(static_cast<CUstream>(stream)));
  } else {
    call = "cuMemAlloc";
    result = d.cuMemAlloc(&pointer, size);
  }
  if (result) {
    recordError(ErrorKind::Error, result,
                describe(call, result) + bytesOn(size, device));
    return nullptr;
  }
  Memory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.live[pointer] = {size, kind};
  m.stats.allocations += 1;
  m.stats.allocatedBytes += size;
  m.stats.live += size;
  m.stats.peak = std::max(m.stats.peak, m.stats.live);
  return reinterpret_cast<void *>(pointer);
}

void mgpuMemFree(void *pointer, void *stream) {
  if (!pointer)
    return;
  auto address = reinterpret_cast<CUdeviceptr>(pointer);
  Allocation allocation;
  {
    Memory &m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto found = m.live.find(address);
    if (found == m.live.end()) {
      char text[128];
      std::snprintf(text, sizeof(text),
                    "mgpuMemFree of %p, which mgpuMemAlloc did not return",
                    pointer);
      recordError(ErrorKind::Error, CUDA_ERROR_INVALID_VALUE, text);
      return;
    }
    allocation = found->second;
    m.live.erase(found);
    m.stats.live -= allocation.size;
  }
  ScopedContext scope;
  if (!scope)
    return;
  const Driver &d = *driver();
  if (allocation.kind == Kind::Pool)
    check(
        d.cuMemFreeAsync(address, resolveStream(static_cast<CUstream>(stream))),
        "cuMemFreeAsync");
  else
    check(d.cuMemFree(address), "cuMemFree");
}

void mgpuMemcpy(void *destination, void *source, size_t size, void *stream) {
  if (hasError() || size == 0)
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(destination),
                                  reinterpret_cast<CUdeviceptr>(source), size,
                                  resolveStream(static_cast<CUstream>(stream))),
          "cuMemcpyAsync");
}

void mgpuMemset32(void *destination, unsigned int value, size_t count,
                  void *stream) {
  if (hasError() || count == 0)
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuMemsetD32Async(
              reinterpret_cast<CUdeviceptr>(destination), value, count,
              resolveStream(static_cast<CUstream>(stream))),
          "cuMemsetD32Async");
}

void mgpuMemset16(void *destination, unsigned short value, size_t count,
                  void *stream) {
  if (hasError() || count == 0)
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuMemsetD16Async(
              reinterpret_cast<CUdeviceptr>(destination), value, count,
              resolveStream(static_cast<CUstream>(stream))),
          "cuMemsetD16Async");
}

void mgpuMemHostRegister(void *pointer, uint64_t size) {
  if (hasError() || size == 0)
    return;
  ScopedContext scope;
  if (scope)
    check(driver()->cuMemHostRegister(pointer, size, 0), "cuMemHostRegister");
}

void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSize) {
  char *begin = nullptr;
  uint64_t bytes = 0;
  if (hostRange(rank, descriptor, elementSize, begin, bytes))
    mgpuMemHostRegister(begin, bytes);
}

void mgpuMemHostUnregister(void *pointer) {
  ScopedContext scope;
  if (scope)
    check(driver()->cuMemHostUnregister(pointer), "cuMemHostUnregister");
}

void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSize) {
  char *begin = nullptr;
  uint64_t bytes = 0;
  if (hostRange(rank, descriptor, elementSize, begin, bytes) && bytes)
    mgpuMemHostUnregister(begin);
}

void taylor_rt_cuda_stats(TaylorRtCudaStats *stats) {
  Memory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  *stats = m.stats;
  stats->launches = launchCount.load(std::memory_order_relaxed);
  stats->gemms = gemmCount.load(std::memory_order_relaxed);
}

void taylor_rt_cuda_reset_peak(void) {
  Memory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.stats.peak = m.stats.live;
}

int taylor_rt_cuda_release(int device, TaylorRtCudaError *error) {
  {
    ScopedContext scope(device);
    if (scope && scope.get()->pool)
      check(driver()->cuMemPoolTrimTo(scope.get()->pool, 0), "cuMemPoolTrimTo");
  }
  return taylor_rt_cuda_take_error(error);
}

} // extern "C"
