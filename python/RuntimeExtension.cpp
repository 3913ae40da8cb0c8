//===- RuntimeExtension.cpp - Python entry points of libTaylorRuntime -----===//
//
// nanobind module `taylor_mlir._mlir_libs._taylorRuntime`: calls of compiled
// functions (`run`), the buffer pools, the BLAS and thread settings of the
// native runtime (include/Taylor/Runtime/Runtime.h). Arrays arrive as numpy
// arrays or torch tensors (DLPack); a call releases the GIL before the first
// job starts and takes it again only after the last one is done: compiled
// code never waits for Python, and Python threads run while it computes.
//
// The CUDA part (`run_cuda`, `cuda_*`) takes device pointers as integers and
// raises its errors as `CudaError` (a RuntimeError) or its subclasses
// `CudaUnavailableError` and `CudaDriverTooOldError`, defined here.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Runtime/Runtime.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>
#include <string>
#include <utility>
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

/// Jobs for the runtime: `(address, arguments)` pairs, each argument read
/// into an `A` that owns (or keeps alive) what its `TaylorRtArray` points to.
template <typename A> struct Jobs {
  std::vector<std::vector<A>> arrays;
  std::vector<std::vector<TaylorRtArray>> arguments;
  std::vector<TaylorRtJob> native;
};

/// Reads `jobs`, a sequence of `(address, arguments)`: the address of a
/// packed `_mlir_ciface_` wrapper and its arguments (inputs, then outputs);
/// `read(argument, index)` makes an `A` of each argument and `describe(A &)`
/// its `TaylorRtArray`.
template <typename A, typename Read, typename Describe>
Jobs<A> readJobs(nb::sequence jobs, Read read, Describe describe) {
  size_t count = nb::len(jobs);
  Jobs<A> out{std::vector<std::vector<A>>(count),
              std::vector<std::vector<TaylorRtArray>>(count),
              std::vector<TaylorRtJob>(count)};
  size_t j = 0;
  for (nb::handle job : jobs) {
    nb::sequence pair = nb::borrow<nb::sequence>(job);
    if (nb::len(pair) != 2)
      throw nb::value_error("a job is (function address, arguments)");
    auto address = nb::cast<uintptr_t>(pair[0]);
    if (!address)
      throw nb::value_error("a job's function address is null");
    for (nb::handle arg : nb::borrow<nb::sequence>(pair[1]))
      out.arrays[j].push_back(read(arg, out.arrays[j].size()));
    for (A &array : out.arrays[j])
      out.arguments[j].push_back(describe(array));
    out.native[j] = {reinterpret_cast<void (*)(void **)>(address),
                     static_cast<int64_t>(out.arguments[j].size()),
                     out.arguments[j].data()};
    ++j;
  }
  return out;
}

/// Runs `jobs` (`readJobs`), each argument a CPU array or tensor.
void run(nb::sequence jobs, Pool *pool) {
  Jobs<Array> parsed = readJobs<Array>(
      jobs,
      [](nb::handle arg, size_t index) {
        Array array;
        if (!nb::try_cast(arg, array))
          throw nb::type_error(("argument " + std::to_string(index) +
                                " of a job is not a CPU array or tensor")
                                   .c_str());
        return array;
      },
      [](Array &array) {
        return TaylorRtArray{array.data(), static_cast<int64_t>(array.ndim()),
                             array.shape_ptr(), array.stride_ptr()};
      });
  TaylorRtPool *native_pool = pool ? pool->pool : nullptr;
  nb::gil_scoped_release release;
  taylor_rt_run(parsed.native.data(),
                static_cast<int64_t>(parsed.native.size()), native_pool);
}

//===----------------------------------------------------------------------===//
// CUDA
//===----------------------------------------------------------------------===//

/// A CUDA error for Python: `kind` is a `TAYLOR_RT_CUDA_*`.
struct CudaException : std::runtime_error {
  CudaException(int kind, const std::string &message)
      : std::runtime_error(message), kind(kind) {}
  int kind;
};

