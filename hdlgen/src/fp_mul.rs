//! `fp32_mul`: IEEE-754 multiplication, round to nearest even, subnormals in and out. Only the
//! f32 multiply-add baseline PEs use it, for the resource and timing comparisons
//! (`reports/synth.md`, `reports/asic.md`): combinational, or in two pipeline stages.

use crate::fp_add::{bits_for, FloatFormat};
use crate::verilog::{for_, if_, if_else, set, Module};

/// `fp32_mul` for binary32, `fp_mul_e{E}f{F}` for other formats. Ports: `a_i`, `b_i`,
/// `product_o`. Combinational.
pub fn fp_mul(f: FloatFormat) -> Module {
    multiplier(f, false)
}

/// The same multiplication in two pipeline stages (`fp32_mul_2s` for binary32): the operand
/// classes, exponents and the significands' product are registered, then normalized and
/// rounded. `product_o` holds the product of the operands of the cycle before.
pub fn fp_mul_two_stage(f: FloatFormat) -> Module {
    multiplier(f, true)
}

fn multiplier(f: FloatFormat, staged: bool) -> Module {
    let (e, m, w) = (f.exp_bits, f.frac_bits, f.width());
    let sig = m + 1;
    let pw = 2 * sig; // exact product of two significands
    let bias = (1u32 << (e - 1)) - 1;
    let exp_max = f.exp_max();
    let base = if f == FloatFormat::F32 { "fp32_mul".to_string() } else { format!("fp_mul_e{e}f{m}") };
    let name = if staged { format!("{base}_2s") } else { base };
    let ew = e + 3; // signed room for exponent sums and underflow
    let lw = bits_for(u64::from(pw));
    let timing = if staged {
        "\nTwo pipeline stages: the significands' product, then its normalization and rounding."
    } else {
        " Combinational."
    };
    let mut md = Module::new(
        name,
        format!(
            "IEEE-754 multiplication of {w}-bit floats: round to nearest even, subnormals in and out,\n\
             NaN out as {w}'h{:X} (also for infinity times zero), overflow to infinity.{timing}",
            f.canonical_nan()
        ),
    );
    if staged {
        md.clock_and_reset();
    }
    md.input("a_i", w).input("b_i", w).output("product_o", w);
    md.blank().comment("Operand classes, significands with the hidden bit, effective exponents.");
    // What the second half reads: registered in the staged multiplier (`_d` is the first
    // stage's value), the first half's wires otherwise.
    let first = |name: &str| if staged { format!("{name}_d") } else { name.to_string() };
    let mut carried: Vec<(String, u32)> = Vec::new();
    for v in ["a", "b"] {
        md.wire(format!("{v}_exp_field"), e, format!("{v}_i[{}:{m}]", w - 2));
        md.wire(
            first(&format!("{v}_nan")),
            1,
            format!("{v}_exp_field == {e}'h{exp_max:X} && {v}_i[{}:0] != '0", m - 1),
        );
        md.wire(
            first(&format!("{v}_inf")),
            1,
            format!("{v}_exp_field == {e}'h{exp_max:X} && {v}_i[{}:0] == '0", m - 1),
        );
        md.wire(first(&format!("{v}_zero")), 1, format!("{v}_i[{}:0] == '0", w - 2));
        md.wire(format!("{v}_sig"), sig, format!("{{{v}_exp_field != '0, {v}_i[{}:0]}}", m - 1));
        md.wire(
            first(&format!("{v}_exp")),
            ew,
            format!("{v}_exp_field == '0 ? {ew}'d1 : {ew}'({v}_exp_field)"),
        );
        carried
            .extend([("nan", 1), ("inf", 1), ("zero", 1), ("exp", ew)].map(|(n, b)| (format!("{v}_{n}"), b)));
    }
    md.wire(first("sign"), 1, format!("a_i[{}] ^ b_i[{}]", w - 1, w - 1));
    md.wire(first("prod"), pw, format!("{pw}'(a_sig) * {pw}'(b_sig)"));
    carried.extend([("sign".to_string(), 1), ("prod".to_string(), pw)]);
    if staged {
        md.blank().comment("Pipeline register between the product and its rounding.");
        for (name, bits) in &carried {
            md.logic(name.as_str(), *bits);
        }
        md.always_ff(
            carried.iter().map(|(n, _)| set(n.as_str(), "'0")).collect(),
            carried.iter().map(|(n, _)| set(n.as_str(), first(n))).collect(),
        );
    }

    md.blank().comment("Position of the product's leading one.");
    md.logic("lead", lw);
    md.always_comb(vec![
        set("lead", format!("{lw}'d0")),
        for_("i", pw, vec![if_("prod[i]", vec![set("lead", format!("{lw}'(i)"))])]),
    ]);

    md.blank().comment(
        "Biased exponent of the leading one. Normal results shift it to the top; subnormal ones\n\
         align bit 0 to the smallest subnormal: a shift right by bias + frac bits + 1 - exponents\n\
         (left where that is negative).",
    );
    let lead_off = bias + 2 * m; // biased exp = ea + eb + lead - (bias + 2m)
    let sub_off = bias + m + 1; // right shift = (bias + m + 1) - ea - eb
    md.wire("exp_lead", ew, format!("a_exp + b_exp + {ew}'(lead) - {ew}'d{lead_off}"));
    md.wire("normal", 1, format!("!exp_lead[{}] && exp_lead != '0", ew - 1));
    md.wire("right", ew, format!("{ew}'d{sub_off} - a_exp - b_exp"));
    md.wire("norm", pw - 1, format!("{}'(prod << ({lw}'d{} - lead))", pw - 1, pw - 1));
    md.logic("shifted", m + 1).logic("sticky", 1).logic("frac", m).logic("guard", 1).logic("biased", e);
    md.always_comb(vec![if_else(
        "normal",
        vec![
                set("biased", format!("exp_lead[{}:0]", e - 1)),
                set("frac", format!("norm[{}:{}]", pw - 2, pw - 1 - m)),
                set("guard", format!("norm[{}]", pw - 2 - m)),
                set("sticky", format!("norm[{}:0] != '0", pw - 3 - m)),
                set("shifted", "'0"),
            ],
            vec![
                set("biased", "'0"),
                set(
                    "shifted",
                    format!(
                        "{}'(right[{}] ? {{prod, 1'b0}} << (-right) : (right > {ew}'d{pw}) ? '0 : {{prod, 1'b0}} >> right)",
                        m + 1,
                        ew - 1
                    ),
                ),
                set("frac", format!("shifted[{}:1]", m)),
                set("guard", "shifted[0]"),
                set(
                    "sticky",
                    format!(
                        "!right[{}] && right != '0 && ((right > {ew}'d{pw}) ? prod != '0 : (prod & (({pw}'d1 << (right - {ew}'d1)) - {pw}'d1)) != '0)",
                        ew - 1
                    ),
                ),
            ],
    )]);
    md.wire("round_up", 1, "guard & (sticky | frac[0])");
    md.wire("rounded", w - 1, format!("{{biased, frac}} + {}'(round_up)", w - 1));
    md.wire("overflow", 1, format!("normal && exp_lead >= {ew}'d{exp_max}"));
    md.blank();
    md.assign(
        "product_o",
        format!(
            "(a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) ? {w}'h{:X}\n                   : (a_inf || b_inf || overflow) ? {{sign, {e}'h{exp_max:X}, {m}'d0}}\n                   : (a_zero || b_zero) ? {{sign, {}'d0}}\n                   : {{sign, rounded}}",
            f.canonical_nan(),
            w - 1
        ),
    );
    md
}
