//! `dpe`: the precision-flexible dot-product engine (SPEC section 3). Sixteen two-bit by
//! two-bit multipliers form, per cycle, 16 MX4, 4 MX6 or 1 MX9 element products (4- and 8-bit
//! magnitudes are split into two-bit digits whose partial products are recombined by shifts);
//! micro-exponent shifts and signs make them exact integer terms; an integer register sums a
//! block over 1, 4 or 16 cycles; the block sum is scaled by the two shared exponents into an
//! f32 (one rounding, only below the normal range) and added into the output-stationary
//! accumulator by one `fp32_add`.

use crate::fp_add::{leading_zeros, FloatFormat, FpAddSteps};
use crate::mx::{by_format, MxFormat, BLOCK};
use crate::verilog::{bundle_bits, for_, if_, if_else, set, Function, Module, Stmt};
use crate::{ConfigError, Design};

/// Bits of an exact block sum: |P| <= 16 * (2 (2^7 - 1))^2 < 2^20, plus the sign.
const SUM_BITS: u32 = 22;

/// The DPE. Its arithmetic is three functions called inside its clocked block, so a simulator
/// evaluates the slice path only on valid cycles and the block-completion path (integer to
/// f32, the adder) only when a block completes.
pub fn dpe_design() -> Design {
    dpe_design_with(DpeConfig::SINGLE)
}

fn format_is(f: MxFormat) -> String {
    format!("format == 2'd{}", f.code)
}

/// Bits of one decoded multiplier lane: `{negative, shift[3:0], product[3:0]}`.
const LANE_BITS: u32 = 9;

/// What a slice function computes from one slice's operands (or from its decoded lanes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SliceStep {
    /// `slice_sum`: the slice's exact sum added to the block sum so far (`partial`).
    Sum,
    /// `slice_terms`: two words whose sum is the slice's, for a pipeline that adds them into
    /// the block sum a cycle later.
    Terms,
    /// `slice_lanes`: each multiplier's digit product, shift and sign, decoded.
    Lanes,
    /// `slice_reduce`: `slice_terms` from the decoded lanes.
    Reduce,
}

/// One slice's exact integer sum, or a step of it (`SliceStep`). Every multiplier's digit
/// product is one addend: shifted by its digit weight within its element and by the element
/// pair's micro-exponents, and inverted when the element's product is negative. The addends,
/// the count of inverted ones (the +1s of their two's complements) and the running sum are one
/// multi-operand addition, which synthesis builds as a carry-save tree and one carry-propagate
/// adder, a few adder delays deep rather than a chain of sixteen additions; the pipelined
/// variants spell the tree out to register the two words it ends in.
fn slice_function(step: SliceStep) -> Function {
    let lanes = BLOCK;
    let sb = SUM_BITS;
    let mut f = match step {
        SliceStep::Sum => Function::new("slice_sum", sb),
        SliceStep::Terms => Function::new("slice_terms", 2 * sb),
        SliceStep::Lanes => Function::new("slice_lanes", LANE_BITS * lanes),
        SliceStep::Reduce => Function::new("slice_reduce", 2 * sb),
    };
    if step == SliceStep::Sum {
        f.input("partial", sb);
    }
    if step == SliceStep::Reduce {
        f.input("decoded", LANE_BITS * lanes);
    } else {
        f.input("format", 2)
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
        f.local("a_digit", 2).local("b_digit", 2).local("element", 4).local("weight", 4).local("pair", 3);
    }
    f.local("shift", 4).local("product", 4).local("negative", 1);
    if step == SliceStep::Lanes {
        f.local_doc(
            "lanes",
            LANE_BITS * lanes,
            "multiplier k's {negative, shift, product} in bits [9k +: 9]",
        );
    } else {
        f.local_array("addends", sb, lanes, "multiplier k's signed term").local("negatives", 5);
    }
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
    let decode = vec![
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
        Stmt::Comment("The digit product from a table of all 16 (entry 4a + b is a x b), not a".into()),
        Stmt::Comment("multiplication: FPGA synthesis puts even a 2 x 2 bit one on a DSP block, far".into()),
        Stmt::Comment("slower than the four LUTs of a table.".into()),
        set("product", "4'(64'h9630_6420_3210_0000 >> {a_digit, b_digit, 2'b00})"),
    ];
    let unpack = vec![
        set("negative", format!("decoded[{LANE_BITS}*k + 8]")),
        set("shift", format!("decoded[{LANE_BITS}*k + 4 +: 4]")),
        set("product", format!("decoded[{LANE_BITS}*k +: 4]")),
    ];
    let addend = vec![
        set("addends[k]", format!("({sb}'(product) << shift) ^ {{{sb}{{negative}}}}")),
        set("negatives", "negatives + 5'(negative)"),
    ];
    let body = match step {
        SliceStep::Lanes => {
            [decode, vec![set(format!("lanes[{LANE_BITS}*k +: {LANE_BITS}]"), "{negative, shift, product}")]]
                .concat()
        }
        SliceStep::Reduce => [unpack, addend].concat(),
        SliceStep::Sum | SliceStep::Terms => [decode, addend].concat(),
    };
    if step == SliceStep::Lanes {
        f.stmts(vec![for_("k", lanes, body)]);
        f.result("lanes");
        return f;
    }
    f.stmts(vec![set("negatives", "'0"), for_("k", lanes, body)]);
    let mut terms: Vec<String> = (0..lanes).map(|k| format!("addends[{k}]")).collect();
    terms.push(format!("{sb}'(negatives)"));
    if step == SliceStep::Sum {
        terms.push("partial".into());
        f.comment(
            "One addition of all the words: synthesis builds a multi-operand sum as a carry-save tree\n\
             of full adders and one carry-propagate adder (Yosys: alumacc, then maccmap), and a\n\
             simulator runs it as plain additions.",
        );
        f.result(terms.join(" + "));
    } else {
        carry_save_sum(&mut f, terms, sb);
    }
    f
}

