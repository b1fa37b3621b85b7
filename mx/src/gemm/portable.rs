//! The kernel for any CPU: plain Rust laid out for the compiler to vectorize with whatever
//! SIMD the target has. Four rows share each B load; a block's sums are 16-column i32 arrays
//! filled from pairs of 16-bit products (`pmaddwd`'s shape); the scaling multiplies by the
//! exact power of two.

use super::packed::{Packed, MUL_MAX_LOG2, MUL_MIN_LOG2, TILE};
use crate::dot::scale_exact;
use crate::format::BLOCK;

/// Rows computed together.
const MR: usize = 4;

pub(super) fn rows(p: &Packed<i16>, row0: usize, rows: usize, t: usize, out: &mut [f32]) {
    let mut r = 0;
    while r < rows {
        let out = &mut out[r * p.n..];
        r += if rows - r >= MR {
            rows_at_once::<MR>(p, row0 + r, t, out);
            MR
        } else {
            rows_at_once::<1>(p, row0 + r, t, out);
            1
        };
    }
}

fn rows_at_once<const R: usize>(p: &Packed<i16>, row0: usize, t: usize, out: &mut [f32]) {
    let (nblk, n) = (p.nblk, p.n);
    let mut acc = [[0f32; TILE]; R];
    for blk in 0..nblk {
        let tile_block = t * nblk + blk;
        let b = &p.b_values[tile_block * BLOCK * TILE..][..BLOCK * TILE];
        let mut sums = [[0i32; TILE]; R];
        for (g, lanes) in b.chunks_exact(2 * TILE).enumerate() {
            for (r, sums) in sums.iter_mut().enumerate() {
                let a = &p.a_values[((row0 + r) * nblk + blk) * BLOCK + 2 * g..][..2];
                let (a0, a1) = (i32::from(a[0]), i32::from(a[1]));
                for (sum, pair) in sums.iter_mut().zip(lanes.chunks_exact(2)) {
                    *sum += a0 * i32::from(pair[0]) + a1 * i32::from(pair[1]);
                }
            }
        }
        let columns = tile_block * TILE..(tile_block + 1) * TILE;
        let ka: [i32; R] = std::array::from_fn(|r| p.a_log2[(row0 + r) * nblk + blk]);
        let [kb_min, kb_max] = p.b_log2_range[tile_block];
        if ka.iter().min().unwrap() + kb_min >= MUL_MIN_LOG2
            && ka.iter().max().unwrap() + kb_max <= MUL_MAX_LOG2
        {
            let pb: &[f32; TILE] = p.b_pow2[columns].try_into().unwrap();
            for (r, (acc, sums)) in acc.iter_mut().zip(&sums).enumerate() {
                let pa = p.a_pow2[(row0 + r) * nblk + blk];
                for c in 0..TILE {
                    acc[c] += sums[c] as f32 * (pa * pb[c]);
                }
            }
        } else {
            let kb: &[f32; TILE] = p.b_log2[columns].try_into().unwrap();
            for ((acc, sums), ka) in acc.iter_mut().zip(&sums).zip(ka) {
                for c in 0..TILE {
                    acc[c] += scale_exact(sums[c], ka + kb[c] as i32);
                }
            }
        }
    }
    let width = TILE.min(n - t * TILE);
    for (r, acc) in acc.iter().enumerate() {
        out[r * n + t * TILE..][..width].copy_from_slice(&acc[..width]);
    }
}
