//! The generated Verilog on a second simulator: Icarus Verilog replays vectors through a
//! generated testbench, and the results must equal the golden model bit for bit. This proves
//! the Verilog is standard, not tied to Verilator.

use std::fs;
use std::process::Command;

use hdlgen::testbench::vector_testbench;
use hdlgen::{Design, FloatFormat};
use mx::f32_add;
use mx::rng::Rng;

/// Runs `vectors` (hex lines of concatenated inputs) through `design` on iverilog and returns
/// the hex lines of concatenated outputs.
fn replay(design: &Design, vectors: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut sources = vec![dir.path().join("tb.sv")];
    fs::write(&sources[0], vector_testbench(&design.top, vectors.len())).unwrap();
    for module in design.modules() {
        let path = dir.path().join(format!("{}.sv", module.name()));
        fs::write(&path, module.to_verilog()).unwrap();
        sources.push(path);
    }
    fs::write(dir.path().join("vectors.hex"), vectors.join("\n") + "\n").unwrap();
    let compiled = Command::new("iverilog")
        .args(["-g2012", "-o", "sim.vvp"])
        .args(&sources)
        .current_dir(dir.path())
        .output()
        .expect("iverilog runs (scripts/install-deps.sh installs it)");
    assert!(compiled.status.success(), "iverilog: {}", String::from_utf8_lossy(&compiled.stderr));
    let ran = Command::new("vvp").args(["-n", "sim.vvp"]).current_dir(dir.path()).output().expect("vvp runs");
    assert!(ran.status.success(), "vvp: {}", String::from_utf8_lossy(&ran.stderr));
    let results = fs::read_to_string(dir.path().join("results.hex")).unwrap();
    let lines: Vec<String> = results.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), vectors.len(), "one result per vector");
    lines
}

#[test]
fn fp32_add_matches_ieee_on_iverilog() {
    let mut rng = Rng::new(11);
    let specials =
        [0u32, 1, 0x7F_FFFF, 0x80_0000, 0x3F80_0000, 0x7F7F_FFFF, 0x7F80_0000, 0x7FC0_0000, 0x7F80_0001];
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for &a in &specials {
        for &b in &specials {
            for signs in 0..4u32 {
                pairs.push((a | (signs & 1) << 31, b | (signs >> 1) << 31));
            }
        }
    }
    for _ in 0..20_000 {
        let a = rng.next_u32();
        let shift = rng.below(32) as u32;
        let b = match rng.below(3) {
            0 => rng.next_u32(),
            1 => {
                (a & 0x8000_0000) ^ 0x8000_0000
                    | (a & 0x7FFF_FFFF).saturating_sub(shift << 23) ^ (rng.next_u32() & 0xFF)
            }
            _ => a ^ 0x8000_0000,
        };
        pairs.push((a, b));
    }
    let design = Design { top: hdlgen::fp_add(FloatFormat::F32), submodules: Vec::new() };
    let vectors: Vec<String> = pairs.iter().map(|(a, b)| format!("{a:08x}{b:08x}")).collect();
    let results = replay(&design, &vectors);
    for ((a, b), got) in pairs.iter().zip(&results) {
        let want = f32_add(f32::from_bits(*a), f32::from_bits(*b)).to_bits();
        assert_eq!(u32::from_str_radix(got, 16).unwrap(), want, "{a:08x} + {b:08x}");
    }
}
