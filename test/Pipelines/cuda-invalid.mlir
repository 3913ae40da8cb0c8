// Invalid options of the CUDA pipelines are refused before any pass runs,
// naming the stage and the option.
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-codegen{format=elf})' 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-kernels{chips=})' 2>&1 | FileCheck %s --check-prefix=CHIPS
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-map{block-size=0})' 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-emulated-codegen{block-size=2048})' 2>&1 | FileCheck %s --check-prefix=BLOCK2048
// RUN: not taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-emulated-codegen{chips=sm_90})' 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// FORMAT: error: taylor-cuda-kernels: format must be isa, bin or fatbin, got 'elf'
// CHIPS: error: taylor-cuda-kernels: chips must name at least one architecture
// BLOCK: error: taylor-cuda-map: block-size must be in 1..1024, got 0
// BLOCK2048: error: taylor-cuda-map: block-size must be in 1..1024, got 2048
// UNKNOWN: error: invalid options of pipeline 'taylor-cuda-emulated-codegen' ('chips=sm_90'): {{.*}}no such option chips
func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  return %x : tensor<4xf64>
}
