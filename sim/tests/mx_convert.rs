//! The generated `mx_convert` on Verilator against the golden encoder, bit for bit.

use mx::rng::Rng;
use mx::{Block, Format, Rounding, BLOCK};
use sim::MxConvert;

fn golden(values: &[f32; BLOCK], format: Format, rounding: Rounding) -> Vec<u8> {
    let mut packed = vec![0; format.block_bytes()];
    Block::encode(values, format, rounding, 0).pack(format, &mut packed);
    packed
}

/// Blocks with exponents spread over up to 40 binades anywhere in f32's range, zeros, signed
/// zeros, subnormals, and now and then a NaN or an infinity.
fn random_block(rng: &mut Rng) -> [f32; BLOCK] {
    let base = rng.below(300) as i64 - 20;
    let spread = rng.below(41) as i64;
    std::array::from_fn(|_| {
        let sign = (rng.next_u32() & 1) << 31;
        let exp = (base - rng.below(spread as u64 + 1) as i64).clamp(0, 254) as u32;
        let bits = match rng.below(200) {
            0..=9 => 0,
            10 => 0x7F80_0000,
            11 => 0x7FC0_0000 | rng.next_u32() & 0x3F_FFFF,
            12..=20 => rng.next_u32() & 0x7F_FFFF, // subnormal
            _ => exp << 23 | rng.next_u32() & 0x7F_FFFF,
        };
        f32::from_bits(sign | bits)
    })
}

#[test]
fn a_hundred_thousand_blocks_per_format_and_rounding() {
    let mut hw = MxConvert::new();
    let mut rng = Rng::new(0xC0DE);
    for format in Format::ALL {
        for (rounding, truncate) in [(Rounding::NearestEven, false), (Rounding::Truncate, true)] {
            for _ in 0..100_000 {
                let values = random_block(&mut rng);
                let got = hw.convert(&values, format, truncate);
                let want = golden(&values, format, rounding);
                assert_eq!(got, want, "{format} {rounding:?} {:08x?}", values.map(f32::to_bits));
            }
        }
    }
}

#[test]
fn corner_blocks() {
    let mut hw = MxConvert::new();
    let mut cases: Vec<[f32; BLOCK]> =
        vec![[0.0; BLOCK], [-0.0; BLOCK], [f32::MAX; BLOCK], [f32::from_bits(1); BLOCK]];
    let mut one = [0.0f32; BLOCK];
    one[5] = -3.0;
    cases.push(one);
    let mut mixed = [1.999f32; BLOCK];
    mixed[0] = -f32::MAX;
    mixed[1] = f32::from_bits(0x40_0000);
    cases.push(mixed);
    let mut inf = [1.0f32; BLOCK];
    inf[15] = f32::NEG_INFINITY;
    cases.push(inf);
    let ties: [f32; BLOCK] = std::array::from_fn(|i| if i == 0 { 1.0 } else { 0.25 * i as f32 });
    cases.push(ties);
    for values in &cases {
        for format in Format::ALL {
            for (rounding, truncate) in [(Rounding::NearestEven, false), (Rounding::Truncate, true)] {
                assert_eq!(
                    hw.convert(values, format, truncate),
                    golden(values, format, rounding),
                    "{format} {values:?}"
                );
            }
        }
    }
    // The reserved format code gives a NaN block.
    let raw = hw.convert_code(&[1.0; BLOCK], 3, false);
    assert_eq!(raw[0], 0xFF);
    assert!(raw[1..].iter().all(|b| *b == 0));
}
