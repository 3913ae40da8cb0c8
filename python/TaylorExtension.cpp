//===- TaylorExtension.cpp - Native part of taylor_mlir ------------------===//
//
// nanobind module `taylor_mlir._mlir_libs._taylorDialects`: registration of
// the taylor dialect and passes, the named pipelines (added to a pass manager
// by name, listed with their options), and the Python class of `!taylor.jet`.
//
//===----------------------------------------------------------------------===//

#include "Taylor-c/Dialects.h"
#include "Taylor-c/Pipelines.h"

#include "mlir-c/IR.h"
#include "mlir/Bindings/Python/IRCore.h"
#include "mlir/Bindings/Python/Nanobind.h"
#include "mlir/Bindings/Python/NanobindAdaptors.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <utility>
#include <vector>

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
          MlirType type = mlirTaylorJetTypeGetChecked(loc, order, directions,
                                                      valueType, collapsed);
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
            throw nb::index_error(("coefficient index " + std::to_string(k) +
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

/// Appends `text` to the std::string `userData`.
void appendTo(MlirStringRef text, void *userData) {
  static_cast<std::string *>(userData)->append(text.data, text.length);
}

std::string str(MlirStringRef text) { return {text.data, text.length}; }

/// The named pipelines as a list of dicts (name, description, defaults,
/// options: [(name, help)]).
nb::list describePipelines() {
  nb::list pipelines;
  mlirTaylorWalkPipelines(
      [](MlirStringRef name, MlirStringRef description, MlirStringRef defaults,
         void *userData) {
        nb::dict pipeline;
        pipeline["name"] = str(name);
        pipeline["description"] = str(description);
        pipeline["defaults"] = str(defaults);
        pipeline["options"] = nb::list();
        static_cast<nb::list *>(userData)->append(pipeline);
      },
      [](MlirStringRef name, MlirStringRef help, void *userData) {
        auto &pipelines = *static_cast<nb::list *>(userData);
        nb::list options = pipelines[nb::len(pipelines) - 1]["options"];
        options.append(nb::make_tuple(str(name), str(help)));
      },
      &pipelines);
  return pipelines;
}

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

  m.def(
      "add_registered_pipeline",
      [](MlirPassManager passManager, const std::string &name,
         const std::string &options) {
        std::string error;
        MlirLogicalResult result = mlirTaylorAddRegisteredPipeline(
            mlirPassManagerGetAsOpPassManager(passManager),
            mlirStringRefCreate(name.data(), name.size()),
            mlirStringRefCreate(options.data(), options.size()), appendTo,
            &error);
        if (mlirLogicalResultIsFailure(result))
          throw nb::value_error(
              (error.empty() ? "cannot build '" + name + "'" : error).c_str());
      },
      nb::arg("pass_manager"), nb::arg("name"), nb::arg("options") = "",
      "Appends the registered pipeline (or pass) `name` with the textual "
      "options `options` to `pass_manager` (ValueError if unknown or the "
      "options are invalid).");
  m.def(
      "is_registered_pipeline",
      [](const std::string &name) {
        return mlirTaylorIsRegisteredPipeline(
            mlirStringRefCreate(name.data(), name.size()));
      },
      nb::arg("name"), "Whether `name` is a registered pipeline (not a pass).");
  m.def("pipelines", &describePipelines,
        "The named pipelines of taylor-mlir: dicts with name, description, "
        "defaults ('{option=value ...}') and options ([(name, help)]).");
  m.def(
      "codegen_pipeline",
      [](const std::string &target) {
        MlirStringRef name = mlirTaylorGetCodegenPipelineName(
            mlirStringRefCreate(target.data(), target.size()));
        if (name.length == 0)
          throw nb::value_error(("unknown target '" + target + "'").c_str());
        return str(name);
      },
      nb::arg("target"),
      "The registered name of the codegen pipeline of `target` ('cpu').");
  m.def(
      "targets",
      [] {
        std::vector<std::string> names;
        mlirTaylorWalkTargets(
            [](MlirStringRef name, void *userData) {
              static_cast<std::vector<std::string> *>(userData)->push_back(
                  str(name));
            },
            &names);
        return names;
      },
      "The names of the code generation targets.");

  auto taylorM = m.def_submodule("taylor", "The taylor dialect.");
  PyJetType::bind(taylorM);
}
