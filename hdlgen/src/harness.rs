//! `<module>_timed`: a module between two rows of flip-flops, so that static timing measures
//! register-to-register paths only. Every input (but the clock and reset) is registered before
//! it enters the module and every output after it leaves; a combinational module gets a clock
//! and reset here.

use crate::verilog::{set, Dir, Module};
use crate::Design;

/// The timing harness of `design`'s top, with everything it instantiates.
pub fn timing_harness(design: &Design) -> Design {
    let dut = &design.top;
    let mut md = Module::new(
        format!("{}_timed", dut.name()),
        format!(
            "{} between input and output registers, for static timing: every path it reports\n\
             starts and ends at a flip-flop.",
            dut.name()
        ),
    );
    md.clock_and_reset();
    let data: Vec<_> = dut.ports().iter().filter(|p| p.name != "clk_i" && p.name != "rst_ni").collect();
    for p in &data {
        match p.dir {
            Dir::Input => md.input(p.name.clone(), p.width),
            Dir::Output => md.output(p.name.clone(), p.width),
        };
    }
    let reg = |p: &crate::verilog::Port| format!("{}_q", p.name);
    let inner = |p: &crate::verilog::Port| format!("{}_dut", p.name);
    md.blank();
    for p in &data {
        md.logic(reg(p), p.width);
        if p.dir == Dir::Output {
            md.logic(inner(p), p.width);
        }
    }
    let mut conns: Vec<(&str, String)> = Vec::new();
    for p in dut.ports() {
        let signal = match (p.name.as_str(), p.dir) {
            ("clk_i" | "rst_ni", _) => p.name.clone(),
            (_, Dir::Input) => reg(p),
            (_, Dir::Output) => inner(p),
        };
        conns.push((p.name.as_str(), signal));
    }
    md.instance(dut, "u_dut", &conns);
    md.always_ff(
        data.iter().map(|p| set(reg(p), "'0")).collect(),
        data.iter()
            .map(|p| match p.dir {
                Dir::Input => set(reg(p), p.name.clone()),
                Dir::Output => set(reg(p), inner(p)),
            })
            .collect(),
    );
    for p in data.iter().filter(|p| p.dir == Dir::Output) {
        md.assign(p.name.clone(), reg(p));
    }
    let mut submodules = vec![design.top.clone()];
    submodules.extend(design.submodules.iter().cloned());
    Design { top: md, submodules }
}
