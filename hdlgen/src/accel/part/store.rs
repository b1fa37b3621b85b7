//! The store path: result rows through the stages of STORE_STAGES, converted to MX blocks on
//! the way, into the line whose beats the DMA unit sends.

use super::Sizes;
use crate::accel::{load_together, STORE_STAGES};
use crate::mx::{max_block_bits, ConvertSteps, MxFormat, ALIGN_BITS, BLOCK, ROUND_BITS, SCAN_BITS};
use crate::package;
use crate::verilog::{if_, if_else, set, Module, Stmt};

/// Which stage holds a row, and when each takes the next.
pub(super) fn stages(md: &mut Module) {
    md.comment(
        "A store streams its rows through the result buffer's read word and then one register per\n\
         stage (STORE_STAGES): the row, the scan, the alignment, the rounding and the line, whose\n\
         beats go out. A row moves on when the next stage is empty or moves on itself in this cycle\n\
         (the line: sends its last beat), so one beat a cycle keeps flowing, and each step of\n\
         mx_convert sits between two registers of its own.",
    );
    for (stage, holds) in STORE_STAGES {
        md.logic_doc(format!("store_{stage}_full_q"), 1, format!("the {stage} stage holds {holds}"));
    }
    // A stage's row leaves as the next stage takes it; the line's, with its last beat.
    let leaves = |i: usize| match STORE_STAGES.get(i + 1) {
        Some((next, _)) => format!("store_{next}_take"),
        None => "(dma_grant && dma_last_beat)".to_string(),
    };
    for (i, (stage, _)) in STORE_STAGES.iter().enumerate().rev() {
        let from = match i {
            0 => "store_row_ready_q".to_string(),
            _ => format!("store_{}_full_q", STORE_STAGES[i - 1].0),
        };
        md.wire(
            format!("store_{stage}_take"),
            1,
            format!("{from} && (!store_{stage}_full_q || {})", leaves(i)),
        );
    }
    let reset = STORE_STAGES.iter().map(|(stage, _)| set(format!("store_{stage}_full_q"), "1'b0")).collect();
    let update = (0..STORE_STAGES.len())
        .map(|i| {
            let stage = STORE_STAGES[i].0;
            set(
                format!("store_{stage}_full_q"),
                format!("store_{stage}_take || (store_{stage}_full_q && !{})", leaves(i)),
            )
        })
        .collect();
    md.always_ff(reset, update);
    md.wire(
        "store_read",
        1,
        "dma_active_q && dma_is_store && store_read_q != dma_lines_q && (!store_row_ready_q || store_row_take)",
    );
}

