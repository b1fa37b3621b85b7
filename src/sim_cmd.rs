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
        #[arg(long, value_parser = parse_format)]
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

fn parse_format(s: &str) -> anyhow::Result<Format> {
    s.parse()
}

/// Runs the command; `Ok(false)` when a vector mismatched.
pub fn run(command: SimCommand) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match command {
        SimCommand::Fp32Add => {
            let mut adder = sim::Fp32Add::new();
            check_lines(stdin.lock(), stdout.lock(), 3, |fields| {
                let [a, b, want] = [fields[0], fields[1], fields[2]].map(|f| f as u32);
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
            check_lines(stdin.lock(), stdout.lock(), 17, |fields| {
                let values: [f32; 16] = std::array::from_fn(|i| f32::from_bits(fields[i] as u32));
                let got = converter.convert(&values, format, truncate);
                let want = &fields[16..];
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

/// Reads vector lines, checks each with `check` (given the hex fields, the last one split into
/// 64-bit words, least significant first), prints mismatches and the closing count.
fn check_lines(
    input: impl BufRead,
    mut out: impl Write,
    fields: usize,
    mut check: impl FnMut(&[u64]) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<bool> {
    let (mut checked, mut mismatches) = (0usize, 0usize);
    for (n, line) in input.lines().enumerate() {
        let line = line.context("cannot read standard input")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() || words[0].starts_with('#') {
            continue;
        }
        if words.len() < fields {
            bail!("line {}: expected {fields} hex fields, found {}: {line:?}", n + 1, words.len());
        }
        let mut values = Vec::with_capacity(fields + 2);
        for word in &words[..fields - 1] {
            let v = u32::from_str_radix(word, 16)
                .with_context(|| format!("line {}: '{word}' is not a 32-bit hex number", n + 1))?;
            values.push(u64::from(v));
        }
        values.extend(
            hex_words(words[fields - 1])
                .with_context(|| format!("line {}: bad hex '{}'", n + 1, words[fields - 1]))?,
        );
        checked += 1;
        if let Some(message) = check(&values)? {
            mismatches += 1;
            writeln!(out, "mismatch, line {}: {message}", n + 1)?;
        }
    }
    writeln!(out, "checked {checked} vectors, {mismatches} mismatches")?;
    Ok(mismatches == 0)
}

/// A hex number of any length as 64-bit words, least significant first (at least three, so a
/// 144-bit block always fits).
fn hex_words(hex: &str) -> anyhow::Result<Vec<u64>> {
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) || hex.len() > 48 {
        bail!("expected up to 48 hex digits");
    }
    let mut words = vec![0u64; 3];
    for (i, c) in hex.chars().rev().enumerate() {
        words[i / 16] |= u64::from(c.to_digit(16).expect("checked hex digit")) << (4 * (i % 16));
    }
    Ok(words)
}
