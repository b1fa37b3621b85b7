//! The operands in the kernels' layout, the thread split, and the NaN rules shared by every
//! kernel.

use crate::block::{pow2, Block, CANONICAL_NAN};
use crate::format::BLOCK;
use crate::matrix::MxMatrix;
use std::mem::size_of;

/// Output columns one kernel step produces (one 512-bit vector of f32, or two 256-bit ones).
pub(super) const TILE: usize = 16;
/// Rows one kernel call gets: the kernels' register blockings (8, 6 and 4 rows) divide it.
pub(super) const ROW_GROUP: usize = 24;

/// The bytes of A rows one pass over the tiles of B takes: half of a 512 KiB L2 cache (Zen 3),
/// the smallest of the CPUs this runs on, so B's tile and the outputs fit beside them.
const A_PASS_BYTES: usize = 256 << 10;

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
/// elements of a block sit in groups of `G` (2 for 16-bit lanes, 4 for 8-bit lanes, 1 for
/// f32 lanes) that one 32-bit SIMD lane multiplies and adds.
///
/// A: row r, block b holds 16 values at `(r * nblk + b) * 16`; its scale exponent
/// `ka = E - 127 - m` (as f32, the operand `vscalefps` takes), the f32 `2^ka` and its bias at
/// `r * nblk + b`.
/// B: tiles of 16 columns; tile t, block b, group g holds for each column c the G values of
/// K elements `G g .. G g + G` side by side (64 bytes) at `((t * nblk + b) * 16 / G + g) * 16
/// G`; the scale exponents, powers of two and biases of tile t, block b at `(t * nblk + b) *
/// 16`, and the range of its exponents at `t * nblk + b`. Columns past N hold zeros.
#[derive(Default)]
pub(super) struct Packed<T> {
    pub nblk: usize,
    pub n: usize,
    pub a_values: Vec<T>,
    pub a_log2: Vec<f32>,
    pub a_pow2: Vec<f32>,
    /// Added to each block sum of the row to take out `Lane::b`'s offset.
    pub a_bias: Vec<i32>,
    pub b_values: Vec<T>,
    pub b_log2: Vec<f32>,
    pub b_pow2: Vec<f32>,
    /// Takes `Lane::a`'s offset out of each block sum of the column (`Lane for u8` says how).
    pub b_bias: Vec<i32>,
    /// The least and greatest kb of each tile-block, for the range checks of the kernels
    /// that scale by multiplying.
    pub b_log2_range: Vec<[i32; 2]>,
    /// The least and greatest ka, and kb, over the whole operand.
    a_log2_bounds: [i32; 2],
    b_log2_bounds: [i32; 2],
    nan_rows: Vec<bool>,
    nan_cols: Vec<bool>,
}

/// Element encodings. 16-bit lanes hold any MX9 value as it is; f32 lanes too, for the
/// portable kernel. MX6 and MX4 values (|v| <= 30) fit bytes, and the byte multiplies take one
/// operand unsigned, so one side is offset, and a bias per block sum takes the offset back out:
/// - `u8`: A + 32 (2..=62), B signed, for `vpmaddubsw` (A broadcast as the unsigned operand)
///   and AVX-VNNI. The bias `-32 * sum(b)` per column is kept as the start values of the two
///   16-bit sums that `vpmaddubsw` and one add per group gather (see `Decode::pair_biases`), and
///   its total is the sum of the two. A pair of products is at most 2 * 62 * 30 = 3720; a
///   16-bit sum starts at -32 times its eight B values and after any number of its groups is
///   at most 32 * 30 per element still to come plus 30 * 30 per element added: 7 680 in all,
///   so the 16-bit sums neither saturate nor wrap.
/// - `i8`: A signed, B + 128 (stored as its bits), for AVX-512 VNNI, whose `vpdpbusd` takes
///   the signed operand from memory as a broadcast. The bias is `-128 * sum(a)` per row.
pub(super) trait Lane: Copy + Default + Send + Sync + 'static {
    const GROUP: usize;
    /// Whether `a_bias` or `b_bias` can be non-zero, so kernels add them only where they matter.
    const A_BIASED: bool = false;
    const B_BIASED: bool = false;
    /// This thread's packing buffers for this lane type, kept between calls: fresh large
    /// allocations would cost a page fault per 4 KiB, as much as the packing itself.
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<Self>>>;
    /// A block as A's and as B's lanes.
    ///
    /// # Safety
    /// The CPU has D's features.
    unsafe fn a<D: Decode>(block: &Block) -> [Self; BLOCK];
    /// # Safety
    /// The CPU has D's features.
    unsafe fn b<D: Decode>(block: &Block) -> [Self; BLOCK];
    /// The bias of a block's sums from its A lanes.
    ///
    /// # Safety
    /// The CPU has D's features.
    unsafe fn a_bias<D: Decode>(_a: &[Self; BLOCK]) -> i32 {
        0
    }
    /// The biases of a B tile-block's columns from its packed lanes (`BLOCK * TILE` of them).
    ///
    /// # Safety
    /// The CPU has D's features.
    unsafe fn b_biases<D: Decode>(_tile_block: &[Self], _biases: &mut [i32; TILE]) {}
}

