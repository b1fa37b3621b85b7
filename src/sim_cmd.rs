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
    /// Write a VCD waveform (GTKWave, Surfer) of a small GEMM tile on the 4 x 4 array: split 2,
    /// an MX6 tile on the top part and an MX4 tile on the bottom part at the same time.
    Wave {
        /// The waveform file to write.
        #[arg(long, default_value = "waves/array_gemm.vcd")]
        out: std::path::PathBuf,
    },
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
        SimCommand::Wave { out } => {
            wave(&out)?;
            Ok(true)
        }
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

/// Runs one tile on each part of the array with tracing on, and checks the results.
fn wave(out: &std::path::Path) -> anyhow::Result<()> {
    use mx::rng::Rng;
    use mx::Block;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut rng = Rng::new(1);
    let mut tile = |format: Format, rows: usize| {
        let max = u64::from(format.max_mag());
        let mut line = || -> Vec<Block> {
            (0..2)
                .map(|_| Block {
                    exp: 120 + rng.below(10) as u8,
                    micro: rng.next_u32() as u8,
                    signs: rng.next_u32() as u16,
                    mags: std::array::from_fn(|_| rng.below(max + 1) as u8),
                })
                .collect()
        };
        let a = (0..rows).map(|_| line()).collect();
        let b = (0..sim::DpeArray::COLS).map(|_| line()).collect();
        sim::Tile { format, a, b }
    };
    let (top, bottom) = (tile(Format::Mx6, 2), tile(Format::Mx4, 2));
    let mut array = sim::DpeArray::new();
    array.model().trace_to(out).with_context(|| format!("cannot write {}", out.display()))?;
    array.set_split(2);
    let [t, b] = array.run(Some(&top), Some(&bottom));
    array.model().trace_close();
    if t.as_ref() != Some(&top.golden()) || b.as_ref() != Some(&bottom.golden()) {
        bail!("the simulated tile differs from the golden model");
    }
    println!(
        "wrote {} ({} cycles: MX6 tile on rows 0..2, MX4 tile on rows 2..4)",
        out.display(),
        array.cycles()
    );
    Ok(())
}
