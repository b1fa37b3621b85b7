//! `fp32_add`: IEEE-754 addition, round to nearest even, subnormals in and out, IEEE signed
//! zeros, every NaN out as the canonical quiet NaN, overflow to infinity. Combinational, and
//! cut into five steps that a pipeline may register between.

use crate::verilog::{bundle_bits, if_, set, Function, Module};

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
    let add = FpAddSteps::new(f).stage(0, STEPS.len());
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
    md.blank().assign("sum_o", add.call(&["a_i", "b_i"]));
    md.blank().function(add);
    md
}

/// The adder's steps, in order: `order` orders and classifies the operands, `align` aligns the
/// smaller one, `sum` adds or subtracts the significands, `normalize` shifts the result into
/// place, `round` rounds and packs.
pub const STEPS: [&str; 5] = ["order", "align", "sum", "normalize", "round"];

/// The adder cut into [`STEPS`], so that a pipeline can put registers between them: each
/// pipeline stage is one function of consecutive steps, and a stage that ends before the
/// last step passes on the values the later steps read, packed in one word. The steps of one
/// stage share their variables, so the whole addition in one function passes nothing packed
/// (which simulators would copy word by word).
pub struct FpAddSteps {
    f: FloatFormat,
}

impl FpAddSteps {
    pub fn new(f: FloatFormat) -> FpAddSteps {
        FpAddSteps { f }
    }

