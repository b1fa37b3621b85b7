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

/// Concatenates fields, first one most significant, into the hex line the testbench reads.
fn hex_line(fields: &[(u128, u32)]) -> String {
    let bits: Vec<bool> = fields
        .iter()
        .flat_map(|&(value, width)| (0..width).rev().map(move |b| value >> b & 1 == 1))
        .collect();
    let pad = (4 - bits.len() % 4) % 4;
    let padded: Vec<bool> = std::iter::repeat_n(false, pad).chain(bits).collect();
    padded.chunks(4).map(|c| format!("{:x}", c.iter().fold(0, |acc, &b| acc << 1 | u8::from(b)))).collect()
}

#[test]
fn dpe_matches_the_golden_dot_product_on_iverilog() {
    use mx::{dot, Block, Format};
    let mut rng = Rng::new(12);
    // One step per clock edge: rst_ni, format_i, clear_i, load_i, load_data_i, drain_i,
    // drain_tag_i, valid_i, a_exp_i, b_exp_i, a_micro_i, b_micro_i, a_sign_i, a_mag_i, b_sign_i,
    // b_mag_i (the dpe port order).
    let step = |format: Format, clear: bool, valid: bool, a: &Block, b: &Block, s: sim::Slice| {
        hex_line(&[
            (1, 1),
            (u128::from(sim::format_code(format)), 2),
            (u128::from(clear), 1),
            (0, 1),
            (0, 32),
            (0, 1),
            (0, 1),
            (u128::from(valid), 1),
            (u128::from(a.exp), 8),
            (u128::from(b.exp), 8),
            (u128::from(a.micro), 8),
            (u128::from(b.micro), 8),
            (u128::from(s.a_sign), 16),
            (u128::from(s.a_mag), 32),
            (u128::from(s.b_sign), 16),
            (u128::from(s.b_mag), 32),
        ])
    };
    let idle = sim::Slice { a_sign: 0, a_mag: 0, b_sign: 0, b_mag: 0 };
    let (mut vectors, mut checks) = (Vec::new(), Vec::new());
    for n in 0..600 {
        let format = Format::ALL[n % 3];
        let max = u64::from(format.max_mag());
        let exps = [(rng.below(255) as u8, rng.below(255) as u8), (5, 100), (250, 240), (0xFF, 3), (60, 55)];
        let (ea, eb) = exps[n % exps.len()];
        let mut block = |exp: u8| Block {
            exp,
            micro: rng.next_u32() as u8,
            signs: rng.next_u32() as u16,
            mags: std::array::from_fn(|_| rng.below(max + 1) as u8),
        };
        let (a, b) = (block(ea), block(eb));
        vectors.push(step(format, true, false, &a, &b, idle));
        for s in sim::slices(&a, &b, format) {
            vectors.push(step(format, false, true, &a, &b, s));
        }
        // The sum reaches acc_o through the rest of the DPE's pipeline.
        for _ in 1..hdlgen::dpe::LATENCY {
            vectors.push(step(format, false, false, &a, &b, idle));
        }
        checks.push((vectors.len() - 1, dot(&[a], &[b], format, 0.0)));
    }
    let design = hdlgen::dpe_design();
    let results = replay(&design, &vectors);
    for (at, want) in checks {
        // Outputs: acc_o, block_done_o, drain_o, drain_tag_o, as 35 bits in 9 hex digits.
        let out =
            u64::from_str_radix(&results[at], 16).unwrap_or_else(|_| panic!("step {at}: {}", results[at]));
        assert_eq!((out >> 3) as u32, want.to_bits(), "step {at}");
        assert_eq!(out >> 2 & 1, 1, "block_done_o as the sum reaches acc_o, step {at}");
    }
}

#[test]
fn mx_convert_matches_the_golden_encoder_on_iverilog() {
    use mx::{Block, Format, Rounding};
    let mut rng = Rng::new(13);
    let (mut vectors, mut wants) = (Vec::new(), Vec::new());
    for n in 0..3000 {
        let format = Format::ALL[n % 3];
        let truncate = n % 2 == 1;
        let base = rng.below(254) as u32;
        let values: [f32; 16] = std::array::from_fn(|_| {
            let exp = base.saturating_sub(rng.below(30) as u32);
            f32::from_bits((rng.next_u32() & 0x807F_FFFF) | exp << 23)
        });
        let mut fields: Vec<(u128, u32)> =
            values.iter().rev().map(|v| (u128::from(v.to_bits()), 32)).collect();
        fields.push((u128::from(sim::format_code(format)), 2));
        fields.push((u128::from(truncate), 1));
        vectors.push(hex_line(&fields));
        let rounding = if truncate { Rounding::Truncate } else { Rounding::NearestEven };
        let mut packed = vec![0u8; format.block_bytes()];
        Block::encode(&values, format, rounding, 0).pack(format, &mut packed);
        wants.push(packed);
    }
    let design = Design { top: hdlgen::mx_convert(), submodules: Vec::new() };
    for (got, want) in replay(&design, &vectors).iter().zip(&wants) {
        // block_o is 144 bits: 36 hex digits, most significant first.
        let bytes: Vec<u8> =
            (0..18).rev().map(|i| u8::from_str_radix(&got[2 * i..2 * i + 2], 16).unwrap()).collect();
        assert_eq!(&bytes[..want.len()], &want[..]);
    }
}
