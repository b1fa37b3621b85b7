//! The C ABI against the Rust golden model, call by call through the `extern "C"` functions:
//! 10^5 random blocks per format and rounding, GEMMs, and every documented error code.

use dacapo_mx::*;
use mx::rng::Rng;
use mx::{block_product, f32_add, gemm, Axis, Block, Format, MxMatrix, Rounding, BLOCK};

const FORMATS: [(i32, Format); 3] = [
    (DACAPO_MX_FORMAT_MX9, Format::Mx9),
    (DACAPO_MX_FORMAT_MX6, Format::Mx6),
    (DACAPO_MX_FORMAT_MX4, Format::Mx4),
];

fn roundings(seed: u64) -> [(i32, Rounding); 3] {
    [
        (DACAPO_MX_ROUND_NEAREST_EVEN, Rounding::NearestEven),
        (DACAPO_MX_ROUND_TRUNCATE, Rounding::Truncate),
        (DACAPO_MX_ROUND_STOCHASTIC, Rounding::Stochastic { seed }),
    ]
}

/// 16 values at one random scale, with zeros, subnormal and huge blocks, and now and then a
/// NaN or infinity.
fn random_values(rng: &mut Rng) -> [f32; BLOCK] {
    let scale = match rng.below(8) {
        0 => rng.below(30) as i32 - 150,
        1 => rng.below(30) as i32 + 100,
        _ => rng.below(20) as i32 - 10,
    };
    std::array::from_fn(|_| match rng.below(50) {
        0 => 0.0,
        1 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][rng.below(3) as usize],
        _ => (rng.normal() * 2f64.powi(scale - rng.below(6) as i32)) as f32,
    })
}

fn words(bytes: &[u8]) -> [u32; DACAPO_MX_DPI_BLOCK_WORDS] {
    let mut padded = [0u8; 4 * DACAPO_MX_DPI_BLOCK_WORDS];
    padded[..bytes.len()].copy_from_slice(bytes);
    std::array::from_fn(|w| u32::from_le_bytes(padded[4 * w..4 * w + 4].try_into().unwrap()))
}

#[test]
fn blocks_match_the_golden_model() {
    let mut rng = Rng::new(19);
    for (code, format) in FORMATS {
        let len = format.block_bytes();
        assert_eq!(dacapo_mx_block_bytes(code), len);
        for (rounding_code, rounding) in roundings(77) {
            let mut acc = 0.0f32;
            let mut previous = [0u8; DACAPO_MX_MAX_BLOCK_BYTES];
            for id in 0..100_000u64 {
                let values = random_values(&mut rng);
                let mut want = [0u8; DACAPO_MX_MAX_BLOCK_BYTES];
                let block = Block::encode(&values, format, rounding, id);
                block.pack(format, &mut want[..len]);

                let mut got = [0u8; DACAPO_MX_MAX_BLOCK_BYTES];
                let status = unsafe {
                    dacapo_mx_quantize_block(
                        values.as_ptr(),
                        code,
                        rounding_code,
                        77,
                        id,
                        got.as_mut_ptr(),
                        len,
                    )
                };
                assert_eq!((status, &got[..len]), (DACAPO_MX_OK, &want[..len]), "{format} {rounding:?} {id}");

                let dpi_values = values.map(f32::to_bits);
                let mut dpi_packed = [0u32; DACAPO_MX_DPI_BLOCK_WORDS];
                let status = unsafe {
                    dacapo_mx_dpi_quantize_block(
                        dpi_values.as_ptr(),
                        code,
                        rounding_code,
                        77,
                        id,
                        dpi_packed.as_mut_ptr(),
                    )
                };
                assert_eq!((status, dpi_packed), (DACAPO_MX_OK, words(&want[..len])));

                let mut decoded = [0f32; BLOCK];
                let status =
                    unsafe { dacapo_mx_dequantize_block(got.as_ptr(), len, code, decoded.as_mut_ptr()) };
                assert_eq!(status, DACAPO_MX_OK);
                assert_eq!(decoded.map(f32::to_bits), block.decode(format).map(f32::to_bits));

                // One DPE step with the previous block as A: the accumulator chain of a dot.
                let a = Block::unpack(format, &previous[..len]);
                let expected = f32_add(acc, block_product(&a, &block, format));
                let mut stepped = 0f32;
                let status = unsafe {
                    dacapo_mx_dpe_step(acc, previous.as_ptr(), got.as_ptr(), len, code, &mut stepped)
                };
                assert_eq!((status, stepped.to_bits()), (DACAPO_MX_OK, expected.to_bits()));
                let mut dpi_stepped = 0u32;
                let previous_words = words(&previous[..len]);
                let status = unsafe {
                    dacapo_mx_dpi_dpe_step(
                        acc.to_bits(),
                        previous_words.as_ptr(),
                        dpi_packed.as_ptr(),
                        code,
                        &mut dpi_stepped,
                    )
                };
                assert_eq!((status, dpi_stepped), (DACAPO_MX_OK, expected.to_bits()));
                acc = if id % 64 == 0 { 0.0 } else { expected };
                previous = got;
            }
        }
    }
}

