//! Encoding, decoding and the packed layout of MX blocks against SPEC section 2.

use mx::{Axis, Block, Format, MxMatrix, Rounding, BLOCK, CANONICAL_NAN};
use proptest::prelude::*;

/// A finite f32 from its parts: |x| = mant * 2^(exp - 23) for normal exponents, subnormal
/// below -126.
fn f32_from(negative: bool, exp: i32, mant: u32) -> f32 {
    let bits = if exp < -126 {
        // Subnormal: keep the top bits of the mantissa that still fit.
        let shift = (-126 - exp).min(31) as u32;
        ((0x80_0000 | mant) >> shift) & 0x7F_FFFF
    } else {
        (((exp + 127) as u32) << 23) | (mant & 0x7F_FFFF)
    };
    f32::from_bits(bits | (u32::from(negative) << 31))
}

/// Blocks whose elements spread over up to 40 binades around a base anywhere in f32's range,
/// with zeros and signed zeros mixed in.
fn spread_block() -> impl Strategy<Value = [f32; BLOCK]> {
    (-155i32..=127, 0i32..40).prop_flat_map(|(base, spread)| {
        prop::array::uniform16((any::<bool>(), 0..=spread, any::<u32>(), 0u8..10)).prop_map(move |elems| {
            elems.map(|(neg, down, mant, kind)| match kind {
                0 => 0.0,
                1 => -0.0,
                _ => f32_from(neg, (base - down).clamp(-149, 127), mant),
            })
        })
    })
}

fn step_log2(block: &Block, i: usize, format: Format) -> i32 {
    i32::from(block.exp) - 127 - i32::from(block.micro >> (i / 2) & 1) - (format.mag_bits() as i32 - 1)
}

fn step(block: &Block, i: usize, format: Format) -> f64 {
    2f64.powi(step_log2(block, i, format))
}

/// True where the code saturated: the largest magnitude, below |x|.
fn clipped(block: &Block, i: usize, format: Format, x: f32) -> bool {
    block.mags[i] == format.max_mag()
        && f64::from(x.abs()) > f64::from(format.max_mag()) * step(block, i, format)
}

fn any_format() -> impl Strategy<Value = Format> {
    prop::sample::select(Format::ALL.to_vec())
}

