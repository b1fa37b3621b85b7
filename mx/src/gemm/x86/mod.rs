//! The x86-64 kernels: 512-bit (`zmm`) and 256-bit (`ymm`), each with 16-bit lanes for MX9
//! and byte lanes for MX6 and MX4.

/// A kernel family's entry point `$name`, compiled for `$features`: MX9 through `$pairs` on
/// 16-bit lanes, MX6 and MX4 through `$quads` on `$quad_lane` bytes, every operand decoded
/// with AVX2 (which each family's features imply).
macro_rules! entry {
    ($name:ident, $features:literal, $pairs:ident, $quad_lane:ty, $quads:ident) => {
        #[target_feature(enable = $features)]
        pub(super) unsafe fn $name(a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
            // SAFETY (both calls): the caller checked the features.
            match a.format() {
                Format::Mx9 => compute::<i16, Avx2Decode>(a, b, threads, c, |p, row0, rows, t, out| unsafe {
                    $pairs(p, row0, rows, t, out)
                }),
                Format::Mx6 | Format::Mx4 => {
                    compute::<$quad_lane, Avx2Decode>(a, b, threads, c, |p, row0, rows, t, out| unsafe {
                        $quads(p, row0, rows, t, out)
                    })
                }
            }
        }
    };
}

mod ymm;
mod zmm;

use std::arch::x86_64::*;

use super::packed::{Decode, TILE};
use super::Kernel;
use crate::format::BLOCK;
use crate::{Block, MxMatrix};

/// Whether the CPU has one feature, by its `is_x86_feature_detected!` name.
pub(super) fn cpu_has(feature: &str) -> bool {
    match feature {
        "avx512f" => is_x86_feature_detected!("avx512f"),
        "avx512bw" => is_x86_feature_detected!("avx512bw"),
        "avx512vnni" => is_x86_feature_detected!("avx512vnni"),
        "avxvnni" => is_x86_feature_detected!("avxvnni"),
        "avx2" => is_x86_feature_detected!("avx2"),
        "fma" => is_x86_feature_detected!("fma"),
        _ => false,
    }
}

pub(super) fn supported(kernel: Kernel) -> bool {
    kernel.features().iter().all(|f| cpu_has(f))
}

/// Runs one of the SIMD kernels; `Kernel::resolve` has checked that the CPU runs it.
pub(super) fn gemm(kernel: Kernel, a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
    assert!(supported(kernel), "the {kernel} kernel does not run on this CPU");
    // SAFETY: each function is compiled for exactly the features `kernel.features()` names,
    // which the CPU has (asserted above).
    unsafe {
        match kernel {
            Kernel::Avx512Vnni => zmm::gemm_vnni(a, b, threads, c),
            Kernel::Avx512Bw => zmm::gemm_bw(a, b, threads, c),
            Kernel::AvxVnni => ymm::gemm_vnni(a, b, threads, c),
            Kernel::Avx2 => ymm::gemm_avx2(a, b, threads, c),
            Kernel::Auto | Kernel::Portable => unreachable!("{kernel} is no SIMD kernel"),
        }
    }
}

/// `Block::int_values` in a few AVX2 instructions: the 16 codes widened to 16-bit lanes,
/// doubled where their pair's micro-exponent is 0 and negated where their sign is set, each
/// by a mask from one bit per lane. `bytes` does the same on byte lanes (modulo 256, so
/// without widening) and adds the offset. Every x86 kernel family has AVX2 (AVX-512 implies
/// it).
struct Avx2Decode;

