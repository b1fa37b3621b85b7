//! 256-bit kernels for CPUs without AVX-512: the 16 columns of a tile as two halves of 8, one
//! after the other, six rows at a time (AVX2 has 16 vector registers). The block sums are
//! exact integer multiply-adds as in the 512-bit kernels: `vpmaddwd` (MX9) and `vpmaddubsw`
//! into 16-bit sums widened once per block (MX6, MX4), or with AVX-VNNI `vpdpbusd` (MX6, MX4).
//!
//! AVX2 has no `vscalefps`. The scale 2^(ka + kb) is instead the product of the exact f32
//! powers of two 2^ka and 2^kb, and one fused multiply-add puts P * 2^k into the
//! accumulator. Wherever -149 <= k <= 106 that product is exact (an integer of at most 21
//! bits, every bit at or above 2^-149, below 2^127), so the fused operation rounds once, as
//! the SPEC's addition does. Where k leaves that range for some row and column of a block
//! (real data never comes near it), the block takes the scalar path.

use std::arch::x86_64::*;

use super::super::packed::{compute, row_blocks, Lane, Packed, FMA_MAX_LOG2, MUL_MIN_LOG2, TILE};
use super::Avx2Decode;
use crate::dot::scale_exact;
use crate::format::BLOCK;
use crate::{Format, MxMatrix};

/// Rows computed together: 6 block sums, 6 accumulators, the B group and the A broadcast
/// take 14 of the 16 vector registers.
const MR: usize = 6;

entry!(gemm_avx2, "avx2,fma", pairs_avx2, u8, quads_avx2);
// `vpdpwssd` on ymm is slower here than `vpmaddwd` and an add (Xeon Sapphire Rapids: MX9
// 1024^3 in 29.4 ms against 25.0 ms), so MX9 runs the AVX2 kernel; `vpdpbusd` is faster (15.1
// against 17.4).
entry!(gemm_vnni, "avx2,fma,avxvnni", pairs_avx2, u8, quads_vnni);

/// `acc + P * 2^(ka + kb)` lane by lane, each product rounded once and then added: the
/// blocks whose exponents leave the fused path's range.
#[cold]
#[target_feature(enable = "avx2")]
unsafe fn scaled_add_scalar(acc: __m256, sums: __m256i, ka: i32, kb: *const f32) -> __m256 {
    let (mut lanes, mut p) = ([0f32; 8], [0i32; 8]);
    _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
    _mm256_storeu_si256(p.as_mut_ptr().cast(), sums);
    for (lane, (acc, p)) in lanes.iter_mut().zip(p).enumerate() {
        *acc += scale_exact(p, ka + *kb.add(lane) as i32);
    }
    _mm256_loadu_ps(lanes.as_ptr())
}