/// Sets the result of `f` to two words, side by side, whose sum is that of `terms` (each
/// `width` bits, modulo 2^width): levels of full adders (3:2 compressors) on whole words until
/// two words are left, for a pipeline that adds them a stage later.
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
    f.result(format!("{{{}, {}}}", terms[0], terms[1]));
}

/// Bits of `scale_place`'s result: `{subnormal, negative, round_up, kept[22:0], other[31:0]}`:
/// a subnormal result's kept bits and rounding, or any other result whole.
const PLACED_BITS: u32 = 3 + 23 + 32;

/// `scale_prepare`'s result, most significant field first (`normal_top` its low 8 bits).
const PREPARED: [(&str, u32); 12] = [
    ("nan_block", 1),
    ("zero", 1),
    ("negative", 1),
    ("magnitude", SUM_BITS - 1),
    ("zeros", 5),
    ("normal_top", 8),
    ("normal_limit", 5),
    ("inf_limit", 5),
    ("exact_sub", 1),
    ("left", 5),
    ("right", 5),
    ("guard", 5),
];

/// A block's exact sum P scaled to f32: P * 2^(Ea + Eb - 254 - 2m), in three steps that a
/// pipeline may register between. `scale_prepare` takes the magnitude and counts its leading
/// zeros z; beside that it turns the exponents into everything `scale_place` compares z with,
/// so that no addition stands between the count and the comparisons. `scale_place` places the
/// magnitude: normal results are exact; below the normal range P is shifted right with round
/// to nearest even, whose increment `scale_round` adds (a carry may reach the smallest
/// normal); above it, infinity. A NaN exponent gives the canonical NaN.
fn scale_functions() -> [Function; 3] {
    let sb = SUM_BITS;
    let mut f = Function::new("scale_prepare", bundle_bits(&PREPARED));
    f.input("block_sum", sb).input("a_exp", 8).input("b_exp", 8).input("format", 2);
    f.let_("nan_block", 1, "a_exp == 8'hFF || b_exp == 8'hFF");
    f.let_("zero", 1, "block_sum == '0");
    f.let_("negative", 1, format!("block_sum[{}]", sb - 1));
    f.let_("magnitude", sb - 1, format!("negative ? {}'(-block_sum) : block_sum[{}:0]", sb - 1, sb - 2));
    f.comment("The leading zeros z of the magnitude: its leading one is bit 20 - z.");
    leading_zeros(&mut f, "magnitude", sb - 1, "zeros");
    f.comment(
        "Exponent offsets: 127 + 2m places the leading bit; 105 + 2m places bit 0 at 2^-149. With\n\
         the leading one at bit 20 - z, the biased exponent is normal_top - z, where normal_top\n\
         is Ea + Eb + 20 - (127 + 2m): normal while z < normal_top, infinite while\n\
         z <= normal_top - 255. Both bounds clamped to 0..21 make 5-bit comparisons (z <= 20).",
    );
    f.let_("exp_sum", 10, "10'(a_exp) + 10'(b_exp)");
    f.let_(
        "normal_top",
        10,
        format!("exp_sum + 10'd{} - ({})", sb - 2, by_format("format", 10, |f| 127 + 2 * f.mag_bits)),
    );
    f.let_("inf_top", 10, "normal_top - 10'd254");
    let clamped = |top: &str| format!("{top}[9] ? 5'd0 : ({top} > 10'd21) ? 5'd21 : 5'({top})");
    f.let_("normal_limit", 5, clamped("normal_top"));
    f.let_("inf_limit", 5, clamped("inf_top"));
    f.let_("sub_offset", 10, by_format("format", 10, |f| 105 + 2 * f.mag_bits));
    f.comment("Below the normal range: exact after a left shift while Ea + Eb >= 105 + 2m, else");
    f.comment("shifted right; a right shift of 22 or more leaves less than half.");
    f.let_("exact_sub", 1, "exp_sum >= sub_offset");
    f.let_("left", 5, "5'(exp_sum - sub_offset)");
    f.let_("right", 5, "(sub_offset - exp_sum > 10'd22) ? 5'd22 : 5'(sub_offset - exp_sum)");
    f.let_("guard", 5, "right - 5'd1");
    f.result(
        "{nan_block, zero, negative, magnitude, zeros, normal_top[7:0], normal_limit, inf_limit, \
         exact_sub, left, right, guard}",
    );

    let mut g = Function::new("scale_place", PLACED_BITS);
    g.unpack("prepared", &PREPARED);
    g.let_("frac_normal", 23, "23'({magnitude, 3'b000} << zeros)");
    g.let_("padded", sb, "{1'b0, magnitude}");
    g.local("kept", 23).local("round_up", 1).local("subnormal", 1).local("other", 32);
    g.stmts(vec![
        set("kept", "23'd0"),
        set("round_up", "1'b0"),
        set("subnormal", "1'b0"),
        set("other", "32'd0"),
        if_else(
            "nan_block",
            vec![set("other", "32'h7FC00000")],
            vec![if_else(
                "zero",
                vec![set("other", "32'd0")],
                vec![if_else(
                    "zeros < inf_limit",
                    vec![set("other", "{negative, 8'hFF, 23'd0}")],
                    vec![if_else(
                        "zeros < normal_limit",
                        vec![set("other", "{negative, normal_top - 8'(zeros), frac_normal}")],
                        vec![if_else(
                            "exact_sub",
                            vec![set("other", "{negative, 8'd0, {2'b00, magnitude} << left}")],
                            vec![
                                Stmt::Comment("Subnormal after a right shift.".into()),
                                set("kept", "{2'b00, magnitude} >> right"),
                                Stmt::Comment("The guard bit reads the padded magnitude: bit 21 exists (and is 0).".into()),
                                Stmt::Comment("The sticky bits are those below it: a mask of shifted ones, no subtraction.".into()),
                                set(
                                    "round_up",
                                    "padded[guard] && (kept[0] || (padded & ~({22{1'b1}} << guard)) != '0)",
                                ),
                                set("subnormal", "1'b1"),
                            ],
                        )],
                    )],
                )],
            )],
        ),
    ]);
    g.result("{subnormal, negative, round_up, kept, other}");

    let mut h = Function::new("scale_round", 32);
    h.input("placed", PLACED_BITS);
    h.comment("A subnormal result rounds up by one unit (a carry may reach the smallest normal).");
    h.result(format!(
        "placed[{}] ? {{placed[{}], 31'(placed[32 +: 23]) + 31'(placed[55])}} : placed[31:0]",
        PLACED_BITS - 1,
        PLACED_BITS - 2
    ));
    [f, g, h]
}

