//! `dacapo rtl` writes the generated Verilog for FPGA and ASIC flows; `dacapo synth` lints,
//! checks and synthesizes every generated design with Verilator and Yosys and writes the
//! resource table.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use clap::Args;
use hdlgen::dpe::DpeConfig;
use hdlgen::{AccelConfig, Design, GENERATED_HEADER};

#[derive(Args)]
pub struct RtlArgs {
    /// Folder to write into (created if missing): every preset in its own subfolder, or with
    /// --rows and --cols one custom accelerator directly.
    #[arg(long, default_value = "rtl")]
    out: PathBuf,
    /// Datapath units to write instead of accelerators, comma-separated (fp32_add, mx_convert,
    /// dpe, fp32_mul, mac_f32, mac_f32_pipe, mac_int8, or all): each module in its own file,
    /// to test or time one unit on its own.
    #[arg(long, conflicts_with_all = ["rows", "cols", "port_bits", "a_depth", "b_depth", "queue_depth", "config"])]
    units: Option<String>,
    /// A `config.json` (as `dacapo rtl` writes next to the Verilog, edited or not) whose
    /// accelerator to write, directly into --out.
    #[arg(long, conflicts_with_all = ["rows", "cols", "port_bits", "a_depth", "b_depth", "queue_depth"])]
    config: Option<PathBuf>,
    #[command(flatten)]
    shape: ShapeArgs,
}

/// The accelerator a `config.json` describes; a file that is missing, unreadable or invalid
/// is an error that names it and what is wrong.
pub(crate) fn read_config(path: &Path) -> anyhow::Result<AccelConfig> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    hdlgen::ConfigFile::read(&text).with_context(|| path.display().to_string())
}

/// A custom accelerator: rows and columns, with the other parameters defaulting to those of
/// the preset of that shape, else to the `dacapo` preset's (`AccelConfig::for_array`).
#[derive(Args)]
pub struct ShapeArgs {
    /// Array rows (2..=64); with --cols, generates one custom accelerator.
    #[arg(long, requires = "cols")]
    rows: Option<u32>,
    /// Array columns (2..=64).
    #[arg(long)]
    cols: Option<u32>,
    /// Host memory port width in bits (a power of two, at most the widest scratchpad line:
    /// 144 bits a lane, max(rows, cols) lanes).
    #[arg(long)]
    port_bits: Option<u32>,
    /// Words per A bank (a power of two).
    #[arg(long)]
    a_depth: Option<u32>,
    /// Words per B bank (a power of two).
    #[arg(long)]
    b_depth: Option<u32>,
    /// Commands per part queue (a power of two).
    #[arg(long)]
    queue_depth: Option<u32>,
}

impl ShapeArgs {
    /// The custom configuration asked for, if any; an invalid one is an error that says why.
    fn config(&self) -> anyhow::Result<Option<AccelConfig>> {
        let (Some(rows), Some(cols)) = (self.rows, self.cols) else {
            let given = [self.port_bits, self.a_depth, self.b_depth, self.queue_depth];
            ensure!(
                given.iter().all(Option::is_none),
                "--port-bits, --a-depth, --b-depth and --queue-depth shape a custom accelerator; give \
                 --rows and --cols too (without them every preset is written as it is)"
            );
            return Ok(None);
        };
        let array = hdlgen::ArrayConfig::new(rows, cols)?;
        let d = AccelConfig::for_array(array)?;
        AccelConfig::new(
            rows,
            cols,
            self.port_bits.unwrap_or(d.port_bits),
            self.a_depth.unwrap_or(d.a_depth),
            self.b_depth.unwrap_or(d.b_depth),
            self.queue_depth.unwrap_or(d.queue_depth),
        )
        .map(Some)
        .context("invalid accelerator")
    }
}

