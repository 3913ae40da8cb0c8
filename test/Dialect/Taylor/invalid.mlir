// RUN: taylor-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{jet order must be at least 1, got 0}}
func.func private @order_zero(!taylor.jet<0, 3, tensor<4xf64>>)

// -----

// expected-error @+1 {{jet must have at least 1 direction, got 0}}
func.func private @no_directions(!taylor.jet<2, 0, tensor<4xf64>>)

// -----

// expected-error @+1 {{jet element type must be a floating-point type, got 'i32'}}
func.func private @integer_jet(!taylor.jet<2, 3, tensor<4xi32>>)

// -----

// expected-error @+1 {{expected a ranked tensor type, got 'memref<4xf64>'}}
func.func private @memref_jet(!taylor.jet<2, 3, memref<4xf64>>)

// -----

// expected-error @+1 {{expected a ranked tensor type, got 'tensor<*xf64>'}}
func.func private @unranked_jet(!taylor.jet<2, 3, tensor<*xf64>>)

// -----

// expected-error @+1 {{jet value type must not carry an encoding}}
func.func private @encoded_jet(!taylor.jet<2, 3, tensor<4xf64, "enc">>)

// -----

// expected-error @+1 {{expected 'collapsed'}}
func.func private @bad_keyword(!taylor.jet<2, 3, tensor<4xf64>, summed>)

// -----

// expected-error @+1 {{expected integer value}}
func.func private @missing_order(!taylor.jet<tensor<4xf64>>)

// -----

func.func @make_jet_count(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) {
  // expected-error @+1 {{'taylor.make_jet' op expects 3 coefficients for a jet of order 2, got 2}}
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !taylor.jet<2, 3, tensor<4xf64>>
  return
}

// -----

func.func @make_jet_primal_type(%x0: tensor<5xf64>, %x1: tensor<3x4xf64>) {
  // expected-error @+1 {{'taylor.make_jet' op coefficient 0 must have type 'tensor<4xf64>', got 'tensor<5xf64>'}}
  %j = taylor.make_jet %x0, %x1 : tensor<5xf64>, tensor<3x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
  return
}

// -----

func.func @make_jet_directions(%x0: tensor<4xf64>, %x1: tensor<2x4xf64>) {
  // expected-error @+1 {{'taylor.make_jet' op coefficient 1 must have type 'tensor<3x4xf64>', got 'tensor<2x4xf64>'}}
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<2x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
  return
}

// -----

func.func @make_jet_element_type(%x0: tensor<4xf64>, %x1: tensor<3x4xf32>) {
  // expected-error @+1 {{'taylor.make_jet' op coefficient 1 must have type 'tensor<3x4xf64>', got 'tensor<3x4xf32>'}}
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf32> -> !taylor.jet<1, 3, tensor<4xf64>>
  return
}

// -----

func.func @make_jet_collapsed_top(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>) {
  // expected-error @+1 {{'taylor.make_jet' op coefficient 2 must have type 'tensor<4xf64>', got 'tensor<3x4xf64>'}}
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
      -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return
}

// -----

func.func @make_jet_not_a_jet(%x0: tensor<4xf64>) {
  // expected-error @+1 {{'taylor.make_jet' op result #0 must be jet, but got 'tensor<4xf64>'}}
  %j = taylor.make_jet %x0 : tensor<4xf64> -> tensor<4xf64>
  return
}

// -----