/// The Python exception type of each kind (`TAYLOR_RT_CUDA_*`).
PyObject *cudaErrorTypes[4] = {nullptr, nullptr, nullptr, nullptr};

void raiseIf(int kind, const TaylorRtCudaError &error) {
  if (kind != TAYLOR_RT_CUDA_OK)
    throw CudaException(kind, error.message);
}

/// One argument of `run_cuda`: (device pointer, shape, strides in elements).
struct DeviceArray {
  uintptr_t data;
  std::vector<int64_t> sizes, strides;
};

/// Runs `jobs`, a sequence of `(address, arguments)`, each argument a
/// `(data_ptr, shape, strides)` of device memory, on CUDA `device` and
/// `stream` (see `taylor_rt_run_cuda`).
void runCuda(nb::sequence jobs, uintptr_t stream, int device,
             bool synchronize) {
  Jobs<DeviceArray> parsed = readJobs<DeviceArray>(
      jobs,
      [](nb::handle arg, size_t index) {
        nb::sequence triple = nb::borrow<nb::sequence>(arg);
        if (nb::len(triple) != 3)
          throw nb::value_error("an argument of a CUDA job is (data_ptr, "
                                "shape, strides in elements)");
        DeviceArray array{nb::cast<uintptr_t>(triple[0]),
                          nb::cast<std::vector<int64_t>>(triple[1]),
                          nb::cast<std::vector<int64_t>>(triple[2])};
        if (array.sizes.size() != array.strides.size())
          throw nb::value_error(("argument " + std::to_string(index) +
                                 " of a CUDA job: shape and strides differ in "
                                 "length")
                                    .c_str());
        return array;
      },
      [](DeviceArray &array) {
        return TaylorRtArray{reinterpret_cast<void *>(array.data),
                             static_cast<int64_t>(array.sizes.size()),
                             array.sizes.data(), array.strides.data()};
      });
  TaylorRtCudaError error;
  int kind;
  {
    nb::gil_scoped_release release;
    kind = taylor_rt_run_cuda(
        parsed.native.data(), static_cast<int64_t>(parsed.native.size()),
        device, reinterpret_cast<void *>(stream), synchronize, &error);
  }
  raiseIf(kind, error);
}

/// The driver: `{"version": 12040, "devices": 1, "capabilities": [(9, 0)]}`.
nb::dict cudaDriver() {
  TaylorRtCudaError error;
  int version = 0, devices = 0;
  raiseIf(taylor_rt_cuda_driver(&version, &devices, &error), error);
  std::vector<std::pair<int, int>> capabilities;
  for (int device = 0; device < devices; ++device) {
    int major = 0, minor = 0;
    raiseIf(taylor_rt_cuda_capability(device, &major, &minor, &error), error);
    capabilities.emplace_back(major, minor);
  }
  nb::dict info;
  info["version"] = version;
  info["devices"] = devices;
  info["capabilities"] = capabilities;
  return info;
}