/// The DPE's generator parameters: how deep its pipeline is and how many outputs it
/// interleaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DpeConfig {
    /// Accumulators, one per output slot: blocks name their slot on `slot_i`, and blocks of
    /// different slots may follow each other while one slot's sum is still in the adder
    /// (C-slow interleave).
    pub interleave: u32,
    /// Cycles of the block sum: 1 (each slice's sum added into it in its cycle), 2 (each
    /// slice's terms reduced to two words, added into it the next cycle) or 3 (the
    /// multipliers' lanes decoded and registered before that).
    pub slice_stages: u32,
    /// Cycles of the scaling of a block sum to f32: its three steps (prepare, place, round) in
    /// 1 to 3 pipeline stages.
    pub scale_stages: u32,
    /// Cycles of the accumulation: the adder's five steps (order, align, sum, normalize,
    /// round) in 1 to 5 pipeline stages.
    pub add_stages: u32,
}

impl DpeConfig {
    /// The presets' DPE: one accumulator, the whole addition in one cycle (it closes at 10 ns in
    /// the OSU 0.18 um flow).
    pub const SINGLE: DpeConfig =
        DpeConfig { interleave: 1, slice_stages: 1, scale_stages: 1, add_stages: 1 };
    /// For FPGA fabric: every step its own stage (the block sum in three, the scaling in three,
    /// the addition in five), five outputs interleaved through the adder.
    pub const INTERLEAVED: DpeConfig =
        DpeConfig { interleave: 5, slice_stages: 3, scale_stages: 3, add_stages: 5 };

