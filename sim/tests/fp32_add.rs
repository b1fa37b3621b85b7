//! The generated `fp32_add` on Verilator against IEEE-754 addition (Rust's f32 `+`, NaN made
//! canonical), bit for bit.

use mx::f32_add;
use mx::rng::Rng;
use sim::Fp32Add;

/// Operand pairs that reach every exponent difference: a random exponent for a, one for b at a
/// distance drawn from 0..=40 (beyond the 27 bits the adder keeps), sometimes any exponent at
/// all, random fractions and signs.
fn random_pair(rng: &mut Rng) -> (u32, u32) {
    let exp_a = rng.below(256) as i64;
    let exp_b = match rng.below(8) {
        0 => rng.below(256) as i64,
        _ => (exp_a + rng.below(81) as i64 - 40).clamp(0, 255),
    };
    let fraction = |rng: &mut Rng| match rng.below(6) {
        0 => 0,
        1 => 0x7F_FFFF,
        _ => rng.next_u32() & 0x7F_FFFF,
    };
    let a = (rng.next_u32() & 1) << 31 | (exp_a as u32) << 23 | fraction(rng);
    let b = (rng.next_u32() & 1) << 31 | (exp_b as u32) << 23 | fraction(rng);
    (a, b)
}

fn check(adder: &mut Fp32Add, a: u32, b: u32) {
    let want = f32_add(f32::from_bits(a), f32::from_bits(b)).to_bits();
    let got = adder.add_bits(a, b);
    assert_eq!(got, want, "{a:08x} + {b:08x}: got {got:08x}, want {want:08x}");
}

#[test]
fn a_million_random_pairs() {
    let mut adder = Fp32Add::new();
    let mut rng = Rng::new(0xADD);
    for _ in 0..1_000_000 {
        let (a, b) = random_pair(&mut rng);
        check(&mut adder, a, b);
    }
}

#[test]
fn every_pair_of_special_classes() {
    let classes: Vec<u32> = vec![
        0x0000_0000, // +0
        0x0000_0001, // smallest subnormal
        0x0000_0002,
        0x003F_FFFF,
        0x0040_0000,
        0x007F_FFFF, // largest subnormal
        0x0080_0000, // smallest normal
        0x0080_0001,
        0x00FF_FFFF,
        0x3F80_0000, // 1.0
        0x3F80_0001,
        0x3FFF_FFFF,
        0x4B00_0000, // 2^23
        0x7F00_0000,
        0x7F7F_FFFE,
        0x7F7F_FFFF, // largest normal
        0x7F80_0000, // infinity
        0x7F80_0001, // signalling NaN
        0x7FC0_0000, // quiet NaN
        0x7FFF_FFFF,
    ];
    let mut adder = Fp32Add::new();
    for &a in &classes {
        for &b in &classes {
            for signs in 0..4u32 {
                check(&mut adder, a | (signs & 1) << 31, b | (signs >> 1) << 31);
            }
        }
    }
}

#[test]
fn exact_cancellation_and_carries() {
    let mut adder = Fp32Add::new();
    let mut rng = Rng::new(7);
    for _ in 0..20_000 {
        let x = rng.next_u32() & 0x7FFF_FFFF;
        check(&mut adder, x, x | 0x8000_0000); // x + (-x) = +0
        check(&mut adder, x | 0x8000_0000, x);
        // Sums whose fraction rounds up into the next binade: all-ones fractions.
        let exp = rng.below(254) as u32 + 1;
        let ones = exp << 23 | 0x7F_FFFF;
        check(&mut adder, ones, ones);
        check(&mut adder, ones, 1 << 23 | (rng.next_u32() & 0x7F_FFFF));
        check(&mut adder, ones, (exp.saturating_sub(24)) << 23 | 0x40_0000);
    }
    // Overflow to infinity and rounding up to it.
    check(&mut adder, 0x7F7F_FFFF, 0x7F7F_FFFF);
    check(&mut adder, 0x7F7F_FFFF, 0x7380_0000);
    check(&mut adder, 0xFF7F_FFFF, 0xF380_0000);
}
