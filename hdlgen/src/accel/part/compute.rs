//! The compute unit: it streams a compute's slices from the scratchpads into the array, with
//! its clear and drain cycles.

use super::Sizes;
use crate::accel::{edge_word, Bank, WORD_BITS};
use crate::array::SLICE_BITS;
use crate::mx::{by_format, times_constant, MxFormat};
use crate::package::{self, ComputeState, COMPUTE_STATE_BITS};
use crate::verilog::{case, if_, if_else, set, Module, Register};

/// The compute unit's registers: its state and the command it runs.
fn registers(s: &Sizes) -> Vec<Register> {
    let Sizes { cfg, l, bwb, sd, .. } = *s;
    let state_doc = "dacapo_pkg::ComputeIdle, ComputeClear, ComputeStream or ComputeDrain";
    let idle = package::compute_state(ComputeState::Idle);
    let mut registers = vec![
        Register::new("compute_state", COMPUTE_STATE_BITS, idle).doc(state_doc),
        Register::new("compute_drain", 1, "1'b0").doc("the running compute ends with a drain"),
        Register::new("compute_tag", 1, "1'b0"),
        Register::new("compute_format", 2, "'0"),
        Register::new("compute_k_block", 16, "'0"),
        Register::new("compute_k", 16, "'0"),
        Register::new("compute_slice", 4, "'0"),
        Register::new("compute_a", 16, "'0"),
        Register::new("compute_b", 16, "'0"),
        Register::new("compute_a_end", 17, "'0").doc("the first A word past the compute's"),
        Register::new("compute_b_end", bwb, "'0").doc("the first B word past the compute's"),
    ];
    if l > 1 {
        registers.extend([
            Register::new("compute_slot", cfg.dpe.slot_bits(), "'0")
                .doc("the slot of the block, clear or drain cycle"),
            Register::new("compute_b_step", bwb, "'0")
                .doc("B's word of the K step from compute_b_q: L per word of A"),
        ]);
    }
    let since_drain_doc = "cycles since this part's last drain began, saturating";
    registers.push(Register::new("since_drain", sd, saturated(sd)).doc(since_drain_doc));
    registers
}

/// The saturated value of the `bits`-bit cycles-since-drain counter.
fn saturated(bits: u32) -> String {
    format!("{bits}'h{:X}", (1u64 << bits) - 1)
}

/// The compute unit's registers and the wires that decode them, declared before the hazards
/// that read them.
pub(super) fn state(md: &mut Module, s: &Sizes) {
    let Sizes { l, sd, .. } = *s;
    let last_slot = &s.last_slot;
    if l == 1 {
        md.blank()
            .comment("Compute unit: an optional clear cycle, K blocks of slices, an optional drain cycle.");
    } else {
        md.blank().comment(
            "Compute unit: optional clear cycles, one per slot; for each K block the L slots' blocks\n\
             of slices in turn (the row's A block again, B's next word); optional drain cycles, one\n\
             per slot.",
        );
    }
    md.declare_registers(&registers(s));
    let state = |st| format!("compute_state_q == {}", package::compute_state(st));
    md.wire(
        "compute_active",
        1,
        format!("compute_state_q != {}", package::compute_state(ComputeState::Idle)),
    )
    .wire("compute_emit_clear", 1, state(ComputeState::Clear))
    .wire("compute_emit_slice", 1, state(ComputeState::Stream))
    .wire("compute_at_drain", 1, state(ComputeState::Drain));
    md.wire("compute_last_slice", 4, by_format("compute_format_q", 4, |f| f.cycles_per_block() - 1)).wire(
        "compute_block_end",
        1,
        "compute_emit_slice && compute_slice_q == compute_last_slice",
    );
    if l == 1 {
        md.wire("spacing_ok", 1, "since_drain_q >= {1'b0, part_rows} << 1")
            .wire("compute_emit_drain", 1, "compute_at_drain && spacing_ok")
            .wire("compute_final_slice", 1, "compute_block_end && compute_k_q == compute_k_block_q - 16'd1")
            .wire("compute_last", 1, "(compute_final_slice && !compute_drain_q) || compute_emit_drain");
    } else {
        md.wire("compute_slot_wraps", 1, format!("compute_slot_q == {last_slot}"))
            .wire(
                "spacing_ok",
                1,
                format!("since_drain_q >= {}", times_constant(&format!("{sd}'(part_rows)"), l + 1, sd)),
            )
            .wire("compute_emit_drain", 1, "compute_at_drain && (compute_slot_q != '0 || spacing_ok)")
            .wire("compute_step_end", 1, "compute_block_end && compute_slot_wraps")
            .wire("compute_final_slice", 1, "compute_step_end && compute_k_q == compute_k_block_q - 16'd1")
            .wire(
                "compute_last",
                1,
                "(compute_final_slice && !compute_drain_q) || (compute_emit_drain && compute_slot_wraps)",
            );
    }
    md.wire(
        "compute_word",
        16,
        format!("(compute_format_q == {}) ? compute_k_q >> 1 : compute_k_q", package::format(MxFormat::MX4)),
    );
}

