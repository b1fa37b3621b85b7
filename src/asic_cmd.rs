//! `dacapo asic`: the ASIC timing flow. Each design sits in its timing harness (registers on
//! every input and output), Yosys maps it to the OSU 0.18 um standard cells with a delay
//! target (`dfflibmap`, then ABC mapping, buffering and gate sizing against the clock), and
//! OpenSTA reports the critical register-to-register path, the maximum clock, the cell area and
//! the power at the target clock. Scratchpads and result buffers stay black boxes, as RAM
//! macros do in an ASIC flow: a generated Liberty model gives their ports a setup time and a
//! clock-to-output delay, so paths to and from them are timed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use clap::Args;
use hdlgen::Design;

use crate::rtl_cmd::{accel_list, describe, run, total_cells};

/// The OSU 0.18 um standard cells of Debian's `qflow-tech-osu018`.
const OSU018: &str = "/usr/share/qflow/tech/osu018/osu018_stdcells.lib";

/// The RAM macros' assumed timing (ns): a small single-port 0.18 um SRAM's clock-to-output
/// and input setup.
const MACRO_CLK_TO_Q: f64 = 2.0;
const MACRO_SETUP: f64 = 0.4;

/// ABC maps for this fraction of the clock period, the usual over-constraint that leaves
/// static timing some margin for what mapping does not model (flip-flop fanout, setup).
const SYNTHESIS_MARGIN: f64 = 0.85;

/// Switching activity of every data input, in toggles per clock, when none is measured.
const INPUT_ACTIVITY: f64 = 0.1;

#[derive(Args)]
pub struct AsicArgs {
    /// Units to time, comma-separated: fp32_add, mx_convert, dpe, fp32_mul, mac_f32,
    /// mac_f32_pipe, mac_int8, or all.
    #[arg(long, default_value = "all")]
    units: String,
    /// Whole accelerators to time too: preset names, RxC shapes or config.json files,
    /// comma-separated (the small preset takes Yosys minutes; larger ones much longer).
    #[arg(long)]
    accel: Option<String>,
    /// Target clock period in ns: ABC maps for it and power is reported at it.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    clock_ns: f64,
    /// Fail when any critical path is longer than this many ns.
    #[arg(long, allow_negative_numbers = true)]
    max_path_ns: Option<f64>,
    /// The standard-cell Liberty file.
    #[arg(long, default_value = OSU018)]
    liberty: PathBuf,
    /// Keep each design's netlist, Yosys and OpenSTA scripts and full timing report in
    /// DIR/<design>/ (they go to a temporary folder otherwise).
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// The Markdown report to write.
    #[arg(long, default_value = "reports/asic.md")]
    out: PathBuf,
}

/// What static timing found for one design.
struct Timing {
    name: String,
    /// The critical register-to-register path, setup included (ns).
    path_ns: f64,
    start: String,
    end: String,
    area_um2: f64,
    /// None where OpenSTA cannot compute it (2.0.17 crashes on designs with macros).
    power_mw: Option<f64>,
    /// Cells whose power OpenSTA could not compute (left out of `power_mw`).
    unpowered: u64,
    /// Whether the inputs toggled as in a simulated GEMM (else uniformly, `INPUT_ACTIVITY`).
    gemm_activity: bool,
    cells: u64,
    seconds: f64,
}

/// The flow's settings, checked before any tool runs.
struct Flow {
    liberty: PathBuf,
    clock_ns: f64,
    /// Where to keep each design's netlist, scripts and reports, if anywhere.
    keep: Option<PathBuf>,
    /// The area of one `FANOUT_BUFFER` (um2).
    buffer_area: f64,
}

