//===- Pipelines.cpp - C API of the named pipelines -----------------------===//

#include "Taylor-c/Pipelines.h"

#include "Taylor/Pipelines/Pipelines.h"

#include "mlir/CAPI/Pass.h"
#include "mlir/CAPI/Support.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::taylor;

MlirLogicalResult mlirTaylorAddRegisteredPipeline(
    MlirOpPassManager passManager, MlirStringRef name, MlirStringRef options,
    MlirStringCallback errorCallback, void *userData) {
  OpPassManager &pm = *unwrap(passManager);
  StringRef nameRef = unwrap(name);
  auto emitError = [&](const Twine &message) -> LogicalResult {
    std::string text = message.str();
    errorCallback(mlirStringRefCreate(text.data(), text.size()), userData);
    return failure();
  };
  const PassRegistryEntry *entry = PassPipelineInfo::lookup(nameRef);
  if (!entry)
    entry = PassInfo::lookup(nameRef);
  if (!entry)
    return wrap(
        emitError("no pass or pipeline named '" + nameRef + "' is registered"));
  // As taylor-opt does for `--NAME`: a pass on functions runs on every
  // function of the module.
  OpPassManager::Nesting nesting = pm.getNesting();
  pm.setNesting(OpPassManager::Nesting::Implicit);
  LogicalResult result = entry->addToPipeline(pm, unwrap(options), emitError);
  pm.setNesting(nesting);
  return wrap(result);
}

bool mlirTaylorIsRegisteredPipeline(MlirStringRef name) {
  return PassPipelineInfo::lookup(unwrap(name)) != nullptr;
}

void mlirTaylorWalkPipelines(
    void (*pipelineCallback)(MlirStringRef name, MlirStringRef description,
                             MlirStringRef defaults, void *userData),
    MlirTaylorPipelineOptionCallback optionCallback, void *userData) {
  for (const PipelineDescription &pipeline : getTaylorPipelineDescriptions()) {
    pipelineCallback(wrap(StringRef(pipeline.name)),
                     wrap(StringRef(pipeline.description)),
                     wrap(StringRef(pipeline.defaults)), userData);
    for (const auto &[option, help] : pipeline.options)
      optionCallback(wrap(StringRef(option)), wrap(StringRef(help)), userData);
  }
}

MlirStringRef mlirTaylorGetCodegenPipelineName(MlirStringRef target) {
  if (std::optional<Target> parsed = parseTarget(unwrap(target)))
    return wrap(getCodegenPipelineName(*parsed));
  return mlirStringRefCreate(nullptr, 0);
}

void mlirTaylorWalkTargets(MlirStringCallback callback, void *userData) {
  for (StringRef name : getTargetNames())
    callback(wrap(name), userData);
}
