// The committed dialect and pass docs are what ODS generates today
// (regenerate them with `make docs`).
// RUN: mlir-tblgen -gen-dialect-doc -dialect=taylor -I %taylor_src/include -I %mlir_include %taylor_src/include/Taylor/IR/TaylorOps.td > %t.dialect.md
// RUN: diff %t.dialect.md %taylor_src/docs/generated/TaylorDialect.md
// RUN: mlir-tblgen -gen-pass-doc -I %taylor_src/include -I %mlir_include %taylor_src/include/Taylor/Transforms/Passes.td > %t.passes.md
// RUN: diff %t.passes.md %taylor_src/docs/generated/TaylorPasses.md
// RUN: mlir-tblgen -gen-op-interface-docs -I %taylor_src/include -I %mlir_include %taylor_src/include/Taylor/IR/TaylorInterfaces.td > %t.interfaces.md
// RUN: diff %t.interfaces.md %taylor_src/docs/generated/TaylorInterfaces.md