pub fn asic(args: AsicArgs) -> anyhow::Result<bool> {
    ensure!(
        args.clock_ns.is_finite() && (0.5..=1000.0).contains(&args.clock_ns),
        "--clock-ns must be between 0.5 and 1000, got {}",
        args.clock_ns
    );
    if let Some(max) = args.max_path_ns {
        ensure!(max.is_finite() && max > 0.0, "--max-path-ns must be a positive number, got {max}");
    }
    ensure!(
        args.liberty.is_file(),
        "no Liberty file at {}; run scripts/install-deps.sh (Debian package qflow-tech-osu018) or pass --liberty",
        args.liberty.display()
    );
    let units = select_units(&args.units)?;
    let accels = accel_list(args.accel.as_deref())?;
    let folders = check_output_folder(&args.out)?;
    for tool in ["yosys", "sta"] {
        require_tool(tool, "scripts/install-deps.sh")?;
    }

    let buffer_area = cell_area(&args.liberty, FANOUT_BUFFER)?;
    let flow =
        Flow { liberty: args.liberty.clone(), clock_ns: args.clock_ns, keep: args.keep.clone(), buffer_area };
    let mut rows = Vec::new();
    let mut designs: Vec<(String, Design, bool)> =
        units.into_iter().map(|d| (d.top.name().to_string(), d, false)).collect();
    designs.extend(accels.iter().map(|(n, c)| (n.clone(), hdlgen::accel_design(*c), true)));
    let total = designs.len();
    for (i, (name, design, hierarchical)) in designs.iter().enumerate() {
        eprintln!("asic: [{}/{total}] {name}: Yosys and OpenSTA ...", i + 1);
        let timing = flow.time(name, design, *hierarchical).with_context(|| format!("design {name}"))?;
        eprintln!(
            "asic: [{}/{total}] {name}: {:.2} ns ({:.1} MHz), {:.0} um2 ({:.0} s)",
            i + 1,
            timing.path_ns,
            1000.0 / timing.path_ns,
            timing.area_um2,
            timing.seconds
        );
        rows.push(timing);
    }
    host::npy::write_atomic(&args.out, report(&flow, &rows).as_bytes())?;
    folders.keep();
    println!("wrote {}", args.out.display());
    if let Some(max) = args.max_path_ns {
        let slow: Vec<String> = rows
            .iter()
            .filter(|t| t.path_ns > max)
            .map(|t| format!("{} {:.2} ns ({} -> {})", t.name, t.path_ns, t.start, t.end))
            .collect();
        if !slow.is_empty() {
            eprintln!("error: critical path longer than {max} ns: {}", slow.join("; "));
            return Ok(false);
        }
        println!("asic: every critical path is within {max} ns");
    }
    Ok(true)
}

/// Fails with what to run when `tool` is not on the PATH.
pub(crate) fn require_tool(tool: &str, install: &str) -> anyhow::Result<()> {
    ensure!(
        Command::new("which").arg(tool).output().is_ok_and(|o| o.status.success()),
        "{tool} not found; run {install}"
    );
    Ok(())
}

/// Creates the report's folder and checks that a file can be written there, so a bad --out
/// fails before minutes of synthesis. The folders it made go again unless the caller keeps
/// them once the report is written.
pub(crate) fn check_output_folder(out: &std::path::Path) -> anyhow::Result<crate::cleanup::NewFolders> {
    ensure!(!out.is_dir(), "--out {} is a folder; name the report file", out.display());
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let folders = crate::cleanup::NewFolders::create(dir)?;
    tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| anyhow::anyhow!("cannot write into {}: {e}", dir.display()))?;
    Ok(folders)
}

/// The units of a `--units` list, in the order given, or for "all" every unit but the arrays
/// (whose flat synthesis takes many minutes; name one to run it).
pub(crate) fn select_units(list: &str) -> anyhow::Result<Vec<Design>> {
    let known: Vec<Design> = hdlgen::designs().into_iter().chain(hdlgen::baseline_designs()).collect();
    if list == "all" {
        return Ok(known.into_iter().filter(|d| !crate::rtl_cmd::is_array(d)).collect());
    }
    let names: Vec<&str> = known.iter().map(|d| d.top.name()).collect();
    let picked = host::named::parse_list("--units", list, |n| {
        names
            .iter()
            .position(|k| *k == n)
            .ok_or_else(|| anyhow::anyhow!("unknown unit '{n}'; the units are {} (or all)", names.join(", ")))
    })?;
    Ok(picked.into_iter().map(|i| known[i].clone()).collect())
}

/// A design in its timing harness, written one module per `<module>.sv` into a work folder:
/// DIR/<top module>/ when the run keeps its files, a temporary folder otherwise.
pub(crate) struct Harness {
    pub dir: PathBuf,
    pub top: String,
    /// Every distinct module, the harness first.
    pub modules: Vec<hdlgen::Module>,
    /// Holds the temporary folder while the flow runs.
    _scratch: crate::cleanup::Scratch,
}