thread_local! {
    static SCRATCH_I16: std::cell::RefCell<Packed<i16>> = std::cell::RefCell::new(Packed::default());
    static SCRATCH_U8: std::cell::RefCell<Packed<u8>> = std::cell::RefCell::new(Packed::default());
    static SCRATCH_I8: std::cell::RefCell<Packed<i8>> = std::cell::RefCell::new(Packed::default());
    static SCRATCH_F32: std::cell::RefCell<Packed<f32>> = std::cell::RefCell::new(Packed::default());
}

impl Lane for i16 {
    const GROUP: usize = 2;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<i16>>> {
        &SCRATCH_I16
    }
    #[inline(always)]
    unsafe fn a<D: Decode>(block: &Block) -> [i16; BLOCK] {
        D::int_values(block)
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(block: &Block) -> [i16; BLOCK] {
        D::int_values(block)
    }
}

/// One K element per lane: every product of two values (|v| <= 254) and every partial block
/// sum (at most 16 * 254^2 < 2^24) is an integer that f32 holds exactly, so plain f32
/// multiplies and adds, which any compiler vectorizes, give the exact block sum.
impl Lane for f32 {
    const GROUP: usize = 1;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<f32>>> {
        &SCRATCH_F32
    }
    #[inline(always)]
    unsafe fn a<D: Decode>(block: &Block) -> [f32; BLOCK] {
        D::int_values(block).map(f32::from)
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(block: &Block) -> [f32; BLOCK] {
        D::int_values(block).map(f32::from)
    }
}

/// The offsets that make one side's bytes unsigned.
const A_OFFSET: u8 = 32;
const B_OFFSET: u8 = 128;

/// Whether byte lanes hold an MX6 or MX4 block's values (|v| <= 30) plus `offset`.
fn is_small(lanes: &[u8; BLOCK], offset: u8) -> bool {
    lanes.iter().all(|&v| (v.wrapping_sub(offset) as i8).abs() <= 30)
}

impl Lane for u8 {
    const GROUP: usize = 4;
    const B_BIASED: bool = true;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<u8>>> {
        &SCRATCH_U8
    }
    #[inline(always)]
    unsafe fn a<D: Decode>(block: &Block) -> [u8; BLOCK] {
        let lanes = D::bytes(block, A_OFFSET);
        debug_assert!(is_small(&lanes, A_OFFSET), "{block:?} is no MX6 or MX4 block");
        lanes
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(block: &Block) -> [u8; BLOCK] {
        D::bytes(block, 0)
    }
    #[inline(always)]
    unsafe fn b_biases<D: Decode>(tile_block: &[u8], biases: &mut [i32; TILE]) {
        D::pair_biases(tile_block.try_into().expect("a tile-block's lanes"), A_OFFSET, biases);
    }
}

impl Lane for i8 {
    const GROUP: usize = 4;
    const A_BIASED: bool = true;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<i8>>> {
        &SCRATCH_I8
    }
    #[inline(always)]
    unsafe fn a<D: Decode>(block: &Block) -> [i8; BLOCK] {
        D::bytes(block, 0).map(|x| x as i8)
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(block: &Block) -> [i8; BLOCK] {
        let lanes = D::bytes(block, B_OFFSET);
        debug_assert!(is_small(&lanes, B_OFFSET), "{block:?} is no MX6 or MX4 block");
        lanes.map(|x| x as i8)
    }
    #[inline(always)]
    unsafe fn a_bias<D: Decode>(a: &[i8; BLOCK]) -> i32 {
        -i32::from(B_OFFSET) * a.iter().map(|&v| i32::from(v)).sum::<i32>()
    }
}

/// How a kernel family turns a block into its lanes: `Block::int_values` and plain loops, or
/// the same with the family's SIMD, which the packing needs to be fast.
pub(super) trait Decode {
    /// # Safety
    /// The CPU has the features the implementation uses.
    unsafe fn int_values(block: &Block) -> [i16; BLOCK];

