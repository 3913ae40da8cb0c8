//===- TaylorOps.td - Python bindings of the taylor dialect -*- tablegen -*-===//

#ifndef PYTHON_BINDINGS_TAYLOR_OPS
#define PYTHON_BINDINGS_TAYLOR_OPS

include "Taylor/IR/TaylorOps.td"

#endif // PYTHON_BINDINGS_TAYLOR_OPS
