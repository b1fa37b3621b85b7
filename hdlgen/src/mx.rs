//! The MX block formats as the hardware sees them (SPEC section 2), and `mx_convert`: 16 f32
//! values to one packed MX block in any format, nearest-even or truncate. Combinational.

use crate::verilog::{bundle_bits, for_, set, Function, Module};

/// Elements per block.
pub const BLOCK: u32 = 16;

/// An MX format and the 2-bit code that selects it on `format_i` ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MxFormat {
    pub name: &'static str,
    pub code: u32,
    /// Magnitude bits per element (m).
    pub mag_bits: u32,
}

impl MxFormat {
    pub const MX9: MxFormat = MxFormat { name: "MX9", code: 0, mag_bits: 7 };
    pub const MX6: MxFormat = MxFormat { name: "MX6", code: 1, mag_bits: 4 };
    pub const MX4: MxFormat = MxFormat { name: "MX4", code: 2, mag_bits: 2 };
    pub const ALL: [MxFormat; 3] = [MxFormat::MX9, MxFormat::MX6, MxFormat::MX4];

    /// Bits of a packed block: exponent, micro-exponents, sign and magnitude per element.
    pub fn block_bits(self) -> u32 {
        16 + BLOCK * (self.mag_bits + 1)
    }

    /// Cycles a DPE spends on one block: the 16 two-bit lanes cover (m + 1) / 2 digits of
    /// each operand, so 16 / digits^2 elements per cycle.
    pub fn cycles_per_block(self) -> u32 {
        let digits = self.mag_bits.div_ceil(2);
        BLOCK / (BLOCK / (digits * digits))
    }
}

/// `value(format)` per MX format code of the 2-bit signal `sel`, as a Verilog conditional.
pub(crate) fn by_format(sel: &str, width: u32, value: impl Fn(MxFormat) -> u32) -> String {
    by_format_expr(sel, |f| format!("{width}'d{}", value(f)))
}

/// 32-bit `operand` times the format's `factor` per MX format code of `sel`: multiplications
/// by constants (shifts and additions), where a multiplier by the selected factor would be
/// one multiplier more in the path.
pub(crate) fn by_format_product(sel: &str, operand: &str, factor: impl Fn(MxFormat) -> u32) -> String {
    by_format_expr(sel, |f| times_constant(operand, factor(f), 32))
}

/// `operand` (already `width` bits) times `factor`, as a sum of shifted copies of the operand,
/// one per set bit of the factor: FPGA synthesis maps a multiplication even by a constant to a
/// DSP block, whose 3 ns delay on the ECP5 a few adders beat.
pub(crate) fn times_constant(operand: &str, factor: u32, width: u32) -> String {
    let terms: Vec<String> = (0..32)
        .rev()
        .filter(|bit| factor >> bit & 1 == 1)
        .map(|bit| if bit == 0 { operand.to_string() } else { format!("({operand} << {bit})") })
        .collect();
    match terms.as_slice() {
        [] => format!("{width}'d0"),
        [one] => one.clone(),
        _ => format!("({})", terms.join(" + ")),
    }
}

/// The expression `value(format)` per MX format code of `sel` (the reserved code 3 takes MX4's).
fn by_format_expr(sel: &str, value: impl Fn(MxFormat) -> String) -> String {
    let [mx9, mx6, mx4] = MxFormat::ALL;
    format!(
        "({sel} == 2'd{}) ? {} : ({sel} == 2'd{}) ? {} : {}",
        mx9.code,
        value(mx9),
        mx6.code,
        value(mx6),
        value(mx4)
    )
}

/// The widest packed block (MX9).
pub fn max_block_bits() -> u32 {
    MxFormat::ALL.iter().map(|f| f.block_bits()).max().unwrap_or(0)
}

/// Bits of `mx_scan_f`'s result: the shared exponent field (the largest element's biased
/// exponent).
pub const SCAN_BITS: u32 = 8;

/// Generates `mx_convert`, a combinational chain of the conversion's four steps
/// ([`mx_scan_function`], [`mx_align_function`], [`mx_round_function`],
/// [`mx_pack_function`]). Ports: `data_i` (16 f32, element i in bits 32i upward), `format_i`
/// (an [`MxFormat`] code; the reserved code 3 gives a NaN block), `truncate_i` (1: toward
/// zero, 0: nearest even), `block_o` (the packed block, zero above its size).
pub fn mx_convert() -> Module {
    let steps = ConvertSteps::new();
    let mut md = Module::new(
        "mx_convert",
        "Converts 16 IEEE-754 binary32 values to one MX block (SPEC section 2): shared exponent from\n\
         the largest magnitude, one micro-exponent per pair, signs and magnitudes rounded to nearest\n\
         even or toward zero and saturated, packed little-endian. Any NaN or infinity gives a NaN\n\
         block (exponent 8'hFF, all else zero). Combinational: the scan for the shared exponent,\n\
         the micro-exponents and each element's shift, the shift and rounding, then the saturation\n\
         and packing, the four steps that the accelerator's store path registers apart.",
    );
    md.input("data_i", 32 * BLOCK)
        .input("format_i", 2)
        .input("truncate_i", 1)
        .output("block_o", max_block_bits());
    md.blank().logic_doc("exponents", 8 * BLOCK, "element i's exponent field in bits [8i +: 8]");
    md.generate("i", BLOCK, "g_exp", |g| {
        g.assign("exponents[8*i +: 8]", "data_i[32*i+23 +: 8]");
    });
    md.wire("scanned", SCAN_BITS, steps.scan.call(&["exponents"]));
    md.wire("aligned", ALIGN_BITS, steps.align.call(&["data_i", "scanned", "format_i"]));
    md.wire("rounded", ROUND_BITS, steps.round.call(&["data_i", "aligned", "truncate_i"]));
    md.assign("block_o", steps.pack.call(&["rounded", "scanned", "format_i"]));
    steps.declare(&mut md);
    md
}

