//===- CudaExecute.cpp - Calls of compiled host code on a CUDA stream -----===//
//
// `taylor_rt_run_cuda` calls compiled host code (which launches kernels and
// allocates device memory through the `mgpu*` functions) with arguments in
// device memory. Every job runs on the calling thread, in order, with the
// device's primary context current and the thread's current stream set to
// the caller's (torch's) stream, so that the calls are ordered on that
// stream like torch's own kernels and return before they complete.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include "Taylor/Runtime/Runtime.h"

using namespace taylor_rt::cuda;

namespace {

/// Sets the thread's device, stream and waits for a scope, and restores
/// them after it.
class ScopedCurrent {
public:
  ScopedCurrent(int device, void *stream, bool blocking)
      : device(threadOrdinal()), stream(currentStream()),
        blocking(blockingWaits()) {
    mgpuSetDefaultDevice(device);
    taylor_rt_cuda_set_stream(stream);
    setBlockingWaits(blocking);
  }
  ScopedCurrent(const ScopedCurrent &) = delete;
  ~ScopedCurrent() {
    mgpuSetDefaultDevice(device);
    taylor_rt_cuda_set_stream(stream);
    setBlockingWaits(blocking);
  }

private:
  int device;
  CUstream stream;
  bool blocking;
};

} // namespace

extern "C" {

int taylor_rt_run_cuda(const TaylorRtJob *jobs, int64_t numJobs, int device,
                       void *stream, int synchronize,
                       TaylorRtCudaError *error) {
  if (!hasError()) {
    ScopedCurrent current(device, stream, synchronize != 0);
    ScopedContext context;
    // One job at a time through `taylor_rt_run`, which runs a single job on
    // the calling thread (where the stream and context are set).
    for (int64_t i = 0; context && i < numJobs && !hasError(); ++i)
      taylor_rt_run(&jobs[i], 1, nullptr);
    if (context && synchronize && !hasError())
      check(driver()->cuStreamSynchronize(static_cast<CUstream>(stream)),
            "cuStreamSynchronize (the kernels' own errors show here)");
  }
  return taylor_rt_cuda_take_error(error);
}

} // extern "C"
