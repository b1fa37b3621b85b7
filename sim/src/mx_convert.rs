//! The simulated `mx_convert`, in f32 values and packed blocks.

use mx::Format;

use crate::{format_code, MxConvertModel};

/// FP32-to-MX conversion of one block on the generated converter.
#[derive(Default)]
pub struct MxConvert {
    model: MxConvertModel,
}

impl MxConvert {
    pub fn new() -> MxConvert {
        MxConvert::default()
    }

    /// The packed block (SPEC section 2 layout, `format.block_bytes()` bytes) of 16 values,
    /// rounded toward zero if `truncate`, else to nearest even.
    pub fn convert(&mut self, values: &[f32; 16], format: Format, truncate: bool) -> Vec<u8> {
        self.convert_code(values, format_code(format), truncate)[..format.block_bytes()].to_vec()
    }

    /// All 18 bytes of `block_o` for a raw `format_i` code (reserved codes included).
    pub fn convert_code(&mut self, values: &[f32; 16], format_code: u64, truncate: bool) -> Vec<u8> {
        self.model.set_data_i(&values.map(f32::to_bits));
        self.model.set_format_i(format_code);
        self.model.set_truncate_i(u64::from(truncate));
        self.model.settle();
        self.model.block_o().iter().flat_map(|w| w.to_le_bytes()).take(18).collect()
    }
}
