//===- Pipelines.h - Named pass pipelines of taylor-mlir --------*- C++ -*-===//
//
// The pass pipelines of taylor-mlir, each declared once here and registered by
// name, so that `taylor-opt --pass-pipeline='builtin.module(NAME{opts})'` and
// the Python package run exactly the same passes.
//
// Layering: IR -> Rules -> Transforms (passes) -> Pipelines -> CAPI, tools and
// Python. Target codegen pipelines live one file per kind of target
// (CPUCodegen.cpp, GPUCodegen.cpp), on stages they share (CodegenStages.h).
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_PIPELINES_PIPELINES_H
#define TAYLOR_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include "llvm/ADT/STLExtras.h"

#include <optional>
#include <string>

namespace mlir {
namespace taylor {

/// Options of a taylor-mlir pipeline: `PassPipelineOptions` that can list
/// their options (name and help) for documentation and the Python API.
template <typename T>
struct DocumentedPipelineOptions : public PassPipelineOptions<T> {
  /// Calls `fn(name, help)` for every option, sorted by name.
  void
  forEachOption(function_ref<void(StringRef name, StringRef help)> fn) const {
    SmallVector<std::pair<StringRef, StringRef>> options;
    for (const auto &entry : this->OptionsMap)
      options.push_back({entry.first, entry.second->HelpStr});
    llvm::sort(options);
    for (auto [name, help] : options)
      fn(name, help);
  }
};

/// The options of a pipeline that takes none.
struct NoPipelineOptions : public DocumentedPipelineOptions<NoPipelineOptions> {
};

//===----------------------------------------------------------------------===//
// Differentiation stages (target independent)
//===----------------------------------------------------------------------===//

/// Options of `taylor-jets`: one `taylor-jet` per entry of `jet-functions`
/// (a "term"). Every per-term list option holds no entry (the default of
/// `taylor-jet`), one entry (used for every term) or one entry per term.
struct JetsPipelineOptions
    : public DocumentedPipelineOptions<JetsPipelineOptions> {
  PassOptions::Option<std::string> function{
      *this, "function",
      llvm::cl::desc("The function every term transforms (default: the "
                     "module's only function with a body)"),
      llvm::cl::init("")};
  PassOptions::Option<unsigned> argument{
      *this, "argument", llvm::cl::desc("Index of the differentiated argument"),
      llvm::cl::init(0)};
  PassOptions::ListOption<std::string> jetFunctions{
      *this, "jet-functions",
      llvm::cl::desc("Name of each term's jet function (one taylor-jet each)")};
  PassOptions::ListOption<unsigned> orders{
      *this, "orders", llvm::cl::desc("Taylor order K of each term")};
  PassOptions::ListOption<unsigned> directions{
      *this, "directions", llvm::cl::desc("Directions R of each term")};
  PassOptions::ListOption<SmallVector<unsigned>> inputCoefficients{
      *this, "input-coefficients",
      llvm::cl::desc("Per term, the orders of the input coefficients passed "
                     "at call time, as [k,...] (taylor-jet's "
                     "input-coefficients)")};
  PassOptions::ListOption<std::string> seeds{
      *this, "seeds",
      llvm::cl::desc("How each term's input coefficients are given: input, "
                     "broadcast or identity (taylor-jet's seed)")};
  // Per-term booleans are lists of `true`/`false` strings (a list option
  // cannot hold `bool`s: std::vector<bool> has no array storage).
  PassOptions::ListOption<std::string> sumTop{
      *this, "sum-top",
      llvm::cl::desc("Per term, true or false: the top coefficient summed "
                     "over directions")};
  PassOptions::ListOption<SmallVector<double>> weights{
      *this, "weights",
      llvm::cl::desc("Per term, the compile-time weights of that sum, as "
                     "[w,...]")};
  PassOptions::ListOption<std::string> runtimeWeights{
      *this, "runtime-weights",
      llvm::cl::desc("Per term, true or false: the weights are an argument")};
  PassOptions::ListOption<SmallVector<unsigned>> resultCoefficients{
      *this, "result-coefficients",
      llvm::cl::desc("Per term, the coefficients returned, as [k,...] "
                     "(taylor-jet's result-coefficients)")};
  PassOptions::Option<bool> symbolDCE{
      *this, "symbol-dce",
      llvm::cl::desc("Erase the functions no public function uses afterwards "
                     "(symbol-dce)"),
      llvm::cl::init(false)};
};

/// Appends `taylor-jets`: `taylor-jet` for each term, then `symbol-dce` if
/// asked. Fails through `emitError` if a per-term list has neither zero, one
/// nor one entry per term.
LogicalResult
buildJetsPipeline(OpPassManager &pm, const JetsPipelineOptions &options,
                  function_ref<LogicalResult(const Twine &)> emitError);

/// Appends `taylor-collapse-jets`: `taylor-collapse` on every function.
void buildCollapseJetsPipeline(OpPassManager &pm);

/// Appends `taylor-lower-jets`: `taylor-lower` on every function, then
/// canonicalize and cse.
void buildLowerJetsPipeline(OpPassManager &pm);

/// Options of `taylor-vjp`.
struct VJPPipelineOptions
    : public DocumentedPipelineOptions<VJPPipelineOptions> {
  PassOptions::Option<std::string> function{
      *this, "function", llvm::cl::desc("The function to differentiate"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> vjpFunction{
      *this, "vjp-function",
      llvm::cl::desc("Name of the new function (default: <function>_vjp)"),
      llvm::cl::init("")};
  PassOptions::ListOption<unsigned> arguments{
      *this, "arguments",
      llvm::cl::desc("Indices of the arguments differentiated (default: all "
                     "floating-point tensor arguments)")};
  PassOptions::ListOption<unsigned> results{
      *this, "results",
      llvm::cl::desc("Indices of the results with a cotangent (default: all "
                     "floating-point tensor results)")};
};

/// Appends `taylor-vjp`: `taylor-reverse`, then canonicalize and cse.
void buildVJPPipeline(OpPassManager &pm, const VJPPipelineOptions &options);

/// Options of `taylor-split-vjp`.
struct SplitVJPPipelineOptions
    : public DocumentedPipelineOptions<SplitVJPPipelineOptions> {
  PassOptions::Option<std::string> function{
      *this, "function", llvm::cl::desc("The vjp function to split"),
      llvm::cl::init("")};
  PassOptions::Option<unsigned> cotangents{
      *this, "cotangents",
      llvm::cl::desc("Number of trailing cotangent arguments"),
      llvm::cl::init(1)};
  PassOptions::Option<unsigned> primalResults{
      *this, "primal-results",
      llvm::cl::desc("Number of leading results that are primal results"),
      llvm::cl::init(1)};
  PassOptions::Option<std::string> primalFunction{
      *this, "primal-function",
      llvm::cl::desc("Name of the primal half (default: <function>_primal)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> adjointFunction{
      *this, "adjoint-function",
      llvm::cl::desc("Name of the adjoint half (default: <function>_adjoint)"),
      llvm::cl::init("")};
};

/// Appends `taylor-split-vjp`: `taylor-split-adjoint`, then canonicalize and
/// cse.
void buildSplitVJPPipeline(OpPassManager &pm,
                           const SplitVJPPipelineOptions &options);

/// Appends `taylor-inline-cleanup`: inline, canonicalize, cse, symbol-dce
/// (what remains of wrappers around derived functions).
void buildInlineCleanupPipeline(OpPassManager &pm);

//===----------------------------------------------------------------------===//
// Codegen, one pipeline per target
//===----------------------------------------------------------------------===//

/// The targets code is generated for. Each has one codegen pipeline
/// (CPUCodegen.cpp, GPUCodegen.cpp).
enum class Target {
  /// The host CPU (`taylor-cpu-codegen`).
  CPU,
  /// NVIDIA GPUs through CUDA (`taylor-cuda-codegen`).
  CUDA,
  /// The CUDA target's mapped program run on the CPU, for numerics tests
  /// without a GPU (`taylor-cuda-emulated-codegen`).
  CUDAEmulated,
};

/// The target named `name` ("cpu", "cuda", "cuda-emulated"), or none.
std::optional<Target> parseTarget(StringRef name);

/// The names of all targets.
ArrayRef<StringRef> getTargetNames();

/// The registered name of the codegen pipeline of `target`.
StringRef getCodegenPipelineName(Target target);

/// Options of the CPU codegen pipeline (`taylor-cpu-codegen`).
struct CPUCodegenPipelineOptions
    : public DocumentedPipelineOptions<CPUCodegenPipelineOptions> {
  PassOptions::Option<bool> blas{
      *this, "blas",
      llvm::cl::desc("Matrix products call BLAS (taylor-contractions-to-gemm, "
                     "taylor-gemm-to-blas); false: generated loops"),
      llvm::cl::init(true)};
};

/// Appends the passes that take taylor + linalg-on-tensors IR to the LLVM
/// dialect for the CPU, ready for the ExecutionEngine.
void buildCPUCodegenPipeline(OpPassManager &pm,
                             const CPUCodegenPipelineOptions &options);

/// The options of the GPU mapping stage (`taylor-cuda-map`), declared in
/// every pipeline that runs it.
struct CUDAMapOptions {
  explicit CUDAMapOptions(mlir::detail::PassOptions &owner);

  mlir::detail::PassOptions::Option<bool> cublas;
  mlir::detail::PassOptions::Option<int64_t> blockSize;
};

/// The options of the kernel compilation stage (`taylor-cuda-kernels`),
/// declared in every pipeline that runs it.
struct CUDAKernelsOptions {
  explicit CUDAKernelsOptions(mlir::detail::PassOptions &owner);

  mlir::detail::PassOptions::ListOption<std::string> chips;
  mlir::detail::PassOptions::Option<std::string> features;
  mlir::detail::PassOptions::Option<std::string> format;
  mlir::detail::PassOptions::Option<std::string> toolkit;
  mlir::detail::PassOptions::Option<unsigned> optLevel;
};

/// Options of `taylor-cuda-map`.
struct CUDAMapPipelineOptions
    : public DocumentedPipelineOptions<CUDAMapPipelineOptions> {
  CUDAMapOptions map{*this};
};

/// Options of `taylor-cuda-kernels`.
struct CUDAKernelsPipelineOptions
    : public DocumentedPipelineOptions<CUDAKernelsPipelineOptions> {
  CUDAKernelsOptions kernels{*this};
};

/// Options of the CUDA codegen pipeline (`taylor-cuda-codegen`).
struct CUDACodegenPipelineOptions
    : public DocumentedPipelineOptions<CUDACodegenPipelineOptions> {
  CUDAMapOptions map{*this};
  CUDAKernelsOptions kernels{*this};
};

/// Options of the emulated CUDA codegen pipeline
/// (`taylor-cuda-emulated-codegen`).
struct CUDAEmulatedCodegenPipelineOptions
    : public DocumentedPipelineOptions<CUDAEmulatedCodegenPipelineOptions> {
  CUDAMapOptions map{*this};
};

/// Appends `taylor-cuda-map`: taylor + linalg-on-tensors IR (the input of
/// `taylor-cpu-codegen`) to the "mapped" form, a bufferized host program
/// whose computations are GPU launches. The mapped form is exactly:
///
/// - host functions (`func.func`; results are out-parameters appended to
///   the arguments, as for the CPU) whose memref arguments and buffers are
///   all in device memory;
/// - in their bodies, only: `gpu.launch` ops (not outlined; no async
///   tokens, no shared memory, no barriers, no dynamic shared memory: each
///   thread computes from the launch's block and thread ids, its region
///   arguments, and its sizes; 1-D grids and blocks; named for outlining
///   with `module(@taylor_kernels) function(@<func>_kernel_<n>)`; they may
///   carry the discardable `SCFToGPU_visited` attribute that upstream
///   `convert-parallel-loops-to-gpu` leaves); synchronous `gpu.alloc`,
///   `gpu.dealloc` and `gpu.memcpy` (both operands with identity layouts);
///   `func.call`s of `taylor_rt_cublas_gemm_f64` / `_f32` (declared private
///   with `llvm.emit_c_interface`, the signature of `taylor-gemm-to-blas`:
///   `C = A · B + beta · C` on strided 2-D descriptors of device buffers,
///   complete when the call returns); metadata and view ops on memrefs
///   (`memref.cast`, `memref.transpose`, `memref.expand_shape`,
///   `memref.collapse_shape`, `memref.subview`, `memref.dim`,
///   `memref.get_global` of constant globals for copies), `arith` /
///   `affine.apply` on scalars, and host control flow (`scf.for`, `scf.if`,
///   ...) whose conditions and bounds never come from device memory (an
///   `scf.if` guards each launch whose size is dynamic, so no launch has
///   zero blocks);
/// - no `memref.load` / `memref.store` (or other memory access),
///   `memref.alloc`, `memref.dealloc` or `memref.copy` on the host;
/// - in launch bodies: `arith`, `math`, `affine.apply`, `scf.for` / `scf.if`,
///   `memref.load` / `memref.store` and views, and `memref.get_global` of
///   constant globals.
///
/// `taylor-cuda-kernels` compiles this form for NVIDIA GPUs and
/// `taylor-gpu-launch-to-loops` turns it into a CPU program. Fails through
/// `emitError` on invalid options.
LogicalResult
buildCUDAMapPipeline(OpPassManager &pm, const CUDAMapOptions &options,
                     function_ref<LogicalResult(const Twine &)> emitError);

/// Appends `taylor-cuda-kernels`: the mapped form to the LLVM dialect on
/// the host, with the kernels outlined into one `gpu.module`
/// (`@taylor_kernels`), compiled for every chip (one `#nvvm.target` and one
/// object each; the first is the one loaded, through the default
/// `#gpu.select_object`) and serialized into a `gpu.binary`; the host
/// calls MLIR's `mgpu*` runtime functions (streams, `mgpuMemAlloc`,
/// `mgpuMemFree`, `mgpuMemcpy`; after translation to LLVM IR, a global
/// constructor loads the binary once with `mgpuModuleLoadJIT` for PTX or
/// `mgpuModuleLoad` for cubins, and launches call `mgpuModuleGetFunction`
/// and `mgpuLaunchKernel`). Fails through `emitError` on invalid options.
LogicalResult
buildCUDAKernelsPipeline(OpPassManager &pm, const CUDAKernelsOptions &options,
                         function_ref<LogicalResult(const Twine &)> emitError);

/// Appends `taylor-cuda-codegen`: `taylor-cuda-map`, then
/// `taylor-cuda-kernels`.
LogicalResult
buildCUDACodegenPipeline(OpPassManager &pm,
                         const CUDACodegenPipelineOptions &options,
                         function_ref<LogicalResult(const Twine &)> emitError);

/// Appends `taylor-cuda-emulated-codegen`: `taylor-cuda-map`, then
/// `taylor-gpu-launch-to-loops` and the CPU pipeline's lowering to the LLVM
/// dialect: the GPU program run on the CPU.
LogicalResult buildCUDAEmulatedCodegenPipeline(
    OpPassManager &pm, const CUDAEmulatedCodegenPipelineOptions &options,
    function_ref<LogicalResult(const Twine &)> emitError);

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

/// A registered pipeline of taylor-mlir, described for documentation.
struct PipelineDescription {
  std::string name;
  std::string description;
  /// The options with their defaults, as `{name=value ...}`.
  std::string defaults;
  /// (name, help) of every option, sorted by name.
  SmallVector<std::pair<std::string, std::string>> options;
};

/// Every named pipeline of taylor-mlir (the ones `registerTaylorPipelines`
/// registers), in registration order.
ArrayRef<PipelineDescription> getTaylorPipelineDescriptions();

/// Registers the named pipelines of taylor-mlir.
void registerTaylorPipelines();

/// Registers all passes and pipelines of taylor-mlir.
void registerAllTaylorPasses();

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_PIPELINES_PIPELINES_H