    /// A checked configuration. MX4 brings a block every cycle, so the slots must be at least
    /// as many as the adder's stages for a slot's next block to find its sum written back.
    pub fn new(
        interleave: u32,
        slice_stages: u32,
        scale_stages: u32,
        add_stages: u32,
    ) -> Result<DpeConfig, ConfigError> {
        for (name, got, max, allowed) in [
            ("slice_stages", slice_stages, 3, "1, 2 or 3"),
            ("scale_stages", scale_stages, 3, "1, 2 or 3"),
            ("add_stages", add_stages, 5, "1 to 5"),
        ] {
            if !(1..=max).contains(&got) {
                return Err(ConfigError::Stages { name, allowed, got });
            }
        }
        if !(add_stages..=16).contains(&interleave) {
            return Err(ConfigError::Interleave { add_stages, got: interleave });
        }
        Ok(DpeConfig { interleave, slice_stages, scale_stages, add_stages })
    }

    /// Cycles from a block's last slice on the operand ports until `acc_o` holds the sum with it
    /// (and `block_done_o` pulses): the block sum's, the scaling's and the accumulation's
    /// stages. A drain request (`drain_i`) reaches `drain_o` after the same cycles, when
    /// `acc_o` holds every block of its slot streamed before it.
    pub const fn latency(self) -> u32 {
        self.slice_stages + self.scale_stages + self.add_stages
    }

    /// Bits of `slot_i` and `slot_o` (none with one accumulator).
    pub fn slot_bits(self) -> u32 {
        crate::fp_add::bits_for(u64::from(self.interleave - 1))
    }

    /// `dpe` for the presets' configuration, else `dpe_i{interleave}_{slice_stages}{scale_stages}
    /// {add_stages}` (`dpe_i5_335`: five outputs, stages 3 + 3 + 5).
    pub fn module_name(self) -> String {
        if self == DpeConfig::SINGLE {
            "dpe".into()
        } else {
            format!("dpe_i{}_{}{}{}", self.interleave, self.slice_stages, self.scale_stages, self.add_stages)
        }
    }

    /// The parameters a module name gives after `dpe_` (`i5_335`: interleave 5, then the
    /// slice, scale and add stages), unchecked; `None` if it is not such a name.
    pub fn parse_name(name: &str) -> Option<(u32, [u32; 3])> {
        let (interleave, stages) = name.strip_prefix('i')?.split_once('_')?;
        let digits: Vec<u32> = stages.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
        Some((interleave.parse().ok()?, digits.try_into().ok()?))
    }
}

/// The presets' DPE latency (`DpeConfig::SINGLE`).
pub const LATENCY: u32 = DpeConfig::SINGLE.latency();

pub fn dpe() -> Module {
    dpe_with(DpeConfig::SINGLE)
}

/// The DPE with every module it needs (none: its arithmetic is functions).
pub fn dpe_design_with(cfg: DpeConfig) -> Design {
    Design { top: dpe_with(cfg), submodules: Vec::new() }
}

