//! The GEMM and the DPE dot product against a slow reference written here from SPEC section 3
//! with exact integers: bit for bit, on every kernel and thread count.

use mx::rng::Rng;
use mx::{
    dot, gemm, gemm_into, gemm_with, Axis, Block, Error, Format, GemmOptions, Kernel, MxMatrix, Rounding,
    BLOCK, CANONICAL_NAN,
};

/// `mag * 2^exp2` rounded to f32, nearest-even, by integer arithmetic alone.
fn round_to_f32(negative: bool, mag: u64, exp2: i32) -> f32 {
    let sign = u32::from(negative) << 31;
    if mag == 0 {
        return f32::from_bits(sign);
    }
    let msb = 63 - mag.leading_zeros() as i32;
    // Keep 24 significant bits, or fewer where the result is subnormal (quantum 2^-149).
    let lsb = (msb + exp2 - 23).max(-149);
    let drop = lsb - exp2;
    let mag = u128::from(mag);
    let kept = if drop <= 0 {
        mag << -drop
    } else if drop > 100 {
        0
    } else {
        let (kept, rest, half) = (mag >> drop, mag & ((1 << drop) - 1), 1u128 << (drop - 1));
        kept + u128::from(rest > half || (rest == half && kept & 1 == 1))
    };
    // The value is now kept * 2^lsb, kept < 2^25.
    if kept == 0 {
        return f32::from_bits(sign);
    }
    let top = 127 - kept.leading_zeros() as i32 + lsb;
    if top > 127 {
        return f32::from_bits(sign | 0x7F80_0000);
    }
    let bits = if top < -126 {
        kept as u32 // subnormal: lsb = -149
    } else {
        // A carry out of the rounding makes kept 2^24: shift it back into 24 bits.
        let msb = 127 - kept.leading_zeros();
        let norm = if msb > 23 { kept >> (msb - 23) } else { kept << (23 - msb) };
        (((top + 127) as u32) << 23) | (norm as u32 & 0x7F_FFFF)
    };
    f32::from_bits(sign | bits)
}

/// v[b] from the block fields, exactly as SPEC section 3 writes it.
fn reference_block(a: &Block, b: &Block, format: Format) -> f32 {
    if a.exp == 0xFF || b.exp == 0xFF {
        return f32::NAN;
    }
    let m = format.mag_bits() as i32;
    let mut p: i64 = 0;
    for k in 0..BLOCK {
        let (sa, sb) = (a.signs >> k & 1, b.signs >> k & 1);
        let (ua, ub) = (i64::from(a.micro >> (k / 2) & 1), i64::from(b.micro >> (k / 2) & 1));
        let term = (i64::from(a.mags[k]) * i64::from(b.mags[k])) << (2 - ua - ub);
        p += if sa ^ sb == 1 { -term } else { term };
    }
    let exp2 = i32::from(a.exp) + i32::from(b.exp) - 254 - 2 * (m - 1) - 2;
    round_to_f32(p < 0, p.unsigned_abs(), exp2)
}

fn reference_gemm(a: &MxMatrix, b: &MxMatrix) -> Vec<f32> {
    let mut c = Vec::new();
    for i in 0..a.rows() {
        for j in 0..b.cols() {
            let mut acc = 0.0f32;
            for (x, y) in a.line(i).iter().zip(b.line(j)) {
                acc += reference_block(x, y, a.format());
            }
            c.push(if acc.is_nan() { CANONICAL_NAN } else { acc });
        }
    }
    c
}

/// Values whose rows (or columns, for B) each sit at their own scale anywhere in f32's range,
/// so products underflow to subnormals and zero and overflow to infinity; with zeros, and
/// optionally NaN and infinities sprinkled in.
fn random_matrix(rng: &mut Rng, rows: usize, cols: usize, by_col: bool, non_finite: bool) -> Vec<f32> {
    let lines = if by_col { cols } else { rows };
    let scales: Vec<i32> = (0..lines)
        .map(|_| match rng.below(4) {
            0 => rng.below(120) as i32 - 145, // tiny
            1 => rng.below(60) as i32 + 66,   // huge
            _ => rng.below(16) as i32 - 8,
        })
        .collect();
    let mut x = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let e = scales[if by_col { c } else { r }] - rng.below(12) as i32;
            let v = match rng.below(40) {
                0 | 1 => 0.0,
                2 if non_finite => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][rng.below(3) as usize],
                _ => (rng.normal() * 2f64.powi(e)) as f32,
            };
            x.push(v);
        }
    }
    x
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn operands(
    rng: &mut Rng,
    m: usize,
    k: usize,
    n: usize,
    format: Format,
    non_finite: bool,
) -> (MxMatrix, MxMatrix) {
    operands_rounded(rng, (m, k, n), format, Rounding::NearestEven, non_finite)
}

