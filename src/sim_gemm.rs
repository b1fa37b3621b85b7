//! `dacapo sim gemm`, `dacapo sim bench` and `dacapo sim wave`: whole GEMMs on the simulated
//! accelerator of a preset.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use clap::{Args, ValueEnum};
use hdlgen::accel::COUNTERS;
use host::npy::{self, Array2};
use host::rtl::{run_gemms, GemmJob};
use mx::rng::Rng;
use mx::{gemm, Axis, Format, MxMatrix, Rounding};
use sim::{Chip, MemoryRate, Part};

#[derive(Clone, Copy, ValueEnum)]
pub enum PartArg {
    Top,
    Bottom,
}

#[derive(Args)]
pub struct GemmArgs {
    /// Accelerator preset: dacapo (16 x 16), small (4 x 4) or fpga (3 x 2, five outputs per DPE).
    #[arg(long, default_value = "small")]
    preset: String,
    /// Rows of the top part (0..=rows); the bottom part has the rest.
    #[arg(long)]
    split: u32,
    /// The part that runs the GEMM.
    #[arg(long, value_enum)]
    part: PartArg,
    /// MX format of both operands: mx9, mx6 or mx4 (quantized nearest-even).
    #[arg(long, value_parser = host::named::parse_format)]
    format: Format,
    /// A, M x K f32 .npy.
    a: std::path::PathBuf,
    /// B, K x N f32 .npy.
    b: std::path::PathBuf,
    /// C = A x B, M x N f32 .npy to write.
    c: std::path::PathBuf,
    /// Host memory bandwidth in GB/s; below what the port moves, the memory stalls it.
    #[arg(long, default_value_t = 204.8, allow_negative_numbers = true)]
    bandwidth_gbps: f64,
    /// Accelerator clock in MHz (for the bandwidth per cycle).
    #[arg(long, default_value_t = host::timing::CLOCK_MHZ, allow_negative_numbers = true)]
    clock_mhz: f64,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Accelerator preset: dacapo (16 x 16), small (4 x 4) or fpga (3 x 2, five outputs per DPE).
    #[arg(long, default_value = "dacapo")]
    preset: String,
    /// The reduction length K.
    #[arg(long, default_value_t = 2048)]
    k: usize,
    /// Output tiles along M and along N: M = tiles x rows, N = tiles x tile columns (columns x outputs per DPE).
    #[arg(long, default_value_t = 8)]
    tiles: usize,
    /// Formats to run, comma-separated.
    #[arg(long, default_value = "mx9,mx6,mx4")]
    formats: String,
}

/// A chip of the preset with the split set.
fn chip_with_split(preset: &str, split: u32) -> anyhow::Result<Chip> {
    let mut chip = Chip::new(preset)?;
    let rows = chip.config().rows;
    ensure!(split <= rows, "--split {split} is past the {rows} rows of preset '{preset}'");
    chip.set_split(split)?;
    Ok(chip)
}

pub fn gemm_cmd(args: GemmArgs) -> anyhow::Result<bool> {
    let a = npy::read_f32(&args.a)?;
    let b = npy::read_f32(&args.b)?;
    ensure!(
        a.cols == b.rows,
        "A is {} x {} but B is {} x {}: A's columns must equal B's rows",
        a.rows,
        a.cols,
        b.rows,
        b.cols
    );
    ensure!(
        a.rows > 0 && a.cols > 0 && b.cols > 0,
        "empty operands ({} x {} times {} x {})",
        a.rows,
        a.cols,
        b.rows,
        b.cols
    );
    npy::checked_size("C", a.rows, b.cols)?;
    let mut chip = chip_with_split(&args.preset, args.split)?;
    chip.set_memory_rate(MemoryRate::from_bandwidth(
        args.bandwidth_gbps,
        args.clock_mhz,
        chip.config().port_bits,
    )?);
    let part = match args.part {
        PartArg::Top => Part::Top,
        PartArg::Bottom => Part::Bottom,
    };
    if chip.part_rows(part) == 0 {
        bail!(
            "the {} part has no rows under --split {}; pick the other part or another split",
            part_name(part),
            args.split
        );
    }
    let qa = MxMatrix::quantize(&a.data, a.rows, a.cols, Axis::Row, args.format, Rounding::NearestEven)?;
    let qb = MxMatrix::quantize(&b.data, b.rows, b.cols, Axis::Col, args.format, Rounding::NearestEven)?;
    let run = run_gemms(&mut chip, &[GemmJob { part, a: &qa, b: &qb }], None)?.remove(0);
    let golden = gemm(&qa, &qb)?;
    let exact = run.c.iter().zip(&golden).all(|(x, y)| x.to_bits() == y.to_bits());
    let c = Array2 { rows: a.rows, cols: b.cols, data: run.c.clone() };
    npy::write_atomic(&args.c, &npy::encode_f32(&c))?;
    println!(
        "{{\"preset\": \"{}\", \"split\": {}, \"part\": \"{}\", \"format\": \"{}\", \"m\": {}, \"n\": {}, \"k\": {}, \
         \"cycles\": {}, \"modeled_cycles\": {}, \"macs\": {}, \"utilization\": {:.4}, \"bit_exact\": {exact}, \"counters\": {}}}",
        args.preset,
        args.split,
        part_name(part),
        args.format,
        a.rows,
        b.cols,
        a.cols,
        run.cycles,
        run.model.cycles,
        run.macs,
        run.utilization(args.format),
        counters_json(&run.counters)
    );
    if !exact {
        eprintln!("the chip's result differs from the golden model");
    }
    Ok(exact)
}

