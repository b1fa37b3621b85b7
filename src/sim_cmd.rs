//! `dacapo sim`: run test vectors through the Verilator models of the generated RTL, for
//! verification engineers' regression suites.

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use mx::Format;

#[derive(Subcommand)]
pub enum SimCommand {
    /// Check `fp32_add` against Berkeley TestFloat vectors on standard input
    /// (`testfloat_gen f32_add` lines: A B expected [flags], hex; flags are ignored).
    Fp32Add,
    /// Check `mx_convert` against vectors on standard input: 16 hex f32 values, then the
    /// expected packed block as one hex number whose bit n is bit n of the block.
    MxConvert {
        /// MX format: mx9, mx6 or mx4.
        #[arg(long, value_parser = host::named::parse_format)]
        format: Format,
        /// Rounding of the conversion (the hardware has these two).
        #[arg(long, value_enum, default_value_t = HwRounding::Nearest)]
        rounding: HwRounding,
    },
    /// Write a VCD waveform (GTKWave, Surfer) of two small GEMMs at once on the `small`
    /// preset: split 2, MX6 on the top part, MX4 on the bottom part.
    Wave {
        /// The waveform file to write.
        #[arg(long, default_value = "waves/accel_gemm.vcd")]
        out: std::path::PathBuf,
    },
    /// Run a GEMM on one part of the simulated accelerator; write C and print one JSON line
    /// with the cycles, the modeled cycles, the MACs, the utilization and the counters.
    Gemm(crate::sim_gemm::GemmArgs),
    /// Per format, the utilization of a large GEMM on the whole array and the simulation
    /// speed in simulated cycles per second.
    Bench(crate::sim_gemm::BenchArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum HwRounding {
    Nearest,
    Truncate,
}

/// An f32 field: at most 8 hex digits.
const F32: Field = Field { bits: 32 };

/// Runs the command; `Ok(false)` when a vector mismatched.
pub fn run(command: SimCommand) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match command {
        SimCommand::Fp32Add => {
            let mut adder = sim::Fp32Add::new();
            // TestFloat's optional fifth column, the exception flags, is 2 hex digits.
            let flags = Field { bits: 8 };
            check_lines(stdin.lock(), stdout.lock(), &[F32, F32, F32], &[flags], |fields| {
                let [a, b, want] = [0, 1, 2].map(|i| fields[i][0] as u32);
                let got = adder.add_bits(a, b);
                let nan = |x: u32| f32::from_bits(x).is_nan();
                let ok = got == want || (nan(got) && nan(want));
                Ok((!ok).then(|| format!("{a:08X} + {b:08X}: expected {want:08X}, got {got:08X}")))
            })
        }
        SimCommand::Wave { out } => crate::sim_gemm::wave(&out).map(|()| true),
        SimCommand::Gemm(args) => crate::sim_gemm::gemm_cmd(args),
        SimCommand::Bench(args) => crate::sim_gemm::bench(args),
        SimCommand::MxConvert { format, rounding } => {
            let mut converter = sim::MxConvert::new();
            let truncate = matches!(rounding, HwRounding::Truncate);
            let bytes = format.block_bytes();
            let mut fields = vec![F32; 16];
            fields.push(Field { bits: 8 * bytes as u32 });
            check_lines(stdin.lock(), stdout.lock(), &fields, &[], |fields| {
                let values: [f32; 16] = std::array::from_fn(|i| f32::from_bits(fields[i][0] as u32));
                let got = converter.convert(&values, format, truncate);
                let want = &fields[16];
                let want_bytes: Vec<u8> = (0..bytes).map(|i| (want[i / 8] >> (8 * (i % 8))) as u8).collect();
                let hex = |b: &[u8]| b.iter().rev().map(|x| format!("{x:02X}")).collect::<String>();
                Ok((got != want_bytes).then(|| {
                    let inputs: Vec<String> = values.iter().map(|v| format!("{:08X}", v.to_bits())).collect();
                    format!("{}: expected {}, got {}", inputs.join(" "), hex(&want_bytes), hex(&got))
                }))
            })
        }
    }
}

/// A hex field of a vector line: an unsigned number below 2^bits, written in at most
/// ceil(bits / 4) digits.
#[derive(Clone, Copy)]
struct Field {
    bits: u32,
}

impl Field {
    /// The number as 64-bit words, least significant first.
    fn parse(self, hex: &str) -> anyhow::Result<Vec<u64>> {
        let digits = self.bits.div_ceil(4) as usize;
        let bad =
            || anyhow::anyhow!("'{hex}' is not a hex number of at most {} bits ({digits} digits)", self.bits);
        if hex.is_empty() || hex.len() > digits || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut words = vec![0u64; digits.div_ceil(16)];
        for (i, c) in hex.chars().rev().enumerate() {
            words[i / 16] |= u64::from(c.to_digit(16).expect("checked hex digit")) << (4 * (i % 16));
        }
        let top = self.bits as usize - 64 * (words.len() - 1);
        if top < 64 && words[words.len() - 1] >> top != 0 {
            return Err(bad());
        }
        Ok(words)
    }
}

/// Reads vector lines of the `fields` and, optionally, the `optional` ones after them (blank
/// lines and `#` comments skipped), checks each with `check`, prints mismatches and the
/// closing count. A line with any other number of fields, or a field out of its range, is an
/// error that names the line.
fn check_lines(
    input: impl BufRead,
    mut out: impl Write,
    fields: &[Field],
    optional: &[Field],
    mut check: impl FnMut(&[Vec<u64>]) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<bool> {
    let (mut checked, mut mismatches) = (0usize, 0usize);
    for (n, line) in input.lines().enumerate() {
        let line = line.context("cannot read standard input")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() || words[0].starts_with('#') {
            continue;
        }
        let most = fields.len() + optional.len();
        if words.len() < fields.len() || words.len() > most {
            let expected = if optional.is_empty() {
                format!("{}", fields.len())
            } else {
                format!("{} to {most}", fields.len())
            };
            bail!("line {}: expected {expected} hex fields, found {}: {line:?}", n + 1, words.len());
        }
        let values = words
            .iter()
            .zip(fields.iter().chain(optional))
            .map(|(word, field)| field.parse(word))
            .collect::<anyhow::Result<Vec<_>>>()
            .with_context(|| format!("line {}", n + 1))?;
        checked += 1;
        if let Some(message) = check(&values)? {
            mismatches += 1;
            writeln!(out, "mismatch, line {}: {message}", n + 1)?;
        }
    }
    writeln!(out, "checked {checked} vectors, {mismatches} mismatches")?;
    Ok(mismatches == 0)
}