/// The conversion's four steps, each a function of the step before (and the f32 values).
pub(crate) struct ConvertSteps {
    pub scan: Function,
    pub align: Function,
    pub round: Function,
    pub pack: Function,
}

impl ConvertSteps {
    pub(crate) fn new() -> ConvertSteps {
        ConvertSteps {
            scan: mx_scan_function(),
            align: mx_align_function(),
            round: mx_round_function(),
            pack: mx_pack_function(),
        }
    }

    /// Declares the four functions in `md`.
    pub(crate) fn declare(self, md: &mut Module) {
        md.blank().function(self.scan).function(self.align).function(self.round).function(self.pack);
    }
}

/// The conversion's first step as a function of `exps`, the elements' exponent fields
/// (element i in bits [8i +: 8]): the shared exponent field.
fn mx_scan_function() -> Function {
    let n = BLOCK;
    let mut f = Function::new("mx_scan_f", SCAN_BITS);
    f.input("exps", 8 * n);
    f.comment(
        "Shared exponent: log2 of the largest magnitude, at least -127. A subnormal's log2 is at\n\
         most -127, so the largest exponent field is that of the largest magnitude (0 when all are\n\
         zero or subnormal): a tree of pairwise maxima, four comparisons deep.",
    );
    let mut level: Vec<String> = (0..n).map(|i| format!("exps[{} +: 8]", 8 * i)).collect();
    let mut depth = 1;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .enumerate()
            .map(|(j, pair)| {
                let name = format!("max_{depth}_{j}");
                f.let_(&name, 8, format!("({0} > {1}) ? {0} : {1}", pair[0], pair[1]));
                name
            })
            .collect();
        depth += 1;
    }
    f.result(level[0].clone());
    f
}

/// `mx_align_f`'s result, most significant first: the pairs' micro-exponents and each
/// element's shift (0 to 25) in 5 bits (element i in bits [5i +: 5]).
const ALIGN_FIELDS: [(&str, u32); 2] = [("micro", BLOCK / 2), ("shifts", 5 * BLOCK)];
/// Bits of `mx_align_f`'s result.
pub const ALIGN_BITS: u32 = bundle_bits(&ALIGN_FIELDS);

/// The conversion's second step as a function of `data`, its `shared_exp` (`mx_scan_function`)
/// and `format`: the micro-exponents and how far each element's significand shifts right to
/// its magnitude.
fn mx_align_function() -> Function {
    let n = BLOCK;
    let mut f = Function::new("mx_align_f", ALIGN_BITS);
    f.input("data", 32 * n).input("shared_exp", SCAN_BITS).input("format", 2);
    f.comment(
        "u[p] = 1 where neither element of pair p has the largest magnitude's log2: its exponent\n\
         field is the shared one and, with field 0, a subnormal whose leading bit is bit 22.",
    );
    f.local("holds", n).local("micro", n / 2);
    f.stmts(vec![
        for_(
            "i",
            n,
            vec![set(
                "holds[i]",
                "data[32*i+23 +: 8] == shared_exp && (shared_exp != 8'd0 || data[32*i+22])",
            )],
        ),
        for_("p", n / 2, vec![set("micro[p]", "!holds[2*p] && !holds[2*p+1]")]),
    ]);
    f.comment(
        "Element i shifts right by (shared_exp - max(exp, 1)) + (24 - m - u): the exponents'\n\
         difference and a small offset side by side, then one addition. Shifts past 25 give the\n\
         same (zero) result as 25, so 5 bits hold them.",
    );
    f.let_("offset", 5, by_format("format", 5, |fm| 24 - fm.mag_bits))
        .local("pair_offset", 5)
        .local("shift", 10)
        .local("shifts", 5 * n);
    f.stmts(vec![for_(
        "i",
        n,
        vec![
            set("pair_offset", "offset - 5'(micro[i/2])"),
            set(
                "shift",
                "({2'b0, shared_exp} - ((data[32*i+23 +: 8] == 8'd0) ? 10'd1 : {2'b0, data[32*i+23 +: 8]}))\n        + 10'(pair_offset)",
            ),
            set("shifts[5*i +: 5]", "(shift > 10'd25) ? 5'd25 : shift[4:0]"),
        ],
    )]);
    f.bundle(&ALIGN_FIELDS);
    f
}

