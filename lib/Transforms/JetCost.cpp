//===- JetCost.cpp - Cost of the jets of a function -----------------------===//

#include "Taylor/Transforms/JetCost.h"

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::taylor;

/// Floating-point operations of the linalg ops of `func`, or none if a loop
/// range is dynamic.
static std::optional<uint64_t> countFlops(func::FuncOp func) {
  uint64_t flops = 0;
  bool known = true;
  func.walk([&](linalg::LinalgOp op) {
    if (op->getNumRegions() != 1 || op->getRegion(0).empty())
      return;
    uint64_t perIteration = 0;
    for (Operation &bodyOp : op->getRegion(0).front().without_terminator()) {
      Dialect *dialect = bodyOp.getDialect();
      bool arithmetic =
          dialect && isa<arith::ArithDialect, math::MathDialect>(dialect);
      if (arithmetic && bodyOp.getNumResults() == 1 &&
          isa<FloatType>(bodyOp.getResult(0).getType()) &&
          !bodyOp.hasTrait<OpTrait::ConstantLike>())
        ++perIteration;
    }
    if (perIteration == 0)
      return;
    uint64_t trips = 1;
    for (int64_t range : op.getStaticLoopRanges()) {
      if (ShapedType::isDynamic(range)) {
        known = false;
        return;
      }
      trips *= static_cast<uint64_t>(range);
    }
    flops += trips * perIteration;
  });
  if (!known)
    return std::nullopt;
  return flops;
}

JetCost mlir::taylor::analyzeJetCost(func::FuncOp func, bool estimateFlops) {
  JetCost cost;
  func.walk([&](PropagateOp op) {
    for (Type type : op.getResultTypes()) {
      auto jet = dyn_cast<JetType>(type);
      if (!jet)
        continue;
      unsigned order = jet.getOrder(), directions = jet.getDirections();
      unsigned tensors =
          1 + (order - 1) * directions + (jet.getCollapsed() ? 1 : directions);
      ++cost.jets;
      if (!jet.getCollapsed())
        ++cost.standardJets;
      cost.maxTensorsPerJet = std::max(cost.maxTensorsPerJet, tensors);
      cost.tensors += tensors;
    }
  });
  if (!estimateFlops)
    return cost;

  // Lower a copy; its diagnostics are not the user's business here.
  auto copy = cast<func::FuncOp>(func->clone());
  {
    ScopedDiagnosticHandler silence(func.getContext(),
                                    [](Diagnostic &) { return success(); });
    if (succeeded(lowerTaylorOps(copy)))
      cost.flops = countFlops(copy);
  }
  copy->erase();
  return cost;
}
