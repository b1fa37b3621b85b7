//! The operands in the kernels' layout, the thread split, and the NaN rules shared by every
//! kernel.

use crate::block::{pow2, Block, CANONICAL_NAN};
use crate::format::BLOCK;
use crate::matrix::MxMatrix;

/// Output columns one kernel step produces (one 512-bit vector of f32, or two 256-bit ones).
pub(super) const TILE: usize = 16;
/// Rows one kernel call gets: the kernels' register blockings (8, 6 and 4 rows) divide it.
pub(super) const ROW_GROUP: usize = 24;

/// The lowest scale exponent k at which `P * 2^k` is exact in f32 for any integer block sum P
/// (every bit of it stays at or above 2^-149), so one IEEE multiply of `P` by the exact
/// power of two `2^ka * 2^kb` is the SPEC's single rounding.
pub(super) const MUL_MIN_LOG2: i32 = -149;
/// The highest k at which `2^k` is an f32: the multiply's range is `MUL_MIN_LOG2..=` this.
pub(super) const MUL_MAX_LOG2: i32 = 127;
/// The highest k at which `P * 2^k` is also finite (|P| < 2^21), so a fused multiply-add into
/// the accumulator rounds only the addition, as the SPEC's separate add does.
pub(super) const FMA_MAX_LOG2: i32 = 106;

/// Operands in a kernel's layout. Each K element is a small integer of type `T`, and the K
/// elements of a block sit in groups of `G` (2 for 16-bit lanes, 4 for 8-bit lanes) that one
/// 32-bit SIMD lane multiplies and adds.
///
/// A: row r, block b holds 16 values at `(r * nblk + b) * 16`; its scale exponent
/// `ka = E - 127 - m` (and the f32 `2^ka`) at `r * nblk + b`.
/// B: tiles of 16 columns; tile t, block b, group g holds for each column c the G values of
/// K elements `G g .. G g + G` side by side (64 bytes) at `((t * nblk + b) * 16 / G + g) * 16
/// G`; the scale exponents, powers of two and biases of tile t, block b at `(t * nblk + b) *
/// 16`, and the range of its exponents at `t * nblk + b`. Columns past N hold zeros.
#[derive(Default)]
pub(super) struct Packed<T> {
    pub nblk: usize,
    pub n: usize,
    pub a_values: Vec<T>,
    pub a_log2: Vec<i32>,
    pub a_pow2: Vec<f32>,
    pub b_values: Vec<T>,
    pub b_log2: Vec<f32>,
    pub b_pow2: Vec<f32>,
    /// Added to each column's block sum to take out the offset of `Lane::a`.
    pub b_bias: Vec<i32>,
    /// The least and greatest kb of each tile-block, for the range checks of the kernels
    /// that scale by multiplying.
    pub b_log2_range: Vec<[i32; 2]>,
    nan_rows: Vec<bool>,
    nan_cols: Vec<bool>,
}

/// Element encodings. 16-bit lanes hold any MX9 value as it is. 8-bit lanes hold MX6 and MX4
/// values (|v| <= 30) for the byte multiplies, which take one operand unsigned (`vpmaddubsw`,
/// `vpdpbusd`): A offset by +32 (2..=62), B signed. The offset adds `32 * sum(b)` to each
/// column's block sum, which `b_bias` takes back out. Byte products stay small enough for
/// `vpmaddubsw`'s 16-bit sums: a pair is at most 2 * 62 * 30 = 3720, and the eight pairs one
/// 16-bit lane gathers over a block at most 14 880.
pub(super) trait Lane: Copy + Default + Send + Sync + 'static {
    const GROUP: usize;
    /// Whether `bias` can be non-zero, so kernels add `b_bias` only where it matters.
    const BIASED: bool;
    /// This thread's packing buffers for this lane type, kept between calls: fresh large
    /// allocations would cost a page fault per 4 KiB, as much as the packing itself.
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<Self>>>;
    fn a(v: i16) -> Self;
    fn b(v: i16) -> Self;
    fn bias(b: &[i16]) -> i32;
}

