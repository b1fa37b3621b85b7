//! `dacapo mx`: the golden model for regression suites. Inputs and outputs are 2-D float32
//! `.npy` files in C order; outputs are written whole or not at all.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use clap::{Args, Subcommand, ValueEnum};
use host::npy::{self, Array2};
use mx::{gemm, Axis, Format, MxMatrix, Rounding};

#[derive(Subcommand)]
pub enum MxCommand {
    /// Quantize a 2-D array along its last axis; write the dequantized float32 array.
    Quantize {
        #[command(flatten)]
        numerics: Numerics,
        /// Also write the packed blocks as a uint8 .npy of shape (rows, blocks per row x
        /// bytes per block), in SPEC section 2's bit layout.
        #[arg(long, value_name = "FILE")]
        packed: Option<PathBuf>,
        /// Input array (float32, rows x cols).
        input: PathBuf,
        /// Output array (float32, same shape).
        output: PathBuf,
    },
    /// C = A x B with both operands quantized along K, bit-exact to the DPE (SPEC section 3).
    Gemm {
        #[command(flatten)]
        numerics: Numerics,
        /// A (float32, M x K).
        a: PathBuf,
        /// B (float32, K x N).
        b: PathBuf,
        /// C (float32, M x N).
        c: PathBuf,
    },
}

#[derive(Args)]
pub struct Numerics {
    /// MX format: mx9, mx6 or mx4.
    #[arg(long, value_parser = host::named::parse_format)]
    format: Format,
    /// Rounding of the FP32-to-MX conversion.
    #[arg(long, value_enum, default_value_t = RoundingArg::Nearest)]
    rounding: RoundingArg,
    /// Seed of stochastic rounding (default 0). A GEMM rounds A with it and B with seed + 1.
    #[arg(long, value_parser = host::named::parse_seed)]
    seed: Option<u64>,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoundingArg {
    /// Nearest, ties to even.
    Nearest,
    /// Toward zero.
    Truncate,
    /// Up with probability equal to the discarded fraction; reproducible for a given --seed.
    Stochastic,
}

impl Numerics {
    /// The rounding of GEMM operand `operand` (0 for A, 1 for B).
    fn rounding(&self, operand: u64) -> anyhow::Result<Rounding> {
        let rounding = match (self.rounding, self.seed) {
            (RoundingArg::Nearest, None) => Rounding::NearestEven,
            (RoundingArg::Truncate, None) => Rounding::Truncate,
            (RoundingArg::Stochastic, seed) => Rounding::Stochastic { seed: seed.unwrap_or(0) },
            (_, Some(_)) => bail!("--seed only applies to --rounding stochastic"),
        };
        Ok(rounding.for_operand(operand))
    }
}

pub fn run(command: MxCommand) -> anyhow::Result<()> {
    match command {
        MxCommand::Quantize { numerics, packed, input, output } => {
            let rounding = numerics.rounding(0)?;
            check_writable(&output)?;
            if let Some(packed) = &packed {
                check_writable(packed)?;
                ensure!(
                    !same_file(packed, &output),
                    "--packed {} is also the output; name two different files",
                    packed.display()
                );
            }
            let x = npy::read_f32(&input)?;
            let q = MxMatrix::quantize(&x.data, x.rows, x.cols, Axis::Row, numerics.format, rounding)?;
            let dequantized = npy::encode_f32(&Array2 { rows: x.rows, cols: x.cols, data: q.dequantize() });
            let packed_bytes =
                packed.as_ref().map(|_| npy::encode_u8(q.rows(), q.packed_line_bytes(), &q.to_packed()));
            npy::write_atomic(&output, &dequantized)?;
            if let (Some(path), Some(bytes)) = (&packed, &packed_bytes) {
                npy::write_atomic(path, bytes)?;
            }
            Ok(())
        }
        MxCommand::Gemm { numerics, a, b, c } => {
            let (rounding_a, rounding_b) = (numerics.rounding(0)?, numerics.rounding(1)?);
            check_writable(&c)?;
            let a_in = npy::read_f32(&a)?;
            let b_in = npy::read_f32(&b)?;
            if a_in.cols != b_in.rows {
                bail!(
                    "K mismatch: {} is {} x {} and {} is {} x {}; A's columns must equal B's rows",
                    a.display(),
                    a_in.rows,
                    a_in.cols,
                    b.display(),
                    b_in.rows,
                    b_in.cols
                );
            }
            npy::checked_size("C", a_in.rows, b_in.cols)?;
            let qa =
                MxMatrix::quantize(&a_in.data, a_in.rows, a_in.cols, Axis::Row, numerics.format, rounding_a)?;
            let qb =
                MxMatrix::quantize(&b_in.data, b_in.rows, b_in.cols, Axis::Col, numerics.format, rounding_b)?;
            let out = Array2 { rows: a_in.rows, cols: b_in.cols, data: gemm(&qa, &qb)? };
            npy::write_atomic(&c, &npy::encode_f32(&out))
        }
    }
}

/// Whether two paths name one file: the same path once made absolute, or the same file on disk.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let absolute = |p: &Path| std::path::absolute(p).ok();
    if absolute(a).is_some() && absolute(a) == absolute(b) {
        return true;
    }
    match (a.metadata(), b.metadata()) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        _ => false,
    }
}

/// Fails early, before any work, when an output cannot be created where it is asked for.
fn check_writable(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let meta = dir.metadata().with_context(|| {
        format!("cannot write {}: folder {} does not exist", path.display(), dir.display())
    })?;
    if !meta.is_dir() {
        bail!("cannot write {}: {} is not a folder", path.display(), dir.display());
    }
    if path.is_dir() {
        bail!("cannot write {}: it is a folder", path.display());
    }
    Ok(())
}
