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

/// The DPE. Its arithmetic is three functions called inside its clocked block, so a simulator
/// evaluates the slice path only on valid cycles and the block-completion path (integer to
/// f32, the adder) only when a block completes.
pub fn dpe_design() -> Design {
    Design { top: dpe(), submodules: Vec::new() }
}

fn format_is(f: MxFormat) -> String {
    format!("format == 2'd{}", f.code)
}

/// The block sum so far plus the exact integer sum of one slice. Every multiplier's digit
/// product is one addend: shifted by its digit weight within its element and by the element
/// pair's micro-exponents, and inverted when the element's product is negative. The addends,
/// the count of inverted ones (the +1s of their two's complements) and the running sum meet in
/// a carry-save tree and one carry-propagate adder, so the stage is a few adder delays deep
/// rather than a chain of sixteen additions.
fn slice_sum_function() -> Function {
    let lanes = BLOCK;
    let sb = SUM_BITS;
    let mut f = Function::new("slice_sum", sb);
    f.input("partial", sb)
        .input("format", 2)
        .input("slice", 4)
        .input("a_micro", 8)
        .input("b_micro", 8)
        .input("a_sign", lanes)
        .input("a_mag", 2 * lanes)
        .input("b_sign", lanes)
        .input("b_mag", 2 * lanes);
    f.comment(
        "The 16 two-bit multipliers. Multiplier k takes A digit da and B digit db of element e:\n\
         MX9 e = 0, da = k / 4, db = k % 4; MX6 e = k / 4, da = (k / 2) % 2, db = k % 2; MX4\n\
         e = k, both digits 0. Its product weighs 2^(2 da + 2 db) within the element.",
    );
    f.local_array("addends", sb, lanes, "multiplier k's signed term")
        .local("a_digit", 2)
        .local("b_digit", 2)
        .local("element", 4)
        .local("weight", 4)
        .local("pair", 3)
        .local("shift", 4)
        .local("negative", 1)
        .local("negatives", 5);
    // Multiplier k's element, digit positions, digit weight and micro-exponent pair.
    let lane = |element: &str, a: &str, b: &str, weight: &str, pair: &str| {
        vec![
            set("element", element),
            set("a_digit", format!("a_mag[{a} +: 2]")),
            set("b_digit", format!("b_mag[{b} +: 2]")),
            set("weight", weight),
            set("pair", pair),
        ]
    };
    f.stmts(vec![
        set("negatives", "'0"),
        for_(
            "k",
            lanes,
            vec![
                if_else(
                    format_is(MxFormat::MX9),
                    lane("4'd0", "2*(k/4)", "2*(k%4)", "4'(2*(k/4) + 2*(k%4))", "slice[3:1]"),
                    vec![if_else(
                        format_is(MxFormat::MX6),
                        lane(
                            "4'(k/4)",
                            "4*(k/4) + 2*((k/2)%2)",
                            "4*(k/4) + 2*(k%2)",
                            "4'(2*((k/2)%2) + 2*(k%2))",
                            "3'(2*slice + k/8)",
                        ),
                        lane("4'(k)", "2*k", "2*k", "4'd0", "3'(k/2)"),
                    )],
                ),
                Stmt::Comment("The micro-exponents add 0, 1 or 2 to the shift.".into()),
                set("shift", "weight + 4'd2 - 4'(a_micro[pair]) - 4'(b_micro[pair])"),
                set("negative", "a_sign[element] ^ b_sign[element]"),
                set(
                    "addends[k]",
                    format!(
                        "({sb}'({{2'b00, a_digit}} * {{2'b00, b_digit}}) << shift) ^ {{{sb}{{negative}}}}"
                    ),
                ),
                set("negatives", "negatives + 5'(negative)"),
            ],
        ),
    ]);
    let mut terms: Vec<String> = (0..lanes).map(|k| format!("addends[{k}]")).collect();
    terms.push(format!("{sb}'(negatives)"));
    terms.push("partial".into());
    carry_save_sum(&mut f, terms, sb);
    f
}

