//! `dacapo profile`: seconds per iteration of every network kernel on every part size of the
//! accelerator, from the timing model (`host::latency`), as a CSV table; or one entry.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context};
use clap::Args;
use host::latency::{cache_key, Entry, Kernel, Profiler, Table};
use host::workloads::Model;
use mx::Format;
use sim::MemoryRate;

#[derive(Args)]
pub struct ProfileArgs {
    /// Accelerator preset whose array and scratchpads are timed.
    #[arg(long, default_value = "dacapo")]
    preset: String,
    /// A config.json (as `dacapo rtl` writes) whose accelerator to time instead of --preset's.
    #[arg(long, conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// Host memory bandwidth in GB/s.
    #[arg(long, default_value_t = 204.8, allow_negative_numbers = true)]
    bandwidth_gbps: f64,
    /// Accelerator clock in MHz (the default is the 28 nm estimate's round figure; see
    /// host::timing::CLOCK_MHZ and reports/asic.md).
    #[arg(long, default_value_t = host::timing::CLOCK_MHZ, allow_negative_numbers = true)]
    clock_mhz: f64,
    /// Where to write the whole table.
    #[arg(long, default_value = "reports/latency.csv")]
    out: PathBuf,
    /// Folder of cached tables, one per configuration, bandwidth, clock and timing model.
    #[arg(long, default_value = "target/dacapo-cache")]
    cache_dir: PathBuf,
    /// One entry instead of the table: the network (torchvision's name)...
    #[arg(long)]
    model: Option<String>,
    /// ...the kernel: infer, label or train...
    #[arg(long)]
    kernel: Option<String>,
    /// ...the MX format: mx9, mx6 or mx4...
    #[arg(long, value_parser = host::named::parse_format)]
    format: Option<Format>,
    /// ...the rows of the part...
    #[arg(long)]
    rows: Option<u32>,
    /// ...and the batch.
    #[arg(long)]
    batch: Option<u64>,
    /// Print the entry as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ProfileArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => crate::rtl_cmd::read_config(path)?,
        None => hdlgen::preset(&args.preset)?,
    };
    let rate = MemoryRate::from_bandwidth(args.bandwidth_gbps, args.clock_mhz, config.port_bits)?;
    let mut profiler = Profiler::new(config, rate);
    let one = [
        ("--model", args.model.is_some()),
        ("--kernel", args.kernel.is_some()),
        ("--format", args.format.is_some()),
        ("--rows", args.rows.is_some()),
        ("--batch", args.batch.is_some()),
    ];
    if one.iter().any(|(_, given)| *given) {
        let missing: Vec<&str> = one.iter().filter(|(_, given)| !given).map(|(name, _)| *name).collect();
        ensure!(
            missing.is_empty(),
            "one entry needs all of --model --kernel --format --rows --batch; missing {}",
            missing.join(" ")
        );
        return entry(&args, &mut profiler);
    }
    ensure!(!args.json, "--json prints one entry: give --model --kernel --format --rows --batch too");
    table(&args, &mut profiler, rate)
}

fn entry(args: &ProfileArgs, profiler: &mut Profiler) -> anyhow::Result<()> {
    let config = profiler.config();
    let model = Model::parse(args.model.as_deref().unwrap_or_default())?;
    let kernel = Kernel::parse(args.kernel.as_deref().unwrap_or_default())?;
    let format = args.format.context("--format is missing")?;
    let (rows, batch) = (args.rows.unwrap_or(0), args.batch.unwrap_or(0));
    ensure!(
        (1..=config.rows).contains(&rows),
        "--rows {rows}: a part of the {} has 1 to {} rows",
        accelerator(args),
        config.rows
    );
    ensure!((1..=1024).contains(&batch), "--batch {batch}: give 1 to 1024");
    let cost = profiler.kernel(model, kernel, format, rows, batch)?;
    let table = Table {
        cols: config.cols,
        clock_mhz: args.clock_mhz,
        entries: vec![Entry { model, kernel, format, rows, batch, cost }],
    };
    let e = &table.entries[0];
    if args.json {
        println!(
            "{{\"model\": \"{}\", \"kernel\": \"{}\", \"format\": \"{format}\", \"rows\": {rows}, \"batch\": {batch}, \
             \"seconds\": {:.9}, \"cycles\": {}, \"utilization\": {:.4}, \"compute_cycles\": {}, \
             \"stall_memory_cycles\": {}, \"macs\": {}}}",
            model.name(),
            kernel.name(),
            table.seconds(e),
            cost.cycles,
            table.utilization(e),
            cost.compute,
            cost.stall_memory,
            cost.macs
        );
    } else {
        println!(
            "{} {} {format}, batch {batch}, on {rows} x {} DPEs: {:.3} ms ({} cycles at {} MHz), utilization {:.3}",
            model.name(),
            kernel.name(),
            config.cols,
            table.seconds(e) * 1e3,
            cost.cycles,
            args.clock_mhz,
            table.utilization(e)
        );
    }
    Ok(())
}

fn table(args: &ProfileArgs, profiler: &mut Profiler, rate: MemoryRate) -> anyhow::Result<()> {
    let config = profiler.config();
    let key = cache_key(config, rate, args.clock_mhz);
    let name = if args.config.is_some() { "config" } else { args.preset.as_str() };
    let cache = args.cache_dir.join(format!("latency-{name}-{key}.csv"));
    let started = Instant::now();
    let cached = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|text| Table::from_csv(&text, config.cols, args.clock_mhz).ok());
    let table = match cached {
        Some(table) => {
            eprintln!("reusing {}", cache.display());
            table
        }
        None => {
            let table = Table::compute(profiler, args.clock_mhz, |done, total| {
                eprintln!(
                    "[{done}/{total}] {} done ({:.1} s)",
                    Model::ALL[done - 1].name(),
                    started.elapsed().as_secs_f64()
                );
            })?;
            write(&cache, &table.to_csv())?;
            table
        }
    };
    write(&args.out, &table.to_csv())?;
    println!(
        "wrote {} entries to {} in {:.2} s ({}, {:.1} GB/s = {:.3} beats a cycle, {} MHz)",
        table.entries.len(),
        args.out.display(),
        started.elapsed().as_secs_f64(),
        accelerator(args),
        args.bandwidth_gbps,
        rate.per_cycle(),
        args.clock_mhz
    );
    let frame = 1.0 / 30.0;
    for model in [Model::ResNet18, Model::ResNet34, Model::VitB32] {
        match table.fewest_rows(model, Kernel::Infer, Format::Mx6, 1, frame) {
            Some(rows) => {
                println!("{}: MX6 inference at 30 fps needs {rows} of {} rows", model.name(), config.rows)
            }
            None => println!(
                "{}: MX6 inference does not reach 30 fps even on all {} rows",
                model.name(),
                config.rows
            ),
        }
    }
    Ok(())
}

/// Writes `text` to `path`, creating its folder; the file appears whole or not at all.
fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    host::npy::write_atomic(path, text.as_bytes())
}

/// What the command times, for its messages: "dacapo preset" or "accelerator of FILE".
fn accelerator(args: &ProfileArgs) -> String {
    match &args.config {
        Some(path) => format!("accelerator of {}", path.display()),
        None => format!("{} preset", args.preset),
    }
}