#[test]
fn f32_add_is_the_dpes() {
    let mut rng = Rng::new(20);
    for _ in 0..100_000 {
        let (a, b) = (f32::from_bits(rng.next_u64() as u32), f32::from_bits(rng.next_u64() as u32));
        assert_eq!(dacapo_mx_f32_add(a, b).to_bits(), f32_add(a, b).to_bits());
        assert_eq!(dacapo_mx_dpi_f32_add(a.to_bits(), b.to_bits()), f32_add(a, b).to_bits());
    }
}

#[test]
fn gemm_matches_the_golden_model() {
    let mut rng = Rng::new(21);
    for (code, format) in FORMATS {
        for (rounding_code, rounding) in roundings(5) {
            let (m, k, n) =
                (1 + rng.below(20) as usize, 1 + rng.below(70) as usize, 1 + rng.below(20) as usize);
            let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.normal() as f32).collect();
            let rounding_b = match rounding {
                Rounding::Stochastic { seed } => Rounding::Stochastic { seed: seed + 1 },
                r => r,
            };
            let qa = MxMatrix::quantize(&a, m, k, Axis::Row, format, rounding).unwrap();
            let qb = MxMatrix::quantize(&b, k, n, Axis::Col, format, rounding_b).unwrap();
            let want = gemm(&qa, &qb).unwrap();
            let mut c = vec![f32::NAN; m * n];
            let status = unsafe {
                dacapo_mx_gemm(a.as_ptr(), b.as_ptr(), m, k, n, code, rounding_code, 5, c.as_mut_ptr())
            };
            assert_eq!(status, DACAPO_MX_OK);
            assert_eq!(
                c.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn bad_arguments_return_the_documented_codes() {
    let values = [1.0f32; BLOCK];
    let mut packed = [0u8; DACAPO_MX_MAX_BLOCK_BYTES];
    let mut out = [0f32; BLOCK];
    let null_f32 = std::ptr::null::<f32>();
    unsafe {
        let quantize = |values: *const f32, format, rounding, packed: *mut u8, len| {
            dacapo_mx_quantize_block(values, format, rounding, 0, 0, packed, len)
        };
        assert_eq!(quantize(null_f32, 0, 0, packed.as_mut_ptr(), 18), DACAPO_MX_ERR_NULL);
        assert_eq!(quantize(values.as_ptr(), 0, 0, std::ptr::null_mut(), 18), DACAPO_MX_ERR_NULL);
        assert_eq!(quantize(values.as_ptr(), 3, 0, packed.as_mut_ptr(), 18), DACAPO_MX_ERR_FORMAT);
        assert_eq!(quantize(values.as_ptr(), -1, 0, packed.as_mut_ptr(), 18), DACAPO_MX_ERR_FORMAT);
        assert_eq!(quantize(values.as_ptr(), 0, 7, packed.as_mut_ptr(), 18), DACAPO_MX_ERR_ROUNDING);
        assert_eq!(quantize(values.as_ptr(), 0, 0, packed.as_mut_ptr(), 12), DACAPO_MX_ERR_LENGTH);
        assert_eq!(quantize(values.as_ptr(), 2, 0, packed.as_mut_ptr(), 0), DACAPO_MX_ERR_LENGTH);
        assert_eq!(
            dacapo_mx_dequantize_block(packed.as_ptr(), 17, 0, out.as_mut_ptr()),
            DACAPO_MX_ERR_LENGTH
        );
        assert_eq!(dacapo_mx_dequantize_block(std::ptr::null(), 18, 0, out.as_mut_ptr()), DACAPO_MX_ERR_NULL);
        assert_eq!(
            dacapo_mx_dequantize_block(packed.as_ptr(), 18, 0, std::ptr::null_mut()),
            DACAPO_MX_ERR_NULL
        );
        let mut r = 0f32;
        assert_eq!(
            dacapo_mx_dpe_step(0.0, packed.as_ptr(), packed.as_ptr(), 8, 1, &mut r),
            DACAPO_MX_ERR_LENGTH
        );
        assert_eq!(
            dacapo_mx_dpe_step(0.0, packed.as_ptr(), std::ptr::null(), 12, 1, &mut r),
            DACAPO_MX_ERR_NULL
        );
        assert_eq!(
            dacapo_mx_dpe_step(0.0, packed.as_ptr(), packed.as_ptr(), 12, 1, std::ptr::null_mut()),
            DACAPO_MX_ERR_NULL
        );
        let mut w = 0u32;
        assert_eq!(
            dacapo_mx_dpi_dpe_step(0, std::ptr::null(), [0u32; 5].as_ptr(), 0, &mut w),
            DACAPO_MX_ERR_NULL
        );
        assert_eq!(
            dacapo_mx_dpi_dpe_step(0, [0u32; 5].as_ptr(), [0u32; 5].as_ptr(), 9, &mut w),
            DACAPO_MX_ERR_FORMAT
        );

        let mut c = [0f32; 4];
        let ab = [1.0f32; 4];
        assert_eq!(dacapo_mx_gemm(ab.as_ptr(), ab.as_ptr(), 2, 2, 2, 0, 0, 0, c.as_mut_ptr()), DACAPO_MX_OK);
        assert_eq!(c, [2.0; 4]);
        assert_eq!(
            dacapo_mx_gemm(null_f32, ab.as_ptr(), 2, 2, 2, 0, 0, 0, c.as_mut_ptr()),
            DACAPO_MX_ERR_NULL
        );
        assert_eq!(
            dacapo_mx_gemm(ab.as_ptr(), ab.as_ptr(), 2, 2, 2, 5, 0, 0, c.as_mut_ptr()),
            DACAPO_MX_ERR_FORMAT
        );
        assert_eq!(
            dacapo_mx_gemm(ab.as_ptr(), ab.as_ptr(), 2, 2, 2, 0, 5, 0, c.as_mut_ptr()),
            DACAPO_MX_ERR_ROUNDING
        );
        assert_eq!(
            dacapo_mx_gemm(ab.as_ptr(), ab.as_ptr(), 1 << 20, 1 << 20, 1, 0, 0, 0, c.as_mut_ptr()),
            DACAPO_MX_ERR_SIZE
        );
        assert_eq!(
            dacapo_mx_gemm(ab.as_ptr(), ab.as_ptr(), usize::MAX, 2, 2, 0, 0, 0, c.as_mut_ptr()),
            DACAPO_MX_ERR_SIZE
        );
        // Empty shapes: null is fine where nothing is read or written.
        assert_eq!(dacapo_mx_gemm(null_f32, null_f32, 0, 5, 0, 1, 0, 0, std::ptr::null_mut()), DACAPO_MX_OK);
    }
    assert_eq!(dacapo_mx_block_bytes(3), 0);
    for code in [DACAPO_MX_OK, DACAPO_MX_ERR_NULL, DACAPO_MX_ERR_FORMAT, DACAPO_MX_ERR_LENGTH, 99, -5] {
        let message = unsafe { std::ffi::CStr::from_ptr(dacapo_mx_status_message(code)) };
        assert!(!message.to_bytes().is_empty());
    }
    let message = unsafe { std::ffi::CStr::from_ptr(dacapo_mx_status_message(DACAPO_MX_ERR_LENGTH)) };
    assert!(message.to_str().unwrap().contains("dacapo_mx_block_bytes"));
}