pub fn rtl(args: RtlArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Some(read_config(path)?),
        None => args.shape.config()?,
    };
    let files = match (&args.units, config) {
        (Some(list), _) => unit_files(list)?,
        (None, Some(config)) => hdlgen::design_files(config, None),
        (None, None) => hdlgen::rtl_files(),
    };
    let staged = crate::cleanup::StagedFolder::new(&args.out, "--out")?;
    for (name, text) in &files {
        let path = staged.path().join(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", args.out.join(name).display()))?;
    }
    let out = staged.target().to_path_buf();
    staged.merge()?;
    // Generated files that the generator no longer makes would go stale: remove them.
    let mut dirs: Vec<PathBuf> =
        files.iter().filter_map(|(n, _)| out.join(n).parent().map(Path::to_path_buf)).collect();
    dirs.push(out.clone());
    dirs.dedup();
    for dir in dirs {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let ours = fs::read_to_string(&path).is_ok_and(|t| t.starts_with(GENERATED_HEADER));
            let made = files.iter().any(|(n, _)| out.join(n) == path);
            if ours && !made {
                fs::remove_file(&path)?;
                println!("removed stale {}", path.display());
            }
        }
    }
    println!("wrote {} files to {}", files.len(), args.out.display());
    Ok(())
}

/// Every module of the units in `list`, one `<module>.sv` each, a module shared by two units
/// written once.
fn unit_files(list: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut files: Vec<(String, String)> = Vec::new();
    for design in crate::asic_cmd::select_units(list)? {
        for module in design.modules() {
            if !files.iter().any(|(name, _)| *name == format!("{}.sv", module.name())) {
                files.push(hdlgen::module_file(module));
            }
        }
    }
    Ok(files)
}

#[derive(Args)]
pub struct SynthArgs {
    /// The Markdown report to write.
    #[arg(long, default_value = "reports/synth.md")]
    out: PathBuf,
    /// Accelerators to synthesize hierarchically: preset names, RxC shapes (other parameters
    /// as the dacapo preset's) or config.json files, comma-separated. The 16 x 16 takes Yosys
    /// minutes.
    #[arg(long, default_value = "small")]
    accel: String,
}

/// The accelerators of an `--accel` list (none when the option is absent), each with the name
/// it was given.
pub(crate) fn accel_list(list: Option<&str>) -> anyhow::Result<Vec<(String, AccelConfig)>> {
    let Some(list) = list else { return Ok(Vec::new()) };
    host::named::parse_list("--accel", list, |name| Ok((name.to_string(), accel_config(name)?)))
}

/// An accelerator named by a preset, an RxC shape (with a DPE as in the module names:
/// `2x2_i5_335`) or a `config.json` file (a name ending in `.json`).
fn accel_config(name: &str) -> anyhow::Result<AccelConfig> {
    if let Ok(config) = hdlgen::preset(name) {
        return Ok(config);
    }
    if name.ends_with(".json") {
        return read_config(Path::new(name));
    }
    let (shape, dpe) = name.split_once('_').map_or((name, None), |(s, d)| (s, Some(d)));
    let shape = shape.split_once('x').and_then(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)));
    let dpe = dpe.map(|d| DpeConfig::parse_name(d).ok_or(d)).transpose();
    let (Some((rows, cols)), Ok(dpe)) = (shape, dpe) else {
        bail!(
            "'{name}' is neither a preset ({}), a shape like 8x16 (2x2_i5_335 with a DPE of five outputs \
             and 3 + 3 + 5 stages) nor a config.json file",
            hdlgen::accel::preset_names()
        );
    };
    let shape = ShapeArgs {
        rows: Some(rows),
        cols: Some(cols),
        port_bits: None,
        a_depth: None,
        b_depth: None,
        queue_depth: None,
    };
    let config = shape.config()?.expect("rows and columns given");
    Ok(match dpe {
        Some((interleave, [slice, scale, add])) => {
            config.with_dpe(DpeConfig::new(interleave, slice, scale, add)?)?
        }
        None => config,
    })
}