proptest! {
    // Cheap cases: many of them cover more exponent spreads and saturation corners.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn nearest_is_within_half_a_step(x in spread_block(), format in any_format()) {
        let block = Block::encode(&x, format, Rounding::NearestEven, 0);
        let y = block.decode(format);
        for i in 0..BLOCK {
            prop_assert_eq!(y[i].is_sign_negative(), x[i].is_sign_negative(), "sign of element {}", i);
            let err = (f64::from(y[i]) - f64::from(x[i])).abs();
            if clipped(&block, i, format, x[i]) {
                prop_assert!(f64::from(y[i].abs()) == f64::from(format.max_mag()) * step(&block, i, format));
            } else {
                prop_assert!(err <= step(&block, i, format) / 2.0, "element {}: {} -> {} (err {})", i, x[i], y[i], err);
            }
        }
    }

    #[test]
    fn truncate_is_within_one_step_toward_zero(x in spread_block(), format in any_format()) {
        let block = Block::encode(&x, format, Rounding::Truncate, 0);
        let y = block.decode(format);
        for i in 0..BLOCK {
            prop_assert!(y[i].abs() <= x[i].abs());
            if !clipped(&block, i, format, x[i]) {
                prop_assert!(f64::from(x[i].abs()) - f64::from(y[i].abs()) < step(&block, i, format));
            }
        }
    }

    #[test]
    fn stochastic_is_within_one_step_and_brackets_x(x in spread_block(), format in any_format(), seed: u64) {
        let block = Block::encode(&x, format, Rounding::Stochastic { seed }, 3);
        prop_assert_eq!(block, Block::encode(&x, format, Rounding::Stochastic { seed }, 3));
        let y = block.decode(format);
        for i in 0..BLOCK {
            if !clipped(&block, i, format, x[i]) {
                prop_assert!((f64::from(y[i]) - f64::from(x[i])).abs() < step(&block, i, format));
            }
        }
    }

    #[test]
    fn nearest_never_does_worse_than_truncate(x in spread_block(), format in any_format()) {
        let nearest = Block::encode(&x, format, Rounding::NearestEven, 0).decode(format);
        let truncated = Block::encode(&x, format, Rounding::Truncate, 0).decode(format);
        for i in 0..BLOCK {
            let err = |y: f32| (f64::from(y) - f64::from(x[i])).abs();
            prop_assert!(err(nearest[i]) <= err(truncated[i]));
        }
    }

    #[test]
    fn packed_layout_round_trips(x in spread_block(), format in any_format(), bytes in prop::collection::vec(any::<u8>(), 18)) {
        let block = Block::encode(&x, format, Rounding::NearestEven, 0);
        let mut packed = vec![0; format.block_bytes()];
        block.pack(format, &mut packed);
        prop_assert_eq!(Block::unpack(format, &packed), block);
        // Every bit string is a block, so unpack then pack is the identity too.
        let raw = &bytes[..format.block_bytes()];
        let mut again = vec![0; format.block_bytes()];
        Block::unpack(format, raw).pack(format, &mut again);
        prop_assert_eq!(&again[..], raw);
    }

    #[test]
    fn encode_is_idempotent(x in spread_block(), format in any_format(), truncate: bool) {
        let rounding = if truncate { Rounding::Truncate } else { Rounding::NearestEven };
        let block = Block::encode(&x, format, rounding, 0);
        let y = block.decode(format);
        let again = Block::encode(&y, format, rounding, 0);
        if y.iter().any(|v| *v != 0.0) {
            prop_assert_eq!(again, block);
        } else {
            // Everything rounded to zero: the re-encoded block is the canonical zero block.
            prop_assert_eq!(again.decode(format).map(f32::to_bits), y.map(f32::to_bits));
        }
    }
}

#[test]
fn layout_matches_the_spec_bit_for_bit() {
    // E = 0x85, u = 0b1010_0101, element 0: q = 3 negative, element 15: q = 1 positive.
    let mut block = Block { exp: 0x85, micro: 0b1010_0101, signs: 1, mags: [0; BLOCK] };
    block.mags[0] = 3;
    block.mags[15] = 1;
    for format in Format::ALL {
        let mut packed = vec![0; format.block_bytes()];
        block.pack(format, &mut packed);
        let m = format.mag_bits() as usize;
        let bit = |n: usize| packed[n / 8] >> (n % 8) & 1;
        assert_eq!(packed[0], 0x85);
        assert_eq!(packed[1], 0b1010_0101);
        assert_eq!((bit(16), bit(17), bit(16 + m)), (1, 1, 1), "{format}: element 0");
        let last = 16 + 15 * (m + 1);
        assert_eq!((bit(last), bit(last + m)), (1, 0), "{format}: element 15");
        assert_eq!(packed.iter().map(|b| b.count_ones()).sum::<u32>(), 3 + 4 + 3 + 1);
    }
    assert_eq!([Format::Mx9, Format::Mx6, Format::Mx4].map(Format::block_bits), [144, 96, 64]);
    assert_eq!([Format::Mx9, Format::Mx6, Format::Mx4].map(Format::bits_per_element), [9, 6, 4]);
}

#[test]
fn all_zero_blocks_keep_their_signs() {
    let mut x = [0.0f32; BLOCK];
    x[3] = -0.0;
    for format in Format::ALL {
        let block = Block::encode(&x, format, Rounding::NearestEven, 0);
        assert_eq!(block, Block { signs: 1 << 3, ..Block::default() });
        assert_eq!(block.decode(format).map(f32::to_bits), x.map(f32::to_bits));
    }
}

#[test]
fn one_nonzero_element() {
    let mut x = [0.0f32; BLOCK];
    x[5] = -3.0;
    for format in Format::ALL {
        let block = Block::encode(&x, format, Rounding::NearestEven, 0);
        assert_eq!(block.exp, 128, "floor(log2 3) = 1");
        assert_eq!(block.micro, !(1 << 2), "only pair 2 holds the largest exponent");
        assert_eq!(block.mags[5], 3 << (format.mag_bits() - 2));
        assert_eq!(block.decode(format)[5], -3.0);
    }
}

