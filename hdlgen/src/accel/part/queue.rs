//! The command queue: a command passes an entry register, then waits in a ring until its
//! unit takes it (hdlgen::accel::cmd gives the command word).

use super::Sizes;
use crate::accel::{cmd, error, load_together, opcode_tests, word_bits};
use crate::mx::{by_format_product, times_constant, MxFormat};
use crate::package;
use crate::verilog::{if_, if_else, set, Module};

/// The ring's storage, the entry register's inputs (the incoming command's sizes, ends and
/// range checks), the head's fields and its validation, in the order of the error codes.
pub(super) fn intake(md: &mut Module, s: &Sizes) {
    let Sizes { cfg, r_n, c_n, p, pl, q, qb, beat_w, l, tc, bwb, .. } = *s;
    md.blank().comment(
        "Command queue: a ring of commands, each kept with the sizes, operand ends and range check\n\
         that depend on it alone, so no multiply or addition lies between the head and dispatch. A\n\
         command passes an entry register first: its sizes, ends and scratchpad ranges are computed\n\
         on the way in, its host range (lines times beats) on the way from there into the ring.",
    );
    md.logic_doc("queue_q", cmd::BITS * q, "entry i in bits [128i +: 128]")
        .logic_doc(
            "a_ends_q",
            17 * q,
            "entry i's end (first word past it) of a load's lines or a compute's A words, bits [17i +: 17]",
        )
        .logic_doc(
            "b_ends_q",
            bwb * q,
            format!("entry i's end of a compute's B words, bits [{bwb}i +: {bwb}]"),
        )
        .logic_doc(
            "beats_q",
            beat_w * q,
            format!("entry i's host beats per line or row, bits [{beat_w}i +: {beat_w}]"),
        )
        .logic_doc("range_bad_q", q, "entry i fails the range check")
        .logic("head_q", qb)
        .logic("tail_q", qb)
        .logic_doc("count_q", qb + 1, "commands in the ring")
        .logic("pop", 1)
        .logic_struct("head", "command_t");
    md.logic_doc("entry_valid_q", 1, "the entry register holds a command")
        .logic("entry_command_q", cmd::BITS)
        .logic("entry_a_end_q", 17)
        .logic("entry_b_end_q", bwb)
        .logic("entry_beats_q", beat_w)
        .logic("entry_lines_q", 16)
        .logic_doc("entry_room_q", 33, "host beats from the command's address to the end of the 32-bit space")
        .logic_doc("entry_host_io_q", 1, "a load or a store, whose host range is checked")
        .logic_doc("entry_bad_scratchpad_q", 1, "the command's scratchpad ranges fail the range check");
    md.comment("The entry register's command counts as taken: the ring has room for it.");
    md.assign("cmd_ready_o", format!("count_q + {w}'(entry_valid_q) != {w}'d{q}", w = qb + 1));
    md.assign("head", "queue_q[128*head_q +: 128]");

    md.blank().comment("The incoming command (cmd_i): its sizes, ends and range checks (error code 5).");
    md.logic_struct("incoming", "command_t").assign("incoming", "cmd_i");
    md.comment("What the entry register's checks leave to the head's (Verilator's name for unused bits).");
    md.wire("unused_incoming", 1, "^{incoming.reserved, incoming.flag, incoming.drain, incoming.buffer}");
    opcode_tests(md, "incoming", Some(&["is_load_a", "is_load_b", "is_load", "is_compute", "is_store"]));
    md.wire(
        "incoming_words",
        17,
        format!(
            "(incoming.format == {}) ? (17'(incoming.count) + 17'd1) >> 1 : 17'(incoming.count)",
            package::format(MxFormat::MX4)
        ),
    )
    .wire("incoming_load_bits", 32, by_format_product("incoming.format", "32'(incoming.rows)", word_bits))
    .wire(
        "incoming_store_bits",
        32,
        format!(
            "(incoming.format == {}) ? {} : {}",
            package::format_f32(),
            times_constant("32'(incoming.cols)", 32, 32),
            by_format_product("incoming.format", "((32'(incoming.cols) + 32'd15) >> 4)", |f| f.block_bits())
        ),
    )
    .wire("incoming_load_beats", 32, format!("(incoming_load_bits + 32'd{}) >> {pl}", p - 1))
    .wire("incoming_store_beats", 32, format!("(incoming_store_bits + 32'd{}) >> {pl}", p - 1))
    .wire(
        "incoming_beats",
        beat_w,
        format!("{beat_w}'(incoming_is_store ? incoming_store_beats : incoming_load_beats)"),
    )
    .wire("incoming_lines", 16, "incoming_is_store ? 16'(incoming.rows) : incoming.count")
    .wire(
        "incoming_a_end",
        17,
        "17'(incoming.addr) + (incoming_is_compute ? incoming_words : 17'(incoming.count))",
    )
    .wire(
        "incoming_b_end",
        bwb,
        if l == 1 {
            "17'(incoming.b_addr) + incoming_words".to_string()
        } else {
            format!(
                "{bwb}'(incoming.b_addr) + {}",
                times_constant(&format!("{bwb}'(incoming_words)"), l, bwb)
            )
        },
    )
    .wire(
        "incoming_bad_scratchpad",
        1,
        format!(
            "(incoming_is_load_a && incoming_a_end > 17'd{a}) ||\n\
             \x20   (incoming_is_load_b && incoming_a_end > 17'd{b}) ||\n\
             \x20   (incoming_is_compute && (incoming_a_end > 17'd{a} || incoming_b_end > {bwb}'d{b}))",
            a = cfg.a_depth,
            b = cfg.b_depth,
        ),
    );

    md.blank().comment("The head: its fields (see hdlgen::accel::cmd) and the sizes kept with it.");
    md.wire("head_any", 1, format!("count_q != {}'d0", qb + 1));
    opcode_tests(md, "head", None);
    md.wire("part_rows", 7, "7'(rows_i)")
        .wire("head_a_end", 17, "a_ends_q[17*head_q +: 17]")
        .wire("head_b_end", bwb, format!("b_ends_q[{bwb}*head_q +: {bwb}]"))
        .wire("head_beats", beat_w, format!("beats_q[{beat_w}*head_q +: {beat_w}]"))
        .wire("head_lines", 16, "head_is_store ? 16'(head.rows) : head.count")
        .wire("lane_limit", 7, format!("head_is_load_b ? 7'd{c_n} : part_rows"));

    md.blank().comment("Validation, in the order of the error codes (hdlgen::accel::error).");
    md.wire(
        "bad_opcode",
        1,
        "!(head_is_load || head_is_compute || head_is_store || head_is_split || head_is_fence) || head.reserved != '0",
    )
        .wire("bad_format", 1, format!("(head_is_load || head_is_compute) && head.format == {}", package::format_f32()))
        .wire("bad_empty", 1, "(head_is_load_a || head_is_compute || head_is_store) && part_rows == 7'd0")
        .wire(
            "bad_shape",
            1,
            format!(
                "(head_is_load && (head.rows == 7'd0 || head.rows > lane_limit || head.count == 16'd0)) ||\n\
                 \x20   ((head_is_compute || head_is_store) && (head.rows == 7'd0 || head.rows > part_rows || head.cols == 7'd0 ||\n\
                 \x20                                 head.cols > 7'd{tc})) ||\n\
                 \x20   (head_is_compute && head.count == 16'd0)"
            ),
        )
        .wire("bad_range", 1, "range_bad_q[head_q]")
        .wire("bad_split", 1, format!("head_is_split && head.rows > 7'd{r_n}"))
        .logic("head_error", 4);
    md.always_comb(vec![if_else(
        "bad_opcode",
        vec![set("head_error", package::error_code(error::OPCODE))],
        vec![if_else(
            "bad_format",
            vec![set("head_error", package::error_code(error::FORMAT))],
            vec![if_else(
                "bad_empty",
                vec![set("head_error", package::error_code(error::EMPTY_PART))],
                vec![if_else(
                    "bad_shape",
                    vec![set("head_error", package::error_code(error::SHAPE))],
                    vec![if_else(
                        "bad_range",
                        vec![set("head_error", package::error_code(error::RANGE))],
                        vec![if_else(
                            "bad_split",
                            vec![set("head_error", package::error_code(error::SPLIT_RANGE))],
                            vec![set("head_error", package::error_code(error::NONE))],
                        )],
                    )],
                )],
            )],
        )],
    )]);
}

