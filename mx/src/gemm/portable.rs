//! The kernel for any CPU: plain Rust laid out for the compiler to vectorize with whatever
//! SIMD the target has. The block sums are f32 multiplies and adds of exact integers (see
//! `Lane for f32`), two rows at a time over a tile of 16 columns; the scaling multiplies by
//! the exact power of two.

use super::packed::{row_blocks, Packed, MUL_MAX_LOG2, MUL_MIN_LOG2, TILE};
use crate::dot::scale_exact;
use crate::format::BLOCK;

/// Rows computed together.
const MR: usize = 4;

pub(super) fn rows(p: &Packed<f32>, row0: usize, rows: usize, t: usize, out: &mut [f32]) {
    for (r, size) in row_blocks(rows, &[MR, 1]) {
        let out = &mut out[r * p.n..];
        match size {
            MR => rows_at_once::<MR>(p, row0 + r, t, out),
            _ => rows_at_once::<1>(p, row0 + r, t, out),
        }
    }
}

fn rows_at_once<const R: usize>(p: &Packed<f32>, row0: usize, t: usize, out: &mut [f32]) {
    let (nblk, n) = (p.nblk, p.n);
    let mut acc = [[0f32; TILE]; R];
    let multiply_everywhere = p.scales_within(MUL_MIN_LOG2, MUL_MAX_LOG2);
    for blk in 0..nblk {
        let tile_block = t * nblk + blk;
        let b: &[f32; BLOCK * TILE] =
            p.b_values[tile_block * BLOCK * TILE..][..BLOCK * TILE].try_into().unwrap();
        let a = |r: usize| -> &[f32; BLOCK] {
            p.a_values[((row0 + r) * nblk + blk) * BLOCK..][..BLOCK].try_into().unwrap()
        };
        let mut sums = [[0f32; TILE]; R];
        for r in (0..R).step_by(2) {
            if r + 1 < R {
                [sums[r], sums[r + 1]] = block_sums([a(r), a(r + 1)], b);
            } else {
                [sums[r]] = block_sums([a(r)], b);
            }
        }
        let columns = tile_block * TILE..(tile_block + 1) * TILE;
        let ka = |r: usize| p.a_log2[(row0 + r) * nblk + blk] as i32;
        if multiply_everywhere || {
            let [kb_min, kb_max] = p.b_log2_range[tile_block];
            (0..R).all(|r| ka(r) + kb_min >= MUL_MIN_LOG2 && ka(r) + kb_max <= MUL_MAX_LOG2)
        } {
            let pb: &[f32; TILE] = p.b_pow2[columns].try_into().unwrap();
            for (r, (acc, sums)) in acc.iter_mut().zip(&sums).enumerate() {
                scaled_add(acc, sums, p.a_pow2[(row0 + r) * nblk + blk], pb);
            }
        } else {
            let kb: &[f32; TILE] = p.b_log2[columns].try_into().unwrap();
            for (r, (acc, sums)) in acc.iter_mut().zip(&sums).enumerate() {
                for c in 0..TILE {
                    acc[c] += scale_exact(sums[c] as i32, ka(r) + kb[c] as i32);
                }
            }
        }
    }
    let width = TILE.min(n - t * TILE);
    for (r, acc) in acc.iter().enumerate() {
        out[r * n + t * TILE..][..width].copy_from_slice(&acc[..width]);
    }
}

// The two steps below are functions of their own because the compiler vectorizes them alone
// but not written inline in the loops above.

/// The block sums of N rows (one or two: their sums fill half the vector registers of SSE2)
/// over a tile of 16 columns.
#[inline(never)]
fn block_sums<const N: usize>(a: [&[f32; BLOCK]; N], b: &[f32; BLOCK * TILE]) -> [[f32; TILE]; N] {
    let mut sums = [[0f32; TILE]; N];
    for k in 0..BLOCK {
        for (sums, a) in sums.iter_mut().zip(a) {
            for (c, sum) in sums.iter_mut().enumerate() {
                *sum += a[k] * b[k * TILE + c];
            }
        }
    }
    sums
}

/// `acc += sums * 2^ka * 2^kb`, column by column, where the product is the SPEC's scaling.
#[inline(never)]
fn scaled_add(acc: &mut [f32; TILE], sums: &[f32; TILE], pa: f32, pb: &[f32; TILE]) {
    for ((acc, &sum), &pb) in acc.iter_mut().zip(sums).zip(pb) {
        *acc += sum * (pa * pb);
    }
}
