//! The MX block formats as the hardware sees them (SPEC section 2), and `mx_convert`: 16 f32
//! values to one packed MX block in any format, nearest-even or truncate. Combinational.

use crate::verilog::{bundle_bits, for_, if_, set, Function, Module, Stmt};

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
    let [mx9, mx6, mx4] = MxFormat::ALL;
    format!(
        "({sel} == 2'd{}) ? {width}'d{} : ({sel} == 2'd{}) ? {width}'d{} : {width}'d{}",
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

/// `mx_scan_f`'s result, most significant first: the pairs' micro-exponents and the shared
/// exponent as log2 + 149 (at least 22, that is -127).
const SCAN_FIELDS: [(&str, u32); 2] = [("micro", BLOCK / 2), ("emax", 9)];
/// Bits of `mx_scan_f`'s result.
pub const SCAN_BITS: u32 = bundle_bits(&SCAN_FIELDS);

/// Generates `mx_convert`, a combinational wrapper of [`mx_scan_function`] and
/// [`mx_pack_function`]. Ports: `data_i` (16 f32, element i in bits 32i upward), `format_i`
/// (an [`MxFormat`] code; the reserved code 3 gives a NaN block), `truncate_i` (1: toward
/// zero, 0: nearest even), `block_o` (the packed block, zero above its size).
pub fn mx_convert() -> Module {
    let (scan, pack) = (mx_scan_function(), mx_pack_function());
    let mut md = Module::new(
        "mx_convert",
        "Converts 16 IEEE-754 binary32 values to one MX block (SPEC section 2): shared exponent from\n\
         the largest magnitude, one micro-exponent per pair, signs and magnitudes rounded to nearest\n\
         even or toward zero and saturated, packed little-endian. Any NaN or infinity gives a NaN\n\
         block (exponent 8'hFF, all else zero). Combinational: the scan for the exponents, then the\n\
         packing, the two steps that the accelerator's store path registers apart.",
    );
    md.input("data_i", 32 * BLOCK)
        .input("format_i", 2)
        .input("truncate_i", 1)
        .output("block_o", max_block_bits());
    md.blank().assign("block_o", pack.call(&["data_i", &scan.call(&["data_i"]), "format_i", "truncate_i"]));
    md.blank().function(scan).function(pack);
    md
}

/// The conversion's first step as a function of `data`: the shared exponent and the
/// micro-exponents (`SCAN_BITS`).
pub fn mx_scan_function() -> Function {
    let n = BLOCK;
    let mut f = Function::new("mx_scan_f", SCAN_BITS);
    f.input("data", 32 * n);
    f.comment(
        "Per element: whether it is nonzero, and log2|x| + 149 (0 for the smallest subnormal, found\n\
         by a priority encoder for subnormals).",
    );
    f.local("nonzero", n).local_doc("log2p", 9 * n, "element i in bits [9i +: 9]").local_doc(
        "sub_lead",
        5,
        "leading one of a subnormal's fraction",
    );
    f.stmts(vec![for_(
        "i",
        n,
        vec![
            set("nonzero[i]", "data[32*i +: 31] != 31'd0"),
            set("sub_lead", "5'd0"),
            for_("b", 23, vec![if_("data[32*i+b]", vec![set("sub_lead", "5'(b)")])]),
            set(
                "log2p[9*i +: 9]",
                "(data[32*i+23 +: 8] == 8'd0) ? 9'(sub_lead) : {1'b0, data[32*i+23 +: 8]} + 9'd22",
            ),
        ],
    )]);

    f.comment(
        "Shared exponent: the largest log2 among nonzero elements, at least -127 (log2p 22), as a\n\
         tree of pairwise maxima (four comparisons deep, not sixteen).",
    );
    let mut level: Vec<String> = (0..n)
        .map(|i| {
            let name = format!("max_0_{i}");
            f.let_(
                &name,
                9,
                format!("(nonzero[{i}] && log2p[{} +: 9] > 9'd22) ? log2p[{} +: 9] : 9'd22", 9 * i, 9 * i),
            );
            name
        })
        .collect();
    let mut depth = 1;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .enumerate()
            .map(|(j, pair)| {
                let name = format!("max_{depth}_{j}");
                f.let_(&name, 9, format!("({0} > {1}) ? {0} : {1}", pair[0], pair[1]));
                name
            })
            .collect();
        depth += 1;
    }
    f.let_("emax", 9, level[0].clone());

    f.comment("u[p] = 1 where neither element of pair p holds the shared exponent.");
    f.local("micro", n / 2);
    f.stmts(vec![for_(
        "p",
        n / 2,
        vec![set(
            "micro[p]",
            "!(nonzero[2*p] && log2p[18*p +: 9] == emax) && !(nonzero[2*p+1] && log2p[18*p+9 +: 9] == emax)",
        )],
    )]);
    f.bundle(&SCAN_FIELDS);
    f
}

