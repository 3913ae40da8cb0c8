//===- Differentiation.cpp - The target-independent AD stages -------------===//
//
// The stages that derive new functions (Taylor mode, reverse mode) and lower
// the taylor dialect to linalg on tensors, before any target's codegen:
// `taylor-jets`, `taylor-collapse-jets`, `taylor-lower-jets`, `taylor-vjp`,
// `taylor-split-vjp` and `taylor-inline-cleanup`.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Pipelines/Pipelines.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// Checks that the per-term list `option` has zero, one or `terms` entries.
template <typename ListT>
LogicalResult
checkPerTerm(const ListT &option, StringRef name, size_t terms,
             function_ref<LogicalResult(const Twine &)> emitError) {
  if (option.size() <= 1 || option.size() == terms)
    return success();
  return emitError("taylor-jets: option '" + name + "' has " +
                   Twine(option.size()) +
                   " entries; expected none, one (for every term) or one per "
                   "term (" +
                   Twine(terms) + ", the entries of 'jet-functions')");
}

/// Entry `i` of a per-term list (its only entry if it has one), or none.
template <typename ListT>
auto perTerm(const ListT &option, size_t i)
    -> std::optional<std::decay_t<decltype(option[0])>> {
  if (option.empty())
    return std::nullopt;
  return option.size() == 1 ? option[0] : option[i];
}

/// The boolean entry `i` of the per-term list `option` (`false` if empty).
FailureOr<bool>
perTermBool(ArrayRef<std::string> option, size_t i, StringRef name,
            function_ref<LogicalResult(const Twine &)> emitError) {
  if (option.empty())
    return false;
  StringRef value = option.size() == 1 ? option[0] : option[i];
  if (value == "true" || value == "1")
    return true;
  if (value == "false" || value == "0")
    return false;
  (void)emitError("taylor-jets: option '" + name +
                  "' takes true or false, got '" + value + "'");
  return failure();
}

} // namespace

LogicalResult taylor::buildJetsPipeline(
    OpPassManager &pm, const JetsPipelineOptions &options,
    function_ref<LogicalResult(const Twine &)> emitError) {
  size_t terms = options.jetFunctions.size();
  if (terms == 0)
    return emitError("taylor-jets: option 'jet-functions' names no jet "
                     "function (one taylor-jet runs per entry)");
  if (failed(checkPerTerm(options.orders, "orders", terms, emitError)) ||
      failed(
          checkPerTerm(options.directions, "directions", terms, emitError)) ||
      failed(checkPerTerm(options.inputCoefficients, "input-coefficients",
                          terms, emitError)) ||
      failed(checkPerTerm(options.seeds, "seeds", terms, emitError)) ||
      failed(checkPerTerm(options.sumTop, "sum-top", terms, emitError)) ||
      failed(checkPerTerm(options.weights, "weights", terms, emitError)) ||
      failed(checkPerTerm(options.runtimeWeights, "runtime-weights", terms,
                          emitError)) ||
      failed(checkPerTerm(options.resultCoefficients, "result-coefficients",
                          terms, emitError)))
    return failure();

  for (size_t i = 0; i < terms; ++i) {
    TaylorJetOptions jet;
    jet.functionName = options.function;
    jet.argument = options.argument;
    jet.jetFunctionName = options.jetFunctions[i];
    if (auto order = perTerm(options.orders, i))
      jet.order = *order;
    if (auto directions = perTerm(options.directions, i))
      jet.directions = *directions;
    if (auto coefficients = perTerm(options.inputCoefficients, i))
      jet.inputCoefficients.assign(coefficients->begin(), coefficients->end());
    if (auto seed = perTerm(options.seeds, i))
      jet.seed = *seed;
    FailureOr<bool> sumTop =
        perTermBool(options.sumTop, i, "sum-top", emitError);
    FailureOr<bool> runtimeWeights =
        perTermBool(options.runtimeWeights, i, "runtime-weights", emitError);
    if (failed(sumTop) || failed(runtimeWeights))
      return failure();
    jet.sumTop = *sumTop;
    jet.runtimeWeights = *runtimeWeights;
    if (auto weights = perTerm(options.weights, i))
      jet.weights.assign(weights->begin(), weights->end());
    if (auto coefficients = perTerm(options.resultCoefficients, i))
      jet.resultCoefficients.assign(coefficients->begin(), coefficients->end());
    pm.addPass(createTaylorJet(std::move(jet)));
  }
  // The functions the jet functions were derived from, if private.
  if (options.symbolDCE)
    pm.addPass(createSymbolDCEPass());
  return success();
}

/// Canonicalization and CSE after a transform.
static void addCleanup(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void taylor::buildCollapseJetsPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createTaylorCollapse());
}

void taylor::buildLowerJetsPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createTaylorLower());
  addCleanup(pm);
}

void taylor::buildVJPPipeline(OpPassManager &pm,
                              const VJPPipelineOptions &options) {
  TaylorReverseOptions reverse;
  reverse.functionName = options.function;
  reverse.vjpFunctionName = options.vjpFunction;
  reverse.arguments.assign(options.arguments.begin(), options.arguments.end());
  reverse.results.assign(options.results.begin(), options.results.end());
  pm.addPass(createTaylorReverse(std::move(reverse)));
  addCleanup(pm);
}

void taylor::buildSplitVJPPipeline(OpPassManager &pm,
                                   const SplitVJPPipelineOptions &options) {
  TaylorSplitAdjointOptions split;
  split.functionName = options.function;
  split.cotangents = options.cotangents;
  split.primalResults = options.primalResults;
  split.primalFunctionName = options.primalFunction;
  split.adjointFunctionName = options.adjointFunction;
  pm.addPass(createTaylorSplitAdjoint(std::move(split)));
  addCleanup(pm);
}

void taylor::buildInlineCleanupPipeline(OpPassManager &pm) {
  pm.addPass(createInlinerPass());
  addCleanup(pm);
  pm.addPass(createSymbolDCEPass());
}