    /// The values the steps after step `step` read, as `(name, bits)`, most significant
    /// first: what a stage ending with that step passes on.
    fn live_after(&self, step: usize) -> Vec<(&'static str, u32)> {
        let f = self.f;
        let (w, e, ext) = (f.width(), f.exp_bits, extended_bits(f));
        let head = [("nan", 1), ("x_inf", 1), ("subtract", 1), ("near", 1), ("x", w)];
        let tail: &[(&'static str, u32)] = match step {
            0 => &[("y_sig", f.frac_bits + 1), ("shift", e)],
            1 => &[("y_aligned", ext), ("y_near", ext)],
            2 => &[("far_raw", ext + 1), ("near_raw", ext)],
            _ => {
                return vec![
                    ("nan", 1),
                    ("x_inf", 1),
                    ("sign", 1),
                    ("x", w),
                    ("norm", ext),
                    ("norm_exp", e + 1),
                ]
            }
        };
        head.iter().chain(tail).copied().collect()
    }

    /// The function of steps `first..first + count`: it takes the operands `a` and `b` (from
    /// the first step) or what the step before `first` passes on, and gives the sum (through
    /// the last step) or what its own last step passes on.
    pub fn stage(&self, first: usize, count: usize) -> Function {
        let f = self.f;
        let last = first + count - 1;
        let name = match (first, last) {
            (0, 4) => format!("{}_f", f.add_module_name()),
            _ if first == last => format!("{}_{}", f.add_module_name(), STEPS[first]),
            _ => format!("{}_{}_to_{}", f.add_module_name(), STEPS[first], STEPS[last]),
        };
        let out = self.live_after(last);
        let width = if last == 4 { f.width() } else { bundle_bits(&out) };
        let mut fun = Function::new(name, width);
        if first == 0 {
            fun.input("a", f.width()).input("b", f.width());
        } else {
            let input = ["ordered", "aligned", "summed", "normalized"][first - 1];
            fun.unpack(input, &self.live_after(first - 1));
        }
        for step in first..=last {
            [order, align, sum, normalize, round][step](&mut fun, f);
        }
        if last < 4 {
            fun.bundle(&out);
        }
        fun
    }
}

/// Bits of the significand with hidden, guard, round and sticky bits.
fn extended_bits(f: FloatFormat) -> u32 {
    f.frac_bits + 4
}

/// The significand of `v` with its hidden bit; subnormals use the exponent of the smallest
/// normal.
fn significand(fun: &mut Function, f: FloatFormat, v: &str) {
    let (w, m) = (f.width(), f.frac_bits);
    fun.let_(format!("{v}_normal"), 1, format!("{v}[{}:{m}] != '0", w - 2));
    fun.let_(format!("{v}_sig"), m + 1, format!("{{{v}_normal, {v}[{}:0]}}", m - 1));
}

/// Step `order`: order the operands by magnitude, classify them, and take the exponent
/// difference.
fn order(fun: &mut Function, f: FloatFormat) {
    let (e, m) = (f.exp_bits, f.frac_bits);
    let w = f.width();
    let exp_max = f.exp_max();
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
    significand(fun, f, "y");

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
}

/// Step `align`: y aligned on both paths.
fn align(fun: &mut Function, f: FloatFormat) {
    let e = f.exp_bits;
    let ext = extended_bits(f);
    let top = ext - 1;
    fun.let_("y_full", ext, "{y_sig, 3'b000}");
    fun.let_("shift_out", 1, format!("shift >= {e}'d{ext}"));
    fun.let_("y_shifted", ext, "shift_out ? '0 : y_full >> shift");
    fun.let_("y_lost", ext, format!("shift_out ? y_full : y_full & ~({ext}'({{{ext}{{1'b1}}}}) << shift)"));
    fun.let_("y_aligned", ext, format!("{{y_shifted[{top}:1], y_shifted[0] | (y_lost != '0)}}"));
    fun.let_("y_near", ext, "shift[0] ? y_full >> 1 : y_full");
}

/// Step `sum`: the far path's sum or difference and the near path's difference.
fn sum(fun: &mut Function, f: FloatFormat) {
    let ext = extended_bits(f);
    significand(fun, f, "x");
    fun.let_("x_full", ext + 1, "{1'b0, x_sig, 3'b000}");
    fun.comment("Far path. A subtraction here leaves at least half of x: one left shift at most.");
    fun.let_("far_raw", ext + 1, "subtract ? x_full - {1'b0, y_aligned} : x_full + {1'b0, y_aligned}");
    fun.comment("Near path: |x| >= |y|, so the difference is never negative.");
    fun.let_("near_raw", ext, format!("x_full[{}:0] - y_near", ext - 1));
}

/// Step `normalize`: the far or the near path's result shifted into place.
fn normalize(fun: &mut Function, f: FloatFormat) {
    let (e, m) = (f.exp_bits, f.frac_bits);
    let w = f.width();
    let ext = extended_bits(f);
    let ew = e + 1;
    let top = ext - 1;
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
    normalize_left(fun, "near_raw", ext, "x_exp", ew, ["near_norm", "near_exp"]);
    fun.let_("norm", ext, "near ? near_norm : far_norm");
    fun.let_("norm_exp", ew, "near ? near_exp : far_exp");
    fun.comment("Only the near path cancels to zero, and an exact zero difference is +0.");
    fun.let_("sign", 1, format!("x[{}] & ~(near && near_raw == '0)", w - 1));
}

/// Step `round`: round to nearest even and pack, or give the special result; sets the result.
fn round(fun: &mut Function, f: FloatFormat) {
    let (e, m) = (f.exp_bits, f.frac_bits);
    let w = f.width();
    let ext = extended_bits(f);
    let exp_max = f.exp_max();
    let ew = e + 1;
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
}

/// Declares `shifted` and `exp` in `f`: the `width`-bit `value` with exponent `value_exp`
/// shifted left by its leading zeros, but never below exponent 1 (the smallest normal one;
/// the result is then subnormal), and the exponent after the shift (`exp_bits` wide). One
/// pass of halving steps (16, 8, ..., 1) counts the leading zeros and shifts them out
/// together (a step is taken when the top `step` bits are zero); beside it the value is
/// shifted by the largest shift allowed, `value_exp - 1`, which is known early, and the
/// exponent after the full shift is formed while one comparison picks the smaller shift. No
/// chain of subtractions lies along the steps (each a carry chain in FPGA fabric).
fn normalize_left(
    f: &mut Function,
    value: &str,
    width: u32,
    value_exp: &str,
    exp_bits: u32,
    [shifted, exp]: [&str; 2],
) {
    let top = (width + 1).next_power_of_two() / 2;
    let lz_bits = bits_for(u64::from(2 * top - 1));
    let (all, zeros, room, clamp) =
        (format!("{exp}_all"), format!("{exp}_zeros"), format!("{exp}_room"), format!("{exp}_clamp"));
    f.let_(&room, exp_bits, format!("{exp_bits}'({value_exp}) - {exp_bits}'d1"));
    f.let_(&all, width, value);
    shift_out_leading_zeros(f, &all, width, &zeros, lz_bits);
    f.let_(&clamp, 1, format!("{room} < {exp_bits}'({zeros})"));
    f.let_(shifted, width, format!("{clamp} ? {value} << {room} : {all}"));
    f.let_(
        exp,
        exp_bits,
        format!("{clamp} ? {exp_bits}'d1 : {exp_bits}'({value_exp}) - {exp_bits}'({zeros})"),
    );
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
    shift_out_leading_zeros(f, &v, padded, out, out_bits);
}

/// Declares `zeros` (`zero_bits` wide) in `f` and counts into it the leading zeros of the
/// `width`-bit local `value`, shifting them out of `value`: halving steps of 2^(zero_bits - 1),
/// ..., 2, 1 bits, each taken when the top `step` bits are zero, as a hardware leading-zero
/// counter is built. (Written as multiplexers that set one bit of the count each, the steps
/// ran MX4 simulations 2 to 5 % faster but lengthened the adder's path in the OSU 0.18 um
/// flow by 0.1 to 0.4 ns; this form keeps the hardware's timing.)
fn shift_out_leading_zeros(f: &mut Function, value: &str, width: u32, zeros: &str, zero_bits: u32) {
    f.let_(zeros, zero_bits, "'0");
    for bit in (0..zero_bits).rev() {
        let step = 1 << bit;
        f.stmts(vec![if_(
            format!("{value}[{}:{}] == '0", width - 1, width - step),
            vec![
                set(zeros, format!("{zeros} + {zero_bits}'d{step}")),
                set(value, format!("{value} << {step}")),
            ],
        )]);
    }
}

/// Bits needed to hold the values 0..=n.
pub(crate) fn bits_for(n: u64) -> u32 {
    64 - n.leading_zeros()
}