/// Resources of a hierarchically synthesized accelerator; RAMs are black boxes (macros).
struct AccelResources {
    cells: u64,
    flops: u64,
    rams: Vec<(String, u64)>,
    ram_bits: u64,
    seconds: f64,
}

/// Resource counts of one design.
#[derive(Default, Clone)]
struct Resources {
    cells: u64,
    flops: u64,
    luts: u64,
    ffs: u64,
    dsps: u64,
    carries: u64,
}

/// What each design is, and multiply-accumulates per cycle (by format for the DPE).
pub(crate) fn describe(name: &str) -> (&'static str, &'static str) {
    match name {
        "dpe" => {
            ("precision-flexible DPE: 16 two-bit multipliers, block sum, fp32_add accumulator", "1 / 4 / 16")
        }
        name if name.starts_with("dpe_i") => (
            "the DPE for FPGA fabric: every stage cut, outputs interleaved through the adder (C-slow)",
            "1 / 4 / 16",
        ),
        "mac_f32" => ("baseline: f32 multiply-add PE", "1"),
        "mac_f32_pipe" => ("baseline: f32 multiply-add PE in three pipeline stages", "1"),
        "mac_int8" => ("baseline: int8 MAC PE, 32-bit accumulator", "1"),
        "fp32_add" => ("IEEE binary32 adder (combinational)", "-"),
        "fp32_mul" => ("IEEE binary32 multiplier (combinational, baseline part)", "-"),
        "mx_convert" => ("16 x f32 to one MX block (combinational)", "-"),
        "dpe_array_4x4" => (
            "4 x 4 partitionable DPE array (`small`); a flat synthesis takes Yosys many minutes",
            "16 x (1 / 4 / 16)",
        ),
        name if name.starts_with("dpe_array_3x2_i") => {
            ("3 x 2 partitionable array of the interleaved DPE (five outputs per DPE)", "6 x (1 / 4 / 16)")
        }
        _ => ("", "-"),
    }
}