pub fn dpe_with(cfg: DpeConfig) -> Module {
    let lanes = BLOCK;
    let (slots, stages) = (cfg.interleave, cfg.add_stages);
    let slot_bits = cfg.slot_bits();
    let latency = cfg.latency();
    let accumulation_doc = if stages == 1 {
        "3. accumulate: one IEEE addition into the output-stationary accumulator.\n\
         The accumulation is the only loop, and one f32 addition closes at the target clock, so\n\
         blocks of one output may arrive every cycle (MX4) and are added in K order without an\n\
         interleave of several outputs."
            .to_string()
    } else {
        format!(
            "3. accumulate, in {stages} stages (the adder's order, align, sum, normalize and round steps): one IEEE\n\
             addition into the accumulator of the block's slot.\n\
             The accumulation is a loop through {stages} stages, so one output cannot take a block\n\
             every cycle. The DPE holds {slots} accumulators (C-slow interleave): each block names its\n\
             slot on slot_i, reads the slot's accumulator as it enters the adder and writes it\n\
             {stages} cycles later. Blocks of one slot must enter the adder at least {stages} cycles\n\
             apart, which {slots} slots taken in turn guarantee even in MX4 (a block every cycle), and\n\
             each slot's blocks are added in K order."
        )
    };
    let scale_doc =
        if cfg.scale_stages == 1 { String::new() } else { format!(", in {} stages", cfg.scale_stages) };
    let ports_doc = if slots == 1 {
        String::new()
    } else {
        format!(
            "\n\nslot_i names the output slot (0..{}) of a block, clear, load or drain, given with its\n\
             last slice or with the request. acc_o shows the accumulator of slot_o: the slot of the\n\
             last block written back, or in a drain's cycle the drained slot.",
            slots - 1
        )
    };
    let mut md = Module::new(
        cfg.module_name(),
        format!(
            "Precision-flexible dot-product engine, output-stationary (SPEC section 3). Each valid cycle\n\
             takes one slice of a block pair: 1 element of MX9, 4 of MX6 or 16 of MX4 from each\n\
             operand, as 16 two-bit digits per operand (MX9: the element's 4 digits; MX6: element e's 2\n\
             digits in bits [4e +: 4]; MX4: element e in bits [2e +: 2]) and a sign per element. The\n\
             block's shared exponents and micro-exponents stay on their ports for all of its slices.\n\
             \n\
             Pipeline stages, so that no path holds more than one of the long operations:\n\
             1. slice: the slice's exact integer sum joins the block sum; at the block's last slice\n\
             \x20  the exact block sum is registered with its exponents;\n\
             2. scale{scale_doc}: the block sum is scaled to f32 (one rounding, only below the normal\n\
             \x20  range);\n\
             {accumulation_doc} acc_o includes a block {latency} cycles after its last slice was on the\n\
             ports, and block_done_o pulses then.\n\
             \n\
             clear_i (to +0) and load_i (to load_data_i, to accumulate into an existing output) take\n\
             priority over valid_i and restart the block; they travel down the stages with the blocks,\n\
             so they act on the accumulator after every block before them. drain_i and drain_tag_i\n\
             travel the same way: drain_o is high in the cycle acc_o holds every block streamed before\n\
             the drain, which is the cycle a clear given with the drain empties the accumulator. A\n\
             block with a NaN exponent (8'hFF) makes the accumulator NaN. Each stage computes only when\n\
             it holds a block, so idle stages neither toggle nor cost simulation time.{ports_doc}"
        ),
    );
    md.clock_and_reset()
        .input("format_i", 2)
        .input("clear_i", 1)
        .input("load_i", 1)
        .input("load_data_i", 32)
        .input("drain_i", 1)
        .input("drain_tag_i", 1)
        .input("valid_i", 1);
    if slots > 1 {
        md.input("slot_i", slot_bits);
    }
    md.input("a_exp_i", 8)
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
    if slots > 1 {
        md.output("slot_o", slot_bits);
    }

    let slicing = cfg.slice_stages as usize;
    let slice_steps = match slicing {
        1 => vec![slice_function(SliceStep::Sum)],
        2 => vec![slice_function(SliceStep::Terms)],
        _ => vec![slice_function(SliceStep::Lanes), slice_function(SliceStep::Reduce)],
    };
    let scale_steps = scale_functions();
    md.blank().comment("Slice position within the block; the last is 15, 3 or 0.");
    md.logic("slice_q", 4).logic("last_slice", 4);
    md.assign("last_slice", by_format("format_i", 4, |f| f.cycles_per_block() - 1));

    // Control words: {slot (with more than one), drain_tag, drain, load, clear, block}.
    let ctrl_bits = 5 + slot_bits;
    let ctrl_in = if slots > 1 {
        "{slot_i, drain_tag_i, drain_i, load_i, clear_i, block_end}"
    } else {
        "{drain_tag_i, drain_i, load_i, clear_i, block_end}"
    };
    // Control and load data at the entry of each stage after the first: the scaling, then
    // each stage of the accumulation; the last is where the accumulator is written.
    let scaling = cfg.scale_stages as usize;
    let ctrl: Vec<String> = (1..slicing)
        .map(|s| format!("slice{s}_ctrl_q"))
        .chain(
            (0..scaling)
                .map(|s| if s == 0 { "scale_ctrl_q".to_string() } else { format!("scale{s}_ctrl_q") }),
        )
        .chain((0..stages).map(|s| if s == 0 { "acc_ctrl_q".to_string() } else { format!("add{s}_ctrl_q") }))
        .collect();
    let load: Vec<String> = ctrl.iter().map(|c| c.replace("_ctrl_q", "_load_q")).collect();
    md.blank().comment(format!(
        "Control of the later stages, as it entered stage 1 one, two, ... cycles ago:\n\
         {{{}drain_tag, drain, load, clear, block}}, with the load data beside it.",
        if slots > 1 { "slot, " } else { "" }
    ));
    for (c, l) in ctrl.iter().zip(&load) {
        md.logic(c, ctrl_bits).logic(l, 32);
    }
    md.wire("block_end", 1, "valid_i && !clear_i && !load_i && slice_q == last_slice");
    let mut reset = Vec::new();
    let mut shift = vec![set(&ctrl[0], ctrl_in)];
    for (c, l) in ctrl.iter().zip(&load) {
        reset.extend([set(c, "'0"), set(l, "'0")]);
    }
    shift.push(if_("load_i", vec![set(&load[0], "load_data_i")]));
    for i in 1..ctrl.len() {
        shift.push(set(&ctrl[i], &ctrl[i - 1]));
        shift.push(if_(format!("{}[2]", ctrl[i - 1]), vec![set(&load[i], &load[i - 1])]));
    }
    md.always_ff(reset, shift);

    // The arithmetic is called inside the clocked branches, not in continuous assignments,
    // so that each stage computes only in the cycles it holds a block.
    let slice_args =
        ["format_i", "slice_q", "a_micro_i", "b_micro_i", "a_sign_i", "a_mag_i", "b_sign_i", "b_mag_i"];
    md.logic("block_sum_q", SUM_BITS).logic("a_exp_q", 8).logic("b_exp_q", 8).logic("format_q", 2);
    let block_regs = ["block_sum_q", "a_exp_q", "b_exp_q", "format_q"];
    let reset = |extra: Option<&str>| extra.into_iter().chain(block_regs).map(|r| set(r, "'0")).collect();
    // The block's exponents and format, kept from its last slice for the scaling.
    let block_exps = |from: [&str; 3]| block_regs[1..].iter().zip(from).map(|(r, f)| set(*r, f)).collect();
    if slicing == 1 {
        let partial = format!("slice_q == '0 ? {SUM_BITS}'d0 : block_sum_q");
        let block_sum = slice_steps[0].call(&[&[partial.as_str()][..], &slice_args].concat());
        md.blank().comment(block_sum_doc(1));
        md.always_ff(
            reset(Some("slice_q")),
            // `block_end` already holds only for a valid slice without a clear or a load.
            vec![if_else(
                "clear_i || load_i",
                vec![set("slice_q", "'0")],
                vec![if_(
                    "valid_i",
                    vec![
                        set("block_sum_q", block_sum),
                        set("slice_q", "block_end ? '0 : slice_q + 4'd1"),
                        if_("block_end", block_exps(["a_exp_i", "b_exp_i", "format_i"])),
                    ],
                )],
            )],
        );
    } else {
        block_sum_front(&mut md, &slice_steps, &slice_args);
        let sb = SUM_BITS;
        md.blank().comment(block_sum_doc(slicing));
        md.always_ff(
            reset(None),
            vec![if_(
                "terms_valid_q",
                vec![
                    set(
                        "block_sum_q",
                        format!(
                            "(terms_first_q ? {sb}'d0 : block_sum_q) + terms_q[{sb} +: {sb}] + terms_q[0 +: {sb}]"
                        ),
                    ),
                    if_("terms_end_q", block_exps(["terms_a_exp_q", "terms_b_exp_q", "terms_format_q"])),
                ],
            )],
        );
    }

    // The scaling's steps in `scaling` groups; a register holds each group's result for the next.
    let groups: &[usize] = match scaling {
        1 => &[3],
        2 => &[1, 2],
        _ => &[1, 1, 1],
    };
    md.blank().comment(if scaling == 1 {
        "Stage 2: the block sum scaled to f32.".to_string()
    } else {
        format!(
            "Stages {} to {}: the block sum scaled to f32, prepared, placed and rounded.",
            slicing + 1,
            slicing + scaling
        )
    });
    let scaling_ctrl = &ctrl[slicing - 1..];
    let value = staged(&mut md, groups, scaling_ctrl, &["prepared_q", "placed_q"], |first, count, input| {
        let operands = ["block_sum_q", "a_exp_q", "b_exp_q", "format_q"];
        let start = input.map_or_else(|| scale_steps[0].call(&operands), str::to_string);
        let expr = scale_steps[first.max(1)..first + count].iter().fold(start, |x, step| step.call(&[&x]));
        (expr, scale_steps[first + count - 1].width())
    });
    md.logic("value_q", 32);
    md.always_ff(
        vec![set("value_q", "'0")],
        vec![if_(format!("{}[0]", scaling_ctrl[groups.len() - 1]), vec![set("value_q", value)])],
    );

    let accumulating = slicing + scaling - 1;
    let adder = accumulation(&mut md, cfg, &ctrl[accumulating..], &load[accumulating..]);
    md.blank();
    for step in slice_steps {
        md.function(step);
    }
    for step in scale_steps {
        md.function(step);
    }
    for function in adder {
        md.function(function);
    }
    md
}

