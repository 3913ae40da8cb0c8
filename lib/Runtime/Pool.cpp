//===- Pool.cpp - The buffer pool behind MLIR's allocation functions ------===//
//
// Compiled code allocates through MLIR's generic allocation functions
// (`finalize-memref-to-llvm{use-generic-functions=true}`), which this file
// defines. Every buffer carries a 64-byte header naming the pool that served
// it. A pool keeps the buffers freed into it, by size, and serves the next
// allocation from the smallest cached buffer that is large enough and at
// most 1/8 larger than asked (the parts of a batch differ by one datum:
// their buffers by a few percent).
//
// Why: the coefficient tensors of a large batch are tens of MB; glibc serves
// buffers above 32 MiB by `mmap` and unmaps them on `free`, so without reuse
// every call page-faults (and the kernel zeroes) all of its memory again.
// The code of an operator allocates the same sizes on every call, so from
// the second call on every allocation is served from the cache.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Runtime/Runtime.h"

#include "Profile.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace {

/// Bytes before every buffer: its header, and the alignment of the buffer.
constexpr size_t kHeaderBytes = 64;

/// What precedes a buffer.
struct Header {
  /// What to pass to `free`.
  void *raw;
  /// The pool that served it.
  TaylorRtPool *pool;
  /// The usable bytes.
  size_t bytes;
  /// Whether it may be kept for reuse (not over-aligned).
  bool cacheable;
};
static_assert(sizeof(Header) <= kHeaderBytes, "header too large");

Header *headerOf(void *buffer) {
  return reinterpret_cast<Header *>(static_cast<char *>(buffer) - kHeaderBytes);
}

/// The bytes of a buffer for a request: a multiple of 64 (at least 64).
size_t roundUp(size_t size) {
  return std::max<size_t>(64, (size + 63) & ~size_t(63));
}

} // namespace

struct TaylorRtPool {
  explicit TaylorRtPool(bool reuse) : reuse(reuse) {}

  void *allocate(size_t size, size_t alignment);
  void release(void *buffer);
  void releaseCached();
  /// Counts an allocation of `bytes` (under `mutex`).
  void countLocked(size_t bytes);

  const bool reuse;
  std::mutex mutex;
  /// The cached buffers by size.
  std::map<size_t, std::vector<void *>> freeLists;
  TaylorRtPoolStats stats{};
  /// Destroyed by its owner: deleted when its last buffer comes back.
  bool orphaned = false;
};

void *TaylorRtPool::allocate(size_t size, size_t alignment) {
  alignment = std::max(alignment, kHeaderBytes);
  size_t bytes = roundUp(size);
  if (alignment == kHeaderBytes && reuse) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = freeLists.lower_bound(bytes);
    if (it != freeLists.end() && it->first <= bytes + bytes / 8) {
      void *buffer = it->second.back();
      it->second.pop_back();
      stats.cached -= it->first;
      ++stats.reused;
      countLocked(it->first);
      if (it->second.empty())
        freeLists.erase(it);
      return buffer;
    }
  }
  size_t total = (alignment + bytes + alignment - 1) / alignment * alignment;
  void *raw = std::aligned_alloc(alignment, total);
  if (!raw)
    return nullptr;
  void *buffer = static_cast<char *>(raw) + alignment;
  Header *header = headerOf(buffer);
  header->raw = raw;
  header->pool = this;
  header->bytes = bytes;
  // Over-aligned buffers are rare (none in generated code): not cached.
  header->cacheable = alignment == kHeaderBytes;
  std::lock_guard<std::mutex> lock(mutex);
  countLocked(bytes);
  return buffer;
}

void TaylorRtPool::countLocked(size_t bytes) {
  stats.live += bytes;
  stats.peak = std::max(stats.peak, stats.live);
  ++stats.allocations;
}

void TaylorRtPool::release(void *buffer) {
  Header *header = headerOf(buffer);
  bool cache, last;
  {
    std::lock_guard<std::mutex> lock(mutex);
    stats.live -= header->bytes;
    cache = reuse && !orphaned && header->cacheable;
    if (cache) {
      freeLists[header->bytes].push_back(buffer);
      stats.cached += header->bytes;
    }
    last = orphaned && stats.live == 0;
  }
  if (!cache)
    std::free(header->raw);
  if (last)
    delete this;
}

void TaylorRtPool::releaseCached() {
  std::map<size_t, std::vector<void *>> lists;
  {
    std::lock_guard<std::mutex> lock(mutex);
    lists.swap(freeLists);
    stats.cached = 0;
  }
  for (auto &entry : lists)
    for (void *buffer : entry.second)
      std::free(headerOf(buffer)->raw);
}

namespace taylor_rt {
/// The pool of the thread's current call (`taylor_rt_run`).
thread_local TaylorRtPool *currentPool = nullptr;
} // namespace taylor_rt

extern "C" {

TaylorRtPool *taylor_rt_shared_pool(void) {
  // Never destroyed: buffers may be freed during process exit.
  static TaylorRtPool *shared = new TaylorRtPool(/*reuse=*/true);
  return shared;
}

TaylorRtPool *taylor_rt_pool_create(int reuse) {
  return new TaylorRtPool(reuse != 0);
}

void taylor_rt_pool_destroy(TaylorRtPool *pool) {
  if (!pool || pool == taylor_rt_shared_pool())
    return;
  pool->releaseCached();
  bool empty;
  {
    std::lock_guard<std::mutex> lock(pool->mutex);
    pool->orphaned = true;
    empty = pool->stats.live == 0;
  }
  if (empty)
    delete pool;
}

void taylor_rt_pool_stats(TaylorRtPool *pool, TaylorRtPoolStats *stats) {
  std::lock_guard<std::mutex> lock(pool->mutex);
  *stats = pool->stats;
}

void taylor_rt_pool_reset_peak(TaylorRtPool *pool) {
  std::lock_guard<std::mutex> lock(pool->mutex);
  pool->stats.peak = pool->stats.live;
}

void taylor_rt_pool_release(TaylorRtPool *pool) { pool->releaseCached(); }

void *taylor_rt_pool_allocate(TaylorRtPool *pool, size_t size) {
  return pool->allocate(size, kHeaderBytes);
}

void taylor_rt_pool_free(void *buffer) {
  if (buffer)
    headerOf(buffer)->pool->release(buffer);
}

static TaylorRtPool *activePool() {
  return taylor_rt::currentPool ? taylor_rt::currentPool
                                : taylor_rt_shared_pool();
}

void *_mlir_memref_to_llvm_alloc(size_t size) {
  auto &counters = taylor_rt::counters();
  taylor_rt::ScopedTimer timer(counters.allocatorCalls,
                               counters.allocatorNanoseconds);
  return activePool()->allocate(size, kHeaderBytes);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  auto &counters = taylor_rt::counters();
  taylor_rt::ScopedTimer timer(counters.allocatorCalls,
                               counters.allocatorNanoseconds);
  return activePool()->allocate(size, alignment);
}

void _mlir_memref_to_llvm_free(void *buffer) {
  auto &counters = taylor_rt::counters();
  taylor_rt::ScopedTimer timer(counters.allocatorCalls,
                               counters.allocatorNanoseconds);
  taylor_rt_pool_free(buffer);
}

} // extern "C"
