//! The status register and the performance counters.

use crate::accel::{error, Status, COUNTERS};
use crate::package;
use crate::verilog::{if_, set, Module, Register};

/// The error count and last error code behind status_o, and counters_o in COUNTERS order.
pub(super) fn registers(md: &mut Module) {
    md.blank()
        .comment("Status: {error count, last error code, busy}; counters in hdlgen::accel::COUNTERS order.");
    // One 32-bit register per counter: cheaper to simulate than slices of one wide vector.
    let mut registers = vec![
        Register::new("err_count", 16, "'0"),
        Register::new("last_err", 4, package::error_code(error::NONE)),
    ];
    registers.extend(COUNTERS.iter().map(|name| Register::new(format!("{name}_count"), 32, "'0")));
    md.declare_registers(&registers);
    md.assign("status_o", Status::pack("busy_o", "last_err_q", "err_count_q"));
    let events: [&str; COUNTERS.len()] = [
        "busy_o",
        "compute_emit_clear || compute_emit_slice || compute_emit_drain",
        "dma_active_q",
        "legal && !dispatch && ((head_is_load && !dma_active_q && load_hazard) || (head_is_compute && compute_free && operand_hazard))",
        "legal && !dispatch && ((head_is_store && !dma_active_q) || (head_is_compute && compute_free && !operand_hazard)) && result_hazard",
        "compute_at_drain && !spacing_ok",
        "dma_request && mem_ready_i && !mem_gnt_i",
        "dma_request && !mem_ready_i",
        "compute_block_end",
    ];
    let mut next = vec![if_(
        "reject",
        vec![
            set("err_count_d", "err_count_q + 16'd1"),
            set(
                "last_err_d",
                format!(
                    "(head_error != {}) ? head_error : {}",
                    package::error_code(error::NONE),
                    package::error_code(error::SPLIT_BUSY)
                ),
            ),
        ],
    )];
    for (name, event) in COUNTERS.iter().zip(events) {
        next.push(if_(event, vec![set(format!("{name}_count_d"), format!("{name}_count_q + 32'd1"))]));
    }
    md.update_registers(&registers, next);
    let words: Vec<String> = COUNTERS.iter().rev().map(|name| format!("{name}_count_q")).collect();
    md.assign("counters_o", format!("{{{}}}", words.join(", ")));
}
