//! One MX block: encoding from f32, decoding, and the packed bit layout (SPEC section 2).

use super::format::{Format, Rounding, BLOCK};
use crate::rng::splitmix64;

/// A decoded view of one 16-element block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Block {
    /// Shared exponent `E`, biased by 127; 0xFF marks a NaN block.
    pub exp: u8,
    /// Micro-exponent bit `u[p]` of pair p (elements 2p and 2p + 1) in bit p.
    pub micro: u8,
    /// Sign bit `s[i]` of element i in bit i.
    pub signs: u16,
    /// Magnitude code `q[i]`, at most 2^m - 1.
    pub mags: [u8; BLOCK],
}

/// The shared exponent that marks a NaN block.
pub const NAN_EXP: u8 = 0xFF;

/// The NaN every MX operation returns (IEEE quiet NaN, positive).
pub const CANONICAL_NAN: f32 = f32::from_bits(0x7FC0_0000);

impl Block {
    pub const NAN: Block = Block { exp: NAN_EXP, micro: 0, signs: 0, mags: [0; BLOCK] };

    pub fn is_nan(&self) -> bool {
        self.exp == NAN_EXP
    }

    /// Encodes 16 f32 values. `block_id` keys stochastic rounding: it is the block's position
    /// in its matrix, so the same input always rounds the same way.
    pub fn encode(values: &[f32; BLOCK], format: Format, rounding: Rounding, block_id: u64) -> Block {
        if values.iter().any(|v| !v.is_finite()) {
            return Block::NAN;
        }
        let parts = values.map(Significand::of);
        let Some(emax) = parts.iter().filter_map(|p| p.log2()).max() else {
            // Only zeros: keep their signs, everything else is zero.
            return Block { signs: sign_bits(values), ..Block::default() };
        };
        let emax = emax.clamp(-127, 127);
        let micro = (0..BLOCK / 2).fold(0u8, |acc, p| {
            let below = |i: usize| parts[i].log2().is_none_or(|e| e < emax);
            acc | (u8::from(below(2 * p) && below(2 * p + 1)) << p)
        });
        let m = format.mag_bits() as i32;
        let mut mags = [0u8; BLOCK];
        for (i, mag) in mags.iter_mut().enumerate() {
            let u = i32::from(micro >> (i / 2) & 1);
            let step_log2 = emax - u - (m - 1);
            let random = || element_random(rounding, block_id * BLOCK as u64 + i as u64);
            let q = parts[i].round_to_step(step_log2, rounding, random);
            *mag = q.min(u64::from(format.max_mag())) as u8;
        }
        Block { exp: (emax + 127) as u8, micro, signs: sign_bits(values), mags }
    }

    fn micro_bit(&self, i: usize) -> u32 {
        u32::from(self.micro >> (i / 2) & 1)
    }

    fn sign_bit(&self, i: usize) -> bool {
        self.signs >> i & 1 == 1
    }

    /// log2 of the weight of magnitude code 1 for element i: E - 127 - u[p] - (m - 1).
    fn step_log2(&self, i: usize, format: Format) -> i32 {
        i32::from(self.exp) - 127 - self.micro_bit(i) as i32 - (format.mag_bits() as i32 - 1)
    }

    /// The 16 values the block stands for. Every MX value is exact in f32.
    pub fn decode(&self, format: Format) -> [f32; BLOCK] {
        if self.is_nan() {
            return [CANONICAL_NAN; BLOCK];
        }
        std::array::from_fn(|i| {
            let magnitude = f64::from(self.mags[i]) * pow2(self.step_log2(i, format));
            let v = magnitude as f32;
            if self.sign_bit(i) {
                -v
            } else {
                v
            }
        })
    }

    /// Every element as the signed integer `(-1)^s * q * 2^(1 - u)`: the product of two of
    /// these is exactly one term of the DPE's block sum (SPEC section 3). Branch-free, so the
    /// GEMM's operand packing vectorizes.
    #[inline(always)]
    pub fn int_values(&self) -> [i16; BLOCK] {
        let doubled = self.doubled_elements();
        let mut out = [0i16; BLOCK];
        for (i, v) in out.iter_mut().enumerate() {
            let scaled = i16::from(self.mags[i]) << (doubled >> i & 1);
            let negative = -((self.signs >> i & 1) as i16);
            *v = (scaled ^ negative) - negative;
        }
        out
    }

    /// Bit i set where element i's pair has u = 0, so its integer value is twice its code.
    #[inline(always)]
    pub(crate) fn doubled_elements(&self) -> u16 {
        !PAIR_TO_ELEMENT_BITS[usize::from(self.micro)]
    }

    /// log2 of the weight of `int_values` products that belongs to this block's side:
    /// `E - 127 - m`, so a block pair's sum is scaled by `2^(ka + kb)`.
    pub fn scale_log2(&self, format: Format) -> i32 {
        i32::from(self.exp) - 127 - format.mag_bits() as i32
    }

