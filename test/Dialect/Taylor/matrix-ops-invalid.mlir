// RUN: taylor-opt %s -split-input-file -verify-diagnostics

func.func @inverse_of_vector(%a: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{'taylor.matrix_inverse' op expects a batch of matrices of rank >= 2, got 'tensor<4xf64>'}}
  %0 = taylor.matrix_inverse %a : tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

func.func @inverse_not_square(%a: tensor<2x3x4xf64>) -> tensor<2x3x4xf64> {
  // expected-error @+1 {{'taylor.matrix_inverse' op expects square matrices, got 3x4 in 'tensor<2x3x4xf64>'}}
  %0 = taylor.matrix_inverse %a : tensor<2x3x4xf64>
  return %0 : tensor<2x3x4xf64>
}

// -----

func.func @inverse_of_integers(%a: tensor<4x4xi32>) -> tensor<4x4xi32> {
  // expected-error @+1 {{'taylor.matrix_inverse' op operand #0 must be ranked tensor of floating-point values}}
  %0 = taylor.matrix_inverse %a : tensor<4x4xi32>
  return %0 : tensor<4x4xi32>
}

// -----

func.func @inverse_result_type(%a: tensor<4x4xf64>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'taylor.matrix_inverse' op requires the same type for all operands and results}}
  %0 = "taylor.matrix_inverse"(%a) : (tensor<4x4xf64>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @cholesky_of_vector(%a: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{'taylor.cholesky' op expects a batch of matrices of rank >= 2, got 'tensor<4xf64>'}}
  %0 = taylor.cholesky %a : tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

func.func @cholesky_not_square(%a: tensor<?x3x4xf64>) -> tensor<?x3x4xf64> {
  // expected-error @+1 {{'taylor.cholesky' op expects square matrices, got 3x4 in 'tensor<?x3x4xf64>'}}
  %0 = taylor.cholesky %a : tensor<?x3x4xf64>
  return %0 : tensor<?x3x4xf64>
}

// -----

func.func @slogdet_of_vector(%a: tensor<4xf64>) {
  // expected-error @+1 {{'taylor.slogdet' op expects a batch of matrices of rank >= 2, got 'tensor<4xf64>'}}
  %s, %l = "taylor.slogdet"(%a) : (tensor<4xf64>) -> (tensor<f64>, tensor<f64>)
  return
}

// -----

func.func @slogdet_not_square(%a: tensor<2x3xf64>) {
  // expected-error @+1 {{'taylor.slogdet' op expects square matrices, got 2x3 in 'tensor<2x3xf64>'}}
  %s, %l = taylor.slogdet %a : tensor<2x3xf64>
  return
}

// -----

func.func @slogdet_result_type(%a: tensor<5x3x3xf64>) {
  // expected-error @+2 {{'taylor.slogdet' op inferred type(s) 'tensor<5xf64>', 'tensor<5xf64>' are incompatible with return type(s) of operation 'tensor<5xf64>', 'tensor<5x3xf64>'}}
  // expected-error @+1 {{'taylor.slogdet' op failed to infer returned types}}
  %s, %l = "taylor.slogdet"(%a) : (tensor<5x3x3xf64>) -> (tensor<5xf64>, tensor<5x3xf64>)
  return
}

// -----

func.func @solve_not_square(%a: tensor<2x3x4xf64>, %b: tensor<2x3x1xf64>) {
  // expected-error @+1 {{'taylor.solve' op expects square matrices, got 3x4 in 'tensor<2x3x4xf64>'}}
  %x = taylor.solve %a, %b : tensor<2x3x4xf64>, tensor<2x3x1xf64>
  return
}

// -----

func.func @solve_vector_rhs(%a: tensor<2x3x3xf64>, %b: tensor<2x3xf64>) {
  // expected-error @+1 {{'taylor.solve' op expects a right-hand side of the matrix's rank 3 ([..., n, k]), got 'tensor<2x3xf64>'}}
  %x = taylor.solve %a, %b : tensor<2x3x3xf64>, tensor<2x3xf64>
  return
}

// -----

func.func @solve_element_types(%a: tensor<3x3xf64>, %b: tensor<3x1xf32>) {
  // expected-error @+1 {{'taylor.solve' op expects operands of one element type, got 'f64' and 'f32'}}
  %x = taylor.solve %a, %b : tensor<3x3xf64>, tensor<3x1xf32>
  return
}

// -----

func.func @solve_batch(%a: tensor<2x3x3xf64>, %b: tensor<5x3x1xf64>) {
  // expected-error @+1 {{'taylor.solve' op expects the right-hand side 'tensor<5x3x1xf64>' to match the matrix 'tensor<2x3x3xf64>' in its batch and row dimensions}}
  %x = taylor.solve %a, %b : tensor<2x3x3xf64>, tensor<5x3x1xf64>
  return
}

// -----

func.func @solve_rows(%a: tensor<3x3xf64>, %b: tensor<4x1xf64>) {
  // expected-error @+1 {{'taylor.solve' op expects the right-hand side 'tensor<4x1xf64>' to match the matrix 'tensor<3x3xf64>' in its batch and row dimensions}}
  %x = taylor.solve %a, %b : tensor<3x3xf64>, tensor<4x1xf64>
  return
}

// -----

func.func @solve_result_type(%a: tensor<3x3xf64>, %b: tensor<3x1xf64>) {
  // expected-error @+1 {{'taylor.solve' op failed to verify that all of {rhs, result} have same type}}
  %x = "taylor.solve"(%a, %b) : (tensor<3x3xf64>, tensor<3x1xf64>) -> tensor<3x2xf64>
  return
}