/// Sets the result of `f` to the sum of `terms` (each `width` bits, modulo 2^width): levels of
/// full adders (3:2 compressors) on whole words until two words are left, then one addition.
fn carry_save_sum(f: &mut Function, mut terms: Vec<String>, width: u32) {
    f.comment("Carry-save tree: each full adder turns three words into a sum and a carry word.");
    let mut n = 0;
    while terms.len() > 2 {
        let mut next = Vec::new();
        for group in terms.chunks(3) {
            if let [a, b, c] = group {
                let (sum, carry) = (format!("csa_sum_{n}"), format!("csa_carry_{n}"));
                f.let_(&sum, width, format!("{a} ^ {b} ^ {c}"));
                f.let_(&carry, width, format!("{width}'((({a} & {b}) | ({a} & {c}) | ({b} & {c})) << 1)"));
                next.extend([sum, carry]);
                n += 1;
            } else {
                next.extend(group.iter().cloned());
            }
        }
        terms = next;
    }
    f.result(format!("{} + {}", terms[0], terms[1]));
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

/// Cycles from a block's last slice on the operand ports until `acc_o` holds the sum with it
/// (and `block_done_o` pulses): the slice stage, the scaling stage and the accumulation stage.
/// A drain request (`drain_i`) reaches `drain_o` after the same cycles, when `acc_o` holds
/// every block streamed before it.
pub const LATENCY: u32 = 3;

pub fn dpe() -> Module {
    let lanes = BLOCK;
    let mut md = Module::new(
        "dpe",
        "Precision-flexible dot-product engine, output-stationary (SPEC section 3). Each valid cycle\n\
         takes one slice of a block pair: 1 element of MX9, 4 of MX6 or 16 of MX4 from each\n\
         operand, as 16 two-bit digits per operand (MX9: the element's 4 digits; MX6: element e's 2\n\
         digits in bits [4e +: 4]; MX4: element e in bits [2e +: 2]) and a sign per element. The\n\
         block's shared exponents and micro-exponents stay on their ports for all of its slices.\n\
         \n\
         Three stages, so that no path holds more than one of the long operations:\n\
         1. slice: the slice's exact integer sum joins the block sum; at the block's last slice\n\
            the exact block sum is registered with its exponents;\n\
         2. scale: the block sum is scaled to f32 (one rounding, only below the normal range);\n\
         3. accumulate: one IEEE addition into the output-stationary accumulator.\n\
         The accumulation is the only loop, and one f32 addition closes at the target clock, so\n\
         blocks of one output may arrive every cycle (MX4) and are added in K order without an\n\
         interleave of several outputs. acc_o includes a block 3 cycles after its last slice was\n\
         on the ports, and block_done_o pulses then.\n\
         \n\
         clear_i (to +0) and load_i (to load_data_i, to accumulate into an existing output) take\n\
         priority over valid_i and restart the block; they travel down the stages with the blocks,\n\
         so they act on the accumulator after every block before them. drain_i and drain_tag_i\n\
         travel the same way: drain_o is high in the cycle acc_o holds every block streamed before\n\
         the drain, which is the cycle a clear given with the drain empties the accumulator. A\n\
         block with a NaN exponent (8'hFF) makes the accumulator NaN. Each stage computes only when\n\
         it holds a block, so idle stages neither toggle nor cost simulation time.",
    );
    md.clock_and_reset()
        .input("format_i", 2)
        .input("clear_i", 1)
        .input("load_i", 1)
        .input("load_data_i", 32)
        .input("drain_i", 1)
        .input("drain_tag_i", 1)
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
        .output("block_done_o", 1)
        .output("drain_o", 1)
        .output("drain_tag_o", 1);

    let slice_sum = slice_sum_function();
    let block_value = block_value_function();
    let add = fp_add_function(FloatFormat::F32);
    md.blank().comment("Slice position within the block; the last is 15, 3 or 0.");
    md.logic("slice_q", 4).logic("last_slice", 4);
    md.assign("last_slice", by_format("format_i", 4, |f| f.cycles_per_block() - 1));

    md.blank().comment(
        "Control of stages 2 and 3: {drain_tag, drain, load, clear, block} as it entered stage 1\n\
         one and two cycles ago.",
    );
    md.logic("scale_ctrl_q", 5).logic("acc_ctrl_q", 5).logic("scale_load_q", 32).logic("acc_load_q", 32);
    md.wire("block_end", 1, "valid_i && !clear_i && !load_i && slice_q == last_slice");
    md.always_ff(
        vec![
            set("scale_ctrl_q", "'0"),
            set("acc_ctrl_q", "'0"),
            set("scale_load_q", "'0"),
            set("acc_load_q", "'0"),
        ],
        vec![
            set("scale_ctrl_q", "{drain_tag_i, drain_i, load_i, clear_i, block_end}"),
            set("acc_ctrl_q", "scale_ctrl_q"),
            if_("load_i", vec![set("scale_load_q", "load_data_i")]),
            if_("scale_ctrl_q[2]", vec![set("acc_load_q", "scale_load_q")]),
        ],
    );

    // The arithmetic is called inside the clocked branches, not in continuous assignments,
    // so that each stage computes only in the cycles it holds a block.
    let block_sum = slice_sum.call(&[
        "block_sum_q",
        "format_i",
        "slice_q",
        "a_micro_i",
        "b_micro_i",
        "a_sign_i",
        "a_mag_i",
        "b_sign_i",
        "b_mag_i",
    ]);
    md.blank().comment("Stage 1: the block sum so far; at the block's end, the whole sum and its exponents.");
    md.logic("block_sum_q", SUM_BITS)
        .logic("total_q", SUM_BITS)
        .logic("a_exp_q", 8)
        .logic("b_exp_q", 8)
        .logic("format_q", 2);
    let restart = vec![set("block_sum_q", "'0"), set("slice_q", "'0")];
    md.always_ff(
        vec![
            set("block_sum_q", "'0"),
            set("slice_q", "'0"),
            set("total_q", "'0"),
            set("a_exp_q", "'0"),
            set("b_exp_q", "'0"),
            set("format_q", "'0"),
        ],
        // `block_end` already holds only for a valid slice without a clear or a load.
        vec![if_else(
            "clear_i || load_i",
            restart.clone(),
            vec![if_else(
                "block_end",
                [
                    vec![
                        set("total_q", block_sum.clone()),
                        set("a_exp_q", "a_exp_i"),
                        set("b_exp_q", "b_exp_i"),
                        set("format_q", "format_i"),
                    ],
                    restart,
                ]
                .concat(),
                vec![if_("valid_i", vec![set("block_sum_q", block_sum), set("slice_q", "slice_q + 4'd1")])],
            )],
        )],
    );

    md.blank().comment("Stage 2: the block sum scaled to f32.");
    md.logic("value_q", 32);
    md.always_ff(
        vec![set("value_q", "'0")],
        vec![if_(
            "scale_ctrl_q[0]",
            vec![set("value_q", block_value.call(&["total_q", "a_exp_q", "b_exp_q", "format_q"]))],
        )],
    );

    md.blank().comment("Stage 3: the accumulator; clear and load act in order with the blocks.");
    md.logic("acc_q", 32).logic("block_done_q", 1);
    md.always_ff(
        vec![set("acc_q", "'0"), set("block_done_q", "1'b0")],
        vec![
            set("block_done_q", "acc_ctrl_q[0]"),
            // A block never comes with a clear or a load (they restart the block), so testing
            // it first keeps the adder's result one multiplexer from the register.
            if_else(
                "acc_ctrl_q[0]",
                vec![set("acc_q", add.call(&["acc_q", "value_q"]))],
                vec![if_else(
                    "acc_ctrl_q[1]",
                    vec![set("acc_q", "'0")],
                    vec![if_("acc_ctrl_q[2]", vec![set("acc_q", "acc_load_q")])],
                )],
            ),
        ],
    );
    md.assign("acc_o", "acc_q")
        .assign("block_done_o", "block_done_q")
        .assign("drain_o", "acc_ctrl_q[3]")
        .assign("drain_tag_o", "acc_ctrl_q[4]");
    md.blank().function(slice_sum).function(block_value).function(add);
    md
}