impl Harness {
    /// The design between registers, written to a scratch folder, or to `<keep>/<top module>/`
    /// (a folder name for any design, however it was named on the command line).
    pub fn write(design: &Design, keep: Option<&std::path::Path>) -> anyhow::Result<Harness> {
        let scratch = crate::cleanup::Scratch::new()?;
        let dir = match keep {
            Some(root) => {
                let dir = root.join(design.top.name());
                fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                dir
            }
            None => scratch.path().to_path_buf(),
        };
        let harness = hdlgen::timing_harness(design);
        let mut seen = std::collections::HashSet::new();
        let modules: Vec<hdlgen::Module> =
            harness.modules().filter(|m| seen.insert(m.name().to_string())).cloned().collect();
        for module in &modules {
            fs::write(dir.join(format!("{}.sv", module.name())), module.to_verilog())?;
        }
        Ok(Harness { dir, top: harness.top.name().to_string(), modules, _scratch: scratch })
    }
}

/// Black-box RAMs: the scratchpad and result-buffer macros.
fn is_macro(module: &str) -> bool {
    module.starts_with("sram_")
}

impl Flow {
    /// Synthesizes `design` in its timing harness and times it.
    fn time(&self, name: &str, design: &Design, hierarchical: bool) -> anyhow::Result<Timing> {
        let start = Instant::now();
        let work = Harness::write(&hdlgen::accel::with_ram_macros(design), self.keep.as_deref())?;
        let (dir, top) = (work.dir.clone(), work.top.clone());
        let (macros, logic): (Vec<_>, Vec<_>) = work.modules.iter().partition(|m| is_macro(m.name()));
        let logic: Vec<String> = logic.iter().map(|m| format!("{}.sv", m.name())).collect();
        let lib = self.liberty.display();
        let delay_ps = (self.clock_ns * 1000.0 * SYNTHESIS_MARGIN).round() as u64;
        // ABC maps for delay against the clock, then buffers high fanouts and sizes gates, as
        // the timing-driven synthesis of any ASIC flow does.
        let abc = format!(
            "+strash;&get,-n;&dch,-f;&nf,-D,{delay_ps};&put;buffer;upsize,-D,{delay_ps};dnsize,-D,{delay_ps}"
        );
        let read_macros = if macros.is_empty() {
            String::new()
        } else {
            let files: Vec<String> = macros.iter().map(|m| format!("{}.sv", m.name())).collect();
            format!("read_verilog -sv -lib {};", files.join(" "))
        };
        let flatten = if hierarchical { "" } else { "-flatten" };
        let script = format!(
            "read_verilog -sv {logic}; {read_macros} hierarchy -check -top {top}; synth {flatten} -top {top}; \
             dfflibmap -liberty {lib}; abc -liberty {lib} -script {abc}; opt_clean -purge; setundef -zero; \
             splitnets -ports -format __; opt_clean -purge; tee -q -o area.txt stat -liberty {lib} -top {top}; \
             write_verilog -noattr -noexpr -nohex -nodec netlist.v",
            logic = logic.join(" "),
        );
        fs::write(dir.join("synth.ys"), script.replace("; ", "\n"))?;
        run(Command::new("yosys").args(["-q", "-s", "synth.ys"]).current_dir(&dir), "yosys")?;
        let stat = fs::read_to_string(dir.join("area.txt"))?;
        let (netlist, buffers) = repair_fanout(&fs::read_to_string(dir.join("netlist.v"))?);
        fs::write(dir.join("netlist.v"), &netlist)?;
        let area_um2 = last_number_after(&stat, "Chip area for").context("yosys printed no chip area")?
            + buffers as f64 * self.buffer_area;
        let cells = total_cells(&stat)? + buffers as u64;

        let mut libs = vec![self.liberty.display().to_string()];
        if !macros.is_empty() {
            fs::write(dir.join("macros.lib"), macro_liberty(&macros))?;
            libs.push("macros.lib".into());
        }
        // The DPE's inputs toggle as in a simulated GEMM; every other design's uniformly.
        let gemm_activity = name == "dpe" && !hierarchical;
        let mut activity = format!("set_power_activity -input -activity {INPUT_ACTIVITY}\n");
        if gemm_activity {
            for bit in crate::activity::dpe_gemm(&dir.join("gemm.vcd"))? {
                writeln!(
                    activity,
                    "set_power_activity -input_ports [get_ports {{{}}}] -activity {:.6} -duty {:.6}",
                    bit.port, bit.activity, bit.duty
                )
                .unwrap();
            }
        }
        let sta = format!(
            "{reads}\nread_verilog netlist.v\nlink_design {top}\n\
             create_clock -name clk -period {period} [get_ports clk_i]\n\
             set data_inputs [delete_from_list [all_inputs] [get_ports {{clk_i rst_ni}}]]\n\
             set_input_delay 0 -clock clk $data_inputs\n\
             set_output_delay 0 -clock clk [all_outputs]\n\
             {activity}\
             report_checks -path_delay max -path_group clk -digits 3\n\
             {power}",
            power = if macros.is_empty() { POWER_TCL } else { "" },
            reads = libs.iter().map(|l| format!("read_liberty {l}")).collect::<Vec<_>>().join("\n"),
            period = self.clock_ns,
        );
        fs::write(dir.join("sta.tcl"), sta)?;
        let report =
            run(Command::new("sta").args(["-no_splash", "-exit", "sta.tcl"]).current_dir(&dir), "sta")?;
        fs::write(dir.join("sta.log"), &report)?;
        if let Some(line) = report.lines().find(|l| l.starts_with("Error")) {
            bail!("OpenSTA: {line}");
        }
        let slack = report
            .lines()
            .find(|l| l.trim_end().ends_with("slack (MET)") || l.trim_end().ends_with("slack (VIOLATED)"))
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
            .context("OpenSTA reported no register-to-register path")?;
        let point = |key: &str| -> anyhow::Result<String> {
            let line =
                report.lines().find_map(|l| l.strip_prefix(key)).context("OpenSTA named no path end")?;
            Ok(line.split_whitespace().next().unwrap_or("?").to_string())
        };
        let names = FlopNames::new(&netlist);
        let (power_w, unpowered) = match report.lines().find_map(|l| l.strip_prefix("Total power ")) {
            Some(power) => {
                let words: Vec<&str> = power.split_whitespace().collect();
                let watts: f64 =
                    words.first().and_then(|w| w.parse().ok()).context("OpenSTA's power is not a number")?;
                (Some(watts), words.last().and_then(|w| w.parse().ok()).unwrap_or(0))
            }
            None => (None, 0),
        };
        Ok(Timing {
            name: name.to_string(),
            path_ns: self.clock_ns - slack,
            start: names.describe(&top, &point("Startpoint: ")?),
            end: names.describe(&top, &point("Endpoint: ")?),
            area_um2,
            power_mw: power_w.map(|w| w * 1000.0),
            unpowered,
            gemm_activity,
            cells,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// The area of `cell` in a Liberty file.
fn cell_area(liberty: &std::path::Path, cell: &str) -> anyhow::Result<f64> {
    let text = fs::read_to_string(liberty).with_context(|| format!("cannot read {}", liberty.display()))?;
    let at = text
        .find(&format!("cell ({cell})"))
        .or_else(|| text.find(&format!("cell({cell})")))
        .with_context(|| format!("{} has no cell {cell}", liberty.display()))?;
    text[at..]
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("area")?
                .trim_start()
                .strip_prefix(':')?
                .trim()
                .trim_end_matches(';')
                .trim()
                .parse()
                .ok()
        })
        .with_context(|| format!("{} gives no area for {cell}", liberty.display()))
}

/// The last number on a line that starts with `key` (after trimming).
fn last_number_after(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.trim_start().starts_with(key))
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .next_back()
}

/// Names a path end by the signal its flip-flop drives: OpenSTA names cells, and the mapped
/// flip-flops' names are Yosys's (`_123_`), so the netlist says which register each one is.
struct FlopNames {
    /// Per module: each cell's type and what its Q pin drives.
    modules: HashMap<String, Cells>,
}

/// A module's cells by instance name: the cell type, and the net on its Q pin if it has one.
type Cells = HashMap<String, (String, Option<String>)>;

impl FlopNames {
    fn new(netlist: &str) -> FlopNames {
        let mut modules = HashMap::new();
        let mut current: Option<(String, Cells)> = None;
        let mut cell: Option<(String, String)> = None;
        for line in netlist.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("module ") {
                let name = rest.split(|c: char| c == '(' || c.is_whitespace()).next().unwrap_or("");
                current = Some((name.to_string(), HashMap::new()));
            } else if line.starts_with("endmodule") {
                if let Some((name, cells)) = current.take() {
                    modules.insert(name, cells);
                }
            } else if let Some((_, cells)) = current.as_mut() {
                if let Some((kind, inst)) = cell_start(line) {
                    // Escaped instance names (`\g_row[0].u_dpe`) appear in paths unescaped.
                    let inst = inst.trim_start_matches('\\');
                    cell = Some((inst.to_string(), kind.to_string()));
                    cells.insert(inst.to_string(), (kind.to_string(), None));
                } else if let (Some(q), Some((inst, _))) = (line.strip_prefix(".Q("), cell.as_ref()) {
                    let net = q.trim_end_matches([')', ',', ' ']).trim_start_matches('\\').trim().to_string();
                    if let Some(entry) = cells.get_mut(inst) {
                        entry.1 = Some(net);
                    }
                } else if line.starts_with(");") {
                    cell = None;
                }
            }
        }
        FlopNames { modules }
    }

