//! `fp32_add`: IEEE-754 addition, round to nearest even, subnormals in and out, IEEE signed
//! zeros, every NaN out as the canonical quiet NaN, overflow to infinity. Combinational, and
//! cut into four steps that a pipeline may register between.

use crate::verilog::{if_, set, Function, Module};

/// An IEEE-754 binary interchange format: sign, `exp_bits` of biased exponent, `frac_bits` of
/// fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FloatFormat {
    pub exp_bits: u32,
    pub frac_bits: u32,
}

impl FloatFormat {
    pub const F32: FloatFormat = FloatFormat { exp_bits: 8, frac_bits: 23 };

    pub fn width(self) -> u32 {
        1 + self.exp_bits + self.frac_bits
    }

    /// The all-ones exponent field of infinities and NaNs.
    pub fn exp_max(self) -> u64 {
        (1 << self.exp_bits) - 1
    }

    /// The quiet NaN every operation returns: positive, top fraction bit set.
    pub fn canonical_nan(self) -> u64 {
        (self.exp_max() << self.frac_bits) | (1 << (self.frac_bits - 1))
    }

    /// `fp32_add` for binary32, `fp_add_e{E}f{F}` for other formats.
    pub fn add_module_name(self) -> String {
        if self == FloatFormat::F32 {
            "fp32_add".into()
        } else {
            format!("fp_add_e{}f{}", self.exp_bits, self.frac_bits)
        }
    }
}

/// Generates the adder module: `sum_o = a_i + b_i`, through [`FpAddSteps`].
pub fn fp_add(f: FloatFormat) -> Module {
    let w = f.width();
    let add = FpAddSteps::new(f);
    let mut md = Module::new(
        f.add_module_name(),
        format!(
            "IEEE-754 addition of {w}-bit floats ({}-bit exponent, {}-bit fraction): round to nearest\n\
             even, subnormals in and out, IEEE signed zeros, NaN out as {w}'h{:X}, overflow to\n\
             infinity. Combinational.",
            f.exp_bits,
            f.frac_bits,
            f.canonical_nan()
        ),
    );
    md.input("a_i", w).input("b_i", w).output("sum_o", w);
    md.blank().assign("sum_o", add.call("a_i", "b_i"));
    md.blank();
    for step in add.functions() {
        md.function(step);
    }
    md
}

/// The adder as four functions, so that a pipeline can put registers between them and a
/// module can add inside a clocked branch: `align` orders and classifies the operands and
/// aligns the smaller one, `sum` adds or subtracts the significands, `normalize` shifts the
/// result into place, `round` rounds and packs. `round(normalize(sum(align(a, b))))` is the
/// whole addition.
pub struct FpAddSteps {
    pub align: Function,
    pub sum: Function,
    pub normalize: Function,
    pub round: Function,
}

impl FpAddSteps {
    pub fn new(f: FloatFormat) -> FpAddSteps {
        FpAddSteps {
            align: align_function(f),
            sum: sum_function(f),
            normalize: normalize_function(f),
            round: round_function(f),
        }
    }

    /// The whole addition `a + b` as one expression.
    pub fn call(&self, a: &str, b: &str) -> String {
        self.steps().iter().skip(1).fold(self.align.call(&[a, b]), |x, step| step.call(&[&x]))
    }

    /// The steps in order: `align` takes the two operands, each later one its predecessor's
    /// result.
    pub fn steps(&self) -> [&Function; 4] {
        [&self.align, &self.sum, &self.normalize, &self.round]
    }

    pub fn functions(self) -> [Function; 4] {
        [self.align, self.sum, self.normalize, self.round]
    }
}

/// Bits of the significand with hidden, guard, round and sticky bits.
fn extended_bits(f: FloatFormat) -> u32 {
    f.frac_bits + 4
}

/// `align`'s result: `{nan, x_inf, subtract, near, x, y_aligned, y_near}`.
fn aligned_bits(f: FloatFormat) -> u32 {
    4 + f.width() + 2 * extended_bits(f)
}

/// `sum`'s result: `{nan, x_inf, subtract, near, x, far_raw, near_raw}`.
fn summed_bits(f: FloatFormat) -> u32 {
    4 + f.width() + 2 * extended_bits(f) + 1
}

