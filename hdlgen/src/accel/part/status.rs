//! The status register and the performance counters: a module of their own (`part_status`),
//! the same for every configuration, which the part feeds with the events it counts.

use crate::accel::{error, Status, COUNTERS};
use crate::package;
use crate::verilog::{if_, set, Module};

/// `part_status`: the error count and last error code behind `status_o`, and one 32-bit
/// counter per event of `events_i`, concatenated into `counters_o` in `COUNTERS` order.
pub(in crate::accel) fn module() -> Module {
    let n = COUNTERS.len() as u32;
    let mut md = Module::new(
        "part_status",
        "A part's status register and performance counters. status_o is {error count, last\n\
         error code, busy}: a cycle with reject_i counts one illegal command and records its\n\
         code, error_i. Counter i counts the cycles with events_i[i] set (hdlgen::accel::COUNTERS\n\
         gives their order), each modulo 2^32.",
    );
    md.clock_and_reset()
        .input("busy_i", 1)
        .input("reject_i", 1)
        .input("error_i", 4)
        .input("events_i", n)
        .output("status_o", 32)
        .output("counters_o", 32 * n);
    md.blank();
    // One 32-bit register per counter: cheaper to simulate than slices of one wide vector.
    // Each loads under its event inside always_ff rather than from a `_d` block: the events
    // depend on the part's inputs, so Verilator would evaluate a `_d` block of this separate
    // module again whenever an input changes (+2.3 % instructions on `small`, callgrind).
    let counters: Vec<String> = COUNTERS.iter().map(|name| format!("{name}_count_q")).collect();
    md.logic("err_count_q", 16).logic("last_err_q", 4);
    for counter in &counters {
        md.logic(counter, 32);
    }
    md.blank().assign("status_o", Status::pack("busy_i", "last_err_q", "err_count_q"));
    let mut reset = vec![set("err_count_q", "'0"), set("last_err_q", package::error_code(error::NONE))];
    let mut next =
        vec![if_("reject_i", vec![set("err_count_q", "err_count_q + 16'd1"), set("last_err_q", "error_i")])];
    for (i, counter) in counters.iter().enumerate() {
        reset.push(set(counter, "'0"));
        next.push(if_(format!("events_i[{i}]"), vec![set(counter, format!("{counter} + 32'd1"))]));
    }
    md.always_ff(reset, next);
    let words: Vec<&str> = counters.iter().rev().map(String::as_str).collect();
    md.assign("counters_o", format!("{{{}}}", words.join(", ")));
    md
}

/// The part's side: the event each counter counts, and the instance of `part_status`.
pub(super) fn instance(md: &mut Module, status: &Module) {
    md.blank().comment("Status and counters (part_status): the event each counter counts.");
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
    for (name, event) in COUNTERS.iter().zip(events) {
        md.wire(format!("{name}_event"), 1, event);
    }
    let names: Vec<String> = COUNTERS.iter().rev().map(|name| format!("{name}_event")).collect();
    md.wire("count_events", COUNTERS.len() as u32, format!("{{{}}}", names.join(", ")));
    md.instance(
        status,
        "u_status",
        &[
            ("clk_i", "clk_i".into()),
            ("rst_ni", "rst_ni".into()),
            ("busy_i", "busy_o".into()),
            ("reject_i", "reject".into()),
            ("error_i", "reject_error".into()),
            ("events_i", "count_events".into()),
            ("status_o", "status_o".into()),
            ("counters_o", "counters_o".into()),
        ],
    );
}
