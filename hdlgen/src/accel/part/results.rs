//! The result buffers the part's array edge drains into.

use super::Sizes;
use crate::accel::Bank;
use crate::verilog::{if_, set, Module};

/// Per tile column a RAM of two buffers of rows, the drain's row and slot counters, and the
/// pending drains.
pub(super) fn buffers(md: &mut Module, s: &Sizes, r_bank: &Bank) {
    let Sizes { cfg, c_n, rb, l, tc, .. } = *s;
    let last_slot = &s.last_slot;
    if l == 1 {
        md.blank().comment(
            "Result buffers: per column a RAM of two buffers of rows; the drain delivers each column's\n\
             rows in order with the buffer tag. The last value of a drain (last row, last column) ends it.",
        );
    } else {
        md.blank().comment(
            "Result buffers: per tile column a RAM of two buffers of rows; edge column c delivers, for\n\
             each row in order, its L slots in turn with the buffer tag, slot s into tile column\n\
             s C + c. The last value of a drain (last row, last slot, last column) ends it.",
        );
    }
    md.logic_doc("row_count_q", 7 * c_n, "next row of edge column c in bits [7c +: 7]")
        .logic_doc("results", 32 * tc, "the result buffers' read word, column c in bits [32c +: 32]")
        .wire("store_row", rb, format!("{rb}'(store_read_q)"));
    let slot_bits = cfg.dpe.slot_bits();
    if l > 1 {
        md.logic_doc(
            "slot_cnt_q",
            slot_bits * c_n,
            format!("next slot of edge column c in bits [{slot_bits}c +: {slot_bits}]"),
        );
    }
    let bank = |g: &mut Module, column: &str, we: String| {
        r_bank.instance(
            g,
            &[
                ("clk_i", "clk_i".into()),
                ("we_i", we),
                ("waddr_i", format!("{{drain_tag_i[{column}], row[{}:0]}}", rb - 1)),
                ("wdata_i", format!("drain_data_i[32*{column} +: 32]")),
                ("re_i", "store_read".into()),
                ("raddr_i", "{dma_buffer_q, store_row}".into()),
                ("rdata_o", "results[32*c +: 32]".into()),
            ],
        );
    };
    let next_row = "(row == part_rows - 7'd1) ? 7'd0 : row + 7'd1";
    if l == 1 {
        md.generate("c", c_n, "g_r", |g| {
            g.wire("row", 7, "row_count_q[7*c +: 7]");
            bank(g, "c", "drain_valid_i[c]".into());
            g.always_ff(
                vec![set("row_count_q[7*c +: 7]", "'0")],
                vec![if_("drain_valid_i[c]", vec![set("row_count_q[7*c +: 7]", next_row)])],
            );
        });
    } else {
        md.generate("c", tc, "g_r", |g| {
            g.localparam("EDGE", format!("c % {c_n}")).localparam("SLOT", format!("c / {c_n}"));
            g.wire("row", rb, format!("{rb}'(row_count_q[7*EDGE +: 7])"));
            let slot = format!("slot_cnt_q[{slot_bits}*EDGE +: {slot_bits}]");
            bank(g, "EDGE", format!("drain_valid_i[EDGE] && {slot} == {slot_bits}'(SLOT)"));
        });
        md.generate("c", c_n, "g_drain", |g| {
            g.wire("row", 7, "row_count_q[7*c +: 7]");
            g.wire("slot", slot_bits, format!("slot_cnt_q[{slot_bits}*c +: {slot_bits}]"));
            g.always_ff(
                vec![
                    set("row_count_q[7*c +: 7]", "'0"),
                    set(format!("slot_cnt_q[{slot_bits}*c +: {slot_bits}]"), "'0"),
                ],
                vec![if_(
                    "drain_valid_i[c]",
                    vec![
                        set(
                            format!("slot_cnt_q[{slot_bits}*c +: {slot_bits}]"),
                            format!("(slot == {last_slot}) ? '0 : slot + {slot_bits}'d1"),
                        ),
                        if_(format!("slot == {last_slot}"), vec![set("row_count_q[7*c +: 7]", next_row)]),
                    ],
                )],
            );
        });
    }
    let last = c_n - 1;
    let last_slot_too = if l == 1 {
        String::new()
    } else {
        format!(" &&\n    slot_cnt_q[{slot_bits}*{last} +: {slot_bits}] == {last_slot}")
    };
    md.assign(
        "drain_last",
        format!("drain_valid_i[{last}] && row_count_q[7*{last} +: 7] == part_rows - 7'd1{last_slot_too}"),
    );
    md.always_ff(
        vec![set("pending_q", "'0")],
        vec![
            if_("drain_last", vec![set(format!("pending_q[drain_tag_i[{}]]", c_n - 1), "1'b0")]),
            if_("compute_emit_drain", vec![set("pending_q[compute_tag_q]", "1'b1")]),
        ],
    );
}
