//===- TaylorTypes.cpp - Taylor dialect types -----------------------------===//
//
// Parsing, printing, verification and helpers of `!taylor.jet`.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorTypes.h"
#include "Taylor/IR/TaylorDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::taylor;

#define GET_TYPEDEF_CLASSES
#include "Taylor/IR/TaylorOpsTypes.cpp.inc"

void TaylorDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "Taylor/IR/TaylorOpsTypes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// JetType
//===----------------------------------------------------------------------===//

LogicalResult JetType::verify(function_ref<InFlightDiagnostic()> emitError,
                              unsigned order, unsigned directions,
                              RankedTensorType valueType, bool collapsed) {
  if (order < 1)
    return emitError() << "jet order must be at least 1, got " << order;
  if (directions < 1)
    return emitError() << "jet must have at least 1 direction, got "
                       << directions;
  if (!valueType)
    return emitError() << "jet value type must be a ranked tensor type";
  if (!isa<FloatType>(valueType.getElementType()))
    return emitError() << "jet element type must be a floating-point type, got "
                       << valueType.getElementType();
  if (valueType.getEncoding())
    return emitError() << "jet value type must not carry an encoding, got "
                       << valueType;
  return success();
}

Type JetType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  unsigned order = 0, directions = 0;
  Type valueType;
  if (parser.parseLess() || parser.parseInteger(order) ||
      parser.parseComma() || parser.parseInteger(directions) ||
      parser.parseComma())
    return {};
  SMLoc typeLoc = parser.getCurrentLocation();
  if (parser.parseType(valueType))
    return {};
  bool collapsed = false;
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("collapsed"))
      return {};
    collapsed = true;
  }
  if (parser.parseGreater())
    return {};
  auto tensorType = dyn_cast<RankedTensorType>(valueType);
  if (!tensorType) {
    parser.emitError(typeLoc, "expected a ranked tensor type, got ")
        << valueType;
    return {};
  }
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), order, directions, tensorType,
                    collapsed);
}

void JetType::print(AsmPrinter &printer) const {
  printer << "<" << getOrder() << ", " << getDirections() << ", "
          << getValueType();
  if (getCollapsed())
    printer << ", collapsed";
  printer << ">";
}

RankedTensorType JetType::getDirectionalType() const {
  RankedTensorType value = getValueType();
  SmallVector<int64_t> shape;
  shape.reserve(value.getRank() + 1);
  shape.push_back(getDirections());
  llvm::append_range(shape, value.getShape());
  return RankedTensorType::get(shape, value.getElementType());
}

RankedTensorType JetType::getCoefficientType(unsigned k) const {
  assert(k <= getOrder() && "coefficient index out of range");
  return hasDirectionDim(k) ? getDirectionalType() : getValueType();
}

JetType JetType::getCollapsedType() const {
  return JetType::get(getContext(), getOrder(), getDirections(),
                      getValueType(), /*collapsed=*/true);
}

JetType JetType::getStandardType() const {
  return JetType::get(getContext(), getOrder(), getDirections(),
                      getValueType(), /*collapsed=*/false);
}