/// The conversion's second step as a function of `data`, its `scan` (`mx_scan_function`),
/// `format` and `truncate`: the packed block.
pub fn mx_pack_function() -> Function {
    let n = BLOCK;
    let fmax = max_block_bits();
    let mut f = Function::new("mx_pack_f", fmax);
    f.input("data", 32 * n).unpack("scan", &SCAN_FIELDS).input("format", 2).input("truncate", 1);
    f.comment("Per element: the exponent field, the significand with its hidden bit, sign and class.");
    f.local("nonzero", n)
        .local_doc("exp_field", 8 * n, "element i in bits [8i +: 8]")
        .local_doc("sig", 24 * n, "element i in bits [24i +: 24]")
        .local("nonfinite", n)
        .local("signs", n);
    f.stmts(vec![for_(
        "i",
        n,
        vec![
            set("nonzero[i]", "data[32*i +: 31] != 31'd0"),
            set("exp_field[8*i +: 8]", "data[32*i+23 +: 8]"),
            set("sig[24*i +: 24]", "{data[32*i+23 +: 8] != 8'd0, data[32*i +: 23]}"),
            set("nonfinite[i]", "data[32*i+23 +: 8] == 8'hFF"),
            set("signs[i]", "data[32*i+31]"),
        ],
    )]);

    f.comment(
        "Magnitudes: the significand shifted right by emax - max(exp, 1) - u - m + 2, rounded\n\
         (guard bit and sticky OR) and saturated to 2^m - 1.",
    );
    f.local("mag_bits", 4)
        .local_doc("mags", 8 * n, "element i in bits [8i +: 8]")
        .local("shift", 10)
        .local("kept", 9)
        .local("half", 1)
        .local("sticky", 1)
        .local("rounded", 9)
        .local("max_mag", 9);
    let mag_case = MxFormat::ALL.iter().rev().fold("4'd2".to_string(), |rest, fm| {
        format!("format == 2'd{} ? 4'd{} : {rest}", fm.code, fm.mag_bits)
    });
    f.stmts(vec![
        set("mag_bits", mag_case),
        set("max_mag", "(9'd1 << mag_bits) - 9'd1"),
        for_(
            "i",
            n,
            vec![
                set(
                    "shift",
                    "{1'b0, emax} + 10'd2 - 10'(micro[i/2]) - 10'(mag_bits)\n        - ((exp_field[8*i +: 8] == 8'd0) ? 10'd1 : {2'b0, exp_field[8*i +: 8]})",
                ),
                Stmt::Comment("Shifts past 25 give the same (zero) result as 25; one shifter, always on.".into()),
                set("shift", "(shift > 10'd25) ? 10'd25 : shift"),
                set("kept", "9'({1'b0, sig[24*i +: 24]} >> shift)"),
                set("half", "shift != 10'd0 && (({1'b0, sig[24*i +: 24]} >> (shift - 10'd1)) & 25'd1) != 25'd0"),
                set("sticky", "shift > 10'd1 && ({1'b0, sig[24*i +: 24]} & ((25'd1 << (shift - 10'd1)) - 25'd1)) != 25'd0"),
                set("rounded", "kept + 9'(!truncate && half && (sticky || kept[0]))"),
                set("mags[8*i +: 8]", "(rounded > max_mag) ? max_mag[7:0] : rounded[7:0]"),
            ],
        ),
    ]);

    f.comment("Packing: exponent, micro-exponents, then {sign, magnitude} per element.");
    f.let_("shared_exp", 8, "emax[7:0] - 8'd22");
    for fm in MxFormat::ALL {
        let name = format!("packed_{}", fm.name.to_lowercase());
        let m = fm.mag_bits;
        f.local(name.clone(), fm.block_bits());
        f.stmts(vec![
            set(format!("{name}[15:0]"), "(nonzero == '0) ? {8'd0, 8'd0} : {micro, shared_exp}"),
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
    f.result(format!("(nonfinite != '0) ? {nan}\n    : {chain}"));
    f
}