/// The compute unit's sequencing, its scratchpad reads and the array's control register.
pub(super) fn sequencing(md: &mut Module, s: &Sizes) {
    let Sizes { cfg, aw, l, cb, bwb, sd, .. } = *s;
    md.blank().comment(
        "Compute unit sequencing: clear, stream and drain; a dispatch in its last cycle starts the\n\
         next command seamlessly.",
    );
    let state = |st| package::compute_state(st);
    let mut starts = vec![
        set(
            "compute_state_d",
            format!("head.flag ? {} : {}", state(ComputeState::Clear), state(ComputeState::Stream)),
        ),
        set("compute_drain_d", "head.drain"),
        set("compute_tag_d", "head.buffer"),
        set("compute_format_d", "head.format"),
        set("compute_k_block_d", "head.count"),
        set("compute_k_d", "16'd0"),
        set("compute_slice_d", "4'd0"),
        set("compute_a_d", "head.addr"),
        set("compute_b_d", "head.b_addr"),
        set("compute_a_end_d", "head_a_end"),
        set("compute_b_end_d", "head_b_end"),
    ];
    if l > 1 {
        starts.extend([set("compute_slot_d", "'0"), set("compute_b_step_d", "'0")]);
    }
    // The last clear and drain cycles: the only one, or the last slot's.
    let to_stream = set("compute_state_d", state(ComputeState::Stream));
    let (clear_done, drain_done) = if l == 1 {
        (to_stream, "compute_emit_drain")
    } else {
        (if_("compute_slot_wraps", vec![to_stream]), "compute_emit_drain && compute_slot_wraps")
    };
    let stream_end =
        format!("compute_drain_q ? {} : {}", state(ComputeState::Drain), state(ComputeState::Idle));
    // (compute_drain_q is read only while the unit is active; a start sets it again.)
    let to_idle = vec![set("compute_state_d", state(ComputeState::Idle))];
    let mut next = vec![case(
        "compute_state_q",
        vec![
            (state(ComputeState::Clear), vec![clear_done]),
            (
                state(ComputeState::Stream),
                vec![if_("compute_final_slice", vec![set("compute_state_d", stream_end)])],
            ),
            (state(ComputeState::Drain), vec![if_(drain_done, to_idle)]),
        ],
        vec![],
    )];
    if l == 1 {
        next.push(if_(
            "compute_emit_slice",
            vec![if_else(
                "compute_block_end",
                vec![set("compute_slice_d", "4'd0"), set("compute_k_d", "compute_k_q + 16'd1")],
                vec![set("compute_slice_d", "compute_slice_q + 4'd1")],
            )],
        ));
    } else {
        // A K step moves B on by L words once it has used A's word: every step, or every
        // second one in MX4 (two blocks a word).
        let word_done = format!("compute_format_q != {} || compute_k_q[0]", package::format(MxFormat::MX4));
        next.extend([
            if_(
                "compute_emit_clear || compute_block_end || compute_emit_drain",
                vec![set(
                    "compute_slot_d",
                    format!("compute_slot_wraps ? '0 : compute_slot_q + {}'d1", cfg.dpe.slot_bits()),
                )],
            ),
            if_(
                "compute_emit_slice",
                vec![if_else(
                    "compute_block_end",
                    vec![set("compute_slice_d", "4'd0")],
                    vec![set("compute_slice_d", "compute_slice_q + 4'd1")],
                )],
            ),
            if_(
                "compute_step_end",
                vec![
                    set("compute_k_d", "compute_k_q + 16'd1"),
                    if_(word_done, vec![set("compute_b_step_d", format!("compute_b_step_q + {bwb}'d{l}"))]),
                ],
            ),
        ]);
    }
    let drain_begins =
        if l == 1 { "compute_emit_drain" } else { "compute_emit_drain && compute_slot_q == '0" };
    let saturated = saturated(sd);
    next.push(set(
        "since_drain_d",
        format!("{drain_begins} ? {sd}'d1 : (since_drain_q == {saturated}) ? since_drain_q : since_drain_q + {sd}'d1"),
    ));
    next.push(if_("start_compute", starts));
    md.update_registers(&registers(s), next);
    if l == 1 {
        md.blank()
            .comment("Scratchpad reads: a block's word is read at its first slice and held for the rest.");
    } else {
        md.blank().comment(
            "Scratchpad reads: a block's words are read at its first slice and held for the rest; A's\n\
             word again for every slot, B's word L k + s for slot s.",
        );
    }
    md.wire("compute_read", 1, "compute_emit_slice && compute_slice_q == 4'd0");
    md.assign("a_re_o", "compute_read").assign("a_raddr_o", format!("{aw}'(compute_a_q + compute_word)"));
    md.blank().comment("Stage 1: the array control, aligned with the words read (one cycle later).");
    md.logic("store_ctrl_q", cb)
        .logic("store_format_q", 2)
        .logic("store_slice_q", 4)
        .logic("store_half_q", 1);
    md.always_ff(
        vec![
            set("store_ctrl_q", "'0"),
            set("store_format_q", "'0"),
            set("store_slice_q", "'0"),
            set("store_half_q", "1'b0"),
        ],
        vec![
            set(
                "store_ctrl_q",
                format!(
                    "{{{}compute_tag_q, compute_emit_drain, compute_emit_clear || compute_emit_drain, compute_emit_slice}}",
                    if l == 1 { "" } else { "compute_slot_q, " }
                ),
            ),
            set("store_format_q", "compute_format_q"),
            set("store_slice_q", "compute_slice_q"),
            set("store_half_q", format!("compute_format_q == {} && compute_k_q[0]", package::format(MxFormat::MX4))),
        ],
    );
    md.assign("ctrl_o", "store_ctrl_q")
        .assign("format_o", "store_format_q")
        .assign("slice_o", "store_slice_q")
        .assign("half_o", "store_half_q");
}