/// The comment on the block sum's stage, stage `stage`.
fn block_sum_doc(stage: usize) -> String {
    format!(
        "Stage {stage}: the block sum so far, from zero at each block's first slice. After the block's\n\
         last slice it holds the whole sum, which the scaling reads in the next cycle, and the\n\
         block's exponents are kept beside it."
    )
}

/// The block sum's stages before the one that adds into it: each registers its step's result
/// (`lanes_q`, then `terms_q`: two words whose sum is the slice's) with whether the slice is
/// valid, starts or ends its block, and the block's exponents and format.
fn block_sum_front(md: &mut Module, steps: &[Function], slice_args: &[&str]) {
    let flags = [("first", 1), ("end", 1), ("a_exp", 8), ("b_exp", 8), ("format", 2)];
    let names = if steps.len() == 1 { vec!["terms"] } else { vec!["lanes", "terms"] };
    for (i, (name, step)) in names.iter().zip(steps).enumerate() {
        md.blank().comment(if i == 0 {
            format!(
                "Stage 1: each slice's {}, with whether the slice starts or ends its block and the
                 block's exponents.",
                if *name == "terms" {
                    "terms, reduced to two words whose sum is the slice's"
                } else {
                    "multipliers' decoded lanes"
                }
            )
        } else {
            format!("Stage {}: the lanes' terms, reduced to two words whose sum is the slice's.", i + 1)
        });
        let reg = |field: &str| format!("{name}_{field}_q");
        md.logic(format!("{name}_q"), step.width()).logic(reg("valid"), 1);
        for (flag, width) in flags {
            md.logic(reg(flag), width);
        }
        let mut reset: Vec<Stmt> = std::iter::once(format!("{name}_q"))
            .chain(std::iter::once(reg("valid")))
            .chain(flags.iter().map(|(flag, _)| reg(flag)))
            .map(|r| set(r, "'0"))
            .collect();
        if i == 0 {
            reset.insert(0, set("slice_q", "'0"));
            md.always_ff(
                reset,
                vec![
                    set(reg("valid"), "valid_i && !clear_i && !load_i"),
                    if_else(
                        "clear_i || load_i",
                        vec![set("slice_q", "'0")],
                        vec![if_(
                            "valid_i",
                            vec![
                                set(format!("{name}_q"), step.call(slice_args)),
                                set(reg("first"), "slice_q == '0"),
                                set(reg("end"), "block_end"),
                                set(reg("a_exp"), "a_exp_i"),
                                set(reg("b_exp"), "b_exp_i"),
                                set(reg("format"), "format_i"),
                                set("slice_q", "block_end ? 4'd0 : slice_q + 4'd1"),
                            ],
                        )],
                    ),
                ],
            );
        } else {
            let prev = names[i - 1];
            let copy: Vec<Stmt> =
                std::iter::once(set(format!("{name}_q"), step.call(&[&format!("{prev}_q")])))
                    .chain(flags.iter().map(|(flag, _)| set(reg(flag), format!("{prev}_{flag}_q"))))
                    .collect();
            md.always_ff(
                reset,
                vec![set(reg("valid"), format!("{prev}_valid_q")), if_(format!("{prev}_valid_q"), copy)],
            );
        }
    }
}

