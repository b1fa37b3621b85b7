//! The DMA unit: loads lines from the host port into the scratchpads, and sends stored rows'
//! beats to it.

use super::Sizes;
use crate::accel::{word_bits, WORD_BITS};
use crate::mx::MxFormat;
use crate::package;
use crate::verilog::{if_, if_else, set, Module, Stmt};

/// The DMA unit's registers and the wires of its requests, declared before the hazards that
/// read them.
pub(super) fn state(md: &mut Module, s: &Sizes) {
    let Sizes { aw, bw, line_bits, beat_w, mask_bits, .. } = *s;
    md.blank().comment(
        "DMA unit: a load requests lines x beats reads, collects each line's beats, writes the line\n\
         into the banks; a store reads result rows, converts each into store_line_q and sends its\n\
         beats.",
    );
    md.logic_doc("dma_kind_q", 2, "0 load A, 1 load B, 2 store")
        .logic("dma_active_q", 1)
        .logic("dma_format_q", 2)
        .logic("dma_truncate_q", 1)
        .logic("dma_buffer_q", 1)
        .logic_doc(
            "dma_lane_mask_q",
            mask_bits,
            "lane (or stored column) i in bit i, set below the command's count",
        )
        .logic("dma_lines_q", 16)
        .logic("dma_line_q", 16)
        .logic("dma_beats_per_line_q", beat_w)
        .logic("dma_beat_q", beat_w)
        .logic("dma_host_q", 32)
        .logic("dma_scratchpad_q", 16)
        .logic_doc("dma_end_q", 17, "a load's first scratchpad word past its lines")
        .logic_doc("store_read_q", 16, "result rows a store has read so far")
        .logic_doc("store_row_ready_q", 1, "the result buffer's read word is a row not yet registered")
        .logic("host_read_q", 1)
        .logic("host_read_beat_q", beat_w)
        .logic("host_read_last_q", 1)
        .logic("host_read_line_q", 16)
        .logic("bank_write_q", 1)
        .logic("bank_write_addr_q", aw.max(bw))
        .logic_doc("line_q", line_bits, "the load line being collected, beat i in bits [P*i +: P]")
        .logic("pending_q", 2)
        .logic("drain_last", 1);
    md.wire("dma_is_store", 1, "dma_kind_q == 2'd2")
        .wire("dma_more", 1, "dma_line_q != dma_lines_q")
        .wire("dma_request", 1, "dma_active_q && dma_more && (!dma_is_store || store_line_full_q)")
        .wire("dma_grant", 1, "dma_request && mem_gnt_i")
        .wire("dma_last_beat", 1, format!("dma_beat_q == dma_beats_per_line_q - {beat_w}'d1"))
        .wire("dma_finish", 1, "dma_active_q && !dma_more && !host_read_q");
}

