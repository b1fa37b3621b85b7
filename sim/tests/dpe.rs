//! The generated `dpe` on Verilator against the golden dot product, block by block, and its
//! cycle behaviour: exactly 16 / 4 / 1 cycles per block.

use mx::rng::Rng;
use mx::{dot, Block, Format, BLOCK, CANONICAL_NAN};
use sim::Dpe;

/// A block with random micro-exponents, signs and magnitudes (full-scale ones often).
fn block_with_exp(rng: &mut Rng, format: Format, exp: u8) -> Block {
    let max = u64::from(format.max_mag());
    let mags = std::array::from_fn(|_| if rng.below(4) == 0 { max as u8 } else { rng.below(max + 1) as u8 });
    Block { exp, micro: rng.next_u32() as u8, signs: rng.next_u32() as u16, mags }
}

/// A block pair whose shared exponents land, as often as not, where the block value is
/// subnormal or rounds to zero (Ea + Eb near 105 + 2m) or overflows (Ea + Eb near 400);
/// otherwise anywhere, and now and then a NaN block.
fn random_pair(rng: &mut Rng, format: Format) -> (Block, Block) {
    let m = format.mag_bits() as i64;
    let sum = match rng.below(4) {
        0 => 105 + 2 * m + rng.below(50) as i64 - 30,
        1 => 380 + rng.below(40) as i64,
        _ => rng.below(509) as i64,
    };
    let ea = rng.below(255) as i64;
    let eb = (sum - ea).clamp(0, 254);
    let ea = (sum - eb).clamp(0, 254);
    let mut a = block_with_exp(rng, format, ea as u8);
    let mut b = block_with_exp(rng, format, eb as u8);
    match rng.below(40) {
        0 => a = Block::NAN,
        1 => b = Block::NAN,
        _ => {}
    }
    (a, b)
}

/// One block of a random pair.
fn random_block(rng: &mut Rng, format: Format) -> Block {
    random_pair(rng, format).0
}

#[test]
fn random_dot_products_block_by_block() {
    let mut rng = Rng::new(0xD9E);
    let mut dpe = Dpe::new();
    for format in Format::ALL {
        for _ in 0..1500 {
            let blocks = 1 + rng.below(6) as usize;
            let (a, b): (Vec<Block>, Vec<Block>) = (0..blocks).map(|_| random_pair(&mut rng, format)).unzip();
            dpe.clear();
            for n in 0..blocks {
                dpe.feed(&a[n], &b[n], format);
                let want = dot(&a[..=n], &b[..=n], format, 0.0);
                assert_eq!(dpe.acc().to_bits(), want.to_bits(), "{format} after block {n}: {a:?} x {b:?}");
            }
        }
    }
}

#[test]
fn accumulates_into_an_existing_value() {
    let mut rng = Rng::new(0xACC);
    let mut dpe = Dpe::new();
    let starts = [0.0f32, -0.0, 1.5, -3.0e-39, 1.0e38, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MAX];
    for format in Format::ALL {
        for _ in 0..300 {
            let start = if rng.below(3) == 0 {
                starts[rng.below(starts.len() as u64) as usize]
            } else {
                f32::from_bits(rng.next_u32())
            };
            let (a, b) = random_pair(&mut rng, format);
            dpe.load(start);
            dpe.feed(&a, &b, format);
            let want = dot(&[a], &[b], format, start);
            let want = if want.is_nan() { CANONICAL_NAN } else { want };
            assert_eq!(dpe.acc().to_bits(), want.to_bits(), "{format} from {start:e}: {a:?} x {b:?}");
        }
    }
}

#[test]
fn exactly_16_4_1_cycles_per_block() {
    let mut rng = Rng::new(0xC1C);
    let mut dpe = Dpe::new();
    for format in Format::ALL {
        dpe.clear();
        let start = dpe.cycles();
        let (a, b) = (random_block(&mut rng, format), random_block(&mut rng, format));
        for n in 1..=5u64 {
            dpe.feed(&a, &b, format);
            assert_eq!(dpe.cycles() - start, n * u64::from(format.cycles_per_block()), "{format}");
            assert!(dpe.block_done(), "{format}: block_done_o after the last slice");
        }
        dpe.idle();
        assert!(!dpe.block_done(), "{format}: block_done_o is a one-cycle pulse");
    }
    // Within a block, block_done_o stays low until the last slice.
    let mut dpe = Dpe::new();
    let (a, b) = (random_block(&mut rng, Format::Mx9), random_block(&mut rng, Format::Mx9));
    dpe.clear();
    dpe.feed(&a, &b, Format::Mx9);
    let done_at = dpe.cycles();
    assert!(dpe.block_done());
    dpe.idle();
    assert!(!dpe.block_done() && dpe.cycles() == done_at + 1);
}

#[test]
fn clear_restarts_and_formats_switch_between_outputs() {
    let mut rng = Rng::new(0x5EED);
    let mut dpe = Dpe::new();
    for _ in 0..200 {
        for format in [Format::Mx4, Format::Mx9, Format::Mx6] {
            let (a, b) = (random_block(&mut rng, format), random_block(&mut rng, format));
            dpe.clear();
            assert_eq!(dpe.acc().to_bits(), 0);
            dpe.feed(&a, &b, format);
            assert_eq!(dpe.acc().to_bits(), dot(&[a], &[b], format, 0.0).to_bits(), "{format}");
        }
    }
    // Exactly cancelling blocks leave +0; zero blocks keep the accumulator.
    let mut a = Block { exp: 130, micro: 0, signs: 0, mags: [3; BLOCK] };
    dpe.clear();
    dpe.feed(&a, &a, Format::Mx4);
    a.signs = 0xFFFF;
    let b = Block { signs: 0, ..a };
    dpe.feed(&a, &b, Format::Mx4);
    assert_eq!(dpe.acc().to_bits(), 0);
}