    /// `path` (instance names from `top`, `/`-separated) with the last cell's register named.
    fn describe(&self, top: &str, path: &str) -> String {
        let parts: Vec<&str> = path.split('/').collect();
        let mut module = top.to_string();
        let mut named = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let Some((kind, q)) = self.modules.get(&module).and_then(|m| m.get(*part)) else {
                return path.to_string();
            };
            if i + 1 == parts.len() {
                match q {
                    Some(q) => named.push(q.clone()),
                    None => named.push(part.to_string()),
                }
            } else {
                named.push(part.to_string());
                module = kind.clone();
            }
        }
        named.join("/")
    }
}

/// Total power by summing every instance's: OpenSTA 2.0.17's `report_power` stops at the
/// first cell whose internal-power lookup in the OSU tables gives NaN, so those few cells are
/// counted and left out instead.
const POWER_TCL: &str = "set total 0.0\nset unknown 0\n\
    foreach cell [get_cells -hierarchical *] {\n\
      set p [lindex [sta::instance_power $cell [sta::find_corner default]] 3]\n\
      if {[string is double -strict $p] && $p == $p} { set total [expr {$total + $p}] } else { incr unknown }\n\
    }\n\
    puts \"Total power $total W, cells without a figure $unknown\"\n";

/// The buffer cell (input A, output Y) and the most loads a flip-flop output or a buffer
/// drives after `repair_fanout`.
const FANOUT_BUFFER: &str = "BUFX4";
const MAX_FANOUT: usize = 8;

