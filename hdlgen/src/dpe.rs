//! `dpe`: the precision-flexible dot-product engine (SPEC section 3). Sixteen two-bit by
//! two-bit multipliers form, per cycle, 16 MX4, 4 MX6 or 1 MX9 element products (4- and 8-bit
//! magnitudes are split into two-bit digits whose partial products are recombined by shifts);
//! micro-exponent shifts and signs make them exact integer terms; an integer register sums a
//! block over 1, 4 or 16 cycles; the block sum is scaled by the two shared exponents into an
//! f32 (one rounding, only below the normal range) and added into the output-stationary
//! accumulator by one `fp32_add`.

use crate::fp_add::{fp_add_function, leading_zeros, FloatFormat};
use crate::mx::{by_format, MxFormat, BLOCK};
use crate::verilog::{for_, if_, if_else, set, Function, Module, Stmt};
use crate::Design;

/// Bits of an exact block sum: |P| <= 16 * (2 (2^7 - 1))^2 < 2^20, plus the sign.
const SUM_BITS: u32 = 22;
/// Bits of one element product before micro-exponent shifts: 127 * 127 < 2^14.
const PROD_BITS: u32 = 14;

/// The DPE. Its arithmetic is three functions called inside its clocked block, so a simulator
/// evaluates the slice path only on valid cycles and the block-completion path (integer to
/// f32, the adder) only when a block completes.
pub fn dpe_design() -> Design {
    Design { top: dpe(), submodules: Vec::new() }
}

fn format_is(f: MxFormat) -> String {
    format!("format == 2'd{}", f.code)
}

/// The exact integer sum of one slice: digit products recombined per element, shifted by the
/// pair's micro-exponents, signed.
fn slice_sum_function() -> Function {
    let lanes = BLOCK;
    let pb = PROD_BITS;
    let sb = SUM_BITS;
    let mut f = Function::new("slice_sum", sb);
    f.input("format", 2)
        .input("slice", 4)
        .input("a_micro", 8)
        .input("b_micro", 8)
        .input("a_sign", lanes)
        .input("a_mag", 2 * lanes)
        .input("b_sign", lanes)
        .input("b_mag", 2 * lanes);
    f.comment(
        "The 16 two-bit multipliers. Multiplier k takes A digit da and B digit db of one element:\n\
         MX9 da = k / 4, db = k % 4 of the single element; MX6 da = (k / 2) % 2, db = k % 2 of\n\
         element k / 4; MX4 both digits 0 of element k.",
    );
    f.local_doc("digit_prod", 4 * lanes, "multiplier k in bits [4k +: 4]")
        .local("a_digit", 2)
        .local("b_digit", 2);
    f.stmts(vec![for_(
        "k",
        lanes,
        vec![
            if_else(
                format_is(MxFormat::MX9),
                vec![set("a_digit", "a_mag[2*(k/4) +: 2]"), set("b_digit", "b_mag[2*(k%4) +: 2]")],
                vec![if_else(
                    format_is(MxFormat::MX6),
                    vec![
                        set("a_digit", "a_mag[4*(k/4) + 2*((k/2)%2) +: 2]"),
                        set("b_digit", "b_mag[4*(k/4) + 2*(k%2) +: 2]"),
                    ],
                    vec![set("a_digit", "a_mag[2*k +: 2]"), set("b_digit", "b_mag[2*k +: 2]")],
                )],
            ),
            set("digit_prod[4*k +: 4]", "{2'b00, a_digit} * {2'b00, b_digit}"),
        ],
    )]);
    f.comment(
        "Per element e: its product, recombined from its multipliers' digit products shifted by\n\
         their digit weights (MX9: element 0 from all 16; MX6: element e < 4 from multipliers\n\
         4e .. 4e + 3; MX4: multiplier e alone), then the exact term: the product times\n\
         2^(2 - ua - ub), signed, where u comes from the element's pair, which depends on the\n\
         slice position.",
    );
    f.local("sum", sb)
        .local("elem_prod", pb)
        .local("pair", 3)
        .local("term", sb)
        .local("micro_shift", 2)
        .local("negative", 1);
    let weighted =
        |k: &str, weight: &str| format!("elem_prod + ({pb}'(digit_prod[4*{k} +: 4]) << ({weight}))");
    f.stmts(vec![
        set("sum", "'0"),
        for_(
            "e",
            lanes,
            vec![
                set("elem_prod", "'0"),
                if_else(
                    format_is(MxFormat::MX9),
                    vec![
                        set("pair", "slice[3:1]"),
                        if_(
                            "e == 0",
                            vec![for_(
                                "k",
                                lanes,
                                vec![set("elem_prod", weighted("k", "2*(k/4) + 2*(k%4)"))],
                            )],
                        ),
                    ],
                    vec![if_else(
                        format_is(MxFormat::MX6),
                        vec![
                            set("pair", "3'(2*slice + e/2)"),
                            if_(
                                "e < 4",
                                vec![for_(
                                    "j",
                                    4,
                                    vec![set("elem_prod", weighted("(4*e + j)", "2*(j/2) + 2*(j%2)"))],
                                )],
                            ),
                        ],
                        vec![
                            set("pair", "3'(e/2)"),
                            set("elem_prod", format!("{pb}'(digit_prod[4*e +: 4])")),
                        ],
                    )],
                ),
                set("micro_shift", "2'd2 - 2'(a_micro[pair]) - 2'(b_micro[pair])"),
                set("term", format!("{sb}'(elem_prod)")),
                Stmt::Comment("A three-way mux, not a barrel shifter: the shift is 0, 1 or 2.".into()),
                set("term", "(micro_shift == 2'd2) ? term << 2 : (micro_shift == 2'd1) ? term << 1 : term"),
                Stmt::Comment(
                    "Add or subtract with one adder: a negative term is inverted, and the +1 of its".into(),
                ),
                Stmt::Comment("two's complement enters as the carry out of an extra low bit.".into()),
                set("negative", "a_sign[e] ^ b_sign[e]"),
                set(
                    "sum",
                    format!("{sb}'(({{sum, 1'b1}} + {{term ^ {{{sb}{{negative}}}}, negative}}) >> 1)"),
                ),
            ],
        ),
    ]);
    f.result("sum");
    f
}

