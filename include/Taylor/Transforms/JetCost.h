//===- JetCost.h - Cost of the jets of a function ---------------*- C++ -*-===//
//
// How many coefficient tensors the jets of a function carry, and an estimate
// of the floating-point operations of its lowered code: the figures that
// `taylor-collapse` reports before and after collapsing.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_TRANSFORMS_JETCOST_H
#define TAYLOR_TRANSFORMS_JETCOST_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <optional>

namespace mlir {
namespace taylor {

/// The jets carried between the ops of a function (the results of
/// `taylor.propagate`), counted in coefficient tensors of the primal shape:
/// a standard jet of order K along R directions carries `1 + K·R`, a
/// collapsed one `1 + (K-1)·R + 1`.
struct JetCost {
  /// Number of jets carried between ops.
  unsigned jets = 0;
  /// How many of them are standard (not collapsed).
  unsigned standardJets = 0;
  /// The largest number of coefficient tensors of one jet.
  unsigned maxTensorsPerJet = 0;
  /// The coefficient tensors of all jets.
  uint64_t tensors = 0;
  /// Floating-point operations of the lowered function (one per float
  /// arith/math op in a linalg body, times its trip count); unknown when
  /// requested but a loop range is dynamic or the function does not lower.
  std::optional<uint64_t> flops;
};

/// Analyzes `func`; with `estimateFlops`, lowers a copy of it (`taylor-lower`)
/// and counts the floating-point operations of the copy.
JetCost analyzeJetCost(func::FuncOp func, bool estimateFlops);

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_TRANSFORMS_JETCOST_H