    /// Writes the packed little-endian bit string: E in bits 0..8, u[p] in bit 8 + p, element
    /// i in bits 16 + i(m + 1) upward, magnitude first, sign on top.
    pub fn pack(&self, format: Format, out: &mut [u8]) {
        assert_eq!(out.len(), format.block_bytes(), "packed block size for {format}");
        out.fill(0);
        let mut bits = BitWriter { out, pos: 0 };
        bits.put(u32::from(self.exp), 8);
        bits.put(u32::from(self.micro), 8);
        let m = format.mag_bits();
        for i in 0..BLOCK {
            let element = u32::from(self.mags[i]) | (u32::from(self.sign_bit(i)) << m);
            bits.put(element, m + 1);
        }
    }

    /// Reads a block written by `pack`. Any byte string of the right length is a block.
    pub fn unpack(format: Format, bytes: &[u8]) -> Block {
        assert_eq!(bytes.len(), format.block_bytes(), "packed block size for {format}");
        let mut bits = BitReader { bytes, pos: 0 };
        let exp = bits.take(8) as u8;
        let micro = bits.take(8) as u8;
        let m = format.mag_bits();
        let mut block = Block { exp, micro, ..Block::default() };
        for i in 0..BLOCK {
            let element = bits.take(m + 1);
            block.mags[i] = (element & ((1 << m) - 1)) as u8;
            block.signs |= ((element >> m) as u16) << i;
        }
        block
    }
}

/// Micro-exponent bits (one per pair) spread to one bit per element.
const PAIR_TO_ELEMENT_BITS: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut micro = 0;
    while micro < 256 {
        let mut p = 0;
        while p < BLOCK / 2 {
            table[micro] |= ((micro as u16 >> p) & 1) * (0b11 << (2 * p));
            p += 1;
        }
        micro += 1;
    }
    table
};

/// 2^k as an f64, for k well inside f64's normal range.
pub(crate) fn pow2(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

fn sign_bits(values: &[f32; BLOCK]) -> u16 {
    values.iter().enumerate().fold(0, |acc, (i, v)| acc | (u16::from(v.is_sign_negative()) << i))
}

/// A finite |x| as `mant * 2^exp2` with an integer significand (at most 24 bits).
#[derive(Clone, Copy)]
struct Significand {
    mant: u64,
    exp2: i32,
}

impl Significand {
    fn of(x: f32) -> Significand {
        let bits = x.to_bits() & 0x7FFF_FFFF;
        let biased = (bits >> 23) as i32;
        let frac = u64::from(bits & 0x7F_FFFF);
        if biased == 0 {
            Significand { mant: frac, exp2: -149 }
        } else {
            Significand { mant: frac | 0x80_0000, exp2: biased - 150 }
        }
    }

    /// floor(log2 |x|), or None for zero.
    fn log2(&self) -> Option<i32> {
        (self.mant != 0).then(|| 63 - self.mant.leading_zeros() as i32 + self.exp2)
    }

    /// |x| / 2^step_log2, rounded to an integer (before saturation).
    fn round_to_step(&self, step_log2: i32, rounding: Rounding, random: impl Fn() -> u32) -> u64 {
        let drop = step_log2 - self.exp2;
        if drop <= 0 {
            return self.mant << -drop;
        }
        // Beyond 60 dropped bits a 24-bit significand is < 2^-36 of a step: every mode gives 0
        // (stochastic rounding draws 32 random bits, so its threshold is 0 too).
        if drop > 60 {
            return 0;
        }
        let drop = drop as u32;
        let kept = self.mant >> drop;
        let rest = self.mant & ((1u64 << drop) - 1);
        let up = match rounding {
            Rounding::Truncate => false,
            Rounding::NearestEven => {
                let half = 1u64 << (drop - 1);
                rest > half || (rest == half && kept & 1 == 1)
            }
            Rounding::Stochastic { .. } => {
                // The discarded fraction as a 32-bit threshold; round up when a uniform 32-bit
                // draw falls below it.
                let threshold = if drop <= 32 { rest << (32 - drop) } else { rest >> (drop - 32) };
                u64::from(random()) < threshold
            }
        };
        kept + u64::from(up)
    }
}

/// The 32 random bits of one element under stochastic rounding (unused otherwise): SplitMix64
/// of the seed, mixed with the element's index and mixed again.
fn element_random(rounding: Rounding, index: u64) -> u32 {
    match rounding {
        Rounding::Stochastic { seed } => (splitmix64(splitmix64(seed) ^ index) >> 32) as u32,
        _ => 0,
    }
}

struct BitWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl BitWriter<'_> {
    fn put(&mut self, value: u32, width: u32) {
        for b in 0..width as usize {
            let bit = (value >> b & 1) as u8;
            self.out[(self.pos + b) / 8] |= bit << ((self.pos + b) % 8);
        }
        self.pos += width as usize;
    }
}

struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn take(&mut self, width: u32) -> u32 {
        let mut value = 0;
        for b in 0..width as usize {
            let bit = self.bytes[(self.pos + b) / 8] >> ((self.pos + b) % 8) & 1;
            value |= u32::from(bit) << b;
        }
        self.pos += width as usize;
        value
    }
}
