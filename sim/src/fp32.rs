//! The simulated `fp32_add`, in `f32` terms.

use crate::Fp32AddModel;

/// IEEE-754 binary32 addition on the generated adder.
#[derive(Default)]
pub struct Fp32Add {
    model: Fp32AddModel,
}

impl Fp32Add {
    pub fn new() -> Fp32Add {
        Fp32Add::default()
    }

    /// The sum's bits for operand bits `a` and `b`.
    pub fn add_bits(&mut self, a: u32, b: u32) -> u32 {
        self.model.set_a_i(u64::from(a));
        self.model.set_b_i(u64::from(b));
        self.model.eval();
        self.model.advance(1);
        self.model.sum_o() as u32
    }

    pub fn add(&mut self, a: f32, b: f32) -> f32 {
        f32::from_bits(self.add_bits(a.to_bits(), b.to_bits()))
    }

    /// The underlying model, for waveform tracing.
    pub fn model(&mut self) -> &mut Fp32AddModel {
        &mut self.model
    }
}