/// The DMA unit's sequencing, and a load line's lane words into the A banks.
pub(super) fn sequencing(md: &mut Module, s: &Sizes) {
    let Sizes { cfg, r_n, p, aw, bw, lanes, line_bits, beat_w, mask_bits, .. } = *s;
    md.blank().comment("DMA unit sequencing.");
    let collect_beat: Vec<Stmt> = (0..cfg.max_load_beats())
        .map(|b| {
            let (lo, hi) = (p * b, (p * (b + 1)).min(line_bits));
            if_(
                format!("host_read_beat_q == {beat_w}'d{b}"),
                vec![set(format!("line_q[{}:{lo}]", hi - 1), format!("mem_rdata_i[{}:0]", hi - lo - 1))],
            )
        })
        .collect();
    md.always_ff(
        vec![
            set("dma_active_q", "1'b0"),
            set("dma_kind_q", "'0"),
            set("dma_format_q", "'0"),
            set("dma_truncate_q", "1'b0"),
            set("dma_buffer_q", "1'b0"),
            set("dma_lane_mask_q", "'0"),
            set("dma_lines_q", "'0"),
            set("dma_line_q", "'0"),
            set("dma_beats_per_line_q", "'0"),
            set("dma_beat_q", "'0"),
            set("dma_host_q", "'0"),
            set("dma_scratchpad_q", "'0"),
            set("dma_end_q", "'0"),
            set("store_read_q", "'0"),
            set("store_row_ready_q", "1'b0"),
            set("host_read_q", "1'b0"),
            set("host_read_beat_q", "'0"),
            set("host_read_last_q", "1'b0"),
            set("host_read_line_q", "'0"),
            set("bank_write_q", "1'b0"),
            set("bank_write_addr_q", "'0"),
            set("line_q", "'0"),
        ],
        vec![
            if_("store_read", vec![set("store_read_q", "store_read_q + 16'd1")]),
            set("store_row_ready_q", "store_read || (store_row_ready_q && !store_row_take)"),
            if_(
                "dma_grant",
                vec![
                    set("dma_host_q", "dma_host_q + 32'd1"),
                    if_else(
                        "dma_last_beat",
                        vec![set("dma_beat_q", "'0"), set("dma_line_q", "dma_line_q + 16'd1")],
                        vec![set("dma_beat_q", format!("dma_beat_q + {beat_w}'d1"))],
                    ),
                ],
            ),
            set("host_read_q", "dma_grant && !dma_is_store"),
            set("host_read_beat_q", "dma_beat_q"),
            set("host_read_last_q", "dma_last_beat"),
            set("host_read_line_q", "dma_line_q"),
            if_("host_read_q", collect_beat),
            set("bank_write_q", "host_read_q && host_read_last_q"),
            set("bank_write_addr_q", format!("{}'(dma_scratchpad_q + host_read_line_q)", aw.max(bw))),
            if_("dma_finish", vec![set("dma_active_q", "1'b0")]),
            if_("start_load || start_store", vec![set("dma_active_q", "1'b1")]),
            Stmt::Comment(
                "While idle the unit's registers follow the queue's head, so a dispatch sets only".into(),
            ),
            Stmt::Comment("dma_active_q: no wide enable hangs behind the dispatch decision.".into()),
            if_(
                "!dma_active_q",
                vec![
                    set("dma_kind_q", "head_is_store ? 2'd2 : head_is_load_b ? 2'd1 : 2'd0"),
                    set("dma_format_q", "head.format"),
                    set("dma_truncate_q", "head.flag"),
                    set("dma_buffer_q", "head.buffer"),
                    set(
                        "dma_lane_mask_q",
                        format!("~({{{mask_bits}{{1'b1}}}} << (head_is_store ? head.cols : head.rows))"),
                    ),
                    set("dma_lines_q", "head_lines"),
                    set("dma_line_q", "16'd0"),
                    set("dma_beats_per_line_q", "head_beats"),
                    set("dma_beat_q", "'0"),
                    set("dma_host_q", "head.host"),
                    set("dma_scratchpad_q", "head.addr"),
                    set("dma_end_q", "head_a_end"),
                    set("store_read_q", "16'd0"),
                ],
            ),
        ],
    );

    md.blank().comment("Load line into lane words: MX9 144 bits, MX6 96, MX4 128 (two blocks) per lane.");
    md.logic_doc("lane_words", WORD_BITS * lanes, "lane l in bits [144l +: 144]");
    md.generate("l", lanes, "g_lane", |g| {
        g.assign(
            format!("lane_words[{WORD_BITS}*l +: {WORD_BITS}]"),
            format!(
                "(dma_format_q == {}) ? line_q[{w9}*l +: {w9}] : (dma_format_q == {}) ? {{{p6}'d0, line_q[{w6}*l +: {w6}]}} : {{{p4}'d0, line_q[{w4}*l +: {w4}]}}",
                package::format(MxFormat::MX9),
                package::format(MxFormat::MX6),
                w9 = word_bits(MxFormat::MX9),
                w6 = word_bits(MxFormat::MX6),
                p6 = WORD_BITS - word_bits(MxFormat::MX6),
                w4 = word_bits(MxFormat::MX4),
                p4 = WORD_BITS - word_bits(MxFormat::MX4),
            ),
        );
    });
    md.assign("a_we_o", "bank_write_q && dma_kind_q == 2'd0")
        .assign("a_waddr_o", format!("{aw}'(bank_write_addr_q)"))
        .assign("a_wdata_o", format!("lane_words[{}:0]", WORD_BITS * r_n - 1));
    md.assign("a_wmask_o", format!("dma_lane_mask_q[{}:0]", r_n - 1));
}