/// A block's exact sum P scaled to f32: P * 2^(Ea + Eb - 254 - 2m). Normal results are exact;
/// below the normal range P is shifted right with round to nearest even (a carry may reach
/// the smallest normal); above it, infinity. A NaN exponent gives the canonical NaN.
fn block_value_function() -> Function {
    let sb = SUM_BITS;
    let mut f = Function::new("block_value", 32);
    f.input("block_sum", sb).input("a_exp", 8).input("b_exp", 8).input("format", 2);
    f.let_("nan_block", 1, "a_exp == 8'hFF || b_exp == 8'hFF");
    f.let_("negative", 1, format!("block_sum[{}]", sb - 1));
    f.let_("magnitude", sb - 1, format!("negative ? {}'(-block_sum) : block_sum[{}:0]", sb - 1, sb - 2));
    f.comment("The leading one of the magnitude (0 when it is zero).");
    leading_zeros(&mut f, "magnitude", sb - 1, "mag_zeros");
    f.let_("msb", 5, format!("(magnitude == '0) ? 5'd0 : 5'd{} - mag_zeros", sb - 2));
    f.let_("exp_sum", 10, "10'(a_exp) + 10'(b_exp)");
    f.comment("Exponent offsets: 127 + 2m places the leading bit; 105 + 2m places bit 0 at 2^-149.");
    f.let_("lead_offset", 10, by_format("format", 10, |f| 127 + 2 * f.mag_bits));
    f.let_("sub_offset", 10, by_format("format", 10, |f| 105 + 2 * f.mag_bits));
    f.let_("lead_exp", 10, "exp_sum + 10'(msb)");
    f.let_("frac_normal", 23, "23'({23'd0, magnitude} << (5'd23 - msb))");
    f.let_("biased", 8, "8'(lead_exp - lead_offset)");
    f.let_("padded", sb, "{1'b0, magnitude}");
    f.local("right", 5).local("kept", 23).local("round_up", 1).local("kept_rounded", 31);
    f.stmts(vec![
        set("right", "5'd0"),
        set("kept", "23'd0"),
        set("round_up", "1'b0"),
        set("kept_rounded", "31'd0"),
        if_else(
            "nan_block",
            vec![set("block_value", "32'h7FC00000")],
            vec![if_else(
                "magnitude == '0",
                vec![set("block_value", "32'd0")],
                vec![if_else(
                    "lead_exp >= lead_offset + 10'd255",
                    vec![set("block_value", "{negative, 8'hFF, 23'd0}")],
                    vec![if_else(
                        "lead_exp > lead_offset",
                        vec![set("block_value", "{negative, biased, frac_normal}")],
                        vec![if_else(
                            "exp_sum >= sub_offset",
                            vec![set("block_value", "{negative, 8'd0, {2'b00, magnitude} << (exp_sum - sub_offset)}")],
                            vec![
                                Stmt::Comment("Subnormal after a right shift; 22 or more leaves less than half.".into()),
                                set("right", "(sub_offset - exp_sum > 10'd22) ? 5'd22 : 5'(sub_offset - exp_sum)"),
                                set("kept", "{2'b00, magnitude} >> right"),
                                Stmt::Comment("The guard bit reads the padded magnitude: bit 21 exists (and is 0).".into()),
                                set(
                                    "round_up",
                                    "padded[right - 5'd1] && (kept[0] || (padded & ((22'd1 << (right - 5'd1)) - 22'd1)) != '0)",
                                ),
                                set("kept_rounded", "31'(kept) + 31'(round_up)"),
                                set("block_value", "{negative, kept_rounded}"),
                            ],
                        )],
                    )],
                )],
            )],
        ),
    ]);
    f
}

