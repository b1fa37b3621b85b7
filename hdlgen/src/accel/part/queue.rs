//! The command queue: a command passes an entry register, then waits in a ring (`part_queue`,
//! a module of its own) until its unit takes it (hdlgen::accel::cmd gives the command word).

use super::Sizes;
use crate::accel::{cmd, error, load_together, opcode_tests, word_bits, PRESETS};
use crate::mx::{by_format_product, times_constant, MxFormat};
use crate::package;
use crate::verilog::{if_, if_else, set, Module, Size};

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
    md.packed_struct("queue_entry_t", &entry_fields(s));
    md.logic_doc("queue_count", qb + 1, "commands in the ring")
        .logic("pop", 1)
        .logic_struct("head_entry", "queue_entry_t")
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
    md.assign("cmd_ready_o", format!("queue_count + {w}'(entry_valid_q) != {w}'d{q}", w = qb + 1));
    md.assign("head", "head_entry.command");

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
    md.wire("head_any", 1, format!("queue_count != {}'d0", qb + 1));
    opcode_tests(md, "head", None);
    md.wire("part_rows", 7, "7'(rows_i)")
        .wire("head_a_end", 17, "head_entry.a_end")
        .wire("head_b_end", bwb, "head_entry.b_end")
        .wire("head_beats", beat_w, "head_entry.beats")
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
        .wire("bad_range", 1, "head_entry.bad_range")
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
/// joins the ring (an instance of `ring`, `part_queue`) with the sizes, ends and range check
/// computed on its way; a dispatch or a rejection pops the head.
pub(super) fn ring(md: &mut Module, s: &Sizes, ring: &Module) {
    let Sizes { q, beat_w, .. } = *s;
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
    md.logic_struct("queue_entry", "queue_entry_t").assign(
        "queue_entry",
        "{entry_bad_range, entry_beats_q, entry_b_end_q, entry_a_end_q, entry_command_q}",
    );
    md.instance_with(
        ring,
        &[("Width", entry_bits(s).into()), ("Depth", q.into())],
        "u_queue",
        &[
            ("clk_i", "clk_i".into()),
            ("rst_ni", "rst_ni".into()),
            ("push_i", "entry_valid_q".into()),
            ("entry_i", "queue_entry".into()),
            ("pop_i", "pop".into()),
            ("head_o", "head_entry".into()),
            ("count_o", "queue_count".into()),
        ],
    );
}

/// A ring entry, `queue_entry_t`: the command and what the entry register computed for it,
/// from the most significant field down.
fn entry_fields(s: &Sizes) -> [(&'static str, u32); 5] {
    [("bad_range", 1), ("beats", s.beat_w), ("b_end", s.bwb), ("a_end", 17), ("command", cmd::BITS)]
}

fn entry_bits(s: &Sizes) -> u32 {
    entry_fields(s).iter().map(|(_, bits)| bits).sum()
}

/// `part_queue`: a ring of `Depth` entries of `Width` bits, the same module for every
/// configuration. An entry pushed joins at the tail; a pop drops the head.
pub(in crate::accel) fn module() -> Module {
    // Defaults: the `dacapo` preset's.
    let preset = Sizes::new(PRESETS[0].config);
    let (width, depth) = (entry_bits(&preset), preset.q);
    let mut md = Module::new(
        "part_queue",
        "A ring of Depth entries of Width bits: push_i appends entry_i at the tail, pop_i drops\n\
         the head, head_o is the oldest entry and count_o the number held. The part never pushes\n\
         into a full ring nor pops an empty one.",
    );
    md.parameter("Width", width, "bits of an entry").parameter("Depth", depth, "entries, a power of two");
    let pointer_bits = depth.trailing_zeros();
    md.clock_and_reset().input("push_i", 1);
    md.in_port_sized("entry_i", Size::new("Width", width));
    md.input("pop_i", 1);
    md.out_port_sized("head_o", Size::new("Width", width));
    md.out_port_sized("count_o", Size::new("$clog2(Depth) + 1", pointer_bits + 1));
    md.blank()
        .localparam("PointerBits", "$clog2(Depth)")
        .localparam("CountBits", "PointerBits + 1")
        .comment("No reset for the entries: the part reads head_o only while the ring holds one.")
        .memory_sized("ring_q", Size::new("Width", width), Size::new("Depth", depth))
        .logic("head_q", Size::new("PointerBits", pointer_bits))
        .logic("tail_q", Size::new("PointerBits", pointer_bits))
        .logic("count_q", Size::new("CountBits", pointer_bits + 1));
    md.always_clk(vec![if_("push_i", vec![set("ring_q[tail_q]", "entry_i")])]);
    md.always_ff(
        vec![set("head_q", "'0"), set("tail_q", "'0"), set("count_q", "'0")],
        vec![
            if_("push_i", vec![set("tail_q", "tail_q + PointerBits'(1)")]),
            if_("pop_i", vec![set("head_q", "head_q + PointerBits'(1)")]),
            set("count_q", "count_q + CountBits'(push_i) - CountBits'(pop_i)"),
        ],
    );
    md.assign("head_o", "ring_q[head_q]").assign("count_o", "count_q");
    md
}