/// `normalize`'s result: `{nan, x_inf, sign, x, norm, norm_exp}`.
fn normalized_bits(f: FloatFormat) -> u32 {
    3 + f.width() + extended_bits(f) + f.exp_bits + 1
}

/// Declares the flags and the larger operand `x` that lead `align`'s and `sum`'s results.
fn unpack_head(fun: &mut Function, f: FloatFormat, input: &str, width: u32) {
    let w = f.width();
    for (i, flag) in ["nan", "x_inf", "subtract", "near"].iter().enumerate() {
        fun.let_(*flag, 1, format!("{input}[{}]", width - 1 - i as u32));
    }
    fun.let_("x", w, format!("{input}[{} -: {w}]", width - 5));
}

/// The significand of `v` with its hidden bit; subnormals use the exponent of the smallest
/// normal.
fn significand(fun: &mut Function, f: FloatFormat, v: &str) {
    let (w, m) = (f.width(), f.frac_bits);
    fun.let_(format!("{v}_normal"), 1, format!("{v}[{}:{m}] != '0", w - 2));
    fun.let_(format!("{v}_sig"), m + 1, format!("{{{v}_normal, {v}[{}:0]}}", m - 1));
}

/// Step 1: order the operands by magnitude, classify them, and align y on both paths.
fn align_function(f: FloatFormat) -> Function {
    let (e, m) = (f.exp_bits, f.frac_bits);
    let w = f.width();
    let ext = extended_bits(f);
    let exp_max = f.exp_max();
    let mut fun = Function::new(format!("{}_align", f.add_module_name()), aligned_bits(f));
    fun.input("a", w).input("b", w);

    fun.comment("Order the operands by magnitude: x is the larger, y the smaller.");
    fun.let_("a_larger", 1, format!("a[{}:0] >= b[{}:0]", w - 2, w - 2));
    fun.let_("x", w, "a_larger ? a : b");
    fun.let_("y", w, "a_larger ? b : a");

    fun.comment("Special classes. |x| >= |y|, so y is infinite only if x is too.");
    let class = |v: &str, frac_zero: bool| {
        let op = if frac_zero { "==" } else { "!=" };
        format!("{v}[{}:{m}] == {e}'h{exp_max:X} && {v}[{}:0] {op} '0", w - 2, m - 1)
    };
    fun.let_("any_nan", 1, format!("({}) || ({})", class("a", false), class("b", false)));
    fun.let_("x_inf", 1, class("x", true));
    fun.let_("y_inf", 1, class("y", true));
    fun.let_("subtract", 1, format!("x[{}] ^ y[{}]", w - 1, w - 1));
    fun.let_("nan", 1, "any_nan || (x_inf && y_inf && subtract)");
    significand(&mut fun, f, "y");

    fun.comment(
        "Two paths, as fast adders have. The far path (an addition, or a subtraction of exponents\n\
         two or more apart) aligns y by the exponent difference, keeping guard and round bits and\n\
         an OR of everything shifted out (sticky), and normalizes by at most one bit. The near\n\
         path (a subtraction of exponents at most one apart) aligns by at most one bit, which\n\
         loses nothing, and normalizes by the leading zeros. The exponent difference is formed\n\
         beside the magnitude comparison, not after the swap.",
    );
    for v in ["a", "b"] {
        fun.let_(
            format!("{v}_exp_eff"),
            e,
            format!("({v}[{}:{m}] != '0) ? {v}[{}:{m}] : {e}'d1", w - 2, w - 2),
        );
    }
    fun.let_("shift", e, "a_larger ? a_exp_eff - b_exp_eff : b_exp_eff - a_exp_eff");
    fun.let_("near", 1, format!("subtract && shift[{}:1] == '0", e - 1));
    fun.let_("y_full", ext, "{y_sig, 3'b000}");
    let top = ext - 1;
    fun.let_("shift_out", 1, format!("shift >= {e}'d{ext}"));
    fun.let_("y_shifted", ext, "shift_out ? '0 : y_full >> shift");
    fun.let_("y_lost", ext, format!("shift_out ? y_full : y_full & ~({ext}'({{{ext}{{1'b1}}}}) << shift)"));
    fun.let_("y_aligned", ext, format!("{{y_shifted[{top}:1], y_shifted[0] | (y_lost != '0)}}"));
    fun.let_("y_near", ext, "shift[0] ? y_full >> 1 : y_full");
    fun.result("{nan, x_inf, subtract, near, x, y_aligned, y_near}");
    fun
}