fn operands_rounded(
    rng: &mut Rng,
    (m, k, n): (usize, usize, usize),
    format: Format,
    rounding: Rounding,
    non_finite: bool,
) -> (MxMatrix, MxMatrix) {
    let a = random_matrix(rng, m, k, false, non_finite);
    let b = random_matrix(rng, k, n, true, non_finite);
    (
        MxMatrix::quantize(&a, m, k, Axis::Row, format, rounding).unwrap(),
        MxMatrix::quantize(&b, k, n, Axis::Col, format, rounding).unwrap(),
    )
}

/// `Auto` and every kernel this CPU runs.
fn kernels() -> Vec<Kernel> {
    std::iter::once(Kernel::Auto).chain(Kernel::available()).collect()
}

/// Which of subnormal, zero, infinite and NaN results a GEMM's output holds.
fn specials(c: &[f32]) -> [bool; 4] {
    let any = |f: fn(&f32) -> bool| c.iter().any(f);
    [any(|x| x.is_subnormal()), any(|x| *x == 0.0), any(|x| x.is_infinite()), any(|x| x.is_nan())]
}

#[test]
fn reference_rounding_agrees_with_ieee_where_f64_is_exact() {
    // Sanity of the reference itself: f64 -> f32 casts round nearest-even too.
    let mut rng = Rng::new(5);
    for _ in 0..100_000 {
        let mag = rng.next_u64() >> rng.below(64);
        let exp2 = rng.below(400) as i32 - 250;
        let exact = (mag >> 11 << 11) as f64 * 2f64.powi(exp2); // 53 bits: exact in f64
        assert_eq!(
            round_to_f32(false, mag >> 11 << 11, exp2).to_bits(),
            (exact as f32).to_bits(),
            "{mag} {exp2}"
        );
    }
}

#[test]
fn every_k_up_to_70_is_bit_exact_on_every_kernel() {
    let mut rng = Rng::new(1);
    let roundings = [Rounding::NearestEven, Rounding::Truncate, Rounding::Stochastic { seed: 9 }];
    for format in Format::ALL {
        for rounding in roundings {
            let mut seen = [false; 4];
            for k in 1..=70 {
                let (m, n) = (1 + rng.below(20) as usize, 1 + rng.below(40) as usize);
                let (a, b) = operands_rounded(&mut rng, (m, k, n), format, rounding, k % 3 == 0);
                let want = reference_gemm(&a, &b);
                for (seen, special) in seen.iter_mut().zip(specials(&want)) {
                    *seen |= special;
                }
                for kernel in kernels() {
                    let got = gemm_with(&a, &b, GemmOptions { threads: 1, kernel }).unwrap();
                    assert_eq!(bits(&got), bits(&want), "{format} {rounding:?} {m} x {k} x {n} {kernel}");
                }
            }
            assert_eq!(seen, [true; 4], "{format} {rounding:?}: subnormal, zero, infinite and NaN results");
        }
    }
}

#[test]
fn one_by_one_by_one() {
    for format in Format::ALL {
        for (x, y) in [(3.0f32, -2.5f32), (0.0, 1.0), (f32::MAX, 4.0), (1e-30, 1e-30), (f32::NAN, 1.0)] {
            let a = MxMatrix::quantize(&[x], 1, 1, Axis::Row, format, Rounding::NearestEven).unwrap();
            let b = MxMatrix::quantize(&[y], 1, 1, Axis::Col, format, Rounding::NearestEven).unwrap();
            let c = gemm(&a, &b).unwrap();
            assert_eq!(bits(&c), bits(&reference_gemm(&a, &b)), "{format} {x} * {y}");
        }
    }
}