/// The stages' registers with mx_convert's steps between them, and the host port's write
/// data. Returns the steps, whose functions the part declares after its logic.
pub(super) fn path(md: &mut Module, s: &Sizes) -> ConvertSteps {
    let Sizes { p, store_line_bits, tc, groups, .. } = *s;
    md.blank().comment(
        "Store path: columns past the tile read as zero; an MX row is converted per 16 columns, one\n\
         step of mx_convert per stage: the scan for the shared exponent, the micro-exponents and\n\
         each element's shift, the shift and rounding, then the saturation and packing into the\n\
         line. An f32 row passes the same registers.",
    );
    let data_bits = 32 * BLOCK * groups;
    let round_bits = (ROUND_BITS * groups).max(32 * tc);
    md.logic("store_row_q", 32 * tc)
        .logic_doc("masked", data_bits, "column c in bits [32c +: 32], zero past the tile")
        .logic_doc("scans", SCAN_BITS * groups, "group g's shared exponent in bits [8g +: 8]")
        .logic("store_scan_data_q", data_bits)
        .logic("store_scan_q", SCAN_BITS * groups)
        .logic_doc(
            "aligned",
            ALIGN_BITS * groups,
            format!("group g's micro-exponents and shifts in bits [{ALIGN_BITS}g +: {ALIGN_BITS}]"),
        )
        .logic("store_align_data_q", data_bits)
        .logic("store_align_scan_q", SCAN_BITS * groups)
        .logic("store_align_q", ALIGN_BITS * groups)
        .logic_doc(
            "rounded",
            round_bits,
            format!("an MX row: group g's rounding in bits [{ROUND_BITS}g +: {ROUND_BITS}]; an f32 row: its values"),
        )
        .logic("store_round_scan_q", SCAN_BITS * groups)
        .logic("store_round_q", round_bits)
        .logic_doc("blocks", max_block_bits() * groups, "group g's packed block in bits [144g +: 144]")
        .logic("store_line", store_line_bits)
        .logic("store_line_q", store_line_bits);
    // A stage's registers take their values as the stage takes a row.
    let stage_registers = |md: &mut Module, stage: &str, regs: &[(&str, &str)]| {
        load_together(md, &format!("store_{stage}_take"), regs)
    };
    stage_registers(md, "row", &[("store_row_q", "results")]);
    md.wire("padded", data_bits, format!("{data_bits}'(store_row_q)"));
    md.generate("c", 16 * groups, "g_mask", |g| {
        g.assign("masked[32*c +: 32]", "dma_lane_mask_q[c] ? padded[32*c +: 32] : 32'd0");
    });
    let steps = ConvertSteps::new();
    let is_mx = format!("dma_format_q != {}", package::format_f32());
    // One conversion step per group of 16 columns: `value` into `field` of `out`.
    let per_group = |out: &str, field: u32, value: &dyn Fn(u32) -> String| -> Vec<Stmt> {
        (0..groups).map(|g| set(format!("{out}[{} +: {field}]", field * g), value(g))).collect()
    };
    let group = |reg: &str, field: u32, g: u32| format!("{reg}[{} +: {field}]", field * g);
    md.comment(
        "Each step runs only while the register before it holds an MX row (simulators skip it\n\
         otherwise); it reads registers alone, not whether the row moves on in this cycle.",
    );
    md.logic_doc("exponents", 8 * BLOCK * groups, "column c's exponent field in bits [8c +: 8]");
    md.generate("c", BLOCK * groups, "g_exp", |g| {
        g.assign("exponents[8*c +: 8]", "masked[32*c+23 +: 8]");
    });
    let scan_row = per_group("scans", SCAN_BITS, &|g| steps.scan.call(&[&group("exponents", 8 * BLOCK, g)]));
    md.always_comb(vec![set("scans", "'0"), if_(format!("store_row_full_q && {is_mx}"), scan_row)]);
    stage_registers(md, "scan", &[("store_scan_data_q", "masked"), ("store_scan_q", "scans")]);
    let align_row = per_group("aligned", ALIGN_BITS, &|g| {
        steps.align.call(&[
            &group("store_scan_data_q", 512, g),
            &group("store_scan_q", SCAN_BITS, g),
            "dma_format_q",
        ])
    });
    md.always_comb(vec![set("aligned", "'0"), if_(format!("store_scan_full_q && {is_mx}"), align_row)]);
    stage_registers(
        md,
        "align",
        &[
            ("store_align_data_q", "store_scan_data_q"),
            ("store_align_scan_q", "store_scan_q"),
            ("store_align_q", "aligned"),
        ],
    );
    let round_row = per_group("rounded", ROUND_BITS, &|g| {
        steps.round.call(&[
            &group("store_align_data_q", 512, g),
            &group("store_align_q", ALIGN_BITS, g),
            "dma_truncate_q",
        ])
    });
    md.always_comb(vec![
        set("rounded", format!("{round_bits}'(store_align_data_q[{}:0])", 32 * tc - 1)),
        if_(format!("store_align_full_q && {is_mx}"), [vec![set("rounded", "'0")], round_row].concat()),
    ]);
    stage_registers(
        md,
        "round",
        &[("store_round_scan_q", "store_align_scan_q"), ("store_round_q", "rounded")],
    );
    let packed = |f: MxFormat| {
        let parts: Vec<String> = (0..groups)
            .rev()
            .map(|g| format!("blocks[{} +: {}]", max_block_bits() * g, f.block_bits()))
            .collect();
        format!("{store_line_bits}'({{{}}})", parts.join(", "))
    };
    let mut pack_row = per_group("blocks", max_block_bits(), &|g| {
        steps.pack.call(&[
            &group("store_round_q", ROUND_BITS, g),
            &group("store_round_scan_q", SCAN_BITS, g),
            "dma_format_q",
        ])
    });
    pack_row.push(if_else(
        format!("dma_format_q == {}", package::format(MxFormat::MX9)),
        vec![set("store_line", packed(MxFormat::MX9))],
        vec![if_else(
            format!("dma_format_q == {}", package::format(MxFormat::MX6)),
            vec![set("store_line", packed(MxFormat::MX6))],
            vec![set("store_line", packed(MxFormat::MX4))],
        )],
    ));
    md.always_comb(vec![
        set("blocks", "'0"),
        set("store_line", format!("{store_line_bits}'(store_round_q[{}:0])", 32 * tc - 1)),
        if_(format!("store_round_full_q && {is_mx}"), pack_row),
    ]);
    stage_registers(md, "line", &[("store_line_q", "store_line")]);
    md.assign("mem_req_o", "dma_request")
        .assign("mem_we_o", "dma_is_store")
        .assign("mem_addr_o", "dma_host_q")
        .assign("mem_wdata_o", format!("store_line_q[{p}*dma_beat_q +: {p}]"));
    steps
}
