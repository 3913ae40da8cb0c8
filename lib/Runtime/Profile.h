//===- Profile.h - Counters of the runtime's time and work ------*- C++ -*-===//
//
// Internal to libTaylorRuntime: `ScopedTimer` adds the nanoseconds of a scope
// to a counter when profiling is on (`taylor_rt_profile_enable`); off, it
// costs one relaxed atomic load.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RUNTIME_PROFILE_H
#define TAYLOR_RUNTIME_PROFILE_H

#include <atomic>
#include <chrono>
#include <cstdint>

namespace taylor_rt {

/// The counters (see `TaylorRtProfile`).
struct Counters {
  std::atomic<bool> enabled{false};
  std::atomic<uint64_t> gemmCalls{0}, gemmFlops{0}, gemmNanoseconds{0};
  std::atomic<uint64_t> allocatorCalls{0}, allocatorNanoseconds{0};
  std::atomic<uint64_t> jobs{0}, jobNanoseconds{0};
};

Counters &counters();

/// Adds the scope's duration to `nanoseconds` and one to `calls`.
class ScopedTimer {
public:
  ScopedTimer(std::atomic<uint64_t> &calls, std::atomic<uint64_t> &nanoseconds)
      : calls(calls), nanoseconds(nanoseconds),
        on(counters().enabled.load(std::memory_order_relaxed)) {
    if (on)
      start = std::chrono::steady_clock::now();
  }
  ~ScopedTimer() {
    if (!on)
      return;
    auto elapsed = std::chrono::steady_clock::now() - start;
    nanoseconds.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count(),
        std::memory_order_relaxed);
    calls.fetch_add(1, std::memory_order_relaxed);
  }
  bool enabled() const { return on; }

private:
  std::atomic<uint64_t> &calls, &nanoseconds;
  bool on;
  std::chrono::steady_clock::time_point start;
};

} // namespace taylor_rt

#endif // TAYLOR_RUNTIME_PROFILE_H