/// The B banks, one per column, and the edge words they give the array.
pub(super) fn b_banks(md: &mut Module, s: &Sizes, b_bank: &Bank) {
    let select = package::slice_select();
    let Sizes { c_n, bw, l, bwb, .. } = *s;
    md.blank().comment("B banks, one per column, and their edge words.");
    let b_raddr = if l == 1 {
        format!("{bw}'(compute_b_q + compute_word)")
    } else {
        format!("{bw}'({bwb}'(compute_b_q) + compute_b_step_q + {bwb}'(compute_slot_q))")
    };
    md.generate("c", c_n, "g_b", |g| {
        g.logic("word", WORD_BITS);
        b_bank.instance(
            g,
            &[
                ("clk_i", "clk_i".into()),
                ("we_i", "bank_write_q && dma_kind_q == 2'd1 && dma_lane_mask_q[c]".into()),
                ("waddr_i", format!("{bw}'(bank_write_addr_q)")),
                ("wdata_i", format!("lane_words[{WORD_BITS}*c +: {WORD_BITS}]")),
                ("re_i", "compute_read".into()),
                ("raddr_i", b_raddr),
                ("rdata_o", "word".into()),
            ],
        );
        edge_word(
            g,
            &select,
            "store_ctrl_q[0]",
            "word",
            ["store_format_q", "store_slice_q", "store_half_q"],
            &format!("b_o[{SLICE_BITS}*c +: {SLICE_BITS}]"),
        );
    });
}