impl Decode for Avx2Decode {
    #[inline(always)]
    unsafe fn int_values(block: &Block) -> [i16; BLOCK] {
        let mags = _mm256_cvtepu8_epi16(_mm_loadu_si128(block.mags.as_ptr().cast()));
        let bits =
            _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, i16::MIN);
        let mask = |m: u16| _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16(m as i16), bits), bits);
        let (twice, negative) = (mask(block.doubled_elements()), mask(block.signs));
        let values = _mm256_add_epi16(mags, _mm256_and_si256(mags, twice));
        let values = _mm256_sub_epi16(_mm256_xor_si256(values, negative), negative);
        let mut out = [0i16; BLOCK];
        _mm256_storeu_si256(out.as_mut_ptr().cast(), values);
        out
    }

    #[inline(always)]
    unsafe fn bytes(block: &Block, offset: u8) -> [u8; BLOCK] {
        let mags = _mm_loadu_si128(block.mags.as_ptr().cast());
        // Byte i tests bit i % 8 of the mask's byte i / 8.
        let bits = _mm_set1_epi64x(i64::from_le_bytes([1, 2, 4, 8, 16, 32, 64, 128]));
        let halves = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        let mask = |m: u16| {
            let spread = _mm_shuffle_epi8(_mm_cvtsi32_si128(i32::from(m)), halves);
            _mm_cmpeq_epi8(_mm_and_si128(spread, bits), bits)
        };
        let (twice, negative) = (mask(block.doubled_elements()), mask(block.signs));
        let values = _mm_add_epi8(mags, _mm_and_si128(mags, twice));
        let values = _mm_sub_epi8(_mm_xor_si128(values, negative), negative);
        let values = _mm_add_epi8(values, _mm_set1_epi8(offset as i8));
        let mut out = [0u8; BLOCK];
        _mm_storeu_si128(out.as_mut_ptr().cast(), values);
        out
    }

    #[inline(always)]
    unsafe fn pair_biases(groups: &[u8; BLOCK * TILE], offset: u8, biases: &mut [i32; TILE]) {
        // Per half of the tile, each group's adjacent pairs summed into the 16-bit halves.
        let factor = _mm256_set1_epi16(-i16::from(offset));
        for half in 0..2 {
            let mut sums = _mm256_setzero_si256();
            for group in 0..BLOCK / 4 {
                let bytes = _mm256_loadu_si256(groups.as_ptr().add(4 * TILE * group + 32 * half).cast());
                sums = _mm256_add_epi16(sums, _mm256_maddubs_epi16(_mm256_set1_epi8(1), bytes));
            }
            _mm256_storeu_si256(biases.as_mut_ptr().add(8 * half).cast(), _mm256_mullo_epi16(sums, factor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::packed::PlainDecode;
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn avx2_decode_is_plain_decode() {
        if !cpu_has("avx2") {
            return;
        }
        let mut rng = Rng::new(11);
        for micro in 0..=255u8 {
            for _ in 0..64 {
                let mut mags = [0u8; BLOCK];
                mags.iter_mut().for_each(|m| *m = rng.below(128) as u8);
                let block = Block { exp: rng.below(255) as u8, micro, signs: rng.next_u64() as u16, mags };
                // SAFETY (every call): the CPU has AVX2 (checked above); PlainDecode runs on
                // any CPU.
                unsafe {
                    assert_eq!(Avx2Decode::int_values(&block), PlainDecode::int_values(&block), "{block:?}");
                    for offset in [0, 32, 128, 249] {
                        let bytes = Avx2Decode::bytes(&block, offset);
                        assert_eq!(bytes, PlainDecode::bytes(&block, offset), "{block:?} + {offset}");
                    }
                }
            }
        }
        // Any bytes: the biases are sums and products modulo 2^16 either way.
        for offset in [32, 128, 249] {
            for _ in 0..256 {
                let groups: [u8; BLOCK * TILE] = std::array::from_fn(|_| rng.next_u32() as u8);
                let (mut simd, mut plain) = ([0; TILE], [0; TILE]);
                // SAFETY: as above.
                unsafe {
                    Avx2Decode::pair_biases(&groups, offset, &mut simd);
                    PlainDecode::pair_biases(&groups, offset, &mut plain);
                }
                assert_eq!(simd, plain, "{groups:?} and {offset}");
            }
        }
    }
}