func.func @coeff_out_of_range(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+2 {{coefficient index 3 is out of range for a jet of order 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = taylor.coeff %j[3] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  return
}

// -----

func.func @coeff_negative(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+1 {{attribute 'index' failed to satisfy constraint: 64-bit signless integer attribute whose value is non-negative}}
  %c = taylor.coeff %j[-1] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  return
}

// -----

func.func @coeff_wrong_type(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+2 {{'taylor.coeff' op inferred type(s) 'tensor<3x4xf64>' are incompatible with return type(s) of operation 'tensor<4xf64>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = taylor.coeff %j[1] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<4xf64>
  return
}

// -----

func.func @coeff_collapsed_top_type(%j: !taylor.jet<2, 3, tensor<4xf64>, collapsed>) {
  // expected-error @+2 {{'taylor.coeff' op inferred type(s) 'tensor<4xf64>' are incompatible with return type(s) of operation 'tensor<3x4xf64>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = taylor.coeff %j[2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<3x4xf64>
  return
}

// -----

func.func @sum_collapsed(%j: !taylor.jet<2, 3, tensor<4xf64>, collapsed>) {
  // expected-error @+1 {{'taylor.sum' op operand is already collapsed: '!taylor.jet<2, 3, tensor<4xf64>, collapsed>'}}
  %s = taylor.sum %j : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return
}

// -----

func.func @sum_result_type(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+2 {{'taylor.sum' op inferred type(s) '!taylor.jet<2, 3, tensor<4xf64>, collapsed>' are incompatible with return type(s) of operation '!taylor.jet<2, 3, tensor<4xf64>>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %s = taylor.sum %j : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>>
  return
}

// -----

func.func @sum_weight_count(%j: !taylor.jet<2, 3, tensor<4xf64>>, %w: tensor<2xf64>) {
  // expected-error @+1 {{'taylor.sum' op expects 3 weights (one per direction), got 'tensor<2xf64>'}}
  %s = taylor.sum %j weights(%w : tensor<2xf64>) : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return
}

// -----

func.func @sum_weight_dtype(%j: !taylor.jet<2, 3, tensor<4xf64>>, %w: tensor<3xf32>) {
  // expected-error @+1 {{'taylor.sum' op weights must have the jet's element type 'f64', got 'f32'}}
  %s = taylor.sum %j weights(%w : tensor<3xf32>) : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return
}

// -----

func.func @sum_weight_rank(%j: !taylor.jet<2, 3, tensor<4xf64>>, %w: tensor<3x1xf64>) {
  // expected-error @+1 {{'taylor.sum' op operand #1 must be 1D tensor of floating-point values, but got 'tensor<3x1xf64>'}}
  %s = taylor.sum %j weights(%w : tensor<3x1xf64>) : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return
}

// -----

func.func @sum_static_weight_count(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+1 {{'taylor.sum' op expects 3 static weights (one per direction), got 2}}
  %s = taylor.sum %j static_weights [1.0, 2.0] : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return
}

// -----

func.func @sum_both_weights(%j: !taylor.jet<2, 3, tensor<4xf64>>, %w: tensor<3xf64>) {
  // expected-error @+1 {{'taylor.sum' op takes either runtime 'weights' or 'static_weights', not both}}
  %s = taylor.sum %j weights(%w : tensor<3xf64>) static_weights [1.0, 2.0, 3.0] : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return
}

// -----

func.func @coeff_of_tensor(%x: tensor<4xf64>) {
  // expected-error @+1 {{'taylor.coeff' op operand #0 must be jet, but got 'tensor<4xf64>'}}
  %c = "taylor.coeff"(%x) {index = 0 : i64} : (tensor<4xf64>) -> tensor<4xf64>
  return
}

// -----

func.func @sum_of_tensor(%x: tensor<4xf64>) {
  // expected-error @+1 {{'taylor.sum' op operand #0 must be jet, but got 'tensor<4xf64>'}}
  %s = "taylor.sum"(%x) : (tensor<4xf64>) -> tensor<4xf64>
  return
}

// -----

func.func @propagate_no_jet(%x: tensor<4xf64>) {
  // expected-error @+1 {{'taylor.propagate' op expects at least one jet operand}}
  %r = taylor.propagate(%x) : (tensor<4xf64>) -> tensor<4xf64> {
  ^bb0(%a: tensor<4xf64>):
    %n = tensor.cast %a : tensor<4xf64> to tensor<4xf64>
    taylor.yield %n : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_mixed_orders(%j: !taylor.jet<2, 3, tensor<4xf64>>, %k: !taylor.jet<1, 3, tensor<4xf64>>) {
  // expected-error @+1 {{'taylor.propagate' op expects all jets to have the same order and number of directions, but operand #1 has type '!taylor.jet<1, 3, tensor<4xf64>>'}}
  %r = taylor.propagate(%j, %k) : (!taylor.jet<2, 3, tensor<4xf64>>, !taylor.jet<1, 3, tensor<4xf64>>) -> !taylor.jet<2, 3, tensor<4xf64>> {
  ^bb0(%a: tensor<4xf64>, %b: tensor<4xf64>):
    %n = tensor.cast %a : tensor<4xf64> to tensor<4xf64>
    taylor.yield %n : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_block_argument(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+1 {{'taylor.propagate' op block argument #0 must have type 'tensor<4xf64>', got 'tensor<3x4xf64>'}}
  %r = taylor.propagate(%j) : (!taylor.jet<2, 3, tensor<4xf64>>) -> !taylor.jet<2, 3, tensor<4xf64>> {
  ^bb0(%a: tensor<3x4xf64>):
    %n = tensor.cast %a : tensor<3x4xf64> to tensor<3x4xf64>
    taylor.yield %n : tensor<3x4xf64>
  }
  return
}

// -----

func.func @propagate_two_ops(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+1 {{'taylor.propagate' op body must hold exactly one op besides constants, found 'tensor.cast' and 'tensor.cast'}}
  %r = taylor.propagate(%j) : (!taylor.jet<2, 3, tensor<4xf64>>) -> !taylor.jet<2, 3, tensor<4xf64>> {
  ^bb0(%a: tensor<4xf64>):
    %n = tensor.cast %a : tensor<4xf64> to tensor<4xf64>
    %m = tensor.cast %n : tensor<4xf64> to tensor<4xf64>
    taylor.yield %m : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_yield_other(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+1 {{'taylor.propagate' op must yield exactly the results of 'tensor.cast'}}
  %r = taylor.propagate(%j) : (!taylor.jet<2, 3, tensor<4xf64>>) -> !taylor.jet<2, 3, tensor<4xf64>> {
  ^bb0(%a: tensor<4xf64>):
    %n = tensor.cast %a : tensor<4xf64> to tensor<4xf64>
    taylor.yield %a : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_result_type(%j: !taylor.jet<2, 3, tensor<4xf64>>) {
  // expected-error @+1 {{'taylor.propagate' op result #0 of type '!taylor.jet<2, 3, tensor<5xf64>>' does not match the yielded type 'tensor<4xf64>'}}
  %r = taylor.propagate(%j) : (!taylor.jet<2, 3, tensor<4xf64>>) -> !taylor.jet<2, 3, tensor<5xf64>> {
  ^bb0(%a: tensor<4xf64>):
    %n = tensor.cast %a : tensor<4xf64> to tensor<4xf64>
    taylor.yield %n : tensor<4xf64>
  }
  return
}

// -----

func.func @yield_outside(%x: tensor<4xf64>) {
  // expected-error @+1 {{'taylor.yield' op expects parent op 'taylor.propagate'}}
  taylor.yield %x : tensor<4xf64>
}

// -----

func.func @propagate_mixed(%j: !taylor.jet<2, 3, tensor<4xf64>, collapsed>, %e: tensor<4xf64>) {
  // expected-error @+1 {{expects all jets to be standard or all to be collapsed, but result #0 has type '!taylor.jet<2, 3, tensor<4xf64>>'}}
  %a = taylor.propagate(%j, %e) : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>> {
  ^bb0(%x: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%x : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_weights_standard(%j: !taylor.jet<2, 3, tensor<4xf64>>, %e: tensor<4xf64>) {
  // expected-error @+1 {{takes weights only on collapsed jets}}
  %a = taylor.propagate(%j, %e) static_weights [1.0, 2.0, 3.0] : (!taylor.jet<2, 3, tensor<4xf64>>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>> {
  ^bb0(%x: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%x : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_weight_count(%j: !taylor.jet<2, 3, tensor<4xf64>, collapsed>, %w: tensor<2xf64>, %e: tensor<4xf64>) {
  // expected-error @+1 {{expects 3 weights (one per direction), got 'tensor<2xf64>'}}
  %a = taylor.propagate(%j, %e) weights(%w : tensor<2xf64>) : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>, collapsed> {
  ^bb0(%x: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%x : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_both_weights(%j: !taylor.jet<2, 3, tensor<4xf64>, collapsed>, %w: tensor<3xf64>, %e: tensor<4xf64>) {
  // expected-error @+1 {{takes either runtime 'weights' or 'static_weights', not both}}
  %a = taylor.propagate(%j, %e) weights(%w : tensor<3xf64>) static_weights [1.0, 2.0, 3.0] : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>, collapsed> {
  ^bb0(%x: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%x : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return
}

// -----

func.func @propagate_weight_type(%j: !taylor.jet<2, 3, tensor<4xf64>, collapsed>, %w: tensor<3xf32>, %e: tensor<4xf64>) {
  // expected-error @+1 {{weights must have the jet's element type 'f64', got 'f32'}}
  %a = taylor.propagate(%j, %e) weights(%w : tensor<3xf32>) : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>, collapsed> {
  ^bb0(%x: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%x : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return
}