/// The counters as `{"busy": 166, ...}`, in `COUNTERS` order.
fn counters_json(counters: &sim::Counters) -> String {
    let fields: Vec<String> =
        COUNTERS.iter().zip(counters.values()).map(|(name, value)| format!("\"{name}\": {value}")).collect();
    format!("{{{}}}", fields.join(", "))
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Top => "top",
        Part::Bottom => "bottom",
    }
}

fn random(rng: &mut Rng, rows: usize, cols: usize, axis: Axis, format: Format) -> anyhow::Result<MxMatrix> {
    let data: Vec<f32> = (0..rows * cols).map(|_| rng.normal() as f32).collect();
    Ok(MxMatrix::quantize(&data, rows, cols, axis, format, Rounding::NearestEven)?)
}

pub fn bench(args: BenchArgs) -> anyhow::Result<bool> {
    ensure!(args.k > 0 && args.tiles > 0, "--k and --tiles must be positive");
    let formats = host::named::parse_list("--formats", &args.formats, host::named::parse_format)?;
    let config = hdlgen::preset(&args.preset)?;
    let (rows, cols) = (config.rows, config.cols);
    let tiles = |n: u32| args.tiles.saturating_mul(n as usize);
    let (m, n) = (tiles(rows), tiles(config.tile_cols()));
    npy::checked_size("A (--tiles x rows by --k)", m, args.k)?;
    npy::checked_size("B (--k by --tiles x columns)", args.k, n)?;
    let start = Instant::now();
    let mut chip = Chip::new(&args.preset)?;
    let build = start.elapsed().as_secs_f64();
    chip.set_split(rows)?;
    println!(
        "{} ({rows} x {cols}{}, {}-bit port): {m} x {} x {n} GEMM on the whole array (model set up in {build:.2} s)",
        args.preset,
        match config.dpe.interleave {
            1 => String::new(),
            l => format!(", {l} outputs per DPE"),
        },
        chip.config().port_bits,
        args.k
    );
    println!("format  cycles    modeled   utilization  simulated cycles/s");
    let mut rng = Rng::new(1);
    let mut ok = true;
    for format in formats {
        let a = random(&mut rng, m, args.k, Axis::Row, format)?;
        let b = random(&mut rng, args.k, n, Axis::Col, format)?;
        let t = Instant::now();
        let run = run_gemms(&mut chip, &[GemmJob { part: Part::Top, a: &a, b: &b }], None)?.remove(0);
        let seconds = t.elapsed().as_secs_f64();
        let exact = run.c.iter().zip(gemm(&a, &b)?).all(|(x, y)| x.to_bits() == y.to_bits());
        ok &= exact && run.cycles == run.model.cycles;
        println!(
            "{:<6}  {:<8}  {:<8}  {:<11.4}  {:.0}{}",
            format.to_string(),
            run.cycles,
            run.model.cycles,
            run.utilization(format),
            run.cycles as f64 / seconds,
            if exact { "" } else { "  (result differs from the golden model)" }
        );
    }
    Ok(ok)
}

/// A VCD of two GEMMs at once on the small preset: split 2, MX6 on the top part, MX4 on the
/// bottom part.
pub fn wave(out: &Path) -> anyhow::Result<()> {
    ensure!(!out.is_dir(), "--out {} is a folder; name the waveform file", out.display());
    let folders = crate::cleanup::NewFolders::create(out.parent().unwrap_or(Path::new("")))?;
    // Written beside the target and renamed into place, so a failure leaves no partial VCD.
    let tmp = npy::temp_beside(out)?;
    let partial = crate::cleanup::Partial::new(&tmp);
    let cycles = trace_two_gemms(&tmp)
        .and_then(|cycles| std::fs::rename(&tmp, out).map(|()| cycles).map_err(anyhow::Error::from))
        .with_context(|| format!("cannot write {}", out.display()));
    drop(partial);
    let _ = std::fs::remove_file(&tmp);
    let (top, bottom) = cycles?;
    folders.keep();
    println!(
        "wrote {} (small preset, split 2: a 4 x 40 x 6 MX6 GEMM on the top part in {top} cycles, a 3 x 50 x 4 MX4 GEMM on the bottom part in {bottom} cycles, at once)",
        out.display(),
    );
    Ok(())
}

/// Runs the two GEMMs of the waveform, tracing into `path`; their cycles.
fn trace_two_gemms(path: &Path) -> anyhow::Result<(u64, u64)> {
    let mut chip = chip_with_split("small", 2)?;
    let mut rng = Rng::new(1);
    let a1 = random(&mut rng, 4, 40, Axis::Row, Format::Mx6)?;
    let b1 = random(&mut rng, 40, 6, Axis::Col, Format::Mx6)?;
    let a2 = random(&mut rng, 3, 50, Axis::Row, Format::Mx4)?;
    let b2 = random(&mut rng, 50, 4, Axis::Col, Format::Mx4)?;
    chip.trace_to(path)?;
    let jobs = [GemmJob { part: Part::Top, a: &a1, b: &b1 }, GemmJob { part: Part::Bottom, a: &a2, b: &b2 }];
    let runs = run_gemms(&mut chip, &jobs, None)?;
    chip.trace_close()?;
    for (run, job) in runs.iter().zip(&jobs) {
        let golden = gemm(job.a, job.b)?;
        ensure!(
            run.c.iter().zip(&golden).all(|(x, y)| x.to_bits() == y.to_bits()),
            "the simulated GEMM differs from the golden model"
        );
    }
    Ok((runs[0].cycles, runs[1].cycles))
}
