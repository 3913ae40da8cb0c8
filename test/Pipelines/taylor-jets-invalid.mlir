// Per-term options of `taylor-jets` have no entry, one entry or one per term;
// a bad list is refused before any pass runs, naming the option.
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-jets{jet-functions=a,b orders=2,1,3})' 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-jets{orders=2})' 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-jets{jet-functions=a sum-top=maybe})' 2>&1 | FileCheck %s --check-prefix=BOOL
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-jets{jet-functions=a bogus=1})' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-cpu-codegen{blas=sometimes})' 2>&1 | FileCheck %s --check-prefix=CODEGEN

// COUNT: error: taylor-jets: option 'orders' has 3 entries; expected none, one (for every term) or one per term (2, the entries of 'jet-functions')
// NONE: error: taylor-jets: option 'jet-functions' names no jet function (one taylor-jet runs per entry)
// BOOL: error: taylor-jets: option 'sum-top' takes true or false, got 'maybe'
// UNKNOWN: error: invalid options of pipeline 'taylor-jets' ('jet-functions=a bogus=1'): {{.*}}no such option bogus
// CODEGEN: error: invalid options of pipeline 'taylor-cpu-codegen' ('blas=sometimes')
func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  return %x : tensor<4xf64>
}