/// Buffers the flip-flop outputs and module inputs that drive more than `MAX_FANOUT` cell
/// inputs, with a tree of `FANOUT_BUFFER`s, as a flow's high-fanout net repair does: ABC sizes
/// and buffers the logic it maps, but sees flip-flop outputs and module inputs as ideal, and
/// the library's flip-flops come in one small drive strength.
fn repair_fanout(netlist: &str) -> (String, usize) {
    let mut out = String::with_capacity(netlist.len());
    let mut buffers = 0;
    let mut module: Vec<&str> = Vec::new();
    for line in netlist.lines() {
        module.push(line);
        if line.trim_start().starts_with("endmodule") {
            let (text, n) = repair_module(&module);
            out += &text;
            buffers += n;
            module.clear();
        }
    }
    for line in module {
        out += line;
        out.push('\n');
    }
    (out, buffers)
}

/// `repair_fanout` for the lines of one module; also returns the buffers it added.
fn repair_module(lines: &[&str]) -> (String, usize) {
    // The nets ABC saw as ideal inputs: `.Q(net)` inside a DFF cell, and the module's input
    // ports (the clock and reset aside) when a parent drives them from across a boundary.
    let mut flop_nets = std::collections::HashSet::new();
    let mut in_flop = false;
    for line in lines.iter().map(|l| l.trim()) {
        if let Some((kind, _)) = cell_start(line) {
            in_flop = kind.starts_with("DFF");
        } else if let Some(q) = line.strip_prefix(".Q(").filter(|_| in_flop) {
            flop_nets.insert(pin_net(q).to_string());
        } else if let ["input", port] = line.split_whitespace().collect::<Vec<_>>()[..] {
            let port = port.trim_end_matches(';');
            if port != "clk_i" && port != "rst_ni" {
                flop_nets.insert(port.to_string());
            }
        }
    }
    // Every cell input on those nets, in netlist order.
    let mut loads: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with('.') && !t.starts_with(".Q(") && !t.starts_with(".Y(") {
            if let Some((_, rest)) = t.split_once('(') {
                let net = pin_net(rest);
                if flop_nets.contains(net) {
                    loads.entry(net.to_string()).or_default().push(i);
                }
            }
        }
    }
    let mut new_net: HashMap<usize, String> = HashMap::new();
    let mut added = String::new();
    let mut count = 0usize;
    let mut nets: Vec<_> = loads.into_iter().filter(|(_, l)| l.len() > MAX_FANOUT).collect();
    nets.sort();
    for (net, sinks) in nets {
        // Build the tree from the loads up: each level groups its sinks under buffers.
        let mut sinks: Vec<Sink> = sinks.into_iter().map(Sink::Pin).collect();
        while sinks.len() > MAX_FANOUT {
            let mut level = Vec::new();
            for group in sinks.chunks(MAX_FANOUT) {
                let name = format!("fanout_{count}");
                count += 1;
                writeln!(added, "  wire {name};").unwrap();
                for sink in group {
                    match sink {
                        Sink::Pin(line) => {
                            new_net.insert(*line, name.clone());
                        }
                        Sink::Buffer(input) => {
                            writeln!(added, "  {FANOUT_BUFFER} {input}_buf (.A({name}), .Y({input}));")
                                .unwrap();
                        }
                    }
                }
                level.push(Sink::Buffer(name));
            }
            sinks = level;
        }
        for sink in sinks {
            match sink {
                Sink::Pin(line) => {
                    new_net.remove(&line);
                }
                Sink::Buffer(input) => {
                    writeln!(added, "  {FANOUT_BUFFER} {input}_buf (.A({}), .Y({input}));", connection(&net))
                        .unwrap();
                }
            }
        }
    }
    let first_cell =
        lines.iter().position(|l| cell_start(l).is_some()).unwrap_or(lines.len().saturating_sub(1));
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == first_cell {
            text += &added;
        }
        match new_net.get(&i) {
            Some(net) => {
                let (pin, rest) = line.split_once('(').expect("a pin connection");
                let tail = if rest.trim_end().ends_with(',') { "," } else { "" };
                writeln!(text, "{pin}({net}){tail}").unwrap();
            }
            None => {
                text += line;
                text.push('\n');
            }
        }
    }
    (text, count)
}

