//! Switching activity from simulation, for the power that `dacapo asic` reports: the DPE runs
//! a GEMM's stream on its Verilator model with a VCD trace, and each input bit's toggles per
//! clock cycle and its fraction of time at 1 come from that trace.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};
use mx::rng::Rng;
use mx::{Axis, Format, MxMatrix, Rounding};

/// The GEMM whose stream one DPE sees: this many outputs, each a dot product of this length.
const OUTPUTS: usize = 16;
const K: usize = 512;
/// The format of the GEMM: MX6, the student's inference format in the runs.
pub const FORMAT: Format = Format::Mx6;

/// What one input bit does over the simulated stream.
#[derive(Clone, Debug, PartialEq)]
pub struct BitActivity {
    /// The VCD signal the bit belongs to: `a_mag_i`.
    pub signal: String,
    /// The bit's port as the flattened netlist names it: `a_mag_i_3_`, or `clear_i`.
    pub port: String,
    /// Toggles per clock cycle.
    pub activity: f64,
    /// Fraction of the time at 1.
    pub duty: f64,
}

/// The activity of every DPE input bit while it computes `OUTPUTS` outputs of a random MX6
/// GEMM (each output's blocks, then its drain, as the array sends them). The trace goes to
/// `vcd`.
pub fn dpe_gemm(vcd: &Path) -> anyhow::Result<Vec<BitActivity>> {
    let mut rng = Rng::new(7);
    let mut random = |rows, cols, axis| {
        let data: Vec<f32> = (0..rows * cols).map(|_| rng.normal() as f32).collect();
        MxMatrix::quantize(&data, rows, cols, axis, FORMAT, Rounding::NearestEven)
    };
    let a = random(1, K, Axis::Row)?;
    let b = random(K, OUTPUTS, Axis::Col)?;
    let mut dpe = sim::Dpe::new();
    dpe.model().trace_to(vcd).with_context(|| format!("cannot write {}", vcd.display()))?;
    let start = dpe.cycles();
    for n in 0..OUTPUTS {
        for k in 0..K / mx::BLOCK {
            dpe.feed(0, &a.line(0)[k], &b.line(n)[k], FORMAT);
        }
        dpe.drain(0);
    }
    dpe.flush();
    let cycles = dpe.cycles() - start;
    dpe.model().trace_close().with_context(|| format!("cannot write {}", vcd.display()))?;
    let text = std::fs::read_to_string(vcd).with_context(|| format!("cannot read {}", vcd.display()))?;
    let dpe_module = hdlgen::dpe::dpe();
    let inputs: Vec<&str> = dpe_module
        .ports()
        .iter()
        .filter(|p| p.dir == hdlgen::verilog::Dir::Input && p.name != "clk_i" && p.name != "rst_ni")
        .map(|p| p.name.as_str())
        .collect();
    Ok(toggles(&text, cycles)?.into_iter().filter(|b| inputs.contains(&b.signal.as_str())).collect())
}

/// Each bit of the top scope's signals in a VCD: toggles per cycle over `cycles` clock cycles,
/// and the fraction of the traced time at 1. The first value of a signal is not a toggle.
pub fn toggles(vcd: &str, cycles: u64) -> anyhow::Result<Vec<BitActivity>> {
    struct Signal {
        name: String,
        width: usize,
        value: Option<Vec<bool>>,
        toggles: Vec<u64>,
        high: Vec<u64>,
        since: u64,
    }
    let mut signals: Vec<Signal> = Vec::new();
    let mut by_code: HashMap<String, usize> = HashMap::new();
    let (mut depth, mut now) = (0usize, 0u64);
    let mut lines = vcd.lines();
    // Declarations: the variables of the outermost scope are the model's ports.
    for line in lines.by_ref() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("$scope") => depth += 1,
            Some("$upscope") => depth = depth.saturating_sub(1),
            Some("$var") if depth == 1 && words.len() >= 5 => {
                let width: usize = words[2].parse().with_context(|| format!("bad VCD width in {line:?}"))?;
                by_code.insert(words[3].to_string(), signals.len());
                signals.push(Signal {
                    name: words[4].to_string(),
                    width,
                    value: None,
                    toggles: vec![0; width],
                    high: vec![0; width],
                    since: 0,
                });
            }
            Some("$enddefinitions") => break,
            _ => {}
        }
    }
    for line in lines {
        let line = line.trim();
        let (bits, code) = if let Some(time) = line.strip_prefix('#') {
            now = time.parse().with_context(|| format!("bad VCD time {line:?}"))?;
            continue;
        } else if let Some(vector) = line.strip_prefix('b') {
            vector.split_once(' ').with_context(|| format!("bad VCD value {line:?}"))?
        } else if line.starts_with(['0', '1', 'x', 'z']) {
            line.split_at(1)
        } else {
            continue; // $dumpvars, $end and the like
        };
        let Some(&index) = by_code.get(code) else { continue };
        let signal = &mut signals[index];
        // Most significant bit first, shorter values zero-extended; x and z count as 0.
        let mut value = vec![false; signal.width];
        for (i, c) in bits.chars().rev().enumerate().take(signal.width) {
            value[i] = c == '1';
        }
        if let Some(old) = &signal.value {
            for i in 0..signal.width {
                signal.toggles[i] += u64::from(old[i] != value[i]);
                signal.high[i] += if old[i] { now - signal.since } else { 0 };
            }
        }
        signal.value = Some(value);
        signal.since = now;
    }
    if cycles == 0 || now == 0 {
        bail!("the VCD covers no time");
    }
    let mut bits = Vec::new();
    for signal in &mut signals {
        let value = signal.value.clone().unwrap_or_default();
        for i in 0..signal.width {
            let high = signal.high[i] + if value.get(i) == Some(&true) { now - signal.since } else { 0 };
            let port = if signal.width == 1 { signal.name.clone() } else { format!("{}_{i}_", signal.name) };
            bits.push(BitActivity {
                signal: signal.name.clone(),
                port,
                activity: signal.toggles[i] as f64 / cycles as f64,
                duty: high as f64 / now as f64,
            });
        }
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggles_and_duty_come_from_the_top_scope() {
        let vcd = "$timescale 1ps $end\n$scope module TOP $end\n$var wire 1 ! clk_i $end\n\
                   $var wire 2 \" d_i [1:0] $end\n$scope module dut $end\n$var wire 2 # q [1:0] $end\n\
                   $upscope $end\n$upscope $end\n$enddefinitions $end\n\
                   #0\n$dumpvars\n0!\nb00 \"\nb00 #\n$end\n#1\n1!\nb11 \"\nb11 #\n#2\n0!\n#3\n1!\nb1 \"\n#4\n0!\n";
        let bits = toggles(vcd, 2).unwrap();
        let get = |p: &str| bits.iter().find(|b| b.port == p).unwrap().clone();
        assert_eq!(bits.len(), 3, "the inner scope's q is not a port");
        // clk_i: 4 toggles over 2 cycles, high from 1 to 2 and from 3 to 4.
        assert_eq!((get("clk_i").activity, get("clk_i").duty), (2.0, 0.5));
        // d_i[0]: 0 -> 1 at 1, stays; d_i[1]: 0 -> 1 at 1, back to 0 at 3.
        assert_eq!((get("d_i_0_").activity, get("d_i_0_").duty), (0.5, 0.75));
        assert_eq!((get("d_i_1_").activity, get("d_i_1_").duty), (1.0, 0.5));
        assert!(toggles("$enddefinitions $end\n", 0).is_err());
    }
}