    /// The block's integer values plus `offset`, each taken modulo 256 (as `as u8` does).
    ///
    /// # Safety
    /// The CPU has the features the implementation uses.
    unsafe fn bytes(block: &Block, offset: u8) -> [u8; BLOCK];

    /// For each column of a tile-block of byte lanes (group g of column c in bytes
    /// `(g TILE + c) 4 ..`, read as signed), `-offset` times the sums of each half of its
    /// groups, as the two 16-bit halves of a 32-bit lane: the start values of the two 16-bit
    /// sums that `vpmaddubsw` gives a column (the low one gathers the first two bytes of each
    /// group of four, the high one the last two).
    ///
    /// # Safety
    /// The CPU has the features the implementation uses.
    unsafe fn pair_biases(groups: &[u8; BLOCK * TILE], offset: u8, biases: &mut [i32; TILE]);
}

/// `Block::int_values` and plain loops, for any CPU.
pub(super) struct PlainDecode;

impl Decode for PlainDecode {
    #[inline(always)]
    unsafe fn int_values(block: &Block) -> [i16; BLOCK] {
        block.int_values()
    }

    #[inline(always)]
    unsafe fn bytes(block: &Block, offset: u8) -> [u8; BLOCK] {
        block.int_values().map(|v| v.wrapping_add(i16::from(offset)) as u8)
    }

