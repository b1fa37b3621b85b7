//! The simulated baseline PEs of the resource comparison, in number terms.

use crate::{MacF32Model, MacF32PipeModel, MacInt8Model};

/// Clocks a baseline PE model: reset, clear, then one product per cycle, then `$latency - 1`
/// idle cycles for the last product to reach the accumulator.
macro_rules! accumulating_pe {
    ($name:ident, $model:ident, $latency:expr, $operand:ty, $to_port:expr, $from_acc:expr, $acc:ty) => {
        pub struct $name {
            model: $model,
        }

        impl Default for $name {
            fn default() -> Self {
                let mut model = $model::new();
                model.reset();
                $name { model }
            }
        }

        impl $name {
            /// Cycles from an operand pair at the inputs to its product in the accumulator.
            pub const LATENCY: u32 = $latency;

            fn tick(&mut self, clear: bool, valid: bool) {
                self.model.set_clear_i(u64::from(clear));
                self.model.set_valid_i(u64::from(valid));
                self.model.tick();
            }

            /// The accumulator after clearing it and adding `a[i] * b[i]` one per cycle.
            pub fn dot(&mut self, a: &[$operand], b: &[$operand]) -> $acc {
                self.tick(true, false);
                for (&x, &y) in a.iter().zip(b) {
                    self.model.set_a_i($to_port(x));
                    self.model.set_b_i($to_port(y));
                    self.tick(false, true);
                }
                for _ in std::iter::repeat_n((), Self::LATENCY as usize - 1) {
                    self.tick(false, false);
                }
                $from_acc(self.model.acc_o())
            }
        }
    };
}

accumulating_pe!(
    MacF32,
    MacF32Model,
    1,
    f32,
    |x: f32| u64::from(x.to_bits()),
    |v: u64| f32::from_bits(v as u32),
    f32
);
accumulating_pe!(
    MacF32Pipelined,
    MacF32PipeModel,
    hdlgen::baselines::MAC_F32_PIPELINED_LATENCY,
    f32,
    |x: f32| u64::from(x.to_bits()),
    |v: u64| f32::from_bits(v as u32),
    f32
);
accumulating_pe!(MacInt8, MacInt8Model, 1, i8, |x: i8| u64::from(x as u8), |v: u64| v as u32 as i32, i32);
