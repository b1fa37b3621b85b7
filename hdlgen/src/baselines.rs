//! Baseline processing elements for the resource and timing comparisons (`reports/synth.md`,
//! `reports/asic.md`), generated the same way as the DPE: an f32 multiply-add PE (one fp32_mul
//! and one fp32_add per cycle), the same PE pipelined to the DPE's clock, and an int8 MAC PE
//! (8 x 8 bit multiply into a 32-bit accumulator per cycle).

use crate::fp_add::{fp_add, FloatFormat};
use crate::fp_mul::{fp_mul, fp_mul_two_stage};
use crate::verilog::{if_else, set, Module};
use crate::Design;

/// A PE with a 32-bit accumulator: `clear` zeroes it, `valid` loads `next` (expressions over
/// `acc_q`, `a_i`, `b_i`, `clear_i`, `valid_i` and whatever `body` declares).
fn accumulating_pe(
    name: &str,
    doc: &str,
    operand_bits: u32,
    body: impl FnOnce(&mut Module),
    (clear, valid, next): (&str, &str, &str),
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
            clear,
            vec![set("acc_q", "'0")],
            vec![if_else(valid, vec![set("acc_q", next)], vec![])],
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
        ("clear_i", "valid_i", "sum"),
    );
    Design { top: md, submodules: vec![mul, add] }
}

/// Cycles from an operand pair at the pipelined f32 PE's inputs to its product in the
/// accumulator: the multiplier's two stages, then the addition.
pub const MAC_F32_PIPELINED_LATENCY: u32 = 3;

/// acc += a * b in f32, one multiply-add per cycle, pipelined to the DPE's clock: the
/// multiplier in two stages and a registered product, so the accumulation loop holds only
/// the addition (as the DPE's does). Clear and valid travel with their operands.
pub fn mac_f32_pipelined_design() -> Design {
    let (mul, add) = (fp_mul_two_stage(FloatFormat::F32), fp_add(FloatFormat::F32));
    let md = accumulating_pe(
        "mac_f32_pipe",
        "Baseline PE: f32 multiply-add into an f32 accumulator, one product per cycle, in three\n\
         pipeline stages (multiplier: product, rounding; then the addition). A clear or a product\n\
         reaches the accumulator three cycles after it enters.",
        32,
        |md| {
            md.logic("product", 32).logic("sum", 32);
            md.instance(
                &mul,
                "u_mul",
                &[
                    ("clk_i", "clk_i".into()),
                    ("rst_ni", "rst_ni".into()),
                    ("a_i", "a_i".into()),
                    ("b_i", "b_i".into()),
                    ("product_o", "product".into()),
                ],
            );
            md.blank().comment("The product registered, with clear and valid following their operands.");
            md.logic("product_q", 32).logic("clear_q", 2).logic("valid_q", 2);
            md.always_ff(
                vec![set("product_q", "'0"), set("clear_q", "'0"), set("valid_q", "'0")],
                vec![
                    set("product_q", "product"),
                    set("clear_q", "{clear_q[0], clear_i}"),
                    set("valid_q", "{valid_q[0], valid_i}"),
                ],
            );
            md.instance(
                &add,
                "u_add",
                &[("a_i", "acc_q".into()), ("b_i", "product_q".into()), ("sum_o", "sum".into())],
            );
        },
        ("clear_q[1]", "valid_q[1]", "sum"),
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
        ("clear_i", "valid_i", "acc_q + 32'($signed(a_i) * $signed(b_i))"),
    );
    Design { top: md, submodules: Vec::new() }
}