/// The cell type and instance name of a line that opens a cell instance in a Yosys netlist
/// (`DFFSR _123_ (`); a module header is none.
fn cell_start(line: &str) -> Option<(&str, &str)> {
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        [kind, inst, "("] if kind != "module" => Some((kind, inst)),
        _ => None,
    }
}

/// A load of a net being buffered: a cell pin (its netlist line) or a buffer's input net.
enum Sink {
    Pin(usize),
    Buffer(String),
}

/// The net of a pin connection's text after `(`, as written (`\\name` or `name[3]`).
fn pin_net(rest: &str) -> &str {
    let rest = rest.trim_end().trim_end_matches(',').trim_end();
    rest.strip_suffix(')').unwrap_or(rest).trim_end()
}

/// A net as written in a connection: an escaped name ends at a space.
fn connection(net: &str) -> String {
    if net.starts_with('\\') {
        format!("{net} ")
    } else {
        net.to_string()
    }
}

/// A Liberty model of the RAM macros: their ports with capacitance, a setup time on every
/// input and a clock-to-output delay on every output, against `clk_i`.
fn macro_liberty(macros: &[&hdlgen::Module]) -> String {
    let mut lib = String::from(
        "/* RAM macros of the dacapo accelerator as black boxes for static timing: assumed timing\n   \
         of a small single-port 0.18 um SRAM. */\nlibrary (dacapo_macros) {\n  delay_model : table_lookup;\n  \
         time_unit : \"1ns\";\n  voltage_unit : \"1V\";\n  current_unit : \"1mA\";\n  \
         capacitive_load_unit (1, pf);\n  pulling_resistance_unit : \"1kohm\";\n  leakage_power_unit : \"1nW\";\n  \
         input_threshold_pct_rise : 50;\n  input_threshold_pct_fall : 50;\n  output_threshold_pct_rise : 50;\n  \
         output_threshold_pct_fall : 50;\n  slew_lower_threshold_pct_rise : 20;\n  slew_lower_threshold_pct_fall : 20;\n  \
         slew_upper_threshold_pct_rise : 80;\n  slew_upper_threshold_pct_fall : 80;\n",
    );
    let mut widths: Vec<u32> =
        macros.iter().flat_map(|m| m.ports().iter().map(|p| p.width)).filter(|&w| w > 1).collect();
    widths.sort_unstable();
    widths.dedup();
    for w in &widths {
        writeln!(
            lib,
            "  type (bus{w}) {{ base_type : array; data_type : bit; bit_width : {w}; bit_from : {}; bit_to : 0; downto : true; }}",
            w - 1
        )
        .unwrap();
    }
    for m in macros {
        writeln!(lib, "  cell ({}) {{\n    area : 0;", m.name()).unwrap();
        for p in m.ports() {
            let (kind, head) = if p.width > 1 {
                ("bus", format!("bus_type : bus{}; ", p.width))
            } else {
                ("pin", String::new())
            };
            let body = if p.name == "clk_i" {
                "direction : input; capacitance : 0.02; clock : true;".to_string()
            } else if p.dir == hdlgen::verilog::Dir::Input {
                format!(
                    "direction : input; capacitance : 0.01; timing () {{ related_pin : \"clk_i\"; timing_type : setup_rising; \
                     rise_constraint (scalar) {{ values (\"{MACRO_SETUP}\"); }} fall_constraint (scalar) {{ values (\"{MACRO_SETUP}\"); }} }}"
                )
            } else {
                format!(
                    "direction : output; timing () {{ related_pin : \"clk_i\"; timing_type : rising_edge; \
                     cell_rise (scalar) {{ values (\"{MACRO_CLK_TO_Q}\"); }} cell_fall (scalar) {{ values (\"{MACRO_CLK_TO_Q}\"); }} \
                     rise_transition (scalar) {{ values (\"0.2\"); }} fall_transition (scalar) {{ values (\"0.2\"); }} }}"
                )
            };
            writeln!(lib, "    {kind} ({}) {{ {head}{body} }}", p.name).unwrap();
        }
        writeln!(lib, "  }}").unwrap();
    }
    lib + "}\n"
}

