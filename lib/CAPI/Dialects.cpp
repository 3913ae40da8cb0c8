//===- Dialects.cpp - C API of the taylor dialect -------------------------===//

#include "Taylor-c/Dialects.h"

#include "Taylor/IR/TaylorDialect.h"
#include "Taylor/IR/TaylorTypes.h"
#include "Taylor/Pipelines/Pipelines.h"
#include "Taylor/Rules/Rules.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/CAPI/Support.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include <mutex>

using namespace mlir;
using namespace mlir::taylor;

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Taylor, taylor, TaylorDialect)

void mlirTaylorRegisterDialectAndRules(MlirDialectRegistry registry) {
  DialectRegistry &dialects = *unwrap(registry);
  dialects.insert<TaylorDialect>();
  registerAllTaylorRules(dialects);
  // What the CUDA pipelines and the ExecutionEngine need beside the
  // dialects: the NVVM target (gpu-module-to-binary), and the translation
  // of gpu.binary / gpu.launch_func and of NVVM to LLVM IR.
  dialects.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(dialects);
  registerGPUDialectTranslation(dialects);
  registerNVVMDialectTranslation(dialects);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(dialects);
}

void mlirTaylorRegisterPasses(void) {
  static std::once_flag once;
  std::call_once(once, [] { registerAllTaylorPasses(); });
}

bool mlirTypeIsATaylorJetType(MlirType type) {
  return isa<JetType>(unwrap(type));
}

MlirTypeID mlirTaylorJetTypeGetTypeID(void) {
  return wrap(JetType::getTypeID());
}

MlirType mlirTaylorJetTypeGetChecked(MlirLocation loc, unsigned order,
                                     unsigned directions, MlirType valueType,
                                     bool collapsed) {
  Location location = unwrap(loc);
  auto tensorType = dyn_cast<RankedTensorType>(unwrap(valueType));
  if (!tensorType) {
    emitError(location) << "jet value type must be a ranked tensor type, got "
                        << unwrap(valueType);
    return wrap(Type());
  }
  return wrap(JetType::getChecked([&] { return emitError(location); },
                                  location.getContext(), order, directions,
                                  tensorType, collapsed));
}

unsigned mlirTaylorJetTypeGetOrder(MlirType type) {
  return cast<JetType>(unwrap(type)).getOrder();
}

unsigned mlirTaylorJetTypeGetDirections(MlirType type) {
  return cast<JetType>(unwrap(type)).getDirections();
}

MlirType mlirTaylorJetTypeGetValueType(MlirType type) {
  return wrap(cast<JetType>(unwrap(type)).getValueType());
}

bool mlirTaylorJetTypeIsCollapsed(MlirType type) {
  return cast<JetType>(unwrap(type)).getCollapsed();
}

MlirType mlirTaylorJetTypeGetCoefficientType(MlirType type, unsigned k) {
  return wrap(cast<JetType>(unwrap(type)).getCoefficientType(k));
}