#[test]
fn subnormals_encode_exactly_where_they_fit() {
    // 2^-149 (the smallest subnormal) next to 2^-127 (the largest binade of subnormals).
    let mut x = [0.0f32; BLOCK];
    x[0] = f32::from_bits(0x40_0000); // 2^-127
    x[1] = f32::from_bits(0x20_0000); // 2^-128
    x[2] = f32::from_bits(1); // 2^-149
    for format in Format::ALL {
        let block = Block::encode(&x, format, Rounding::NearestEven, 0);
        assert_eq!(block.exp, 0, "emax = -127");
        assert_eq!(block.micro & 0b11, 0b10, "pair 0 holds emax, pair 1 does not");
        let y = block.decode(format);
        assert_eq!((y[0], y[1]), (x[0], x[1]), "{format}");
        assert_eq!(y[2], 0.0, "{format}: 2^-149 is far below the step");
    }
    // Only tiny subnormals: emax clamps to -127 and every pair is below it.
    let tiny = [f32::from_bits(3); BLOCK];
    let block = Block::encode(&tiny, Format::Mx9, Rounding::NearestEven, 0);
    assert_eq!((block.exp, block.micro, block.mags), (0, 0xFF, [0; BLOCK]));
}

#[test]
fn largest_normals_saturate() {
    for format in Format::ALL {
        let mut x = [1.0f32; BLOCK];
        x[0] = f32::MAX;
        x[1] = -f32::MAX;
        let block = Block::encode(&x, format, Rounding::NearestEven, 0);
        assert_eq!(block.exp, 254);
        assert_eq!((block.mags[0], block.mags[1]), (format.max_mag(), format.max_mag()));
        let top = f32::from(format.max_mag()) * 2f32.powi(127 - (format.mag_bits() as i32 - 1));
        assert_eq!(&block.decode(format)[..2], &[top, -top]);
        // Truncation never rounds up, so it lands on the same code.
        assert_eq!(Block::encode(&x, format, Rounding::Truncate, 0).mags[0], format.max_mag());
    }
}

#[test]
fn rounding_past_the_largest_code_saturates() {
    // 1.999 * 2^k rounds to 2^m at nearest-even: saturate to 2^m - 1.
    for format in Format::ALL {
        let mut x = [0.0f32; BLOCK];
        x[0] = 1.999;
        let block = Block::encode(&x, format, Rounding::NearestEven, 0);
        assert_eq!(block.mags[0], format.max_mag());
    }
}

#[test]
fn non_finite_values_make_a_nan_block() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::from_bits(0xFFC0_0001)] {
        let mut x = [1.5f32; BLOCK];
        x[7] = bad;
        for format in Format::ALL {
            let block = Block::encode(&x, format, Rounding::NearestEven, 0);
            assert_eq!(block, Block::NAN);
            assert!(block.decode(format).iter().all(|v| v.to_bits() == CANONICAL_NAN.to_bits()));
            let mut packed = vec![0; format.block_bytes()];
            block.pack(format, &mut packed);
            assert_eq!(packed[0], 0xFF);
            assert!(packed[1..].iter().all(|b| *b == 0));
        }
    }
}

#[test]
fn negative_values_that_round_to_zero_keep_their_sign() {
    let mut x = [0.0f32; BLOCK];
    x[0] = 1.0;
    x[2] = -1e-6;
    x[3] = 1e-6;
    for format in Format::ALL {
        let y = Block::encode(&x, format, Rounding::NearestEven, 0).decode(format);
        assert_eq!((y[2].to_bits(), y[3].to_bits()), ((-0.0f32).to_bits(), 0), "{format}");
    }
}