pub fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let accel_configs = accel_list(Some(&args.accel))?;
    let folders = crate::asic_cmd::check_output_folder(&args.out)?;
    let designs: Vec<Design> = hdlgen::designs().into_iter().chain(hdlgen::baseline_designs()).collect();
    // One queue for both kinds, the accelerators first: they take longest, and started last
    // one of them would run alone on a core while the other waits.
    enum Job<'a> {
        Accel(&'a (String, AccelConfig)),
        Unit(&'a Design),
    }
    enum Done {
        Accel(anyhow::Result<AccelResources>),
        Unit(anyhow::Result<Option<Resources>>),
    }
    let jobs: Vec<Job> = accel_configs.iter().map(Job::Accel).chain(designs.iter().map(Job::Unit)).collect();
    // Each result at its job's index, so the report keeps the queue's order.
    let done: Mutex<Vec<Option<Done>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    let next = Mutex::new(0usize);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("queue lock");
                    *n += 1;
                    *n - 1
                };
                let Some(job) = jobs.get(i) else { break };
                let start = Instant::now();
                let (name, ok, result) = match job {
                    Job::Accel((name, config)) => {
                        let r = synthesize_accel(*config).with_context(|| format!("accelerator {name}"));
                        (config.top_name(), r.is_ok(), Done::Accel(r))
                    }
                    Job::Unit(design) => {
                        let r = synthesize(design).with_context(|| format!("design {}", design.top.name()));
                        (design.top.name().to_string(), r.is_ok(), Done::Unit(r))
                    }
                };
                let status = if ok { "ok" } else { "FAILED" };
                eprintln!("synth: {name:<12} {status} ({:.1} s)", start.elapsed().as_secs_f64());
                done.lock().expect("results lock")[i] = Some(result);
            });
        }
    });
    let (mut accels, mut table) = (Vec::new(), Vec::new());
    for (job, result) in jobs.iter().zip(done.into_inner().expect("results lock")) {
        match (job, result.expect("every job ran")) {
            (Job::Accel((name, config)), Done::Accel(r)) => accels.push((name.clone(), *config, r?)),
            (Job::Unit(design), Done::Unit(r)) => table.push((design.top.name().to_string(), r?)),
            _ => unreachable!("a job's result is of its kind"),
        }
    }
    let mut text = report(&table);
    text += &accel_report(&accels);
    host::npy::write_atomic(&args.out, text.as_bytes())?;
    folders.keep();
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Lints the design with Verilator, checks it with Yosys (no latches, no undriven or
/// multi-driven nets), and synthesizes it twice: generic cells and Xilinx 7-series.
/// Arrays are linted and checked but not synthesized: a flat synthesis of even the 4 x 4 array
/// takes Yosys many minutes, and per-DPE counts are in the table already.
pub(crate) fn is_array(design: &Design) -> bool {
    design.top.name().starts_with("dpe_array")
}

fn synthesize(design: &Design) -> anyhow::Result<Option<Resources>> {
    let dir = crate::cleanup::Scratch::new()?;
    let mut files = Vec::new();
    for module in design.modules() {
        let path = dir.path().join(format!("{}.sv", module.name()));
        fs::write(&path, module.to_verilog())?;
        files.push(path.to_string_lossy().into_owned());
    }
    let top = design.top.name();
    run(
        Command::new("verilator").args(["--lint-only", "-Wall", "--top-module", top]).args(&files),
        "verilator",
    )?;
    let read = format!("read_verilog -sv {}", files.join(" "));
    let checks = format!("{read}; hierarchy -check -top {top}; proc; check -assert; select -assert-none t:$dlatch t:$sr t:$dlatchsr");
    if is_array(design) {
        run(Command::new("yosys").args(["-q", "-p", &checks]).current_dir(dir.path()), "yosys")?;
        return Ok(None);
    }
    let generic = yosys(
        dir.path(),
        &format!("{checks}; synth -flatten -top {top}; tee -o generic.txt stat"),
        "generic.txt",
    )?;
    let xilinx = yosys(
        dir.path(),
        &format!("{read}; synth_xilinx -flatten -top {top}; tee -o xilinx.txt stat"),
        "xilinx.txt",
    )?;
    let count = |stat: &str, pick: &dyn Fn(&str) -> bool| -> u64 {
        cell_counts(stat, pick).iter().map(|(_, n)| n).sum()
    };
    Ok(Some(Resources {
        cells: total_cells(&generic)?,
        flops: count(&generic, &|c| {
            c.starts_with("$_DFF") || c.starts_with("$_SDFF") || c.starts_with("$_DFFE")
        }),
        luts: count(&xilinx, &|c| c.starts_with("LUT")),
        ffs: count(&xilinx, &|c| c.starts_with("FD")),
        dsps: count(&xilinx, &|c| c.starts_with("DSP")),
        carries: count(&xilinx, &|c| c.starts_with("CARRY")),
    }))
}

/// Lints an accelerator, checks it with Yosys, and synthesizes it without flattening, each
/// distinct module once, its RAMs as black boxes.
fn synthesize_accel(config: AccelConfig) -> anyhow::Result<AccelResources> {
    let start = Instant::now();
    let dir = crate::cleanup::Scratch::new()?;
    let (mut logic, mut rams) = (Vec::new(), Vec::new());
    let design = hdlgen::accel::with_ram_macros(&hdlgen::accel_design(config));
    for module in design.modules() {
        let (name, text) = hdlgen::module_file(module);
        fs::write(dir.path().join(&name), text)?;
        let list = if name.starts_with("sram_") { &mut rams } else { &mut logic };
        list.push(name);
    }
    let top = config.top_name();
    let all: Vec<&String> = logic.iter().chain(&rams).collect();
    run(
        Command::new("verilator")
            .args(["--lint-only", "-Wall", "--top-module", &top])
            .args(&all)
            .current_dir(dir.path()),
        "verilator",
    )?;
    let script = format!(
        "read_verilog -sv {}; read_verilog -sv -lib {}; hierarchy -check -top {top}; proc; check -assert; \
         select -assert-none t:$dlatch t:$sr t:$dlatchsr; synth -top {top}; tee -q -o stat.txt stat -top {top}",
        logic.join(" "),
        rams.join(" ")
    );
    let stat = yosys(dir.path(), &script, "stat.txt")?;
    let total = stat.split("=== design hierarchy ===").nth(1).context("yosys printed no design hierarchy")?;
    let count = |pick: &dyn Fn(&str) -> bool| cell_counts(total, pick);
    let cells = total_cells(total)?;
    let flops = count(&|c| c.starts_with("$_DFF") || c.starts_with("$_SDFF")).iter().map(|(_, n)| n).sum();
    let rams = count(&|c| c.starts_with("sram_"));
    let ram_bits = rams
        .iter()
        .map(|(name, n)| {
            let (w, d) = name.trim_start_matches("sram_w").split_once("_d").unwrap_or(("0", "0"));
            n * w.parse::<u64>().unwrap_or(0) * d.parse::<u64>().unwrap_or(0)
        })
        .sum();
    Ok(AccelResources { cells, flops, rams, ram_bits, seconds: start.elapsed().as_secs_f64() })
}

/// The cell-count rows of a Yosys `stat` whose cell type `pick` accepts. Yosys prints a row
/// as `cell count`, or since 0.5x (YoWASP's) as `count cell`.
pub(crate) fn cell_counts(stat: &str, pick: &dyn Fn(&str) -> bool) -> Vec<(String, u64)> {
    stat.lines()
        .filter_map(|l| {
            let (cell, n) = match l.split_whitespace().collect::<Vec<_>>()[..] {
                [cell, n] if n.parse::<u64>().is_ok() => (cell, n),
                [n, cell] => (cell, n),
                _ => return None,
            };
            let n = n.parse::<u64>().ok()?;
            pick(cell).then(|| (cell.to_string(), n))
        })
        .collect()
}

/// The last `Number of cells:` of a Yosys `stat` (the total, under a hierarchy).
pub(crate) fn total_cells(stat: &str) -> anyhow::Result<u64> {
    stat.lines()
        .filter_map(|l| l.trim().strip_prefix("Number of cells:"))
        .filter_map(|n| n.trim().parse().ok())
        .next_back()
        .context("yosys stat printed no cell count")
}

fn accel_report(accels: &[(String, AccelConfig, AccelResources)]) -> String {
    if accels.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "\n## Accelerators\n\n\
         Each accelerator is linted, Yosys-checked (no latches) and synthesized to generic gates\n\
         without flattening (`synth -top`; every distinct module once, the counts multiplied by\n\
         the instances), its scratchpad and result RAMs as black boxes standing for RAM macros.\n\n\
         | accelerator | top | DPEs | host port | generic cells | flip-flops | RAM macros | RAM KiB | Yosys seconds |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, c, r) in accels {
        let rams: Vec<String> = r.rams.iter().map(|(n, k)| format!("{k} x `{n}`")).collect();
        writeln!(
            md,
            "| {name} | `{}` | {} | {} bits | {} | {} | {} | {:.0} | {:.0} |",
            c.top_name(),
            c.rows * c.cols,
            c.port_bits,
            r.cells,
            r.flops,
            rams.join(", "),
            r.ram_bits as f64 / 8192.0,
            r.seconds
        )
        .unwrap();
    }
    md
}

