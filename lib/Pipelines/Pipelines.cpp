//===- Pipelines.cpp - Registration of the named pipelines ----------------===//
//
// Every named pipeline of taylor-mlir is registered here, once, and the
// targets are mapped to their codegen pipelines.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Pipelines/Pipelines.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>

using namespace mlir;
using namespace mlir::taylor;

std::optional<Target> taylor::parseTarget(StringRef name) {
  return llvm::StringSwitch<std::optional<Target>>(name)
      .Case("cpu", Target::CPU)
      .Case("cuda", Target::CUDA)
      .Case("cuda-emulated", Target::CUDAEmulated)
      .Default(std::nullopt);
}

ArrayRef<StringRef> taylor::getTargetNames() {
  static const StringRef names[] = {"cpu", "cuda", "cuda-emulated"};
  return names;
}

StringRef taylor::getCodegenPipelineName(Target target) {
  switch (target) {
  case Target::CPU:
    return "taylor-cpu-codegen";
  case Target::CUDA:
    return "taylor-cuda-codegen";
  case Target::CUDAEmulated:
    return "taylor-cuda-emulated-codegen";
  }
  llvm_unreachable("unknown target");
}

namespace {

/// Builds a pipeline from parsed options; may fail through `emitError`.
template <typename OptionsT>
using Builder = std::function<LogicalResult(
    OpPassManager &, const OptionsT &,
    function_ref<LogicalResult(const Twine &)> emitError)>;

/// A named pipeline: how to register it and how to describe it.
struct Entry {
  std::function<void()> registration;
  std::function<PipelineDescription()> describe;
};

template <typename OptionsT>
Entry makeEntry(StringRef name, StringRef description,
                Builder<OptionsT> builder) {
  std::string nameStr = name.str(), descriptionStr = description.str();
  Entry entry;
  entry.registration = [=] {
    registerPassPipeline(
        nameStr, descriptionStr,
        [builder,
         nameStr](OpPassManager &pm, StringRef text,
                  function_ref<LogicalResult(const Twine &)> emitError) {
          OptionsT options;
          std::string message;
          llvm::raw_string_ostream os(message);
          if (failed(options.parseFromString(text, os))) {
            StringRef reason = StringRef(message).trim();
            return emitError("invalid options of pipeline '" + nameStr +
                             "' ('" + text + "')" +
                             (reason.empty() ? "" : ": ") + reason);
          }
          return builder(pm, options, emitError);
        },
        [](function_ref<void(const detail::PassOptions &)> handler) {
          handler(OptionsT());
        });
  };
  entry.describe = [=] {
    OptionsT options;
    PipelineDescription result;
    result.name = nameStr;
    result.description = descriptionStr;
    llvm::raw_string_ostream os(result.defaults);
    options.print(os);
    options.forEachOption([&](StringRef option, StringRef help) {
      result.options.push_back({option.str(), help.str()});
    });
    return result;
  };
  return entry;
}

/// A builder that cannot fail.
template <typename OptionsT>
Builder<OptionsT> infallible(void (*build)(OpPassManager &, const OptionsT &)) {
  return [build](OpPassManager &pm, const OptionsT &options,
                 function_ref<LogicalResult(const Twine &)>) {
    build(pm, options);
    return success();
  };
}

/// A builder without options.
Builder<NoPipelineOptions> withoutOptions(void (*build)(OpPassManager &)) {
  return [build](OpPassManager &pm, const NoPipelineOptions &,
                 function_ref<LogicalResult(const Twine &)>) {
    build(pm);
    return success();
  };
}

/// Every named pipeline, once.
const SmallVector<Entry> &getEntries() {
  static const SmallVector<Entry> entries = [] {
    SmallVector<Entry> entries;
    // Differentiation stages.
    entries.push_back(makeEntry<JetsPipelineOptions>(
        "taylor-jets",
        "Taylor mode for several terms: one taylor-jet per entry of "
        "jet-functions (per-term options: none, one for all, or one per "
        "term), then symbol-dce if asked",
        buildJetsPipeline));
    entries.push_back(makeEntry<NoPipelineOptions>(
        "taylor-collapse-jets",
        "Collapsed Taylor mode: taylor-collapse on every function (sums over "
        "directions pushed toward the inputs)",
        withoutOptions(buildCollapseJetsPipeline)));
    entries.push_back(makeEntry<NoPipelineOptions>(
        "taylor-lower-jets",
        "Lower jets to linalg on tensors (taylor-lower on every function), "
        "then canonicalize and cse",
        withoutOptions(buildLowerJetsPipeline)));
    entries.push_back(makeEntry<VJPPipelineOptions>(
        "taylor-vjp",
        "Reverse mode: add the vjp function of a function (taylor-reverse), "
        "then canonicalize and cse",
        infallible(buildVJPPipeline)));
    entries.push_back(makeEntry<SplitVJPPipelineOptions>(
        "taylor-split-vjp",
        "Split a vjp function into a primal half that keeps a tape and an "
        "adjoint half (taylor-split-adjoint), then canonicalize and cse",
        infallible(buildSplitVJPPipeline)));
    entries.push_back(makeEntry<NoPipelineOptions>(
        "taylor-inline-cleanup",
        "Inline calls, canonicalize, cse and erase the private functions "
        "left unused (symbol-dce)",
        withoutOptions(buildInlineCleanupPipeline)));
    // Codegen, one pipeline per target.
    entries.push_back(makeEntry<CPUCodegenPipelineOptions>(
        getCodegenPipelineName(Target::CPU),
        "Lower taylor and linalg-on-tensors IR to the LLVM dialect for the "
        "ExecutionEngine on the CPU (results become caller-allocated "
        "out-parameters)",
        infallible(buildCPUCodegenPipeline)));
    // The name used before targets existed: the same pipeline.
    entries.push_back(makeEntry<CPUCodegenPipelineOptions>(
        "taylor-to-llvm", "Alias of taylor-cpu-codegen",
        infallible(buildCPUCodegenPipeline)));
    entries.push_back(makeEntry<CUDACodegenPipelineOptions>(
        getCodegenPipelineName(Target::CUDA),
        "Lower taylor and linalg-on-tensors IR for NVIDIA GPUs: "
        "taylor-cuda-map, then taylor-cuda-kernels (host code in the LLVM "
        "dialect calling MLIR's GPU runtime, kernels in gpu.binary ops)",
        buildCUDACodegenPipeline));
    entries.push_back(makeEntry<CUDAEmulatedCodegenPipelineOptions>(
        getCodegenPipelineName(Target::CUDAEmulated),
        "The CUDA target's program run on the CPU: taylor-cuda-map, then "
        "taylor-gpu-launch-to-loops and the CPU lowering to the LLVM dialect",
        buildCUDAEmulatedCodegenPipeline));
    // The stages of the CUDA target, to run (and inspect) one at a time.
    entries.push_back(makeEntry<CUDAMapPipelineOptions>(
        "taylor-cuda-map",
        "Map taylor and linalg-on-tensors IR to GPU launches: bufferized "
        "host functions with gpu.launch ops, device memory and cuBLAS calls "
        "(the mapped form)",
        [](OpPassManager &pm, const CUDAMapPipelineOptions &options,
           function_ref<LogicalResult(const Twine &)> emitError) {
          return buildCUDAMapPipeline(pm, options.map, emitError);
        }));
    entries.push_back(makeEntry<CUDAKernelsPipelineOptions>(
        "taylor-cuda-kernels",
        "Compile the mapped form for NVIDIA GPUs: outlined kernels "
        "serialized per chip into gpu.binary ops, host code in the LLVM "
        "dialect calling MLIR's GPU runtime",
        [](OpPassManager &pm, const CUDAKernelsPipelineOptions &options,
           function_ref<LogicalResult(const Twine &)> emitError) {
          return buildCUDAKernelsPipeline(pm, options.kernels, emitError);
        }));
    return entries;
  }();
  return entries;
}

} // namespace

ArrayRef<PipelineDescription> taylor::getTaylorPipelineDescriptions() {
  static const SmallVector<PipelineDescription> descriptions = [] {
    SmallVector<PipelineDescription> descriptions;
    for (const Entry &entry : getEntries())
      descriptions.push_back(entry.describe());
    return descriptions;
  }();
  return descriptions;
}

void taylor::registerTaylorPipelines() {
  for (const Entry &entry : getEntries())
    entry.registration();
}

void taylor::registerAllTaylorPasses() {
  registerTaylorPasses();
  registerTaylorPipelines();
}
