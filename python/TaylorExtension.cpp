//===- TaylorExtension.cpp - Native part of taylor_mlir ------------------===//
//
// nanobind module `taylor_mlir._mlir_libs._taylorDialects`: registration of
// the taylor dialect and passes, and the Python class of `!taylor.jet`.
//
//===----------------------------------------------------------------------===//

#include "Taylor-c/Dialects.h"

#include "mlir-c/IR.h"
#include "mlir/Bindings/Python/IRCore.h"
#include "mlir/Bindings/Python/Nanobind.h"
#include "mlir/Bindings/Python/NanobindAdaptors.h"

#include <string>

namespace nb = nanobind;
using namespace mlir::python::MLIR_BINDINGS_PYTHON_DOMAIN;

namespace {

/// Python class `JetType` for `!taylor.jet`.
struct PyJetType : PyConcreteType<PyJetType> {
  static constexpr IsAFunctionTy isaFunction = mlirTypeIsATaylorJetType;
  static constexpr GetTypeIDFunctionTy getTypeIdFunction =
      mlirTaylorJetTypeGetTypeID;
  static constexpr const char *pyClassName = "JetType";
  using PyConcreteType::PyConcreteType;

  static void bindDerived(ClassTy &c) {
    c.def_static(
        "get",
        [](unsigned order, unsigned directions, PyType &valueType,
           bool collapsed, DefaultingPyLocation loc) {
          PyMlirContext::ErrorCapture errors(loc->getContext());
          MlirType type = mlirTaylorJetTypeGetChecked(
              loc, order, directions, valueType, collapsed);
          if (mlirTypeIsNull(type))
            throw MLIRError("Invalid jet type", errors.take());
          return PyJetType(loc->getContext(), type);
        },
        nb::arg("order"), nb::arg("directions"), nb::arg("value_type"),
        nb::arg("collapsed") = false, nb::arg("loc").none() = nb::none(),
        "Returns !taylor.jet<order, directions, value_type[, collapsed]>.");
    c.def_prop_ro("order", [](PyJetType &self) {
      return mlirTaylorJetTypeGetOrder(self);
    });
    c.def_prop_ro("directions", [](PyJetType &self) {
      return mlirTaylorJetTypeGetDirections(self);
    });
    c.def_prop_ro("collapsed", [](PyJetType &self) {
      return mlirTaylorJetTypeIsCollapsed(self);
    });
    c.def_prop_ro("value_type", [](PyJetType &self) {
      return PyType(self.getContext(), mlirTaylorJetTypeGetValueType(self))
          .maybeDownCast();
    });
    c.def(
        "coefficient_type",
        [](PyJetType &self, unsigned k) {
          unsigned order = mlirTaylorJetTypeGetOrder(self);
          if (k > order)
            throw nb::index_error(
                ("coefficient index " + std::to_string(k) +
                 " is out of range for a jet of order " +
                 std::to_string(order))
                    .c_str());
          return PyType(self.getContext(),
                        mlirTaylorJetTypeGetCoefficientType(self, k))
              .maybeDownCast();
        },
        nb::arg("k"), "Type of Taylor coefficient k.");
  }
};

} // namespace

NB_MODULE(_taylorDialects, m) {
  m.doc() = "Native part of taylor_mlir: the taylor dialect and its passes.";

  m.def(
      "register_dialects",
      [](MlirDialectRegistry registry) {
        mlirTaylorRegisterDialectAndRules(registry);
      },
      nb::arg("registry"),
      "Adds the taylor dialect and the Taylor-mode rules of upstream ops to "
      "a DialectRegistry.");
  m.def("register_passes", &mlirTaylorRegisterPasses,
        "Registers the taylor passes and pipelines (idempotent).");

  auto taylorM = m.def_submodule("taylor", "The taylor dialect.");
  PyJetType::bind(taylorM);
}