/// One kernel: `$madd` adds one K group of B (`$bv`, 8 columns) times one row's A group
/// (`$a`, broadcast) into `$sum`, whose start value `$start` makes of B's bias (`$bias`, the
/// columns' `b_bias`); `$widen` turns a block's sums into 32-bit block sums.
macro_rules! kernel {
    ($name:ident, $features:literal, $lane:ty,
     |$sum:ident, $bv:ident, $a:ident| $madd:expr, |$bias:ident| $start:expr, |$sums:ident| $widen:expr) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(p: &Packed<$lane>, row0: usize, rows: usize, t: usize, out: &mut [f32]) {
            for (r, size) in row_blocks(rows, &[MR, 4, 2, 1]) {
                let out = &mut out[r * p.n..];
                match size {
                    MR => rows_at_once::<MR>(p, row0 + r, t, out),
                    4 => rows_at_once::<4>(p, row0 + r, t, out),
                    2 => rows_at_once::<2>(p, row0 + r, t, out),
                    _ => rows_at_once::<1>(p, row0 + r, t, out),
                }
            }

            /// R rows, one 8-column half of the tile after the other.
            #[target_feature(enable = $features)]
            unsafe fn rows_at_once<const R: usize>(
                this: &Packed<$lane>,
                row0: usize,
                t: usize,
                out: &mut [f32],
            ) {
                const G: usize = <$lane as Lane>::GROUP;
                const { assert!(!<$lane as Lane>::A_BIASED, "these kernels add no per-row bias") };
                let (nblk, n) = (this.nblk, this.n);
                let width = TILE.min(n - t * TILE);
                assert!(out.len() >= (R - 1) * n + t * TILE + width);
                assert!(this.a_values.len() >= (row0 + R) * nblk * BLOCK);
                assert!(this.a_log2.len() >= (row0 + R) * nblk && this.a_pow2.len() >= (row0 + R) * nblk);
                assert!(this.b_values.len() >= (t + 1) * nblk * BLOCK * TILE);
                assert!(
                    this.b_log2.len() >= (t + 1) * nblk * TILE && this.b_pow2.len() >= (t + 1) * nblk * TILE
                );
                assert!(
                    this.b_bias.len() >= (t + 1) * nblk * TILE && this.b_log2_range.len() >= (t + 1) * nblk
                );
                let fused_everywhere = this.scales_within(MUL_MIN_LOG2, FMA_MAX_LOG2);
                for half in 0..width.div_ceil(8) {
                    let mut acc = [_mm256_setzero_ps(); R];
                    for blk in 0..nblk {
                        let tile_block = t * nblk + blk;
                        let b_values =
                            this.b_values.as_ptr().add(tile_block * BLOCK * TILE + half * G * TILE / 2);
                        let columns = tile_block * TILE + 8 * half;
                        let start = if <$lane as Lane>::B_BIASED {
                            let $bias = _mm256_loadu_si256(this.b_bias.as_ptr().add(columns).cast());
                            $start
                        } else {
                            _mm256_setzero_si256()
                        };
                        let mut sums = [start; R];
                        for g in 0..BLOCK / G {
                            let $bv = _mm256_loadu_si256(b_values.add(g * G * TILE).cast());
                            for (r, sum) in sums.iter_mut().enumerate() {
                                let at = ((row0 + r) * nblk + blk) * BLOCK + g * G;
                                let $a = _mm256_set1_epi32(
                                    this.a_values.as_ptr().add(at).cast::<i32>().read_unaligned(),
                                );
                                let $sum = *sum;
                                *sum = $madd;
                            }
                        }
                        let ka = |r: usize| *this.a_log2.get_unchecked((row0 + r) * nblk + blk) as i32;
                        let block_sums = sums.map(|$sums| $widen);
                        if fused_everywhere || {
                            let [kb_min, kb_max] = *this.b_log2_range.get_unchecked(tile_block);
                            (0..R).all(|r| ka(r) + kb_min >= MUL_MIN_LOG2 && ka(r) + kb_max <= FMA_MAX_LOG2)
                        } {
                            let pb = _mm256_loadu_ps(this.b_pow2.as_ptr().add(columns));
                            for (r, acc) in acc.iter_mut().enumerate() {
                                let pa = _mm256_set1_ps(*this.a_pow2.get_unchecked((row0 + r) * nblk + blk));
                                *acc = _mm256_fmadd_ps(
                                    _mm256_cvtepi32_ps(block_sums[r]),
                                    _mm256_mul_ps(pa, pb),
                                    *acc,
                                );
                            }
                        } else {
                            for (r, acc) in acc.iter_mut().enumerate() {
                                *acc = scaled_add_scalar(
                                    *acc,
                                    block_sums[r],
                                    ka(r),
                                    this.b_log2.as_ptr().add(columns),
                                );
                            }
                        }
                    }
                    let cols = (width - 8 * half).min(8);
                    for (r, acc) in acc.iter().enumerate() {
                        let out = &mut out[r * n + t * TILE + 8 * half..][..cols];
                        if cols == 8 {
                            _mm256_storeu_ps(out.as_mut_ptr(), *acc);
                        } else {
                            let mut row = [0f32; 8];
                            _mm256_storeu_ps(row.as_mut_ptr(), *acc);
                            out.copy_from_slice(&row[..cols]);
                        }
                    }
                }
            }
        }
    };
}

kernel!(
    pairs_avx2,
    "avx2,fma",
    i16,
    |sum, bv, a| _mm256_add_epi32(sum, _mm256_madd_epi16(bv, a)),
    |bias| bias,
    |sums| sums
);
// `vpmaddubsw`'s 16-bit sums start at the bias's two halves and are widened into their total.
kernel!(
    quads_avx2,
    "avx2,fma",
    u8,
    |sum, bv, a| _mm256_add_epi16(sum, _mm256_maddubs_epi16(a, bv)),
    |bias| bias,
    |sums| _mm256_madd_epi16(sums, _mm256_set1_epi16(1))
);
kernel!(
    quads_vnni,
    "avx2,fma,avxvnni",
    u8,
    |sum, bv, a| _mm256_dpbusd_avx_epi32(sum, a, bv),
    |bias| _mm256_madd_epi16(bias, _mm256_set1_epi16(1)),
    |sums| sums
);