    #[inline(always)]
    unsafe fn pair_biases(groups: &[u8; BLOCK * TILE], offset: u8, biases: &mut [i32; TILE]) {
        let factor = -i16::from(offset);
        for (c, bias) in biases.iter_mut().enumerate() {
            let (mut low, mut high) = (0i16, 0i16);
            for group in groups.chunks_exact(4 * TILE) {
                let [b0, b1, b2, b3] = [0, 1, 2, 3].map(|i| i16::from(group[4 * c + i] as i8));
                low += b0 + b1;
                high += b2 + b3;
            }
            *bias = i32::from(factor.wrapping_mul(low) as u16) | (i32::from(factor.wrapping_mul(high)) << 16);
        }
    }
}

impl<T: Lane> Packed<T> {
    // Inlined into each kernel's caller, so packing compiles with that kernel's CPU features.
    #[inline(always)]
    fn fill<D: Decode>(&mut self, a: &MxMatrix, b: &MxMatrix) {
        let (nblk, n, tiles) = (a.blocks_per_line(), b.cols(), b.cols().div_ceil(TILE));
        self.nblk = nblk;
        self.n = n;
        // Every entry is written below (the bias only where the lane type has one, and read only
        // there), so the buffers keep their old contents until then rather than being cleared.
        self.a_values.resize(a.rows() * nblk * BLOCK, T::default());
        self.a_log2.resize(a.rows() * nblk, 0.0);
        self.a_pow2.resize(a.rows() * nblk, 0.0);
        self.a_bias.resize(a.rows() * nblk, 0);
        self.b_values.resize(tiles * nblk * BLOCK * TILE, T::default());
        self.b_log2.resize(tiles * nblk * TILE, 0.0);
        self.b_pow2.resize(tiles * nblk * TILE, 0.0);
        self.b_bias.resize(tiles * nblk * TILE, 0);
        self.b_log2_range.resize(tiles * nblk, [0, 0]);
        refill(&mut self.nan_rows, a.rows(), false);
        refill(&mut self.nan_cols, n, false);
        let mut a_bounds = bounds(std::iter::empty());
        for (r, nan_row) in self.nan_rows.iter_mut().enumerate() {
            let at = r * nblk;
            let out = self.a_values[at * BLOCK..][..nblk * BLOCK]
                .chunks_exact_mut(BLOCK)
                .zip(&mut self.a_log2[at..][..nblk])
                .zip(&mut self.a_pow2[at..][..nblk])
                .zip(&mut self.a_bias[at..][..nblk]);
            for (block, (((values, log2), pow2_out), bias)) in a.line(r).iter().zip(out) {
                // SAFETY (each call): the caller's CPU has D's features.
                let lanes = unsafe { T::a::<D>(block) };
                values.copy_from_slice(&lanes);
                let k = block.scale_log2(a.format());
                (*log2, *pow2_out) = scale_factors(k);
                a_bounds = widen(a_bounds, k);
                if T::A_BIASED {
                    *bias = unsafe { T::a_bias::<D>(&lanes) };
                }
                *nan_row |= block.is_nan();
            }
        }
        self.a_log2_bounds = a_bounds;
        // Tile-block by tile-block: each column's block puts its K groups into their slots.
        for (tile_block, range) in self.b_log2_range.iter_mut().enumerate() {
            let (t, blk) = (tile_block / nblk, tile_block % nblk);
            let columns = t * TILE..n.min(t * TILE + TILE);
            let columns_len = columns.len();
            let out = &mut self.b_values[tile_block * BLOCK * TILE..][..BLOCK * TILE];
            let at = tile_block * TILE;
            let (log2, pow2_out) = (&mut self.b_log2[at..][..TILE], &mut self.b_pow2[at..][..TILE]);
            let bias = &mut self.b_bias[at..][..TILE];
            let mut tile_bounds = bounds(std::iter::empty());
            for (c, (j, nan_col)) in columns.clone().zip(&mut self.nan_cols[columns]).enumerate() {
                let block = &b.line(j)[blk];
                // SAFETY (each call): the caller's CPU has D's features.
                let lanes = unsafe { T::b::<D>(block) };
                for (g, group) in lanes.chunks_exact(T::GROUP).enumerate() {
                    out[(g * TILE + c) * T::GROUP..][..T::GROUP].copy_from_slice(group);
                }
                let k = block.scale_log2(b.format());
                (log2[c], pow2_out[c]) = scale_factors(k);
                tile_bounds = widen(tile_bounds, k);
                *nan_col |= block.is_nan();
            }
            // Columns past N (in the last tile): zeros, scaled by 1.
            for c in columns_len..TILE {
                for slots in out.chunks_exact_mut(TILE * T::GROUP) {
                    slots[c * T::GROUP..][..T::GROUP].fill(T::default());
                }
                (log2[c], pow2_out[c]) = (0.0, 1.0);
            }
            if T::B_BIASED {
                // SAFETY: the caller's CPU has D's features.
                unsafe { T::b_biases::<D>(out, bias.try_into().expect("a tile's columns")) };
            }
            *range = tile_bounds;
        }
        self.b_log2_bounds = bounds(self.b_log2_range.iter().flatten().copied());
    }

