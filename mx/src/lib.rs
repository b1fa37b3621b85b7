//! The bit-exact MX golden model (SPEC sections 2 and 3): block formats, conversion from
//! f32, the packed layout, and the DPE's dot product and GEMM. The RTL, the simulator's typed
//! ports and the host runtime all build on it.

mod block;
mod dot;
mod error;
mod format;
mod gemm;
mod matrix;
pub mod rng;

pub use block::{Block, CANONICAL_NAN, NAN_EXP};
pub use dot::{block_product, block_sum, dot, f32_add};
pub use error::{Error, Result};
pub use format::{Format, Rounding, BLOCK};
pub use gemm::{
    auto_kernel_name, check_operands, gemm, gemm_into, gemm_with, GemmOptions, Kernel, KERNEL_ENV,
};
pub use matrix::{Axis, MxMatrix};