thread_local! {
    static SCRATCH_I16: std::cell::RefCell<Packed<i16>> = std::cell::RefCell::new(Packed::default());
    static SCRATCH_U8: std::cell::RefCell<Packed<u8>> = std::cell::RefCell::new(Packed::default());
}

impl Lane for i16 {
    const GROUP: usize = 2;
    const BIASED: bool = false;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<i16>>> {
        &SCRATCH_I16
    }
    fn a(v: i16) -> i16 {
        v
    }
    fn b(v: i16) -> i16 {
        v
    }
    fn bias(_: &[i16]) -> i32 {
        0
    }
}

/// The offset that makes an MX6 or MX4 value of A an unsigned byte.
const BYTE_OFFSET: i16 = 32;

impl Lane for u8 {
    const GROUP: usize = 4;
    const BIASED: bool = true;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<u8>>> {
        &SCRATCH_U8
    }
    fn a(v: i16) -> u8 {
        debug_assert!(v.abs() <= 30, "{v} is no MX6 or MX4 value");
        (v + BYTE_OFFSET) as u8
    }
    fn b(v: i16) -> u8 {
        v as i8 as u8
    }
    fn bias(b: &[i16]) -> i32 {
        -i32::from(BYTE_OFFSET) * b.iter().map(|&v| i32::from(v)).sum::<i32>()
    }
}

impl<T: Lane> Packed<T> {
    // Inlined into each kernel's caller, so packing compiles with that kernel's CPU features.
    #[inline(always)]
    fn fill(&mut self, a: &MxMatrix, b: &MxMatrix) {
        let (nblk, n, tiles) = (a.blocks_per_line(), b.cols(), b.cols().div_ceil(TILE));
        self.nblk = nblk;
        self.n = n;
        refill(&mut self.a_values, a.rows() * nblk * BLOCK, T::default());
        refill(&mut self.a_log2, a.rows() * nblk, 0);
        refill(&mut self.a_pow2, a.rows() * nblk, 0.0);
        refill(&mut self.b_values, tiles * nblk * BLOCK * TILE, T::default());
        refill(&mut self.b_log2, tiles * nblk * TILE, 0.0);
        refill(&mut self.b_pow2, tiles * nblk * TILE, 1.0);
        refill(&mut self.b_bias, tiles * nblk * TILE, 0);
        refill(&mut self.b_log2_range, tiles * nblk, [0, 0]);
        self.nan_rows = nan_lines(a);
        self.nan_cols = nan_lines(b);
        let a_blocks = (0..a.rows()).flat_map(|r| a.line(r));
        let a_out =
            self.a_values.chunks_exact_mut(BLOCK).zip(self.a_log2.iter_mut().zip(self.a_pow2.iter_mut()));
        for (block, (values, (log2, pow2_out))) in a_blocks.zip(a_out) {
            for (v, &x) in values.iter_mut().zip(&block.int_values()) {
                *v = T::a(x);
            }
            let k = block.scale_log2(a.format());
            *log2 = k;
            *pow2_out = pow2(k) as f32; // exact: -134 <= k <= 125
        }
        // Column by column: each block's K groups go to their slots of the tile-block.
        for j in 0..n {
            let (t, c) = (j / TILE, j % TILE);
            for (blk, block) in b.line(j).iter().enumerate() {
                let tile_block = t * nblk + blk;
                let ints = block.int_values();
                let out = &mut self.b_values[tile_block * BLOCK * TILE..][..BLOCK * TILE];
                for (g, group) in ints.chunks_exact(T::GROUP).enumerate() {
                    for (v, &x) in out[(g * TILE + c) * T::GROUP..][..T::GROUP].iter_mut().zip(group) {
                        *v = T::b(x);
                    }
                }
                let k = block.scale_log2(b.format());
                let at = tile_block * TILE + c;
                self.b_log2[at] = k as f32;
                self.b_pow2[at] = pow2(k) as f32;
                self.b_bias[at] = T::bias(&ints);
                let range = &mut self.b_log2_range[tile_block];
                *range = if c == 0 { [k, k] } else { [range[0].min(k), range[1].max(k)] };
            }
        }
    }