/// Random `m x k x n` products in every format, bit-exact against the reference on every
/// kernel and each of `threads`.
fn matches_on_every_kernel(seed: u64, (m, k, n): (usize, usize, usize), threads: &[usize]) {
    let mut rng = Rng::new(seed);
    for format in Format::ALL {
        let (a, b) = operands(&mut rng, m, k, n, format, false);
        let want = bits(&reference_gemm(&a, &b));
        for &threads in threads {
            for kernel in kernels() {
                let got = gemm_with(&a, &b, GemmOptions { threads, kernel }).unwrap();
                assert_eq!(bits(&got), want, "{format} {m} x {k} x {n} threads {threads} {kernel:?}");
            }
        }
    }
}

#[test]
fn large_products_match_on_every_thread_count() {
    // Row groups plus leftover rows, ragged column tiles, more than one thread.
    matches_on_every_kernel(2, (45, 100, 83), &[0, 1, 2, 3]);
}

#[test]
fn long_rows_take_several_passes_over_the_tiles() {
    // At K = 16384 one pass over B's tiles takes one row group (24 rows) in every format, so
    // 53 rows are three passes, the last a partial group; on two threads each thread's share
    // starts its own passes.
    matches_on_every_kernel(3, (53, 16384, 20), &[1, 2]);
}

#[test]
fn extremes_underflow_overflow_and_cancel() {
    // Results that are subnormal, zero, +-Inf and NaN from Inf - Inf all occur.
    let mut rng = Rng::new(3);
    let mut seen = [false; 4];
    for format in Format::ALL {
        for _ in 0..20 {
            let (a, b) = operands(&mut rng, 16, 48, 16, format, false);
            let want = reference_gemm(&a, &b);
            for (seen, special) in seen.iter_mut().zip(specials(&want)) {
                *seen |= special;
            }
            for kernel in kernels() {
                let got = gemm_with(&a, &b, GemmOptions { threads: 1, kernel }).unwrap();
                assert_eq!(bits(&got), bits(&want), "{format} {kernel:?}");
            }
        }
    }
    assert_eq!(seen, [true; 4], "subnormal, zero, infinite, NaN results all exercised");
}

#[test]
fn nan_blocks_poison_their_row_and_column() {
    let mut a = vec![1.0f32; 3 * 32];
    let mut b = vec![1.0f32; 32 * 4];
    a[32 + 20] = f32::INFINITY; // row 1, block 1
    b[5 * 4 + 2] = f32::NAN; // column 2, block 0
    for format in Format::ALL {
        let qa = MxMatrix::quantize(&a, 3, 32, Axis::Row, format, Rounding::NearestEven).unwrap();
        let qb = MxMatrix::quantize(&b, 32, 4, Axis::Col, format, Rounding::NearestEven).unwrap();
        for kernel in kernels() {
            let c = gemm_with(&qa, &qb, GemmOptions { threads: 1, kernel }).unwrap();
            for i in 0..3 {
                for j in 0..4 {
                    let want = if i == 1 || j == 2 { CANONICAL_NAN.to_bits() } else { 32f32.to_bits() };
                    assert_eq!(c[i * 4 + j].to_bits(), want, "{format} ({i}, {j})");
                }
            }
        }
    }
}

#[test]
fn dot_is_the_gemm_of_one_output() {
    let mut rng = Rng::new(4);
    for format in Format::ALL {
        let (a, b) = operands(&mut rng, 4, 65, 4, format, true);
        let c = gemm(&a, &b).unwrap();
        for i in 0..4 {
            for j in 0..4 {
                assert_eq!(dot(a.line(i), b.line(j), format, 0.0).to_bits(), c[i * 4 + j].to_bits());
            }
        }
        // Accumulating into an existing output continues the same chain of additions.
        let (head, tail) = a.line(0).split_at(2);
        let (bhead, btail) = b.line(0).split_at(2);
        let partial = dot(head, bhead, format, 0.0);
        assert_eq!(dot(tail, btail, format, partial).to_bits(), c[0].to_bits());
    }
}

