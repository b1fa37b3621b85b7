//! The bit-exact MX GEMM, fast.
//!
//! Every element becomes the small signed integer `(-1)^s * q * 2^(1 - u)` (at most 9 bits),
//! so a block sum is an exact 16-term integer dot product, which SIMD integer multiply-add
//! instructions compute for 16 output columns at once. Each block sum is then scaled by a
//! power of two with one rounding and added to its f32 accumulator in K order, exactly as
//! `dot::dot` defines; the result is the same bits whichever kernel runs.

use anyhow::ensure;

use super::block::{Block, CANONICAL_NAN};
use super::dot::scale_exact;
use super::format::BLOCK;
use super::matrix::{Axis, MxMatrix};

/// Output columns one kernel step produces (one 512-bit vector of f32).
const TILE: usize = 16;
/// Products below this many multiply-accumulates run on one thread.
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// Which inner kernel computes the block sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kernel {
    /// The fastest one this CPU supports.
    #[default]
    Auto,
    /// The 256-bit AVX2 kernel, where the CPU has AVX2 (else `Portable`): what CPUs without
    /// AVX-512 run under `Auto`; selectable to test it on CPUs that have AVX-512.
    Avx2,
    /// Plain Rust that runs anywhere (the compiler vectorizes what it can).
    Portable,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct GemmOptions {
    /// Worker threads; 0 uses every core for large products and one for small ones.
    pub threads: usize,
    pub kernel: Kernel,
}

/// C = A x B, bit-exact to SPEC section 3: A is M x K blocked along rows, B is K x N blocked
/// down columns, both in one format. Returns C row-major.
pub fn gemm(a: &MxMatrix, b: &MxMatrix) -> anyhow::Result<Vec<f32>> {
    gemm_with(a, b, GemmOptions::default())
}

pub fn gemm_with(a: &MxMatrix, b: &MxMatrix, options: GemmOptions) -> anyhow::Result<Vec<f32>> {
    let mut c = vec![0.0; a.rows() * b.cols()];
    gemm_into(a, b, options, &mut c)?;
    Ok(c)
}

/// `gemm_with` into a caller's M x N row-major buffer, which it overwrites whole. Reusing the
/// buffer saves a page fault per 4 KiB of output on large products.
pub fn gemm_into(a: &MxMatrix, b: &MxMatrix, options: GemmOptions, c: &mut [f32]) -> anyhow::Result<()> {
    ensure!(a.axis() == Axis::Row, "GEMM operand A must be blocked along its rows (the K axis)");
    ensure!(b.axis() == Axis::Col, "GEMM operand B must be blocked down its columns (the K axis)");
    ensure!(
        a.format() == b.format(),
        "GEMM operands have different formats: A is {}, B is {}",
        a.format(),
        b.format()
    );
    ensure!(
        a.cols() == b.rows(),
        "GEMM shapes do not chain: A is {} x {} but B is {} x {}; A's columns must equal B's rows",
        a.rows(),
        a.cols(),
        b.rows(),
        b.cols()
    );
    let threads = match options.threads {
        0 if a.rows() * b.cols() * a.cols() >= PARALLEL_MIN_MACS => {
            std::thread::available_parallelism().map_or(1, |t| t.get())
        }
        0 => 1,
        t => t,
    };
    ensure!(
        c.len() == a.rows() * b.cols(),
        "the output buffer holds {} values; a {} x {} product needs {}",
        c.len(),
        a.rows(),
        b.cols(),
        a.rows() * b.cols()
    );
    dispatch(a, b, threads, options.kernel, c);
    Ok(())
}

/// Operands in a kernel's layout. Each K element is a small integer of type `T`, and the K
/// elements of a block sit in groups of `G` (2 for 16-bit lanes, 4 for 8-bit lanes) that one
/// 32-bit SIMD lane multiplies and adds.
///
/// A: row r, block b holds 16 values at `(r * nblk + b) * 16`, its scale exponent `E - 127 - m`
/// (as f32) and the starting value of its block sums (`bias`) at `r * nblk + b`.
/// B: tiles of 16 columns; tile t, block b, group g holds for each column c the G values of
/// K elements `G g .. G g + G` side by side (one 512-bit vector) at `((t * nblk + b) * 16 / G
/// + g) * 16 G`; scales of tile t, block b at `(t * nblk + b) * 16`. Columns past N hold zeros.
#[derive(Default)]
struct Packed<T> {
    nblk: usize,
    n: usize,
    a_values: Vec<T>,
    a_scales: Vec<f32>,
    a_bias: Vec<i32>,
    b_values: Vec<T>,
    b_scales: Vec<f32>,
    nan_rows: Vec<bool>,
    nan_cols: Vec<bool>,
}

