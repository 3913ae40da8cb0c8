//===- Utils.cpp - Helpers shared by the taylor-mlir passes ---------------===//

#include "Taylor/Transforms/Utils.h"

using namespace mlir;

func::FuncOp taylor::findFunctionToTransform(ModuleOp module, StringRef name,
                                             StringRef pass) {
  if (!name.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(name);
    if (!func || func.isExternal()) {
      module.emitError() << pass << ": no function '@" << name
                         << "' with a body in the module";
      return nullptr;
    }
    return func;
  }
  SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal())
      candidates.push_back(func);
  if (candidates.size() != 1) {
    module.emitError() << pass << ": the module has " << candidates.size()
                       << " functions with a body; name one with "
                          "'function=<name>'";
    return nullptr;
  }
  return candidates.front();
}

func::FuncOp taylor::cloneFunctionAs(func::FuncOp func, StringRef name,
                                     StringRef pass, StringRef option) {
  auto module = func->getParentOfType<ModuleOp>();
  if (SymbolTable::lookupSymbolIn(module, name)) {
    func.emitError() << pass << ": a symbol '@" << name
                     << "' already exists; choose another '" << option << "'";
    return nullptr;
  }
  auto clone = cast<func::FuncOp>(func->clone());
  clone.setSymName(name);
  // The new function is an entry point, even of a private function.
  clone.setPublic();
  module.insert(std::next(Block::iterator(func)), clone);
  return clone;
}
