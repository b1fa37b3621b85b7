//! 512-bit kernels: 16 output columns per vector, 8 rows at a time so each B vector loaded
//! serves 8 block sums. The exact block sum comes from integer multiply-adds into 32-bit
//! lanes (|P| < 2^21, no overflow); `vcvtdq2ps` converts it exactly (below 2^24), and
//! `vscalefps` multiplies it by 2^(ka + kb) with the single IEEE rounding that SPEC section 3
//! asks for, subnormals and overflow included.
//!
//! MX9 values need 16-bit lanes (two K elements per 32-bit lane): `vpdpwssd`, or `vpmaddwd`
//! and an add without VNNI. MX6 and MX4 values fit bytes (four per lane): `vpdpbusd`, or
//! without VNNI `vpmaddubsw` into 16-bit sums, widened by `vpmaddwd` once per block.

use std::arch::asm;
use std::arch::x86_64::*;

use super::super::packed::{compute, row_blocks, Lane, Packed, TILE};
use super::Avx2Decode;
use crate::format::BLOCK;
use crate::{Format, MxMatrix};

/// Rows computed together: 8 block sums and 8 accumulators of the 32 vector registers.
const MR: usize = 8;

entry!(gemm_vnni, "avx512f,avx512bw,avx512vnni", pairs_vnni, i8, quads_vnni);
entry!(gemm_bw, "avx512f,avx512bw", pairs_bw, u8, quads_bw);

/// One kernel: `$madd` adds one K group of B (`$bv`, 16 columns) times one row's A group
/// (`$a`, broadcast) into `$sum`; `$widen` turns a block's sums into 32-bit block sums.
macro_rules! kernel {
    ($name:ident, $features:literal, $lane:ty,
     |$sum:ident, $bv:ident, $a:ident| $madd:expr, |$sums:ident| $widen:expr) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(p: &Packed<$lane>, row0: usize, rows: usize, t: usize, out: &mut [f32]) {
            for (r, size) in row_blocks(rows, &[MR, 1]) {
                let out = &mut out[r * p.n..];
                match size {
                    MR => rows_at_once::<MR>(p, row0 + r, t, out),
                    _ => rows_at_once::<1>(p, row0 + r, t, out),
                }
            }

            #[target_feature(enable = $features)]
            unsafe fn rows_at_once<const R: usize>(
                this: &Packed<$lane>,
                row0: usize,
                t: usize,
                out: &mut [f32],
            ) {
                const G: usize = <$lane as Lane>::GROUP;
                let (nblk, n) = (this.nblk, this.n);
                let width = TILE.min(n - t * TILE);
                assert!(out.len() >= (R - 1) * n + t * TILE + width);
                assert!(this.a_values.len() >= (row0 + R) * nblk * BLOCK);
                assert!(this.a_log2.len() >= (row0 + R) * nblk && this.a_bias.len() >= (row0 + R) * nblk);
                assert!(this.b_values.len() >= (t + 1) * nblk * BLOCK * TILE);
                assert!(
                    this.b_log2.len() >= (t + 1) * nblk * TILE && this.b_bias.len() >= (t + 1) * nblk * TILE
                );
                let mut acc = [_mm512_setzero_ps(); R];
                for blk in 0..nblk {
                    let tile_block = t * nblk + blk;
                    let b_values = this.b_values.as_ptr().add(tile_block * BLOCK * TILE);
                    let mut sums = [_mm512_setzero_si512(); R];
                    if <$lane as Lane>::A_BIASED {
                        for (r, sum) in sums.iter_mut().enumerate() {
                            *sum = _mm512_set1_epi32(*this.a_bias.get_unchecked((row0 + r) * nblk + blk));
                        }
                    }
                    // A B bias is the start value of `vpmaddubsw`'s two 16-bit sums per column.
                    if <$lane as Lane>::B_BIASED {
                        sums = [_mm512_loadu_si512(this.b_bias.as_ptr().add(tile_block * TILE).cast()); R];
                    }
                    for g in 0..BLOCK / G {
                        let $bv = _mm512_loadu_si512(b_values.add(g * G * TILE).cast());
                        for (r, sum) in sums.iter_mut().enumerate() {
                            let at = ((row0 + r) * nblk + blk) * BLOCK + g * G;
                            let $a = this.a_values.as_ptr().add(at).cast::<i32>();
                            let $sum = *sum;
                            *sum = $madd;
                        }
                    }
                    let kb = _mm512_loadu_ps(this.b_log2.as_ptr().add(tile_block * TILE));
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let $sums = sums[r];
                        let block_sums = $widen;
                        let ka = _mm512_set1_ps(*this.a_log2.get_unchecked((row0 + r) * nblk + blk));
                        let v = _mm512_scalef_ps(_mm512_cvtepi32_ps(block_sums), _mm512_add_ps(kb, ka));
                        *acc = _mm512_add_ps(*acc, v);
                    }
                }
                let mask = ((1u32 << width) - 1) as __mmask16;
                for (r, acc) in acc.iter().enumerate() {
                    _mm512_mask_storeu_ps(out.as_mut_ptr().add(r * n + t * TILE), mask, *acc);
                }
            }
        }
    };
}

kernel!(
    pairs_vnni,
    "avx512f,avx512bw,avx512vnni",
    i16,
    |sum, bv, a| {
        // Inline assembly keeps `vpdpwssd`: LLVM otherwise splits it into a multiply-add and
        // an add for CPUs where that is faster, which doubles the work on these.
        let mut sum = sum;
        asm!(
            "vpdpwssd {sum}, {bv}, dword ptr [{a}]{{1to16}}",
            sum = inout(zmm_reg) sum,
            bv = in(zmm_reg) bv,
            a = in(reg) a,
            options(pure, readonly, nostack, preserves_flags),
        );
        sum
    },
    |sums| sums
);
kernel!(
    quads_vnni,
    "avx512f,avx512bw,avx512vnni",
    i8,
    // B is the unsigned operand, so A's group comes from memory as a broadcast.
    |sum, bv, a| _mm512_dpbusd_epi32(sum, bv, _mm512_set1_epi32(a.read_unaligned())),
    |sums| sums
);
kernel!(
    pairs_bw,
    "avx512f,avx512bw",
    i16,
    |sum, bv, a| _mm512_add_epi32(sum, _mm512_madd_epi16(bv, _mm512_set1_epi32(a.read_unaligned()))),
    |sums| sums
);
kernel!(
    quads_bw,
    "avx512f,avx512bw",
    u8,
    |sum, bv, a| _mm512_add_epi16(sum, _mm512_maddubs_epi16(_mm512_set1_epi32(a.read_unaligned()), bv)),
    |sums| _mm512_madd_epi16(sums, _mm512_set1_epi16(1))
);