/// Defines the CUDA part of the module.
void defineCuda(nb::module_ &m) {
  auto newError = [&](const char *name, PyObject *base, const char *doc) {
    std::string qualified =
        std::string("taylor_mlir._mlir_libs._taylorRuntime.") + name;
    PyObject *type =
        PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
    if (!type)
      throw nb::python_error();
    m.attr(name) = nb::handle(type);
    return type;
  };
  PyObject *cudaError = newError(
      "CudaError", PyExc_RuntimeError,
      "A CUDA driver or cuBLAS call of compiled code failed; the message "
      "names the call, the error and its cause.");
  cudaErrorTypes[TAYLOR_RT_CUDA_ERROR] = cudaError;
  cudaErrorTypes[TAYLOR_RT_CUDA_UNAVAILABLE] = newError(
      "CudaUnavailableError", cudaError,
      "No CUDA GPU can be used: no NVIDIA driver (libcuda.so.1), cuInit "
      "failed, or no such device.");
  cudaErrorTypes[TAYLOR_RT_CUDA_DRIVER_TOO_OLD] = newError(
      "CudaDriverTooOldError", cudaError,
      "The NVIDIA driver is older than the compiled kernels need (their PTX "
      "ISA); the message names both versions.");
  nb::register_exception_translator(
      [](const std::exception_ptr &pointer, void *) {
        try {
          std::rethrow_exception(pointer);
        } catch (const CudaException &e) {
          PyErr_SetString(cudaErrorTypes[e.kind], e.what());
        }
      });

  m.def("run_cuda", &runCuda, nb::arg("jobs"), nb::arg("stream"),
        nb::arg("device") = 0, nb::arg("synchronize") = false,
        "Runs the jobs (address, [(data_ptr, shape, strides)]) in order on "
        "the calling thread, on CUDA `device` and `stream`, without the GIL");
  m.def("cuda_driver", &cudaDriver,
        "The driver's version, devices and their compute capabilities");
  m.def(
      "cuda_set_device", [](int device) { taylor_rt_cuda_set_device(device); },
      "Sets the device of this thread's mgpu* calls (and the default of "
      "threads that set none)");
  m.def(
      "cuda_set_stream",
      [](uintptr_t stream) {
        taylor_rt_cuda_set_stream(reinterpret_cast<void *>(stream));
      },
      "Sets the stream of this thread's mgpu* calls");
  m.def(
      "cuda_check_error",
      [] {
        TaylorRtCudaError error;
        raiseIf(taylor_rt_cuda_take_error(&error), error);
      },
      "Raises (and clears) this thread's pending CUDA error, if any");
  m.def("cuda_load_cublas", [](const std::string &path) {
    char error[1024] = {0};
    if (taylor_rt_cuda_load_cublas(path.c_str(), error, sizeof(error)))
      throw std::runtime_error("cannot load cuBLAS " + path + ": " + error);
  });
  m.def("cuda_ptx_isa", [](const std::string &ptx) {
    int major = 0, minor = 0;
    if (taylor_rt_cuda_ptx_isa(ptx.c_str(), &major, &minor))
      throw nb::value_error("no PTX .version directive");
    return std::make_pair(major, minor);
  });
  m.def(
      "cuda_minimum_driver",
      [](int major, int minor) -> nb::object {
        int version = taylor_rt_cuda_minimum_driver(major, minor);
        return version < 0 ? nb::none() : nb::int_(version);
      },
      "The oldest driver (e.g. 12000) that runs a PTX ISA; None if unknown");
  m.def(
      "cuda_newest_ptx_isa",
      [](int driverVersion) -> nb::object {
        int major = 0, minor = 0;
        if (taylor_rt_cuda_newest_ptx_isa(driverVersion, &major, &minor))
          return nb::none();
        return nb::make_tuple(major, minor);
      },
      "The newest PTX ISA a driver runs; None if older than every one known");
  m.def("cuda_check_ptx", [](const std::string &ptx, int driverVersion) {
    char message[1024] = {0};
    int kind = taylor_rt_cuda_check_ptx(ptx.c_str(), driverVersion, message,
                                        sizeof(message));
    if (kind == TAYLOR_RT_CUDA_ERROR)
      throw nb::value_error(message);
    if (kind != TAYLOR_RT_CUDA_OK)
      throw CudaException(kind, message);
  });
  m.def("cuda_stats", [] {
    TaylorRtCudaStats stats;
    taylor_rt_cuda_stats(&stats);
    nb::dict out;
    out["allocations"] = stats.allocations;
    out["allocated_bytes"] = stats.allocatedBytes;
    out["live"] = stats.live;
    out["peak"] = stats.peak;
    out["launches"] = stats.launches;
    out["gemms"] = stats.gemms;
    return out;
  });
  m.def("cuda_reset_peak", &taylor_rt_cuda_reset_peak);
  m.def("cuda_release", [](int device) {
    TaylorRtCudaError error;
    raiseIf(taylor_rt_cuda_release(device, &error), error);
  });
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
  defineCuda(m);
}
