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
///   16-bit sums that `vpmaddubsw` and one add per group gather (see `pair_bias`), and its
///   total is the sum of the two. A pair of products is at most 2 * 62 * 30 = 3720; a 16-bit
///   sum starts at -32 times its eight B values and after any number of its groups is at
///   most 32 * 30 per element still to come plus 30 * 30 per element added: 7 680 in all, so
///   the 16-bit sums neither saturate nor wrap.
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
    /// A block's values as A's and as B's lanes.
    ///
    /// # Safety
    /// The CPU has D's features.
    unsafe fn a<D: Decode>(values: &[i16; BLOCK]) -> [Self; BLOCK];
    /// # Safety
    /// The CPU has D's features.
    unsafe fn b<D: Decode>(values: &[i16; BLOCK]) -> [Self; BLOCK];
    fn a_bias(_a: &[i16; BLOCK]) -> i32 {
        0
    }
    fn b_bias(_b: &[i16; BLOCK]) -> i32 {
        0
    }
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
    unsafe fn a<D: Decode>(values: &[i16; BLOCK]) -> [i16; BLOCK] {
        *values
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(values: &[i16; BLOCK]) -> [i16; BLOCK] {
        *values
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
    unsafe fn a<D: Decode>(values: &[i16; BLOCK]) -> [f32; BLOCK] {
        values.map(f32::from)
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(values: &[i16; BLOCK]) -> [f32; BLOCK] {
        values.map(f32::from)
    }
}

/// The offsets that make one side's bytes unsigned.
const A_OFFSET: i16 = 32;
const B_OFFSET: i16 = 128;

/// The sum of an MX6 or MX4 block's values (at most 16 * 30 in magnitude: no i16 overflow).
#[inline(always)]
fn sum(values: &[i16; BLOCK]) -> i32 {
    i32::from(values.iter().sum::<i16>())
}

fn is_small(values: &[i16; BLOCK]) -> bool {
    values.iter().all(|v| v.abs() <= 30)
}

/// `-offset` times the sum of each half of a column's byte groups, as the two 16-bit halves of
/// a 32-bit lane: the start values of the two 16-bit sums that `vpmaddubsw` gives a column
/// (the low one gathers the first two bytes of each group of four, the high one the last two).
#[inline(always)]
fn pair_bias(values: &[i16; BLOCK], offset: i16) -> i32 {
    let (mut low, mut high) = (0i16, 0i16);
    for group in values.chunks_exact(4) {
        low += group[0] + group[1];
        high += group[2] + group[3];
    }
    i32::from((-offset * low) as u16) | (i32::from(-offset * high) << 16)
}

impl Lane for u8 {
    const GROUP: usize = 4;
    const B_BIASED: bool = true;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<u8>>> {
        &SCRATCH_U8
    }
    #[inline(always)]
    unsafe fn a<D: Decode>(values: &[i16; BLOCK]) -> [u8; BLOCK] {
        debug_assert!(is_small(values), "{values:?} are no MX6 or MX4 values");
        D::bytes(values, A_OFFSET)
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(values: &[i16; BLOCK]) -> [u8; BLOCK] {
        D::bytes(values, 0)
    }
    #[inline(always)]
    fn b_bias(b: &[i16; BLOCK]) -> i32 {
        pair_bias(b, A_OFFSET)
    }
}

impl Lane for i8 {
    const GROUP: usize = 4;
    const A_BIASED: bool = true;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<i8>>> {
        &SCRATCH_I8
    }
    #[inline(always)]
    unsafe fn a<D: Decode>(values: &[i16; BLOCK]) -> [i8; BLOCK] {
        D::bytes(values, 0).map(|x| x as i8)
    }
    #[inline(always)]
    unsafe fn b<D: Decode>(values: &[i16; BLOCK]) -> [i8; BLOCK] {
        debug_assert!(is_small(values), "{values:?} are no MX6 or MX4 values");
        D::bytes(values, B_OFFSET).map(|x| x as i8)
    }
    #[inline(always)]
    fn a_bias(a: &[i16; BLOCK]) -> i32 {
        -i32::from(B_OFFSET) * sum(a)
    }
}

/// How a kernel family turns a block into its integer values: `Block::int_values`, or the
/// same with the family's SIMD, which decoding in the packing needs to be fast.
pub(super) trait Decode {
    /// # Safety
    /// The CPU has the features the implementation uses.
    unsafe fn int_values(block: &Block) -> [i16; BLOCK];

    /// `values + offset`, each taken modulo 256 (as `as u8` does).
    ///
    /// # Safety
    /// The CPU has the features the implementation uses.
    unsafe fn bytes(values: &[i16; BLOCK], offset: i16) -> [u8; BLOCK];
}

/// `Block::int_values` as it is, for any CPU.
pub(super) struct PlainDecode;

impl Decode for PlainDecode {
    #[inline(always)]
    unsafe fn int_values(block: &Block) -> [i16; BLOCK] {
        block.int_values()
    }

    #[inline(always)]
    unsafe fn bytes(values: &[i16; BLOCK], offset: i16) -> [u8; BLOCK] {
        values.map(|v| v.wrapping_add(offset) as u8)
    }
}

impl<T: Lane> Packed<T> {
    // Inlined into each kernel's caller, so packing compiles with that kernel's CPU features.
    #[inline(always)]
    fn fill<D: Decode>(&mut self, a: &MxMatrix, b: &MxMatrix) {
        let (nblk, n, tiles) = (a.blocks_per_line(), b.cols(), b.cols().div_ceil(TILE));
        self.nblk = nblk;
        self.n = n;
        refill(&mut self.a_values, a.rows() * nblk * BLOCK, T::default());
        refill(&mut self.a_log2, a.rows() * nblk, 0.0);
        refill(&mut self.a_pow2, a.rows() * nblk, 0.0);
        refill(&mut self.a_bias, a.rows() * nblk, 0);
        refill(&mut self.b_values, tiles * nblk * BLOCK * TILE, T::default());
        refill(&mut self.b_log2, tiles * nblk * TILE, 0.0);
        refill(&mut self.b_pow2, tiles * nblk * TILE, 1.0);
        refill(&mut self.b_bias, tiles * nblk * TILE, 0);
        refill(&mut self.b_log2_range, tiles * nblk, [0, 0]);
        self.nan_rows = nan_lines(a);
        self.nan_cols = nan_lines(b);
        let a_blocks = (0..a.rows()).flat_map(|r| a.line(r));
        let a_out = self
            .a_values
            .chunks_exact_mut(BLOCK)
            .zip(&mut self.a_log2)
            .zip(&mut self.a_pow2)
            .zip(&mut self.a_bias);
        let mut a_bounds = bounds(std::iter::empty());
        for (block, (((values, log2), pow2_out), bias)) in a_blocks.zip(a_out) {
            // SAFETY: the caller's CPU has D's features.
            let ints = unsafe { D::int_values(block) };
            values.copy_from_slice(&unsafe { T::a::<D>(&ints) });
            let k = block.scale_log2(a.format());
            *log2 = k as f32;
            *pow2_out = pow2(k) as f32; // exact: -134 <= ka <= 125
            a_bounds = [a_bounds[0].min(k), a_bounds[1].max(k)];
            if T::A_BIASED {
                *bias = T::a_bias(&ints);
            }
        }
        self.a_log2_bounds = a_bounds;
        // Column by column: each block's K groups go to their slots of its tile-block.
        for j in 0..n {
            let (t, c) = (j / TILE, j % TILE);
            for (blk, block) in b.line(j).iter().enumerate() {
                let tile_block = t * nblk + blk;
                // SAFETY: the caller's CPU has D's features.
                let ints = unsafe { D::int_values(block) };
                let lanes = unsafe { T::b::<D>(&ints) };
                let out = &mut self.b_values[tile_block * BLOCK * TILE..][..BLOCK * TILE];
                for (g, group) in lanes.chunks_exact(T::GROUP).enumerate() {
                    out[(g * TILE + c) * T::GROUP..][..T::GROUP].copy_from_slice(group);
                }
                let k = block.scale_log2(b.format());
                let at = tile_block * TILE + c;
                self.b_log2[at] = k as f32;
                self.b_pow2[at] = pow2(k) as f32;
                if T::B_BIASED {
                    self.b_bias[at] = T::b_bias(&ints);
                }
                let range = &mut self.b_log2_range[tile_block];
                *range = if c == 0 { [k, k] } else { [range[0].min(k), range[1].max(k)] };
            }
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
            + bytes(&self.a_bias)
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
    values.fold([i32::MAX, i32::MIN], |[lo, hi], k| [lo.min(k), hi.max(k)])
}

fn nan_lines(m: &MxMatrix) -> Vec<bool> {
    (0..m.lines()).map(|l| m.line(l).iter().any(Block::is_nan)).collect()
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
