//! Hazards and dispatch: which unit takes the head, and when.

use super::Sizes;
use crate::accel::error;
use crate::package;
use crate::verilog::Module;

/// The hazards that hold the head back, the dispatch or rejection of the head, and the
/// split and busy outputs.
pub(super) fn decision(md: &mut Module, s: &Sizes) {
    let Sizes { sb, bwb, .. } = *s;
    md.blank().comment(
        "Hazards: a load must not overwrite words the running compute reads, a compute must not\n\
         read words a running load writes, and a result buffer is drained into and stored from\n\
         one at a time.",
    );
    // Two word ranges, each from its first word to its end (the first word past it), overlap.
    let overlap = |w: u32, lo1: &str, end1: &str, lo2: &str, end2: &str| {
        format!("({w}'({lo1}) < {w}'({end2}) && {w}'({lo2}) < {w}'({end1}))")
    };
    md.wire("compute_reading", 1, "compute_active && !compute_last")
        .wire(
            "load_hazard",
            1,
            format!(
                "compute_reading && (head_is_load_a ? {} : {})",
                overlap(17, "head.addr", "head_a_end", "compute_a_q", "compute_a_end_q"),
                overlap(bwb, "head.addr", "head_a_end", "compute_b_q", "compute_b_end_q")
            ),
        )
        .wire(
            "operand_hazard",
            1,
            format!(
                "dma_active_q && ((dma_kind_q == 2'd0 && {}) || (dma_kind_q == 2'd1 && {}))",
                overlap(17, "head.addr", "head_a_end", "dma_scratchpad_q", "dma_end_q"),
                overlap(bwb, "head.b_addr", "head_b_end", "dma_scratchpad_q", "dma_end_q")
            ),
        )
        .wire(
            "buffer_draining",
            1,
            "pending_q[head.buffer] || (compute_active && compute_drain_q && compute_tag_q == head.buffer)",
        )
        .wire("buffer_storing", 1, "dma_active_q && dma_is_store && dma_buffer_q == head.buffer")
        .wire(
            "result_hazard",
            1,
            "head_is_store ? buffer_draining : head.drain && (buffer_draining || buffer_storing)",
        )
        .wire("compute_free", 1, "!compute_active || compute_last")
        .wire("own_idle", 1, "!compute_active && !dma_active_q && pending_q == 2'd0")
        .wire("go_load", 1, "head_is_load && !dma_active_q && !load_hazard")
        .wire("go_store", 1, "head_is_store && !dma_active_q && !result_hazard")
        .wire("go_compute", 1, "head_is_compute && compute_free && !operand_hazard && !result_hazard")
        .wire("go_split", 1, "head_is_split && own_idle && !other_busy_i")
        .wire("legal", 1, format!("head_any && head_error == {}", package::error_code(error::NONE)))
        .wire("split_busy", 1, "head_is_split && own_idle && other_busy_i")
        .wire(
            "reject",
            1,
            format!("head_any && (head_error != {} || split_busy)", package::error_code(error::NONE)),
        )
        .comment("The code a rejection records: a set-split refused while the other part works has no\nerror of the checks above.")
        .wire(
            "reject_error",
            4,
            format!(
                "(head_error != {}) ? head_error : {}",
                package::error_code(error::NONE),
                package::error_code(error::SPLIT_BUSY)
            ),
        )
        .wire(
            "dispatch",
            1,
            "legal && (go_load || go_store || go_compute || go_split || (head_is_fence && own_idle))",
        )
        .wire("start_load", 1, "legal && go_load")
        .wire("start_store", 1, "legal && go_store")
        .wire("start_compute", 1, "legal && go_compute");
    md.assign("pop", "dispatch || reject");
    md.assign("split_we_o", "legal && go_split").assign("split_o", format!("head.rows[{}:0]", sb - 1));
    md.assign("busy_o", "entry_valid_q || head_any || compute_active || dma_active_q || pending_q != 2'd0");
}