/// Step 2: the far path's sum or difference and the near path's difference.
fn sum_function(f: FloatFormat) -> Function {
    let ext = extended_bits(f);
    let width = aligned_bits(f);
    let mut fun = Function::new(format!("{}_sum", f.add_module_name()), summed_bits(f));
    fun.input("aligned", width);
    unpack_head(&mut fun, f, "aligned", width);
    fun.let_("y_aligned", ext, format!("aligned[{} +: {ext}]", ext));
    fun.let_("y_near", ext, format!("aligned[0 +: {ext}]"));
    significand(&mut fun, f, "x");
    fun.let_("x_full", ext + 1, "{1'b0, x_sig, 3'b000}");
    fun.comment("Far path. A subtraction here leaves at least half of x: one left shift at most.");
    fun.let_("far_raw", ext + 1, "subtract ? x_full - {1'b0, y_aligned} : x_full + {1'b0, y_aligned}");
    fun.comment("Near path: |x| >= |y|, so the difference is never negative.");
    fun.let_("near_raw", ext, format!("x_full[{}:0] - y_near", ext - 1));
    fun.result("{nan, x_inf, subtract, near, x, far_raw, near_raw}");
    fun
}

/// Step 3: normalize the far or the near path's result.
fn normalize_function(f: FloatFormat) -> Function {
    let (e, m) = (f.exp_bits, f.frac_bits);
    let w = f.width();
    let ext = extended_bits(f);
    let ew = e + 1;
    let top = ext - 1;
    let width = summed_bits(f);
    let mut fun = Function::new(format!("{}_normalize", f.add_module_name()), normalized_bits(f));
    fun.input("summed", width);
    unpack_head(&mut fun, f, "summed", width);
    fun.let_("far_raw", ext + 1, format!("summed[{ext} +: {}]", ext + 1));
    fun.let_("near_raw", ext, format!("summed[0 +: {ext}]"));
    fun.let_("x_exp", e, format!("(x[{}:{m}] != '0) ? x[{}:{m}] : {e}'d1", w - 2, w - 2));

    fun.comment("Far path: a carry shifts right by one, a subtraction that lost the top bit left by one.");
    fun.let_("far_carry", 1, format!("far_raw[{ext}]"));
    fun.let_("far_left", 1, format!("subtract && !far_raw[{top}]"));
    fun.let_(
        "far_norm",
        ext,
        format!(
            "far_carry ? {{far_raw[{ext}:2], far_raw[1] | far_raw[0]}} : far_left ? {{far_raw[{}:0], 1'b0}} : far_raw[{top}:0]",
            ext - 2
        ),
    );
    fun.let_(
        "far_exp",
        ew,
        format!(
            "far_carry ? {{1'b0, x_exp}} + {ew}'d1 : far_left ? {{1'b0, x_exp}} - {ew}'d1 : {{1'b0, x_exp}}"
        ),
    );

    fun.comment(
        "Near path: normalize left by the leading zeros, but never below the smallest normal\n\
         exponent (the result is then subnormal). Exponents get one more bit for overflow.",
    );
    fun.let_("headroom", ew, format!("{{1'b0, x_exp}} - {ew}'d1"));
    normalize_left(&mut fun, "near_raw", ext, "headroom", ew, ["near_norm", "near_left"]);
    fun.let_("norm", ext, "near ? near_norm : far_norm");
    fun.let_("norm_exp", ew, "near ? {1'b0, x_exp} - near_left : far_exp");
    fun.comment("Only the near path cancels to zero, and an exact zero difference is +0.");
    fun.let_("sign", 1, format!("x[{}] & ~(near && near_raw == '0)", w - 1));
    fun.result("{nan, x_inf, sign, x, norm, norm_exp}");
    fun
}