#[test]
fn mismatched_operands_are_errors() {
    let q = |rows, cols, axis, format| {
        MxMatrix::quantize(&vec![1.0; rows * cols], rows, cols, axis, format, Rounding::NearestEven).unwrap()
    };
    let a = q(2, 16, Axis::Row, Format::Mx9);
    let shapes = gemm(&a, &q(17, 3, Axis::Col, Format::Mx9)).unwrap_err();
    assert_eq!(shapes, Error::ShapeMismatch { a: (2, 16), b: (17, 3) });
    assert_eq!(
        shapes.to_string(),
        "GEMM shapes do not chain: A is 2 x 16 but B is 17 x 3; A's columns must equal B's rows"
    );
    let formats = gemm(&a, &q(16, 3, Axis::Col, Format::Mx6)).unwrap_err();
    assert_eq!(formats, Error::FormatMismatch { a: Format::Mx9, b: Format::Mx6 });
    assert!(formats.to_string().contains("different formats: A is mx9, B is mx6"), "{formats}");
    assert_eq!(gemm(&a, &q(16, 3, Axis::Row, Format::Mx9)).unwrap_err(), Error::AxisOfB);
    assert_eq!(
        gemm(&q(2, 16, Axis::Col, Format::Mx9), &q(16, 3, Axis::Col, Format::Mx9)).unwrap_err(),
        Error::AxisOfA
    );
    let mut small = [0.0; 5];
    let options = GemmOptions::default();
    assert_eq!(
        gemm_into(&a, &q(16, 3, Axis::Col, Format::Mx9), options, &mut small).unwrap_err(),
        Error::OutputSize { len: 5, rows: 2, cols: 3 }
    );
    assert_eq!(
        MxMatrix::quantize(&[1.0; 5], 2, 3, Axis::Row, Format::Mx4, Rounding::NearestEven).unwrap_err(),
        Error::ValueCount { rows: 2, cols: 3, got: 5 }
    );
    assert_eq!("mx5".parse::<Format>().unwrap_err(), Error::UnknownFormat("mx5".into()));
    // Empty shapes are legal and give an empty or all-zero result.
    assert!(gemm(&q(0, 16, Axis::Row, Format::Mx9), &q(16, 3, Axis::Col, Format::Mx9)).unwrap().is_empty());
    let zero_k = gemm(&q(2, 0, Axis::Row, Format::Mx9), &q(0, 3, Axis::Col, Format::Mx9)).unwrap();
    assert_eq!(bits(&zero_k), vec![0; 6]);
}

#[test]
fn gemm_into_overwrites_a_reused_buffer() {
    let mut rng = Rng::new(6);
    let mut out = vec![f32::NAN; 9 * 21];
    // Shapes and formats change between calls, so the packing buffers are reused resized.
    for (format, k) in [(Format::Mx6, 100), (Format::Mx9, 7), (Format::Mx4, 33)] {
        let (a, b) = operands(&mut rng, 9, k, 21, format, false);
        gemm_into(&a, &b, GemmOptions::default(), &mut out).unwrap();
        assert_eq!(bits(&out), bits(&reference_gemm(&a, &b)), "{format}");
    }
    let (a, b) = operands(&mut rng, 9, 16, 21, Format::Mx9, false);
    let err = gemm_into(&a, &b, GemmOptions::default(), &mut out[1..]).unwrap_err();
    assert!(err.to_string().contains("needs 189"), "{err}");
}

#[test]
fn blocks_past_the_fused_range_are_exact() {
    // A at 2^-120 and half of B at 2^-20: k = ka + kb is near -154, below the range where a
    // multiply by 2^ka * 2^kb is exact, yet the results are non-zero subnormals. The other
    // half of B's columns sit at 2^0 in the same column tiles.
    let mut rng = Rng::new(8);
    let (m, k, n) = (9, 40, 24);
    let a: Vec<f32> = (0..m * k).map(|_| (rng.normal() * 2f64.powi(-120)) as f32).collect();
    let b: Vec<f32> =
        (0..k * n).map(|i| (rng.normal() * 2f64.powi(if i % n < 12 { -20 } else { 0 })) as f32).collect();
    for format in Format::ALL {
        let qa = MxMatrix::quantize(&a, m, k, Axis::Row, format, Rounding::NearestEven).unwrap();
        let qb = MxMatrix::quantize(&b, k, n, Axis::Col, format, Rounding::NearestEven).unwrap();
        let want = reference_gemm(&qa, &qb);
        assert!(want.iter().any(|x| x.is_subnormal()), "{format}: the test reaches subnormal results");
        for kernel in kernels() {
            let got = gemm_with(&qa, &qb, GemmOptions { threads: 1, kernel }).unwrap();
            assert_eq!(bits(&got), bits(&want), "{format} {kernel}");
        }
    }
}
