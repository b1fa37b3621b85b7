//! The simulated f32 arithmetic units, in f32 terms.

use crate::{Fp32AddModel, Fp32MulModel};

/// A combinational two-operand f32 unit: drive `a_i` and `b_i`, settle, read the result.
macro_rules! binary_unit {
    ($(#[$doc:meta])* $name:ident, $model:ident, $bits:ident, $op:ident, $result:ident) => {
        $(#[$doc])*
        #[derive(Default)]
        pub struct $name {
            model: $model,
        }

        impl $name {
            pub fn new() -> Self {
                Self::default()
            }

            /// The result's bits for operand bits `a` and `b`.
            pub fn $bits(&mut self, a: u32, b: u32) -> u32 {
                self.model.set_a_i(u64::from(a));
                self.model.set_b_i(u64::from(b));
                self.model.settle();
                self.model.$result() as u32
            }

            pub fn $op(&mut self, a: f32, b: f32) -> f32 {
                f32::from_bits(self.$bits(a.to_bits(), b.to_bits()))
            }

            /// The underlying model, for waveform tracing.
            pub fn model(&mut self) -> &mut $model {
                &mut self.model
            }
        }
    };
}

binary_unit!(
    /// IEEE-754 binary32 addition on the generated `fp32_add`.
    Fp32Add, Fp32AddModel, add_bits, add, sum_o
);
binary_unit!(
    /// IEEE-754 binary32 multiplication on the generated `fp32_mul` (a baseline part).
    Fp32Mul, Fp32MulModel, mul_bits, mul, product_o
);