fn report(flow: &Flow, rows: &[Timing]) -> String {
    let mut md = format!(
        "# ASIC timing report\n\n\
         Written by `make asic` (`dacapo asic`). Each design sits between input and output\n\
         registers (`hdlgen::timing_harness`), so every path below starts and ends at a flip-flop.\n\
         Yosys 0.23 maps it to the OSU 0.18 um standard cells (`{lib}`): `synth -flatten` (the\n\
         accelerators hierarchically), `dfflibmap`, then ABC with a {clock} ns delay target\n\
         (`&nf -D`, `buffer`, `upsize`, `dnsize`: delay-oriented mapping, fanout buffering and gate\n\
         sizing). OpenSTA times the netlist at a {clock} ns clock, without wire load, and reports\n\
         power from the activity of the inputs, which OpenSTA propagates through the logic. The\n\
         DPE's inputs toggle as in a simulated {format} GEMM: its Verilator model computes 16 outputs\n\
         of K = 512 (each output's blocks, then its drain) with a VCD trace, and each input bit gets\n\
         its toggles per cycle and its time at 1 from that trace (`set_power_activity` per port;\n\
         this OpenSTA reads no VCD or SAIF itself). Every other design's data inputs toggle\n\
         {INPUT_ACTIVITY} times per cycle. Power is the sum of\n\
         the cells' (OpenSTA's own summary stops at the rare cell whose table lookup gives NaN;\n\
         those are counted and left out; it crashes on designs with RAM macros, whose power is\n\
         therefore not computed). RAM macros are black\n\
         boxes with an assumed {MACRO_CLK_TO_Q} ns clock-to-output and {MACRO_SETUP} ns setup; their\n\
         area is not in the cell area.\n\n\
         The critical path is the clock period minus the worst slack: the shortest period at which\n\
         the design closes, setup included. Path ends are named by the register they drive.\n\n\
         | design | what | critical path (ns) | Fmax (MHz) | from | to | cell area (um2) | cells | power at {mhz:.0} MHz (mW) |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        lib = flow.liberty.display(),
        format = crate::activity::FORMAT.to_string().to_uppercase(),
        clock = flow.clock_ns,
        mhz = 1000.0 / flow.clock_ns,
    );
    for t in rows {
        let (what, _) = describe(&t.name);
        let what = if what.is_empty() { "whole accelerator" } else { what };
        writeln!(
            md,
            "| `{}` | {what} | {:.2} | {:.1} | `{}` | `{}` | {:.0} | {} | {} |",
            t.name,
            t.path_ns,
            1000.0 / t.path_ns,
            t.start,
            t.end,
            t.area_um2,
            t.cells,
            match (t.power_mw, t.unpowered) {
                (None, _) => "not computed".to_string(),
                (Some(mw), unpowered) => {
                    let mut notes = Vec::new();
                    if t.gemm_activity {
                        notes.push(format!(
                            "{} GEMM activity",
                            crate::activity::FORMAT.to_string().to_uppercase()
                        ));
                    }
                    if unpowered > 0 {
                        notes.push(format!("{unpowered} cells without a figure"));
                    }
                    if notes.is_empty() {
                        format!("{mw:.2}")
                    } else {
                        format!("{mw:.2} ({})", notes.join("; "))
                    }
                }
            }
        )
        .unwrap();
    }
    let find = |n: &str| rows.iter().find(|t| t.name == n);
    if let (Some(dpe), Some(piped), Some(single)) = (find("dpe"), find("mac_f32_pipe"), find("mac_f32")) {
        writeln!(
            md,
            "\nThe DPE's cell area is {:.2}x that of the f32 multiply-add PE pipelined to the same clock\n\
             (`mac_f32_pipe`, {:.2} ns) and {:.2}x that of the single-cycle one (`mac_f32`, {:.2} ns),\n\
             for 1 / 4 / 16 multiply-accumulates per cycle (MX9 / MX6 / MX4) against their 1.",
            dpe.area_um2 / piped.area_um2,
            piped.path_ns,
            dpe.area_um2 / single.area_um2,
            single.path_ns
        )
        .unwrap();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module whose flip-flop drives `loads` inverters.
    fn fanout_netlist(loads: usize) -> String {
        let mut v =
            String::from("module m(clk_i, d, y);\n  input clk_i;\n  input d;\n  output y;\n  wire q;\n");
        v += "  DFFPOSX1 _1_ (\n    .CLK(clk_i),\n    .D(d),\n    .Q(q)\n  );\n";
        for i in 0..loads {
            v += &format!("  INVX1 _i{i}_ (\n    .A(q),\n    .Y(n{i})\n  );\n");
        }
        v + "endmodule\n"
    }

    fn loads_of(netlist: &str, net: &str) -> usize {
        netlist
            .lines()
            .filter(|l| l.trim() == format!(".A({net})") || l.contains(&format!(".A({net}),")))
            .count()
    }

    #[test]
    fn fanout_repair_buffers_every_load_within_the_limit() {
        let (repaired, buffers) = repair_fanout(&fanout_netlist(20));
        // 20 loads: three buffers under the flip-flop.
        assert_eq!(buffers, 3);
        assert!(loads_of(&repaired, "q") <= MAX_FANOUT, "{repaired}");
        let on_buffers: usize = (0..buffers).map(|b| loads_of(&repaired, &format!("fanout_{b}"))).sum();
        assert_eq!(on_buffers + loads_of(&repaired, "q") - buffers, 20, "every inverter still driven");
        assert_eq!(repaired.matches("wire fanout_").count(), buffers);
        // 100 loads need a second level.
        let (repaired, buffers) = repair_fanout(&fanout_netlist(100));
        assert_eq!(buffers, 13 + 2);
        assert!(loads_of(&repaired, "q") <= MAX_FANOUT);
        // Small fanouts are left alone.
        let small = fanout_netlist(8);
        assert_eq!(repair_fanout(&small), (small.clone(), 0));
    }

    #[test]
    fn path_ends_are_named_by_their_registers_through_the_hierarchy() {
        let netlist = "module top(clk_i);\n  input clk_i;\n  sub \\g_row[0].u_sub  (\n    .clk_i(clk_i)\n  );\nendmodule\n\
                       module sub(clk_i);\n  input clk_i;\n  DFFSR _7_ (\n    .CLK(clk_i),\n    .Q(\\acc_q[3] )\n  );\nendmodule\n";
        let names = FlopNames::new(netlist);
        assert_eq!(names.describe("top", "g_row[0].u_sub/_7_"), "g_row[0].u_sub/acc_q[3]");
        assert_eq!(names.describe("top", "no/such"), "no/such");
    }
}
