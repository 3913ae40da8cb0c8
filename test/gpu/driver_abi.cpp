//===- driver_abi.cpp - CudaDriver.h against cuda.h and cublas_api.h ------===//
//
// Compiled (-fsyntax-only) by test_cuda_runtime.py where a CUDA toolkit's
// headers exist: the runtime declares the driver's structs, constants and
// function types itself, so they must match the toolkit's.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include <cstddef>
#include <cuda.h>

namespace t = taylor_rt::cuda;

#define SAME_LAYOUT(ours, theirs, field)                                       \
  static_assert(offsetof(ours, field) == offsetof(theirs, field),              \
                #field " differs")

static_assert(sizeof(t::LaunchAttribute) == sizeof(CUlaunchAttribute));
static_assert(alignof(t::LaunchAttribute) == alignof(CUlaunchAttribute));
SAME_LAYOUT(t::LaunchAttribute, CUlaunchAttribute, value);
static_assert(sizeof(t::LaunchConfig) == sizeof(CUlaunchConfig));
SAME_LAYOUT(t::LaunchConfig, CUlaunchConfig, sharedMemBytes);
SAME_LAYOUT(t::LaunchConfig, CUlaunchConfig, hStream);
SAME_LAYOUT(t::LaunchConfig, CUlaunchConfig, attrs);
SAME_LAYOUT(t::LaunchConfig, CUlaunchConfig, numAttrs);
static_assert(sizeof(t::MemPoolProps) == sizeof(CUmemPoolProps));
SAME_LAYOUT(t::MemPoolProps, CUmemPoolProps, location);
SAME_LAYOUT(t::MemPoolProps, CUmemPoolProps, win32SecurityAttributes);
SAME_LAYOUT(t::MemPoolProps, CUmemPoolProps, maxSize);
SAME_LAYOUT(t::MemPoolProps, CUmemPoolProps, usage);
static_assert(sizeof(t::CUdeviceptr) == sizeof(CUdeviceptr));

#define SAME_VALUE(name) static_assert(int(t::name) == int(name), #name)
SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
SAME_VALUE(CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED);
SAME_VALUE(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
SAME_VALUE(CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED);
SAME_VALUE(CU_JIT_ERROR_LOG_BUFFER);
SAME_VALUE(CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
SAME_VALUE(CU_JIT_OPTIMIZATION_LEVEL);
SAME_VALUE(CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION);
SAME_VALUE(CU_MEM_ALLOCATION_TYPE_PINNED);
SAME_VALUE(CU_MEM_LOCATION_TYPE_DEVICE);
SAME_VALUE(CU_MEMPOOL_ATTR_RELEASE_THRESHOLD);
SAME_VALUE(CU_MEM_ATTACH_GLOBAL);
SAME_VALUE(CU_EVENT_DISABLE_TIMING);
SAME_VALUE(CUDA_ERROR_INVALID_VALUE);
SAME_VALUE(CUDA_ERROR_DEINITIALIZED);
SAME_VALUE(CUDA_ERROR_NO_DEVICE);
SAME_VALUE(CUDA_ERROR_INVALID_DEVICE);
SAME_VALUE(CUDA_ERROR_INVALID_PTX);
SAME_VALUE(CUDA_ERROR_UNSUPPORTED_PTX_VERSION);

// The prototypes of the exported names the runtime binds, with cuda.h's
// types (the runtime's own use ints for enums, structs for handles).
[[maybe_unused]] static CUresult (*const prototypes[])() = {
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUdeviceptr *, size_t, CUmemoryPool,
                                 CUstream)>(&cuMemAllocFromPoolAsync)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUdeviceptr, CUstream)>(&cuMemFreeAsync)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUmodule *, const void *, unsigned,
                                 CUjit_option *, void **)>(
            &cuModuleLoadDataEx)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUfunction, unsigned, unsigned, unsigned,
                                 unsigned, unsigned, unsigned, unsigned,
                                 CUstream, void **, void **)>(&cuLaunchKernel)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream)>(
            &cuMemsetD32Async)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUdeviceptr, unsigned short, size_t,
                                 CUstream)>(&cuMemsetD16Async)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUdeviceptr *, size_t, unsigned)>(
            &cuMemAllocManaged)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUmemoryPool, CUmemPool_attribute, void *)>(
            &cuMemPoolSetAttribute)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(int *, CUdevice_attribute, CUdevice)>(
            &cuDeviceGetAttribute)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(void *, size_t, unsigned)>(
            &cuMemHostRegister)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(CUfunction, CUfunction_attribute, int)>(
            &cuFuncSetAttribute)),
    reinterpret_cast<CUresult (*)()>(
        static_cast<CUresult (*)(const CUlaunchConfig *, CUfunction, void **,
                                 void **)>(&cuLaunchKernelEx)),
};
static_assert(sizeof(CUjit_option) == sizeof(int));
static_assert(sizeof(CUresult) == sizeof(t::CUresult));
