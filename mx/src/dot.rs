//! The DPE's arithmetic on block pairs (SPEC section 3), one block at a time. This is the
//! readable definition; `gemm` computes the same bits faster.

use super::block::{pow2, Block, CANONICAL_NAN};
use super::format::Format;

/// IEEE-754 binary32 addition, round-to-nearest-even, with every NaN made the canonical
/// 0x7FC00000 (x86 and Arm disagree on the sign of a generated NaN; the hardware does not).
pub fn f32_add(a: f32, b: f32) -> f32 {
    let sum = a + b;
    if sum.is_nan() {
        CANONICAL_NAN
    } else {
        sum
    }
}

/// `P * 2^k` rounded once to f32 (nearest-even, overflow to infinity). P has at most 21 bits
/// and |k| < 300, so the f64 product is exact and the only rounding is the final one.
pub(crate) fn scale_exact(p: i32, k: i32) -> f32 {
    (f64::from(p) * pow2(k)) as f32
}

/// The exact integer block sum `P[b]`: 16 products of `int_values`.
pub fn block_sum(a: &Block, b: &Block) -> i32 {
    a.int_values().iter().zip(b.int_values()).map(|(&x, y)| i32::from(x) * i32::from(y)).sum()
}

/// `v[b]`: one block pair's contribution to the output, NaN if either block is a NaN block.
pub fn block_product(a: &Block, b: &Block, format: Format) -> f32 {
    if a.is_nan() || b.is_nan() {
        return CANONICAL_NAN;
    }
    scale_exact(block_sum(a, b), a.scale_log2(format) + b.scale_log2(format))
}

/// What a DPE computes for one output: starting from `acc` (+0.0 for a fresh output, the
/// stored value when accumulating), one `f32_add` per block pair, in K order.
pub fn dot(a: &[Block], b: &[Block], format: Format, acc: f32) -> f32 {
    assert_eq!(a.len(), b.len(), "dot of block lines with different lengths");
    a.iter().zip(b).fold(acc, |acc, (x, y)| f32_add(acc, block_product(x, y, format)))
}
