//===- Execute.cpp - Calls of compiled functions on native threads --------===//
//
// `taylor_rt_run` builds the memref descriptors of each job's arguments and
// calls the job's packed wrapper. A run of several jobs (the parts of a
// batch, the terms of an operator) is spread over the calling thread and a
// fixed set of native worker threads: the caller claims jobs like any
// worker, so a run completes even when every worker is busy with another
// thread's run. Nothing here touches Python; the caller releases the GIL.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Runtime/Runtime.h"

#include "Profile.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace taylor_rt {
extern thread_local TaylorRtPool *currentPool;
} // namespace taylor_rt

namespace {

/// Calls one job: descriptors `{allocated, aligned, offset, sizes...,
/// strides...}` per argument, a pointer to each, and the packed array of
/// pointers to those.
void call(const TaylorRtJob &job) {
  size_t words = 0;
  for (int64_t i = 0; i < job.numArguments; ++i)
    words += 3 + 2 * job.arguments[i].rank;
  std::vector<int64_t> storage(words);
  std::vector<void *> descriptors(job.numArguments);
  std::vector<void *> packed(job.numArguments);
  int64_t *cursor = storage.data();
  for (int64_t i = 0; i < job.numArguments; ++i) {
    const TaylorRtArray &array = job.arguments[i];
    cursor[0] = reinterpret_cast<int64_t>(array.data);
    cursor[1] = reinterpret_cast<int64_t>(array.data);
    cursor[2] = 0;
    std::copy(array.sizes, array.sizes + array.rank, cursor + 3);
    std::copy(array.strides, array.strides + array.rank,
              cursor + 3 + array.rank);
    descriptors[i] = cursor;
    packed[i] = &descriptors[i];
    cursor += 3 + 2 * array.rank;
  }
  job.function(packed.data());
}

/// The jobs of one `taylor_rt_run`.
struct Run {
  const TaylorRtJob *jobs;
  int64_t size;
  TaylorRtPool *pool;
  /// The next job to claim (under `Workers::mutex`).
  int64_t next = 0;
  std::mutex mutex;
  std::condition_variable finished;
  int64_t done = 0;
};

/// Runs job `index` of `run` with the run's pool, then counts it done
/// (after which `run` may be gone).
void execute(Run &run, int64_t index) {
  TaylorRtPool *saved = taylor_rt::currentPool;
  taylor_rt::currentPool = run.pool;
  {
    auto &counters = taylor_rt::counters();
    taylor_rt::ScopedTimer timer(counters.jobs, counters.jobNanoseconds);
    call(run.jobs[index]);
  }
  taylor_rt::currentPool = saved;
  std::lock_guard<std::mutex> lock(run.mutex);
  if (++run.done == run.size)
    run.finished.notify_all();
}

/// The worker threads and the queue of runs with unclaimed jobs.
class Workers {
public:
  static Workers &get() {
    // Leaked: detached workers may outlive static destruction.
    static Workers *workers = new Workers;
    return *workers;
  }

  int threads() const { return threadCount.load(); }

  void setThreads(int count) {
    std::lock_guard<std::mutex> lock(mutex);
    threadCount = std::max(1, count);
    available.notify_all();
  }

  void run(Run &run) {
    if (run.size == 1 || threads() == 1) {
      for (int64_t i = 0; i < run.size; ++i)
        execute(run, i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      // Workers 1..threads-1 (the caller is one of the threads).
      while (static_cast<int>(started) < threadCount - 1)
        std::thread(&Workers::work, this, started++).detach();
      queue.push_back(&run);
      available.notify_all();
    }
    for (int64_t index; (index = claim(run)) >= 0;)
      execute(run, index);
    std::unique_lock<std::mutex> lock(run.mutex);
    run.finished.wait(lock, [&] { return run.done == run.size; });
  }

private:
  /// The next unclaimed job of `run` (-1: none); a run whose jobs are all
  /// claimed leaves the queue.
  int64_t claim(Run &run) {
    std::lock_guard<std::mutex> lock(mutex);
    return claimLocked(run);
  }

  int64_t claimLocked(Run &run) {
    if (run.next == run.size)
      return -1;
    int64_t index = run.next++;
    if (run.next == run.size)
      queue.erase(std::find(queue.begin(), queue.end(), &run));
    return index;
  }

  void work(unsigned id) {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      // Workers beyond the current count wait until it grows again.
      available.wait(lock, [&] {
        return static_cast<int>(id) < threadCount - 1 && !queue.empty();
      });
      Run &run = *queue.front();
      int64_t index = claimLocked(run);
      lock.unlock();
      execute(run, index);
      lock.lock();
    }
  }

  std::mutex mutex;
  std::condition_variable available;
  std::deque<Run *> queue;
  unsigned started = 0;
  std::atomic<int> threadCount{
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
};

} // namespace

extern "C" {

void taylor_rt_run(const TaylorRtJob *jobs, int64_t numJobs,
                   TaylorRtPool *pool) {
  if (numJobs <= 0)
    return;
  Run run;
  run.jobs = jobs;
  run.size = numJobs;
  run.pool = pool ? pool : taylor_rt_shared_pool();
  Workers::get().run(run);
}

int taylor_rt_get_num_threads(void) { return Workers::get().threads(); }

void taylor_rt_set_num_threads(int threads) {
  Workers::get().setThreads(threads);
}

} // extern "C"