/// Element encodings: 16-bit lanes hold any MX9 value as it is. 8-bit lanes (`vpdpbusd`
/// multiplies unsigned by signed bytes) hold A signed and B offset by +128; the offset adds
/// `128 * sum(a)` to every block sum, which the bias takes back out.
trait Lane: Copy + Default + Send + Sync + 'static {
    const GROUP: usize;
    /// This thread's packing buffers for this lane type, kept between calls: fresh large
    /// allocations would cost a page fault per 4 KiB, as much as the packing itself.
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<Self>>>;
    fn a(v: i16) -> Self;
    fn b(v: i16) -> Self;
    fn bias(a: &[i16]) -> i32;
}

thread_local! {
    static SCRATCH_I16: std::cell::RefCell<Packed<i16>> = std::cell::RefCell::new(Packed::default());
    static SCRATCH_U8: std::cell::RefCell<Packed<u8>> = std::cell::RefCell::new(Packed::default());
}

impl Lane for i16 {
    const GROUP: usize = 2;
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

impl Lane for u8 {
    const GROUP: usize = 4;
    fn scratch() -> &'static std::thread::LocalKey<std::cell::RefCell<Packed<u8>>> {
        &SCRATCH_U8
    }
    fn a(v: i16) -> u8 {
        v as i8 as u8
    }
    fn b(v: i16) -> u8 {
        (v + 128) as u8
    }
    fn bias(a: &[i16]) -> i32 {
        // |sum| <= 16 * 30: no i16 overflow.
        -128 * i32::from(a.iter().sum::<i16>())
    }
}

