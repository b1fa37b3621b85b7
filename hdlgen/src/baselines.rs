//! Baseline processing elements for the resource comparison in `reports/synth.md`, generated
//! the same way as the DPE: an f32 multiply-add PE (one fp32_mul and one fp32_add per cycle)
//! and an int8 MAC PE (8 x 8 bit multiply into a 32-bit accumulator per cycle).

use crate::fp_add::{fp_add, FloatFormat};
use crate::fp_mul::fp_mul;
use crate::verilog::{if_else, set, Module};
use crate::Design;

/// A PE with a 32-bit accumulator: `clear_i` zeroes it, `valid_i` loads `next` (an
/// expression over `acc_q`, `a_i`, `b_i` and whatever `body` declares).
fn accumulating_pe(
    name: &str,
    doc: &str,
    operand_bits: u32,
    body: impl FnOnce(&mut Module),
    next: &str,
) -> Module {
    let mut md = Module::new(name, doc);
    md.clock_and_reset()
        .input("clear_i", 1)
        .input("valid_i", 1)
        .input("a_i", operand_bits)
        .input("b_i", operand_bits)
        .output("acc_o", 32);
    md.blank().logic("acc_q", 32);
    body(&mut md);
    md.always_ff(
        vec![set("acc_q", "'0")],
        vec![if_else(
            "clear_i",
            vec![set("acc_q", "'0")],
            vec![if_else("valid_i", vec![set("acc_q", next)], vec![])],
        )],
    );
    md.assign("acc_o", "acc_q");
    md
}

/// acc += a * b in f32, one multiply-add per cycle.
pub fn mac_f32_design() -> Design {
    let (mul, add) = (fp_mul(FloatFormat::F32), fp_add(FloatFormat::F32));
    let md = accumulating_pe(
        "mac_f32",
        "Baseline PE: f32 multiply-add into an f32 accumulator, one product per cycle (IEEE\n\
         multiply then IEEE add, two roundings).",
        32,
        |md| {
            md.logic("product", 32).logic("sum", 32);
            md.instance(
                &mul,
                "u_mul",
                &[("a_i", "a_i".into()), ("b_i", "b_i".into()), ("product_o", "product".into())],
            );
            md.instance(
                &add,
                "u_add",
                &[("a_i", "acc_q".into()), ("b_i", "product".into()), ("sum_o", "sum".into())],
            );
        },
        "sum",
    );
    Design { top: md, submodules: vec![mul, add] }
}

/// acc += a * b on signed 8-bit integers into 32 bits, one product per cycle.
pub fn mac_int8_design() -> Design {
    let md = accumulating_pe(
        "mac_int8",
        "Baseline PE: signed 8 x 8 bit multiply into a 32-bit accumulator, one product per cycle.",
        8,
        |_| {},
        "acc_q + 32'($signed(a_i) * $signed(b_i))",
    );
    Design { top: md, submodules: Vec::new() }
}
