//===- RuntimeExtension.cpp - Python entry points of libTaylorRuntime -----===//
//
// nanobind module `taylor_mlir._mlir_libs._taylorRuntime`: calls of compiled
// functions (`run`), the buffer pools, the BLAS and thread settings of the
// native runtime (include/Taylor/Runtime/Runtime.h). Arrays arrive as numpy
// arrays or torch tensors (DLPack); a call releases the GIL before the first
// job starts and takes it again only after the last one is done: compiled
// code never waits for Python, and Python threads run while it computes.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Runtime/Runtime.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>
#include <vector>

namespace nb = nanobind;

namespace {

/// A pool owned by Python (or the shared one, never destroyed).
struct Pool {
  explicit Pool(TaylorRtPool *pool, bool owned) : pool(pool), owned(owned) {}
  Pool(const Pool &) = delete;
  ~Pool() {
    if (owned)
      taylor_rt_pool_destroy(pool);
  }
  TaylorRtPoolStats stats() const {
    TaylorRtPoolStats s;
    taylor_rt_pool_stats(pool, &s);
    return s;
  }
  TaylorRtPool *pool;
  bool owned;
};

using Array = nb::ndarray<nb::device::cpu>;

/// Runs `jobs`, a sequence of `(address, arrays)`: the address of a packed
/// `_mlir_ciface_` wrapper and its arguments (inputs, then outputs).
void run(nb::sequence jobs, Pool *pool) {
  size_t count = nb::len(jobs);
  std::vector<std::vector<Array>> arrays(count);
  std::vector<std::vector<TaylorRtArray>> arguments(count);
  std::vector<TaylorRtJob> native(count);
  size_t j = 0;
  for (nb::handle job : jobs) {
    nb::sequence pair = nb::borrow<nb::sequence>(job);
    if (nb::len(pair) != 2)
      throw nb::value_error("a job is (function address, arrays)");
    auto address = nb::cast<uintptr_t>(pair[0]);
    if (!address)
      throw nb::value_error("a job's function address is null");
    nb::sequence args = nb::borrow<nb::sequence>(pair[1]);
    for (nb::handle arg : args) {
      Array array;
      if (!nb::try_cast(arg, array))
        throw nb::type_error(("argument " + std::to_string(arrays[j].size()) +
                              " of a job is not a CPU array or tensor")
                                 .c_str());
      arrays[j].push_back(array);
    }
    for (Array &array : arrays[j])
      arguments[j].push_back({array.data(), static_cast<int64_t>(array.ndim()),
                              array.shape_ptr(), array.stride_ptr()});
    native[j] = {reinterpret_cast<void (*)(void **)>(address),
                 static_cast<int64_t>(arguments[j].size()),
                 arguments[j].data()};
    ++j;
  }
  TaylorRtPool *native_pool = pool ? pool->pool : nullptr;
  nb::gil_scoped_release release;
  taylor_rt_run(native.data(), static_cast<int64_t>(count), native_pool);
}

} // namespace

NB_MODULE(_taylorRuntime, m) {
  m.doc() = "The native runtime of taylor-mlir (libTaylorRuntime)";

  nb::class_<TaylorRtPoolStats>(m, "PoolStats")
      .def_ro("live", &TaylorRtPoolStats::live)
      .def_ro("peak", &TaylorRtPoolStats::peak)
      .def_ro("cached", &TaylorRtPoolStats::cached)
      .def_ro("allocations", &TaylorRtPoolStats::allocations)
      .def_ro("reused", &TaylorRtPoolStats::reused);

  nb::class_<Pool>(m, "Pool")
      .def(
          "__init__",
          [](Pool *self, bool reuse) {
            new (self) Pool(taylor_rt_pool_create(reuse), /*owned=*/true);
          },
          nb::arg("reuse"))
      .def_static(
          "shared",
          [] { return new Pool(taylor_rt_shared_pool(), /*owned=*/false); },
          "The process's shared pool")
      .def("stats", &Pool::stats)
      .def("reset_peak", [](Pool &p) { taylor_rt_pool_reset_peak(p.pool); })
      .def("release", [](Pool &p) { taylor_rt_pool_release(p.pool); })
      .def(
          "allocate",
          [](Pool &p, size_t size) {
            return reinterpret_cast<uintptr_t>(
                taylor_rt_pool_allocate(p.pool, size));
          },
          "A buffer's address, as compiled code allocates (for tests)")
      .def_static(
          "free",
          [](uintptr_t buffer) {
            taylor_rt_pool_free(reinterpret_cast<void *>(buffer));
          },
          "Returns a buffer of `allocate` to its pool (for tests)");

  m.def("run", &run, nb::arg("jobs"), nb::arg("pool").none() = nb::none(),
        "Runs the jobs (address, arrays) on native threads, without the GIL");

  m.def("blas_load", [](const std::string &path) {
    char error[512] = {0};
    if (taylor_rt_blas_load(path.c_str(), error, sizeof(error)))
      throw std::runtime_error("cannot load the BLAS " + path + ": " + error);
  });
  m.def("blas_get_num_threads", &taylor_rt_blas_get_num_threads);
  m.def("blas_set_num_threads", [](int threads) {
    if (taylor_rt_blas_set_num_threads(threads))
      throw nb::value_error("no BLAS loaded, or threads < 1");
  });
  nb::class_<TaylorRtProfile>(m, "Profile")
      .def_ro("gemm_calls", &TaylorRtProfile::gemmCalls)
      .def_ro("gemm_flops", &TaylorRtProfile::gemmFlops)
      .def_ro("gemm_ns", &TaylorRtProfile::gemmNanoseconds)
      .def_ro("allocator_calls", &TaylorRtProfile::allocatorCalls)
      .def_ro("allocator_ns", &TaylorRtProfile::allocatorNanoseconds)
      .def_ro("jobs", &TaylorRtProfile::jobs)
      .def_ro("job_ns", &TaylorRtProfile::jobNanoseconds);
  m.def("profile_enable", [](bool on) { taylor_rt_profile_enable(on); });
  m.def("profile_reset", &taylor_rt_profile_reset);
  m.def("profile_read", [] {
    TaylorRtProfile profile;
    taylor_rt_profile_read(&profile);
    return profile;
  });
  m.def("get_num_threads", &taylor_rt_get_num_threads);
  m.def("set_num_threads", &taylor_rt_set_num_threads);
}