/// `mx_round_function`'s result, most significant first: whether any element is NaN or
/// infinite, whether any is nonzero, the micro-exponents, the signs, the round-up bits and the
/// shifted magnitudes (element i in bits [9i +: 9]).
const ROUND_FIELDS: [(&str, u32); 6] = [
    ("any_nonfinite", 1),
    ("any_nonzero", 1),
    ("micro", BLOCK / 2),
    ("signs", BLOCK),
    ("up", BLOCK),
    ("kept", 9 * BLOCK),
];
/// Bits of `mx_round_function`'s result.
pub const ROUND_BITS: u32 = bundle_bits(&ROUND_FIELDS);

/// The conversion's third step as a function of `data`, its `alignment` (`mx_align_function`)
/// and `truncate`: each significand shifted, with the bit that rounds it up.
fn mx_round_function() -> Function {
    let n = BLOCK;
    let mut f = Function::new("mx_round_f", ROUND_BITS);
    f.input("data", 32 * n).unpack("alignment", &ALIGN_FIELDS).input("truncate", 1);
    f.comment(
        "Per element: the significand with its hidden bit shifted right, the guard bit and the\n\
         sticky OR below it; nearest even rounds up on guard and (sticky or odd).",
    );
    f.local("nonfinite", n)
        .local("nonzero", n)
        .local("signs", n)
        .local("up", n)
        .local_doc("kept", 9 * n, "element i in bits [9i +: 9]")
        .local("sig", 25)
        .local("shift", 5)
        .local("half", 1)
        .local("sticky", 1);
    f.stmts(vec![for_(
        "i",
        n,
        vec![
            set("nonfinite[i]", "data[32*i+23 +: 8] == 8'hFF"),
            set("nonzero[i]", "data[32*i +: 31] != 31'd0"),
            set("signs[i]", "data[32*i+31]"),
            set("sig", "{1'b0, data[32*i+23 +: 8] != 8'd0, data[32*i +: 23]}"),
            set("shift", "shifts[5*i +: 5]"),
            set("kept[9*i +: 9]", "9'(sig >> shift)"),
            set("half", "shift != 5'd0 && ((sig >> (shift - 5'd1)) & 25'd1) != 25'd0"),
            set("sticky", "shift > 5'd1 && (sig & ((25'd1 << (shift - 5'd1)) - 25'd1)) != 25'd0"),
            set("up[i]", "!truncate && half && (sticky || kept[9*i])"),
        ],
    )]);
    f.let_("any_nonfinite", 1, "nonfinite != '0").let_("any_nonzero", 1, "nonzero != '0");
    f.bundle(&ROUND_FIELDS);
    f
}

/// The conversion's last step as a function of its `rounding` (`mx_round_function`),
/// `shared_exp` and `format`: the packed block.
fn mx_pack_function() -> Function {
    let n = BLOCK;
    let fmax = max_block_bits();
    let mut f = Function::new("mx_pack_f", fmax);
    f.unpack("rounding", &ROUND_FIELDS).input("shared_exp", SCAN_BITS).input("format", 2);
    f.comment("Magnitudes: rounded, then saturated to 2^m - 1.");
    f.let_("mag_bits", 4, by_format("format", 4, |fm| fm.mag_bits))
        .let_("max_mag", 9, "(9'd1 << mag_bits) - 9'd1")
        .local_doc("mags", 8 * n, "element i in bits [8i +: 8]")
        .local("rounded_mag", 9);
    f.stmts(vec![for_(
        "i",
        n,
        vec![
            set("rounded_mag", "kept[9*i +: 9] + 9'(up[i])"),
            set("mags[8*i +: 8]", "(rounded_mag > max_mag) ? max_mag[7:0] : rounded_mag[7:0]"),
        ],
    )]);

    f.comment("Packing: exponent, micro-exponents, then {sign, magnitude} per element.");
    for fm in MxFormat::ALL {
        let name = format!("packed_{}", fm.name.to_lowercase());
        let m = fm.mag_bits;
        f.local(name.clone(), fm.block_bits());
        f.stmts(vec![
            set(format!("{name}[15:0]"), "any_nonzero ? {micro, shared_exp} : 16'd0"),
            for_(
                "i",
                n,
                vec![set(
                    format!("{name}[16+{}*i +: {}]", m + 1, m + 1),
                    format!("{{signs[i], mags[8*i +: {m}]}}"),
                )],
            ),
        ]);
    }
    let nan = format!("{fmax}'hFF");
    let mut chain = nan.clone();
    for fm in MxFormat::ALL.iter().rev() {
        let packed = format!("packed_{}", fm.name.to_lowercase());
        let value = if fm.block_bits() == fmax { packed } else { format!("{fmax}'({packed})") };
        chain = format!("format == 2'd{} ? {value}\n    : {chain}", fm.code);
    }
    f.result(format!("any_nonfinite ? {nan}\n    : {chain}"));
    f
}