/// Step 4: round to nearest even and pack, or give the special result.
fn round_function(f: FloatFormat) -> Function {
    let (e, m) = (f.exp_bits, f.frac_bits);
    let w = f.width();
    let ext = extended_bits(f);
    let exp_max = f.exp_max();
    let ew = e + 1;
    let width = normalized_bits(f);
    let mut fun = Function::new(format!("{}_round", f.add_module_name()), w);
    fun.input("normalized", width);
    let mut at = width;
    for (name, bits) in [("nan", 1), ("x_inf", 1), ("sign", 1), ("x", w), ("norm", ext), ("norm_exp", ew)] {
        at -= bits;
        fun.let_(name, bits, format!("normalized[{at} +: {bits}]"));
    }
    fun.let_("overflow", 1, format!("norm_exp >= {ew}'d{exp_max}"));

    fun.comment(
        "Round to nearest even on guard, round and sticky. Adding the increment to the packed\n\
         exponent and fraction lets a carry move into the exponent (and up to infinity).",
    );
    fun.let_("round_up", 1, "norm[2] & (norm[1] | norm[0] | norm[3])");
    fun.let_("biased", e, format!("norm[{}] ? norm_exp[{}:0] : '0", ext - 1, e - 1));
    fun.let_("rounded", w - 1, format!("{{biased, norm[{}:3]}} + {}'(round_up)", ext - 2, w - 1));
    fun.result(format!(
        "nan ? {w}'h{:X}\n      : x_inf ? x\n      : overflow ? {{x[{}], {e}'h{exp_max:X}, {m}'d0}}\n      : {{sign, rounded}}",
        f.canonical_nan(),
        w - 1
    ));
    fun
}

/// Declares `shifted` and `count` in `f`: the `width`-bit `value` shifted left by
/// min(leading zeros, `limit`), and that shift, in one pass of halving steps (16, 8, ..., 1).
/// A step is taken when the top `step` bits are zero and the shift so far plus `step` stays
/// within the limit; taken greedily, the steps add up to exactly min(leading zeros, limit),
/// with no separate count and barrel shift.
fn normalize_left(
    f: &mut Function,
    value: &str,
    width: u32,
    limit: &str,
    limit_bits: u32,
    [shifted, count]: [&str; 2],
) {
    let room = format!("{count}_room");
    f.let_(shifted, width, value);
    f.let_(count, limit_bits, "'0");
    f.let_(&room, limit_bits, limit);
    let mut step = (width + 1).next_power_of_two() / 2;
    while step > 0 {
        let k = step.trailing_zeros();
        let zero = format!("{shifted}[{}:{}] == '0", width - 1, width - step);
        f.stmts(vec![if_(
            format!("{zero} && {room}[{}:{k}] != '0", limit_bits - 1),
            vec![
                set(shifted, format!("{shifted} << {step}")),
                set(count, format!("{count} + {limit_bits}'d{step}")),
                set(&room, format!("{room} - {limit_bits}'d{step}")),
            ],
        )]);
        step /= 2;
    }
}

/// Declares `out` in `f` and sets it to the number of leading zeros of the `width`-bit
/// `value` (`width` when it is zero). A tree of halving steps, as a hardware leading-zero
/// counter is built: the value, padded with ones to a power of two, is tested and shifted by
/// half, a quarter, ... of that width.
pub(crate) fn leading_zeros(f: &mut Function, value: &str, width: u32, out: &str) {
    let padded = (width + 1).next_power_of_two();
    let v = format!("{out}_v");
    let ones = padded - width;
    let out_bits = bits_for(u64::from(width));
    f.let_(&v, padded, format!("{{{value}, {ones}'h{:X}}}", (1u64 << ones) - 1));
    f.let_(out, out_bits, "'0");
    let mut step = padded / 2;
    while step > 0 {
        f.stmts(vec![if_(
            if step == 1 {
                format!("!{v}[{}]", padded - 1)
            } else {
                format!("{v}[{}:{}] == '0", padded - 1, padded - step)
            },
            vec![set(out, format!("{out} + {out_bits}'d{step}")), set(&v, format!("{v} << {step}"))],
        )]);
        step /= 2;
    }
}

/// Bits needed to hold the values 0..=n.
pub(crate) fn bits_for(n: u64) -> u32 {
    64 - n.leading_zeros()
}
