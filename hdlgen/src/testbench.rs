//! A vector-driven testbench for any generated module, for simulators other than Verilator
//! (Icarus Verilog): it reads one line of hex per step from `vectors.hex` (the inputs in port
//! order, concatenated, clock excluded), applies it, and writes the outputs (in port order,
//! concatenated) as one hex line per step to `results.hex`. A module with `clk_i` gets one
//! rising edge per step, and its outputs are sampled after the edge.

use crate::expr::{concat, lit, Sig};
use crate::verilog::{for_, set, Dir, Module, Stmt};

pub fn vector_testbench(dut: &Module, steps: usize) -> String {
    let mut tb = Module::new(
        "tb",
        format!("Replays vectors.hex on {} and writes results.hex, one line per step.", dut.name()),
    );
    let signals: Vec<(Sig, Dir)> =
        dut.ports().iter().map(|p| (tb.signal(p.name.clone(), p.width), p.dir)).collect();
    let clock = signals.iter().map(|(s, _)| s).find(|s| s.name() == "clk_i").cloned();
    let inputs: Vec<&Sig> =
        signals.iter().filter(|(s, dir)| *dir == Dir::Input && s.name() != "clk_i").map(|(s, _)| s).collect();
    let outputs: Vec<&Sig> = signals.iter().filter(|(_, dir)| *dir == Dir::Output).map(|(s, _)| s).collect();
    let vector = tb.signal("vector", inputs.iter().map(|s| s.width()).sum());
    tb.memory("vectors", vector.width(), steps.max(1) as u32);
    let results = tb.signal("results", 32);
    let conns: Vec<(&str, String)> = signals.iter().map(|(s, _)| (s.name(), s.name().to_string())).collect();
    tb.instance(dut, "dut", &conns);

    // Each input from its bits of the step's vector, the first port the most significant.
    let mut lsb = vector.width();
    let mut step = vec![set(vector.name(), "vectors[step]")];
    for input in &inputs {
        lsb -= input.width();
        step.push(tb.set(input, vector.slice(lsb, input.width())));
    }
    match &clock {
        Some(clk) => step.extend([
            Stmt::Task("#1".into()),
            tb.set(clk, lit(1, 1)),
            Stmt::Task("#1".into()),
            tb.set(clk, lit(0, 1)),
        ]),
        None => step.push(Stmt::Task("#1".into())),
    }
    let sampled = concat(outputs.iter().map(|s| s.e()));
    step.push(Stmt::Task(format!("$fwrite({}, \"%h\\n\", {sampled})", results.name())));

    let mut body = vec![
        Stmt::Task("$readmemh(\"vectors.hex\", vectors)".into()),
        set(results.name(), "$fopen(\"results.hex\", \"w\")"),
    ];
    body.extend(clock.iter().map(|clk| tb.set(clk, lit(0, 1))));
    body.push(for_("step", steps as u32, step));
    body.extend([Stmt::Task(format!("$fclose({})", results.name())), Stmt::Task("$finish".into())]);
    tb.initial(body);
    format!("`timescale 1ns / 1ps\n{}", tb.to_verilog())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_come_from_the_vector_and_outputs_go_to_the_results() {
        let mut dut = Module::new("adder", "A registered adder.");
        dut.clock_and_reset().input("a_i", 8).input("b_i", 4).output("sum_o", 9);
        let tb = vector_testbench(&dut, 5);
        for line in [
            "`timescale 1ns / 1ps",
            "module tb;",
            "logic [12:0] vector;",
            "logic [12:0] vectors [5];",
            "for (int step = 0; step < 5; step++) begin",
            "rst_ni = vector[12];",
            "a_i = vector[11:4];",
            "b_i = vector[3:0];",
            "#1;",
            "clk_i = 1'b1;",
            "$fwrite(results, \"%h\\n\", {sum_o});",
            "$finish;",
        ] {
            assert!(tb.lines().any(|l| l.trim() == line), "no '{line}' in\n{tb}");
        }
    }
}