/// Spreads a chain of steps over pipeline stages, `groups[i]` steps in stage i: `group(first,
/// count, input)` gives the expression of steps `first..first + count` on `input` (none: the
/// chain's own operands) and its width. Every stage but the last registers its result in
/// `registers[its last step]` in the cycles `ctrl[stage]` holds a block; the last stage's
/// expression is returned for the caller to place.
fn staged(
    md: &mut Module,
    groups: &[usize],
    ctrl: &[String],
    registers: &[&str],
    mut group: impl FnMut(usize, usize, Option<&str>) -> (String, u32),
) -> String {
    let (&last, earlier) = groups.split_last().expect("a chain has at least one stage");
    let mut input: Option<String> = None;
    let mut first = 0;
    for (stage, &count) in earlier.iter().enumerate() {
        let (expr, width) = group(first, count, input.as_deref());
        first += count;
        let register = registers[first - 1];
        md.logic(register, width);
        md.always_ff(
            vec![set(register, "'0")],
            vec![if_(format!("{}[0]", ctrl[stage]), vec![set(register, expr)])],
        );
        input = Some(register.to_string());
    }
    group(first, last, input.as_deref()).0
}

/// The accumulators after the scaling, the adder's steps spread over `ctrl.len()` stages (`ctrl`
/// and `load` hold each stage's control word and load data, the entry first, the write-back
/// last).
fn accumulation(md: &mut Module, cfg: DpeConfig, ctrl: &[String], load: &[String]) -> Vec<Function> {
    let add = FpAddSteps::new(FloatFormat::F32);
    let slots = cfg.interleave;
    let (entry, exit) = (&ctrl[0], &ctrl[ctrl.len() - 1]);
    let slot_of = |c: &str| format!("{c}[{}:5]", 4 + cfg.slot_bits());
    let acc = |c: &str| if slots == 1 { "acc_q".to_string() } else { format!("acc_q[{}]", slot_of(c)) };
    md.blank();
    if slots == 1 {
        md.comment("Accumulation: the accumulator; clear and load act in order with the blocks.");
        md.logic("acc_q", 32);
    } else {
        md.comment(format!(
            "Accumulation in {} stages: the accumulators, one per slot; clear and load act in order\n\
             with the blocks of their slot.",
            ctrl.len()
        ));
        md.logic(format!("acc_q [{slots}]"), 32);
    }
    md.logic("block_done_q", 1);

    // The adder's input, and its steps: all in the entry stage, or registered between.
    let mut operand = acc(entry);
    let stages = ctrl.len();
    if stages > 1 {
        md.comment(
            "A clear or load still in the adder's stages has not written its accumulator yet: a block\n\
             of its slot entering behind it starts from the value it will write.",
        );
        md.logic("pending_q", slots).logic(format!("pending_value_q [{slots}]"), 32);
        let s = slot_of(entry);
        operand = format!("pending_q[{s}] ? pending_value_q[{s}] : {operand}");
        md.always_ff(
            vec![set("pending_q", "'0"), for_("s", slots, vec![set("pending_value_q[s]", "'0")])],
            vec![if_else(
                format!("{entry}[1] || {entry}[2]"),
                vec![
                    set(format!("pending_q[{s}]"), "1'b1"),
                    set(format!("pending_value_q[{s}]"), format!("{entry}[1] ? 32'd0 : {}", load[0])),
                ],
                vec![if_(format!("{entry}[0]"), vec![set(format!("pending_q[{s}]"), "1'b0")])],
            )],
        );
    }
    // The adder's steps in `stages` groups; a register holds each group's result for the next.
    let groups: &[usize] = match stages {
        1 => &[5],
        2 => &[3, 2],
        3 => &[2, 1, 2],
        4 => &[2, 1, 1, 1],
        _ => &[1, 1, 1, 1, 1],
    };
    let mut functions = Vec::new();
    let registers = ["ordered_q", "aligned_q", "summed_q", "normalized_q"];
    let sum = staged(md, groups, ctrl, &registers, |first, count, input| {
        let function = add.stage(first, count);
        let expr = match input {
            Some(earlier) => function.call(&[earlier]),
            None => function.call(&[&operand, "value_q"]),
        };
        let width = function.width();
        functions.push(function);
        (expr, width)
    });
    let written = acc(exit);
    md.always_ff(
        if slots == 1 {
            vec![set("acc_q", "'0"), set("block_done_q", "1'b0")]
        } else {
            vec![for_("s", slots, vec![set("acc_q[s]", "'0")]), set("block_done_q", "1'b0")]
        },
        vec![
            set("block_done_q", format!("{exit}[0]")),
            // A block never comes with a clear or a load (they restart the block), so testing
            // it first keeps the adder's result one multiplexer from the register.
            if_else(
                format!("{exit}[0]"),
                vec![set(&written, sum)],
                vec![if_else(
                    format!("{exit}[1]"),
                    vec![set(&written, "'0")],
                    vec![if_(format!("{exit}[2]"), vec![set(&written, &load[load.len() - 1])])],
                )],
            ),
        ],
    );
    md.assign("block_done_o", "block_done_q")
        .assign("drain_o", format!("{exit}[3]"))
        .assign("drain_tag_o", format!("{exit}[4]"));
    if slots == 1 {
        md.assign("acc_o", "acc_q");
    } else {
        md.comment("The slot acc_o shows: the drained one in a drain's cycle, else the last block's.");
        md.logic("done_slot_q", cfg.slot_bits());
        md.always_ff(
            vec![set("done_slot_q", "'0")],
            vec![if_(format!("{exit}[0]"), vec![set("done_slot_q", slot_of(exit))])],
        );
        md.assign("slot_o", format!("{exit}[3] ? {} : done_slot_q", slot_of(exit)));
        md.assign("acc_o", "acc_q[slot_o]");
    }
    functions
}