#[test]
fn ties_round_to_even() {
    // MX4 with emax = 0 and u = 0: step 2^-1. 0.25 is half a step: ties to 0; 0.75 to 1.0.
    let mut x = [0.0f32; BLOCK];
    x[0] = 1.0;
    x[1] = 0.25;
    let mut y = x;
    y[1] = 0.75;
    let enc = |v: &[f32; BLOCK]| Block::encode(v, Format::Mx4, Rounding::NearestEven, 0).decode(Format::Mx4);
    assert_eq!(enc(&x)[1], 0.0);
    assert_eq!(enc(&y)[1], 1.0);
}

#[test]
fn stochastic_rounding_is_unbiased_and_seeded() {
    // 0.3 steps above a code: about 30% of draws round up, and the mean stays at x.
    let x: Vec<f32> = (0..16 * 4000).map(|i| if i % 16 == 0 { 1.0 } else { 0.5 + 0.3 * 0.5 }).collect();
    let q = |seed| {
        MxMatrix::quantize(&x, 4000, 16, Axis::Row, Format::Mx4, Rounding::Stochastic { seed }).unwrap()
    };
    let y = q(11).dequantize();
    let mean: f64 =
        (0..y.len()).filter(|i| i % 16 != 0).map(|i| f64::from(y[i])).sum::<f64>() / (15.0 * 4000.0);
    assert!((mean - 0.65).abs() < 0.005, "mean {mean}");
    assert_eq!(q(11), q(11));
    assert_ne!(q(11), q(12));
}

#[test]
fn ragged_lines_are_zero_padded() {
    for k in [1usize, 15, 16, 17, 33] {
        let x: Vec<f32> = (0..3 * k).map(|i| i as f32 - 7.0).collect();
        for axis in [Axis::Row, Axis::Col] {
            let (rows, cols) = if axis == Axis::Row { (3, k) } else { (k, 3) };
            let q = MxMatrix::quantize(&x, rows, cols, axis, Format::Mx9, Rounding::NearestEven).unwrap();
            assert_eq!(q.blocks_per_line(), k.div_ceil(16));
            assert_eq!(q.to_packed().len(), 3 * k.div_ceil(16) * 18);
            let back = MxMatrix::from_packed(&q.to_packed(), rows, cols, axis, Format::Mx9).unwrap();
            assert_eq!(back, q);
            // The padding holds zeros: the tail of each line's last block decodes to +0.
            for line in 0..3 {
                let last = q.line(line).last().unwrap().decode(Format::Mx9);
                assert!(last[(k - 1) % 16 + 1..].iter().all(|v| v.to_bits() == 0), "k = {k}");
            }
            // Small integers are exact in MX9 when the block's range is small enough.
            if k <= 16 {
                assert_eq!(q.dequantize().len(), x.len());
            }
        }
    }
}

#[test]
fn axes_quantize_the_same_lines() {
    // A matrix blocked down its columns equals its transpose blocked along rows.
    let (rows, cols) = (37, 5);
    let x: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919) % 1000) as f32 / 37.0 - 13.0).collect();
    let t: Vec<f32> = (0..rows * cols).map(|i| x[(i % rows) * cols + i / rows]).collect();
    let by_col = MxMatrix::quantize(&x, rows, cols, Axis::Col, Format::Mx6, Rounding::NearestEven).unwrap();
    let by_row = MxMatrix::quantize(&t, cols, rows, Axis::Row, Format::Mx6, Rounding::NearestEven).unwrap();
    assert_eq!(by_col.to_packed(), by_row.to_packed());
    let (dc, dr) = (by_col.dequantize(), by_row.dequantize());
    assert!((0..rows * cols).all(|i| dc[i] == dr[(i % cols) * rows + i / cols]));
}

#[test]
fn bad_shapes_are_errors() {
    let err = MxMatrix::quantize(&[1.0; 5], 2, 3, Axis::Row, Format::Mx9, Rounding::NearestEven).unwrap_err();
    assert!(err.to_string().contains("needs 6 values"));
    let err = MxMatrix::from_packed(&[0; 17], 1, 16, Axis::Row, Format::Mx9).unwrap_err();
    assert!(err.to_string().contains("18 bytes"));
    assert!("mx5".parse::<Format>().unwrap_err().to_string().contains("mx9, mx6 or mx4"));
    assert_eq!("MX6".parse::<Format>().unwrap(), Format::Mx6);
}
