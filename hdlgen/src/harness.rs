//! `<module>_timed`: a module between two rows of flip-flops, so that static timing measures
//! register-to-register paths only. Every input (but the clock and reset) is registered before
//! it enters the module and every output after it leaves; a combinational module gets a clock
//! and reset here.

use crate::expr::{lit, Sig};
use crate::verilog::{Dir, Module};
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
    let ports: Vec<Sig> = data
        .iter()
        .map(|p| match p.dir {
            Dir::Input => md.in_port(p.name.clone(), p.width),
            Dir::Output => md.out_port(p.name.clone(), p.width),
        })
        .collect();
    md.blank();
    // Each data port's register; an output's also the wire from the DUT that it registers.
    let stages: Vec<(&Sig, Sig, Option<Sig>)> = data
        .iter()
        .zip(&ports)
        .map(|(p, port)| {
            let reg = md.signal(format!("{}_q", p.name), p.width);
            let inner = (p.dir == Dir::Output).then(|| md.signal(format!("{}_dut", p.name), p.width));
            (port, reg, inner)
        })
        .collect();
    let conns: Vec<(&str, String)> = dut
        .ports()
        .iter()
        .map(|p| {
            let signal = match stages.iter().find(|(port, _, _)| port.name() == p.name) {
                None => &p.name,
                Some((_, _, Some(inner))) => inner.name(),
                Some((_, reg, None)) => reg.name(),
            };
            (p.name.as_str(), signal.to_string())
        })
        .collect();
    md.instance(dut, "u_dut", &conns);
    let reset = stages.iter().map(|(_, reg, _)| md.set(reg, lit(0, reg.width()))).collect();
    let load =
        stages.iter().map(|(port, reg, inner)| md.set(reg, inner.as_ref().unwrap_or(port).e())).collect();
    md.always_ff(reset, load);
    for (port, reg, inner) in &stages {
        if inner.is_some() {
            md.drive(port, reg.e());
        }
    }
    let mut submodules = vec![design.top.clone()];
    submodules.extend(design.submodules.iter().cloned());
    Design { top: md, submodules }
}