/// The entry register and the ring: a command spends a cycle in the entry register, then
/// joins the ring at its tail; a dispatch or a rejection pops the head.
pub(super) fn ring(md: &mut Module, s: &Sizes) {
    let Sizes { qb, beat_w, bwb, .. } = *s;
    md.always_ff(
        vec![set("entry_valid_q", "1'b0")],
        vec![set("entry_valid_q", "cmd_valid_i && cmd_ready_o")],
    );
    load_together(
        md,
        "cmd_valid_i && cmd_ready_o",
        &[
            ("entry_command_q", "cmd_i"),
            ("entry_a_end_q", "incoming_a_end"),
            ("entry_b_end_q", "incoming_b_end"),
            ("entry_beats_q", "incoming_beats"),
            ("entry_lines_q", "incoming_lines"),
            ("entry_room_q", "33'h1_0000_0000 - 33'(incoming.host)"),
            ("entry_host_io_q", "incoming_is_load || incoming_is_store"),
            ("entry_bad_scratchpad_q", "incoming_bad_scratchpad"),
        ],
    );
    md.wire(
        "entry_bad_range",
        1,
        format!("entry_bad_scratchpad_q || (entry_host_io_q && 33'({{{beat_w}'d0, entry_lines_q}} * {{16'd0, entry_beats_q}}) > entry_room_q)"),
    );
    md.always_ff(
        vec![
            set("queue_q", "'0"),
            set("a_ends_q", "'0"),
            set("b_ends_q", "'0"),
            set("beats_q", "'0"),
            set("range_bad_q", "'0"),
            set("head_q", "'0"),
            set("tail_q", "'0"),
            set("count_q", "'0"),
        ],
        vec![
            if_(
                "entry_valid_q",
                vec![
                    set("queue_q[128*tail_q +: 128]", "entry_command_q"),
                    set("a_ends_q[17*tail_q +: 17]", "entry_a_end_q"),
                    set(format!("b_ends_q[{bwb}*tail_q +: {bwb}]"), "entry_b_end_q"),
                    set(format!("beats_q[{beat_w}*tail_q +: {beat_w}]"), "entry_beats_q"),
                    set("range_bad_q[tail_q]", "entry_bad_range"),
                    set("tail_q", format!("tail_q + {qb}'d1")),
                ],
            ),
            if_("pop", vec![set("head_q", format!("head_q + {qb}'d1"))]),
            set("count_q", format!("count_q + {w}'(entry_valid_q) - {w}'(pop)", w = qb + 1)),
        ],
    );
}