impl<T: Lane> Packed<T> {
    // Inlined into each kernel's caller, so packing compiles with that kernel's CPU features.
    #[inline(always)]
    fn fill(&mut self, a: &MxMatrix, b: &MxMatrix) {
        let (nblk, n) = (a.blocks_per_line(), b.cols());
        self.nblk = nblk;
        self.n = n;
        refill(&mut self.a_values, a.rows() * nblk * BLOCK, T::default());
        refill(&mut self.a_scales, a.rows() * nblk, 0.0);
        refill(&mut self.a_bias, a.rows() * nblk, 0);
        refill(&mut self.b_values, n.div_ceil(TILE) * nblk * BLOCK * TILE, T::default());
        refill(&mut self.b_scales, n.div_ceil(TILE) * nblk * TILE, 0.0);
        self.nan_rows = nan_lines(a);
        self.nan_cols = nan_lines(b);
        let a_blocks = (0..a.rows()).flat_map(|r| a.line(r));
        let a_out =
            self.a_values.chunks_exact_mut(BLOCK).zip(self.a_scales.iter_mut().zip(self.a_bias.iter_mut()));
        for (block, (values, (scale, bias))) in a_blocks.zip(a_out) {
            let ints = block.int_values();
            for (v, &x) in values.iter_mut().zip(&ints) {
                *v = T::a(x);
            }
            *scale = block.scale_log2(a.format()) as f32;
            *bias = T::bias(&ints);
        }
        // One tile-block at a time: gather 16 columns' values, then write them out in order.
        for t in 0..n.div_ceil(TILE) {
            let width = TILE.min(n - t * TILE);
            for blk in 0..nblk {
                let tile_block = t * nblk + blk;
                let mut ints = [[0i16; BLOCK]; TILE];
                for (c, ints) in ints.iter_mut().enumerate().take(width) {
                    let block = &b.line(t * TILE + c)[blk];
                    *ints = block.int_values();
                    self.b_scales[tile_block * TILE + c] = block.scale_log2(b.format()) as f32;
                }
                let out = &mut self.b_values[tile_block * BLOCK * TILE..][..BLOCK * TILE];
                for (group, out) in out.chunks_exact_mut(T::GROUP * TILE).enumerate() {
                    for (lane, ints) in out.chunks_exact_mut(T::GROUP).zip(&ints) {
                        for (v, &x) in lane.iter_mut().zip(&ints[group * T::GROUP..]) {
                            *v = T::b(x);
                        }
                    }
                }
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
            + bytes(&self.b_values)
            + bytes(&self.a_scales)
            + bytes(&self.b_scales)
            + bytes(&self.a_bias)
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

/// Computes `rows` output rows from `row0` of column tile t into `out` (those rows, N each).
type RowsKernel<T> = fn(&Packed<T>, usize, usize, usize, &mut [f32]);

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

/// Rows computed together: their block sums share every B vector loaded.
const ROW_GROUP: usize = 8;

#[inline(always)]
fn compute<T: Lane>(a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32], kernel: RowsKernel<T>) {
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

/// The kernel `kernel` resolves to on this CPU for this format, and its name.
fn dispatch(a: &MxMatrix, b: &MxMatrix, threads: usize, kernel: Kernel, c: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if kernel == Kernel::Auto && avx512::detected() {
            return avx512::gemm(a, b, threads, c);
        }
        if kernel != Kernel::Portable && avx2::detected() {
            return avx2::gemm(a, b, threads, c);
        }
    }
    let _ = kernel;
    compute::<i16>(a, b, threads, c, portable_rows)
}

/// The name of the kernel `Kernel::Auto` runs on this CPU, for reports.
pub fn auto_kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512::detected() {
            return avx512::name();
        }
        if avx2::detected() {
            return "avx2";
        }
    }
    "portable"
}

fn portable_rows(p: &Packed<i16>, row0: usize, rows: usize, t: usize, out: &mut [f32]) {
    let (nblk, n) = (p.nblk, p.n);
    let width = TILE.min(n - t * TILE);
    for r in 0..rows {
        let mut acc = [0.0f32; TILE];
        for blk in 0..nblk {
            let at = (row0 + r) * nblk + blk;
            let av = &p.a_values[at * BLOCK..(at + 1) * BLOCK];
            let bv = &p.b_values[(t * nblk + blk) * BLOCK * TILE..][..BLOCK * TILE];
            let mut sums = [0i32; TILE];
            for kp in 0..BLOCK / 2 {
                let lanes = &bv[kp * 2 * TILE..(kp + 1) * 2 * TILE];
                let (a0, a1) = (i32::from(av[2 * kp]), i32::from(av[2 * kp + 1]));
                for (c, sum) in sums.iter_mut().enumerate() {
                    *sum += a0 * i32::from(lanes[2 * c]) + a1 * i32::from(lanes[2 * c + 1]);
                }
            }
            let kb = &p.b_scales[(t * nblk + blk) * TILE..][..TILE];
            for c in 0..TILE {
                acc[c] += scale_exact(sums[c], (p.a_scales[at] + kb[c]) as i32);
            }
        }
        out[r * n + t * TILE..][..width].copy_from_slice(&acc[..width]);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! 16 output columns per 512-bit vector, 8 rows at a time so each B vector loaded serves 8
    //! block sums. The exact block sum comes from integer multiply-adds into 32-bit lanes
    //! (|P| < 2^21, no overflow); `vcvtdq2ps` converts it exactly (below 2^24), and `vscalefps`
    //! multiplies it by 2^(ka + kb) with the single IEEE rounding that SPEC section 3 asks for,
    //! subnormals and overflow included. MX9 values need 16-bit lanes (`vpdpwssd`, two K
    //! elements per lane); MX6 and MX4 values fit bytes (`vpdpbusd`, four per lane).
    use std::arch::asm;
    use std::arch::x86_64::*;

    use super::{compute, Lane, Packed, BLOCK, ROW_GROUP, TILE};
    use crate::{Format, MxMatrix};

    pub(super) fn detected() -> bool {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
    }

    fn vnni() -> bool {
        is_x86_feature_detected!("avx512vnni")
    }

    pub(super) fn name() -> &'static str {
        if vnni() {
            "avx512-vnni"
        } else {
            "avx512bw"
        }
    }

    /// Callers check `detected()` first.
    pub(super) fn gemm(a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
        // SAFETY: each path runs only where the CPU has its features.
        unsafe {
            if vnni() {
                gemm_vnni(a, b, threads, c)
            } else {
                gemm_bw(a, b, threads, c)
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn gemm_vnni(a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
        // SAFETY (both kernels): the caller checked the features.
        match a.format() {
            Format::Mx9 => compute::<i16>(a, b, threads, c, |p, row0, rows, t, out| unsafe {
                pairs_vnni(p, row0, rows, t, out)
            }),
            Format::Mx6 | Format::Mx4 => compute::<u8>(a, b, threads, c, |p, row0, rows, t, out| unsafe {
                quads_vnni(p, row0, rows, t, out)
            }),
        }
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn gemm_bw(a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
        // SAFETY: the caller checked the features.
        compute::<i16>(a, b, threads, c, |p, row0, rows, t, out| unsafe { pairs_bw(p, row0, rows, t, out) })
    }

    macro_rules! kernel {
        ($name:ident, $features:literal, $lane:ty, |$sum:ident, $bv:ident, $a_group:ident| $madd:expr) => {
            #[target_feature(enable = $features)]
            unsafe fn $name(p: &Packed<$lane>, row0: usize, rows: usize, t: usize, out: &mut [f32]) {
                if rows == ROW_GROUP {
                    rows_at_once::<ROW_GROUP>(p, row0, t, out);
                } else {
                    for r in 0..rows {
                        rows_at_once::<1>(p, row0 + r, t, &mut out[r * p.n..]);
                    }
                }

                #[target_feature(enable = $features)]
                unsafe fn rows_at_once<const MR: usize>(
                    this: &Packed<$lane>,
                    row0: usize,
                    t: usize,
                    out: &mut [f32],
                ) {
                    const G: usize = <$lane as Lane>::GROUP;
                    let (nblk, n) = (this.nblk, this.n);
                    assert!(
                        this.a_scales.len() >= (row0 + MR) * nblk
                            && out.len() >= (MR - 1) * n + TILE.min(n - t * TILE)
                    );
                    assert!(
                        this.a_values.len() >= (row0 + MR) * nblk * BLOCK
                            && this.a_bias.len() >= (row0 + MR) * nblk
                    );
                    assert!(this.b_values.len() >= (t + 1) * nblk * BLOCK * TILE);
                    let mut acc = [_mm512_setzero_ps(); MR];
                    for blk in 0..nblk {
                        let tile_block = t * nblk + blk;
                        let b_values = this.b_values.as_ptr().add(tile_block * BLOCK * TILE);
                        let kb = _mm512_loadu_ps(this.b_scales.as_ptr().add(tile_block * TILE));
                        let mut sums = [_mm512_setzero_si512(); MR];
                        for (r, sum) in sums.iter_mut().enumerate() {
                            *sum = _mm512_set1_epi32(*this.a_bias.get_unchecked((row0 + r) * nblk + blk));
                        }
                        for g in 0..BLOCK / G {
                            let $bv = _mm512_loadu_si512(b_values.add(g * G * TILE).cast());
                            for (r, sum) in sums.iter_mut().enumerate() {
                                let at = ((row0 + r) * nblk + blk) * BLOCK + g * G;
                                let $a_group = this.a_values.as_ptr().add(at).cast::<i32>();
                                let $sum = *sum;
                                *sum = $madd;
                            }
                        }
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let ka = _mm512_set1_ps(*this.a_scales.get_unchecked((row0 + r) * nblk + blk));
                            let v = _mm512_scalef_ps(_mm512_cvtepi32_ps(sums[r]), _mm512_add_ps(kb, ka));
                            *acc = _mm512_add_ps(*acc, v);
                        }
                    }
                    let mask = ((1u32 << TILE.min(n - t * TILE)) - 1) as __mmask16;
                    for (r, acc) in acc.iter().enumerate() {
                        _mm512_mask_storeu_ps(out.as_mut_ptr().add(r * n + t * TILE), mask, *acc);
                    }
                }
            }
        };
    }

    kernel!(pairs_vnni, "avx512f,avx512bw,avx512vnni", i16, |sum, bv, a_group| {
        // Inline assembly keeps `vpdpwssd`: LLVM otherwise splits it into a multiply-add and
        // an add for CPUs where that is faster, which doubles the work on these.
        let mut sum = sum;
        asm!(
            "vpdpwssd {sum}, {bv}, dword ptr [{a}]{{1to16}}",
            sum = inout(zmm_reg) sum,
            bv = in(zmm_reg) bv,
            a = in(reg) a_group,
            options(pure, readonly, nostack, preserves_flags),
        );
        sum
    });
    kernel!(quads_vnni, "avx512f,avx512bw,avx512vnni", u8, |sum, bv, a_group| {
        _mm512_dpbusd_epi32(sum, bv, _mm512_set1_epi32(a_group.read_unaligned()))
    });
    kernel!(pairs_bw, "avx512f,avx512bw", i16, |sum, bv, a_group| {
        _mm512_add_epi32(sum, _mm512_madd_epi16(bv, _mm512_set1_epi32(a_group.read_unaligned())))
    });
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! 16 output columns as two 256-bit halves, two rows at a time (AVX2 has 16 vector
    //! registers). Block sums come from `vpmaddwd` on 16-bit lanes. AVX2 has no `vscalefps`, so
    //! a block sum is scaled by multiplying with 2^k built from its exponent bits: one IEEE
    //! rounding, exact as SPEC section 3 asks, whenever 2^k is a normal f32 (-126 <= k <= 127,
    //! shared exponents near 127 as real data has). A block whose k leaves that range takes
    //! the scalar path for its 16 sums.
    use std::arch::x86_64::*;

    use super::{compute, scale_exact, Packed, BLOCK, ROW_GROUP, TILE};
    use crate::MxMatrix;

    const MR: usize = 2;

    pub(super) fn detected() -> bool {
        is_x86_feature_detected!("avx2")
    }

    /// Callers check `detected()` first.
    pub(super) fn gemm(a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
        // SAFETY: the caller checked that the CPU has AVX2.
        unsafe { gemm_avx2(a, b, threads, c) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn gemm_avx2(a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
        // SAFETY: gemm_avx2 runs only where the CPU has AVX2.
        compute::<i16>(a, b, threads, c, |p, row0, rows, t, out| unsafe { rows_avx2(p, row0, rows, t, out) })
    }

    #[target_feature(enable = "avx2")]
    unsafe fn rows_avx2(p: &Packed<i16>, row0: usize, rows: usize, t: usize, out: &mut [f32]) {
        debug_assert!(rows <= ROW_GROUP);
        let mut r = 0;
        while r < rows {
            let group = MR.min(rows - r);
            two_rows(p, row0 + r, group, t, &mut out[r * p.n..]);
            r += group;
        }
    }

    /// `group` (1 or 2) rows from `row0` of tile t.
    #[target_feature(enable = "avx2")]
    unsafe fn two_rows(p: &Packed<i16>, row0: usize, group: usize, t: usize, out: &mut [f32]) {
        let (nblk, n) = (p.nblk, p.n);
        assert!(
            p.a_values.len() >= (row0 + group) * nblk * BLOCK && p.a_scales.len() >= (row0 + group) * nblk
        );
        assert!(
            p.b_values.len() >= (t + 1) * nblk * BLOCK * TILE && p.b_scales.len() >= (t + 1) * nblk * TILE
        );
        let width = TILE.min(n - t * TILE);
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        for blk in 0..nblk {
            let tile_block = t * nblk + blk;
            let b_values = p.b_values.as_ptr().add(tile_block * BLOCK * TILE);
            let b_scales = p.b_scales.as_ptr().add(tile_block * TILE);
            let kb = [_mm256_loadu_ps(b_scales), _mm256_loadu_ps(b_scales.add(8))];
            let mut sums = [[_mm256_setzero_si256(); 2]; MR];
            for kp in 0..BLOCK / 2 {
                let lo = _mm256_loadu_si256(b_values.add(kp * 2 * TILE).cast());
                let hi = _mm256_loadu_si256(b_values.add(kp * 2 * TILE + TILE).cast());
                for (r, sum) in sums.iter_mut().enumerate().take(group) {
                    let pair = p.a_values.as_ptr().add(((row0 + r) * nblk + blk) * BLOCK + 2 * kp);
                    let a = _mm256_set1_epi32(pair.cast::<i32>().read_unaligned());
                    sum[0] = _mm256_add_epi32(sum[0], _mm256_madd_epi16(lo, a));
                    sum[1] = _mm256_add_epi32(sum[1], _mm256_madd_epi16(hi, a));
                }
            }
            for r in 0..group {
                let ka = _mm256_set1_ps(*p.a_scales.get_unchecked((row0 + r) * nblk + blk));
                for h in 0..2 {
                    let k = _mm256_cvttps_epi32(_mm256_add_ps(kb[h], ka));
                    let out_of_range = _mm256_or_si256(
                        _mm256_cmpgt_epi32(k, _mm256_set1_epi32(127)),
                        _mm256_cmpgt_epi32(_mm256_set1_epi32(-126), k),
                    );
                    let v = if _mm256_movemask_epi8(out_of_range) == 0 {
                        let pow2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
                            k,
                            _mm256_set1_epi32(127),
                        )));
                        _mm256_mul_ps(_mm256_cvtepi32_ps(sums[r][h]), pow2)
                    } else {
                        let (mut sum, mut exp, mut v) = ([0i32; 8], [0i32; 8], [0f32; 8]);
                        _mm256_storeu_si256(sum.as_mut_ptr().cast(), sums[r][h]);
                        _mm256_storeu_si256(exp.as_mut_ptr().cast(), k);
                        for lane in 0..8 {
                            v[lane] = scale_exact(sum[lane], exp[lane]);
                        }
                        _mm256_loadu_ps(v.as_ptr())
                    };
                    acc[r][h] = _mm256_add_ps(acc[r][h], v);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate().take(group) {
            let mut row = [0f32; TILE];
            _mm256_storeu_ps(row.as_mut_ptr(), acc[0]);
            _mm256_storeu_ps(row.as_mut_ptr().add(8), acc[1]);
            out[r * n + t * TILE..][..width].copy_from_slice(&row[..width]);
        }
    }
}