pub(crate) fn run(command: &mut Command, tool: &str) -> anyhow::Result<String> {
    let output = crate::cleanup::output(command)
        .with_context(|| format!("cannot run {tool}; run scripts/install-deps.sh"))?;
    let text =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        bail!("{tool} failed:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    Ok(text)
}

fn yosys(dir: &Path, script: &str, stat_file: &str) -> anyhow::Result<String> {
    run(Command::new("yosys").args(["-q", "-p", script]).current_dir(dir), "yosys")?;
    Ok(fs::read_to_string(dir.join(stat_file))?)
}

fn report(table: &[(String, Option<Resources>)]) -> String {
    let mut md = String::from(
        "# Synthesis report\n\n\
         Written by `make synth` (`dacapo synth`): every generated design is linted by\n\
         `verilator --lint-only -Wall`, checked by Yosys (`hierarchy -check`, `proc`, `check -assert`,\n\
         no latches), then synthesized with `synth -flatten` (generic gates) and\n\
         `synth_xilinx -flatten` (Xilinx 7-series LUTs, flip-flops, DSP48E1 and CARRY4). Baselines\n\
         are generated by the same emitter and tested against Rust arithmetic like the datapath.\n\n\
         | module | what | MACs / cycle | generic cells | generic flip-flops | LUTs | FFs | DSPs | CARRY4 |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, r) in table {
        let (what, macs) = describe(name);
        let counts = match r {
            Some(r) => {
                format!("{} | {} | {} | {} | {} | {}", r.cells, r.flops, r.luts, r.ffs, r.dsps, r.carries)
            }
            None => "checked, not synthesized | | | | |".to_string(),
        };
        writeln!(md, "| `{name}` | {what} | {macs} | {counts} |").unwrap();
    }
    let get = |n: &str| table.iter().find(|(name, _)| name == n).and_then(|(_, r)| r.clone());
    if let (Some(dpe), Some(f32pe), Some(int8pe)) = (get("dpe"), get("mac_f32"), get("mac_int8")) {
        let ratio = |a: u64, b: u64| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
        writeln!(
            md,
            "\nThe DPE against the baselines: {:.2}x the generic cells and {:.2}x the LUTs of the f32\n\
             multiply-add PE, {:.2}x the generic cells and {:.2}x the LUTs of the int8 MAC PE, for 1\n\
             (MX9), 4 (MX6) or 16 (MX4) multiply-accumulates per cycle against their 1.",
            ratio(dpe.cells, f32pe.cells),
            ratio(dpe.luts, f32pe.luts),
            ratio(dpe.cells, int8pe.cells),
            ratio(dpe.luts, int8pe.luts)
        )
        .unwrap();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::{accel_config, cell_counts, DpeConfig};

    #[test]
    fn cell_counts_read_both_stat_layouts() {
        let old = "     $_AND_       12\n     LUT4        7\n   Number of cells: 19\n";
        let new = "     4186 wires\n     3337   LUT4\n       32   MULT18X18D\n";
        let luts = |stat: &str| cell_counts(stat, &|c| c.starts_with("LUT"));
        assert_eq!(luts(old), [("LUT4".to_string(), 7)]);
        assert_eq!(luts(new), [("LUT4".to_string(), 3337)]);
        assert_eq!(cell_counts(new, &|c| c == "wires"), [("wires".to_string(), 4186)]);
    }

    #[test]
    fn a_shape_may_name_its_dpe() {
        let config = accel_config("2x2_i5_335").unwrap();
        assert_eq!((config.dpe, config.tile_cols()), (DpeConfig::INTERLEAVED, 10));
        assert_eq!(config.top_name(), "accel_2x2_i5_335");
        assert_eq!(accel_config("2x2").unwrap().dpe, DpeConfig::SINGLE);
        assert_eq!(DpeConfig::parse_name("i6_224"), Some((6, [2, 2, 4])));
        for bad in ["5_335", "i5_3355", "i5335", "ix_335", "i5_3a5"] {
            assert_eq!(DpeConfig::parse_name(bad), None, "{bad}");
        }
    }
}