    /// Whether `min <= ka + kb <= max` for every pair of A and B blocks, so that a kernel can
    /// skip its per-block range check.
    pub fn scales_within(&self, min: i32, max: i32) -> bool {
        let ([a_min, a_max], [b_min, b_max]) = (self.a_log2_bounds, self.b_log2_bounds);
        i64::from(a_min) + i64::from(b_min) >= i64::from(min)
            && i64::from(a_max) + i64::from(b_max) <= i64::from(max)
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
        // Each tile of B meets the rows of one pass before the next pass starts, so the A
        // blocks of a pass (values, scale exponents, powers of two, biases) stay in the L2
        // cache while every tile streams past them, instead of all of A streaming in again
        // for each tile.
        let block_bytes = BLOCK * size_of::<T>() + 2 * size_of::<f32>() + size_of::<i32>();
        let row_bytes = self.nblk * block_bytes;
        let rows_per_pass = (A_PASS_BYTES / row_bytes.max(1) / ROW_GROUP).max(1) * ROW_GROUP;
        let work = &|first_row: usize, out: &mut [f32]| {
            let rows = out.len() / self.n;
            for pass in (0..rows).step_by(rows_per_pass) {
                let pass_end = rows.min(pass + rows_per_pass);
                for t in 0..self.n.div_ceil(TILE) {
                    for r in (pass..pass_end).step_by(ROW_GROUP) {
                        let group = ROW_GROUP.min(pass_end - r);
                        rows_kernel(
                            self,
                            first_row + r,
                            group,
                            t,
                            &mut out[r * self.n..(r + group) * self.n],
                        );
                    }
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
            + bytes(&self.a_bias)
            + bytes(&self.b_values)
            + bytes(&self.b_log2)
            + bytes(&self.b_pow2)
            + bytes(&self.b_bias)
            + bytes(&self.b_log2_range)
    }

    /// A NaN block poisons its whole output row or column, and NaNs leave canonical. Only an
    /// infinite product can make a NaN (Inf - Inf), so while every block pair's product is
    /// finite (|P| < 2^21 and ka + kb <= 106) no other output needs looking at.
    #[inline(always)]
    fn finish(&self, c: &mut [f32]) {
        if !self.scales_within(i32::MIN, FMA_MAX_LOG2) {
            for x in c.iter_mut() {
                *x = if x.is_nan() { CANONICAL_NAN } else { *x };
            }
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

/// A kernel's register blocking over `rows` rows: (first row, rows) pieces, each the largest
/// of `sizes` (largest first, ending with 1) that still fits.
pub(super) fn row_blocks(rows: usize, sizes: &[usize]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut r = 0;
    std::iter::from_fn(move || {
        let size = *sizes.iter().find(|&&size| size <= rows - r)?;
        r += size;
        Some((r - size, size))
    })
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

/// The least and greatest of `values` ([i32::MAX, i32::MIN] for none).
fn bounds(values: impl Iterator<Item = i32>) -> [i32; 2] {
    values.fold([i32::MAX, i32::MIN], widen)
}

/// `[lo, hi]` widened to hold `k`.
#[inline(always)]
fn widen([lo, hi]: [i32; 2], k: i32) -> [i32; 2] {
    [lo.min(k), hi.max(k)]
}

/// A block's scale exponent k as the kernels take it: k itself (for `vscalefps` and the range
/// checks) and 2^k, both as f32 (exact: -134 <= k <= 125).
#[inline(always)]
fn scale_factors(k: i32) -> (f32, f32) {
    (k as f32, pow2(k) as f32)
}

/// Packs the operands (decoding them with D), runs the kernel over C and applies the NaN
/// rules.
///
/// # Safety
/// The CPU has D's features.
#[inline(always)]
pub(super) unsafe fn compute<T: Lane, D: Decode>(
    a: &MxMatrix,
    b: &MxMatrix,
    threads: usize,
    c: &mut [f32],
    kernel: RowsKernel<T>,
) {
    // Taken out and put back rather than borrowed in a closure: a closure would not inherit
    // the CPU features of the kernel's caller that the packing code is inlined into.
    let mut packed = T::scratch().take();
    packed.fill::<D>(a, b);
    packed.run(threads, c, kernel);
    packed.finish(c);
    if packed.capacity_bytes() <= SCRATCH_KEEP_MAX_BYTES {
        T::scratch().set(packed);
    }
}