pub fn dpe() -> Module {
    let lanes = BLOCK;
    let mut md = Module::new(
        "dpe",
        "Precision-flexible dot-product engine, output-stationary (SPEC section 3). Each valid cycle\n\
         takes one slice of a block pair: 1 element of MX9, 4 of MX6 or 16 of MX4 from each\n\
         operand, as 16 two-bit digits per operand (MX9: the element's 4 digits; MX6: element e's 2\n\
         digits in bits [4e +: 4]; MX4: element e in bits [2e +: 2]) and a sign per element. The\n\
         block's shared exponents and micro-exponents stay on their ports for all of its slices.\n\
         After the last slice (cycle 16, 4 or 1) the exact block sum, scaled to f32, is added to the\n\
         accumulator; block_done_o pulses the cycle after. clear_i (to +0) and load_i (to\n\
         load_data_i, to accumulate into an existing output) take priority over valid_i and restart\n\
         the block. A block with a NaN exponent (8'hFF) makes the accumulator NaN. The arithmetic\n\
         runs only on valid cycles, and the scaling and the addition only when a block completes.",
    );
    md.clock_and_reset()
        .input("format_i", 2)
        .input("clear_i", 1)
        .input("load_i", 1)
        .input("load_data_i", 32)
        .input("valid_i", 1)
        .input("a_exp_i", 8)
        .input("b_exp_i", 8)
        .input("a_micro_i", 8)
        .input("b_micro_i", 8)
        .input("a_sign_i", lanes)
        .input("a_mag_i", 2 * lanes)
        .input("b_sign_i", lanes)
        .input("b_mag_i", 2 * lanes)
        .output("acc_o", 32)
        .output("block_done_o", 1);

    let slice_sum = slice_sum_function();
    let block_value = block_value_function();
    let add = fp_add_function(FloatFormat::F32);
    md.blank().comment("Slice position within the block; the last is 15, 3 or 0.");
    md.logic("slice_q", 4).logic("last_slice", 4);
    md.assign("last_slice", by_format("format_i", 4, |f| f.cycles_per_block() - 1));

    // Called inside the clocked branches, not in a continuous assignment, so that it runs
    // only on valid cycles.
    let block_sum = format!(
        "block_sum_q + {}",
        slice_sum.call(&[
            "format_i",
            "slice_q",
            "a_micro_i",
            "b_micro_i",
            "a_sign_i",
            "a_mag_i",
            "b_sign_i",
            "b_mag_i"
        ])
    );
    md.blank().comment("The block sum so far and the accumulator.");
    md.logic("block_sum_q", SUM_BITS).logic("acc_q", 32).logic("block_done_q", 1);
    let restart = |acc: &str| vec![set("acc_q", acc), set("block_sum_q", "'0"), set("slice_q", "'0")];
    let block_end = [
        restart(&add.call(&["acc_q", &block_value.call(&[&block_sum, "a_exp_i", "b_exp_i", "format_i"])])),
        vec![set("block_done_q", "1'b1")],
    ]
    .concat();
    md.always_ff(
        vec![set("acc_q", "'0"), set("block_sum_q", "'0"), set("slice_q", "'0"), set("block_done_q", "1'b0")],
        vec![
            set("block_done_q", "1'b0"),
            if_else(
                "clear_i",
                restart("'0"),
                vec![if_else(
                    "load_i",
                    restart("load_data_i"),
                    vec![if_(
                        "valid_i",
                        vec![if_else(
                            "slice_q == last_slice",
                            block_end,
                            vec![set("block_sum_q", block_sum), set("slice_q", "slice_q + 4'd1")],
                        )],
                    )],
                )],
            ),
        ],
    );
    md.assign("acc_o", "acc_q").assign("block_done_o", "block_done_q");
    md.blank().function(slice_sum).function(block_value).function(add);
    md
}