    /// Runs `rows_kernel` over every column tile and row group of C, split into bands of
    /// rows, one per thread.
    fn run(&self, threads: usize, c: &mut [f32], rows_kernel: RowsKernel<T>) {
        let m = self.nan_rows.len();
        if m == 0 || self.n == 0 {
            return;
        }
        // Whole row groups per thread keep each thread on the kernel's widest path.
        let rows_per_thread = m.div_ceil(threads.max(1)).next_multiple_of(ROW_GROUP);
        let work = &|first_row: usize, out: &mut [f32]| {
            let rows = out.len() / self.n;
            for t in 0..self.n.div_ceil(TILE) {
                for r in (0..rows).step_by(ROW_GROUP) {
                    let group = ROW_GROUP.min(rows - r);
                    rows_kernel(self, first_row + r, group, t, &mut out[r * self.n..(r + group) * self.n]);
                }
            }
        };
        if rows_per_thread >= m {
            work(0, c);
        } else {
            std::thread::scope(|scope| {
                for (chunk, out) in c.chunks_mut(rows_per_thread * self.n).enumerate() {
                    scope.spawn(move || work(chunk * rows_per_thread, out));
                }
            });
        }
    }

    fn capacity_bytes(&self) -> usize {
        fn bytes<V>(v: &Vec<V>) -> usize {
            v.capacity() * std::mem::size_of::<V>()
        }
        bytes(&self.a_values)
            + bytes(&self.a_log2)
            + bytes(&self.a_pow2)
            + bytes(&self.b_values)
            + bytes(&self.b_log2)
            + bytes(&self.b_pow2)
            + bytes(&self.b_bias)
            + bytes(&self.b_log2_range)
    }

    /// A NaN block poisons its whole output row or column, and NaNs leave canonical.
    #[inline(always)]
    fn finish(&self, c: &mut [f32]) {
        for x in c.iter_mut() {
            *x = if x.is_nan() { CANONICAL_NAN } else { *x };
        }
        let nan_cols: Vec<usize> = (0..self.n).filter(|&j| self.nan_cols[j]).collect();
        for (row, &nan_row) in c.chunks_mut(self.n.max(1)).zip(&self.nan_rows) {
            if nan_row {
                row.fill(CANONICAL_NAN);
            }
            for &j in &nan_cols {
                row[j] = CANONICAL_NAN;
            }
        }
    }
}

/// Computes `rows` (at most `ROW_GROUP`) output rows from `row0` of column tile t into `out`
/// (those rows, N each).
pub(super) type RowsKernel<T> = fn(&Packed<T>, usize, usize, usize, &mut [f32]);

/// Packing buffers larger than this are freed after the call rather than kept by the thread.
const SCRATCH_KEEP_MAX_BYTES: usize = 64 << 20;

/// Makes `v` hold `len` copies of `value`, reusing its allocation.
fn refill<T: Copy>(v: &mut Vec<T>, len: usize, value: T) {
    v.clear();
    v.resize(len, value);
}

fn nan_lines(m: &MxMatrix) -> Vec<bool> {
    (0..m.lines()).map(|l| m.line(l).iter().any(Block::is_nan)).collect()
}

/// Packs the operands, runs the kernel over C and applies the NaN rules.
#[inline(always)]
pub(super) fn compute<T: Lane>(
    a: &MxMatrix,
    b: &MxMatrix,
    threads: usize,
    c: &mut [f32],
    kernel: RowsKernel<T>,
) {
    // Taken out and put back rather than borrowed in a closure: a closure would not inherit
    // the CPU features of the kernel's caller that the packing code is inlined into.
    let mut packed = T::scratch().take();
    packed.fill(a, b);
    packed.run(threads, c, kernel);
    packed.finish(c);
    if packed.capacity_bytes() <= SCRATCH_KEEP_MAX_BYTES {
        T::scratch().set(packed);
    }
}
