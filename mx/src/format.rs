//! The three MX block formats and the rounding modes of the FP32-to-MX conversion
//! (SPEC section 2).

use std::fmt;
use std::str::FromStr;

/// Elements per block, along the GEMM reduction axis.
pub const BLOCK: usize = 16;

/// An MX block format: 8-bit shared exponent, one micro-exponent bit per pair of elements,
/// and per element a sign and an m-bit magnitude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Mx9,
    Mx6,
    Mx4,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Mx9, Format::Mx6, Format::Mx4];

    /// Magnitude bits per element (m).
    pub const fn mag_bits(self) -> u32 {
        match self {
            Format::Mx9 => 7,
            Format::Mx6 => 4,
            Format::Mx4 => 2,
        }
    }

    /// The largest magnitude code, 2^m - 1.
    pub const fn max_mag(self) -> u8 {
        ((1u32 << self.mag_bits()) - 1) as u8
    }

    /// Bits of one packed block: exponent, micro-exponents, then sign and magnitude per element.
    pub const fn block_bits(self) -> usize {
        16 + BLOCK * (self.mag_bits() as usize + 1)
    }

    /// Bytes of one packed block (every block size is a whole number of bytes).
    pub const fn block_bytes(self) -> usize {
        self.block_bits() / 8
    }

    /// Storage cost per element, shared fields included: 9, 6 or 4.
    pub const fn bits_per_element(self) -> usize {
        self.block_bits() / BLOCK
    }

    /// Cycles a DPE spends on one block: 16, 4 or 1 (SPEC section 3).
    pub const fn cycles_per_block(self) -> u32 {
        match self {
            Format::Mx9 => 16,
            Format::Mx6 => 4,
            Format::Mx4 => 1,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Format::Mx9 => "mx9",
            Format::Mx6 => "mx6",
            Format::Mx4 => "mx4",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| crate::Error::UnknownFormat(s.to_string()))
    }
}

/// How a magnitude that falls between two codes is rounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// To the nearest code, ties to even (the default).
    #[default]
    NearestEven,
    /// Toward zero: what a simple hardware converter does.
    Truncate,
    /// Up with probability equal to the discarded fraction, drawn from a counter-based
    /// generator keyed by the seed and the element's position, so the result depends on
    /// neither thread count nor platform.
    Stochastic { seed: u64 },
}

impl Rounding {
    /// The rounding of GEMM operand `operand` (0 for A, 1 for B): stochastic rounding draws
    /// B's numbers with the seed + 1, so that A and B never share them; the others are the same
    /// for both. Every front end (command line, C library, Python) quantizes a GEMM's operands
    /// this way.
    pub fn for_operand(self, operand: u64) -> Rounding {
        match self {
            Rounding::Stochastic { seed } => Rounding::Stochastic { seed: seed.wrapping_add(operand) },
            other => other,
        }
    }
}
