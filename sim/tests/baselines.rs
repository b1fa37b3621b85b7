//! The baseline PEs of the resource comparison, checked like the datapath: the f32 multiplier
//! against Rust's `*`, the PEs against plain Rust accumulation.

use mx::f32_add;
use mx::rng::Rng;
use sim::{Fp32Mul, MacF32, MacF32Pipelined, MacInt8};

fn canonical(x: f32) -> u32 {
    if x.is_nan() {
        0x7FC0_0000
    } else {
        x.to_bits()
    }
}

#[test]
fn fp32_mul_matches_ieee() {
    let mut mul = Fp32Mul::default();
    let mut rng = Rng::new(0x3A1);
    let specials = [
        0u32,
        1,
        0x7F_FFFF,
        0x80_0000,
        0x3F80_0000,
        0x3F00_0001,
        0x7F7F_FFFF,
        0x7F80_0000,
        0x7FC0_0000,
        0x0040_0000,
    ];
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for &a in &specials {
        for &b in &specials {
            pairs.push((a, b));
            pairs.push((a | 1 << 31, b));
        }
    }
    for _ in 0..300_000 {
        // Exponent pairs whose sum spans overflow, the normal range, subnormals and zero.
        let ea = rng.below(256) as u32;
        let eb = match rng.below(3) {
            0 => rng.below(256) as u32,
            _ => (254 - ea as i64 + rng.below(60) as i64 - 30).clamp(0, 255) as u32,
        };
        let a = rng.next_u32() & 0x807F_FFFF | ea << 23;
        let b = rng.next_u32() & 0x807F_FFFF | eb << 23;
        pairs.push((a, b));
    }
    for (a, b) in pairs {
        let want = canonical(f32::from_bits(a) * f32::from_bits(b));
        assert_eq!(mul.mul_bits(a, b), want, "{a:08x} * {b:08x}");
    }
}

#[test]
fn mac_pes_accumulate_like_rust() {
    let mut rng = Rng::new(0x3AC);
    let (mut f, mut i) = (MacF32::default(), MacInt8::default());
    let mut piped = MacF32Pipelined::default();
    for _ in 0..200 {
        let n = 1 + rng.below(40) as usize;
        let a: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let b: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let want = a.iter().zip(&b).fold(0.0f32, |acc, (x, y)| f32_add(acc, x * y));
        assert_eq!(f.dot(&a, &b).to_bits(), want.to_bits());
        // The pipelined PE: the same sums, its clear following the previous products.
        assert_eq!(piped.dot(&a, &b).to_bits(), want.to_bits());
        let a8: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
        let b8: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
        let want8 =
            a8.iter().zip(&b8).fold(0i32, |acc, (&x, &y)| acc.wrapping_add(i32::from(x) * i32::from(y)));
        assert_eq!(i.dot(&a8, &b8), want8);
    }
}
