//===- taylor-opt.cpp - taylor-mlir optimizer driver ----------------------===//
//
// mlir-opt with the taylor dialect, its passes and pipelines, on top of every
// upstream dialect, pass, extension and LLVM IR translation.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorDialect.h"
#include "Taylor/Pipelines/Pipelines.h"
#include "Taylor/Rules/Rules.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::taylor::registerAllTaylorPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::taylor::TaylorDialect>();
  mlir::taylor::registerAllTaylorRules(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "taylor-mlir optimizer driver\n", registry));
}
