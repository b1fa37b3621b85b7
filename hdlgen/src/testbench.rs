//! A vector-driven testbench for any generated module, for simulators other than Verilator
//! (Icarus Verilog): it reads one line of hex per step from `vectors.hex` (the inputs in port
//! order, concatenated, clock excluded), applies it, and writes the outputs (in port order,
//! concatenated) as one hex line per step to `results.hex`. A module with `clk_i` gets one
//! rising edge per step, and its outputs are sampled after the edge.

use std::fmt::Write;

use crate::verilog::{Dir, Module};

pub fn vector_testbench(dut: &Module, steps: usize) -> String {
    let clocked = dut.port("clk_i").is_some();
    let inputs: Vec<_> = dut.ports().iter().filter(|p| p.dir == Dir::Input && p.name != "clk_i").collect();
    let outputs: Vec<_> = dut.ports().iter().filter(|p| p.dir == Dir::Output).collect();
    let in_width: u32 = inputs.iter().map(|p| p.width).sum();
    let join = |ports: &[&crate::verilog::Port]| {
        ports.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
    };
    let mut tb = String::new();
    writeln!(tb, "// Replays vectors.hex on {} and writes results.hex, one line per step.", dut.name())
        .unwrap();
    writeln!(tb, "`timescale 1ns / 1ps\nmodule tb;").unwrap();
    writeln!(tb, "  logic [{}:0] vectors [0:{}];", in_width - 1, steps.max(1) - 1).unwrap();
    for p in dut.ports() {
        writeln!(tb, "  logic [{}:0] {};", p.width - 1, p.name).unwrap();
    }
    let conns: Vec<String> = dut.ports().iter().map(|p| format!(".{0}({0})", p.name)).collect();
    writeln!(tb, "  {} dut ({});", dut.name(), conns.join(", ")).unwrap();
    writeln!(tb, "  integer results, step;").unwrap();
    writeln!(tb, "  initial begin").unwrap();
    writeln!(tb, "    $readmemh(\"vectors.hex\", vectors);").unwrap();
    writeln!(tb, "    results = $fopen(\"results.hex\", \"w\");").unwrap();
    if clocked {
        writeln!(tb, "    clk_i = 1'b0;").unwrap();
    }
    writeln!(tb, "    for (step = 0; step < {steps}; step = step + 1) begin").unwrap();
    writeln!(tb, "      {{{}}} = vectors[step];", join(&inputs)).unwrap();
    if clocked {
        writeln!(tb, "      #1 clk_i = 1'b1;\n      #1 clk_i = 1'b0;").unwrap();
    } else {
        writeln!(tb, "      #1;").unwrap();
    }
    writeln!(tb, "      $fwrite(results, \"%h\\n\", {{{}}});", join(&outputs)).unwrap();
    writeln!(tb, "    end\n    $fclose(results);\n    $finish;\n  end\nendmodule").unwrap();
    tb
}
