//! The partitionable output-stationary array (SPEC section 4): R x C DPEs cut between rows by a
//! runtime `split` into a top part (rows `0..split`, fed and drained at the north edge) and a
//! bottom part (rows `split..R`, at the south edge), each with its own format and control.

use crate::dpe::{self, dpe_design};
use crate::fp_add::bits_for;
use crate::verilog::{set, Module};
use crate::Design;

/// The shape of an array; every other size is derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ArrayConfig {
    pub rows: u32,
    pub cols: u32,
}

impl ArrayConfig {
    pub const SMALL: ArrayConfig = ArrayConfig { rows: 4, cols: 4 };
    pub const DACAPO: ArrayConfig = ArrayConfig { rows: 16, cols: 16 };

    /// A checked shape: 2..=64 rows and columns.
    pub fn new(rows: u32, cols: u32) -> Result<ArrayConfig, String> {
        for (name, v) in [("rows", rows), ("columns", cols)] {
            if !(2..=64).contains(&v) {
                return Err(format!("an array needs 2..=64 {name}, got {v}"));
            }
        }
        Ok(ArrayConfig { rows, cols })
    }

    /// Bits of the `split` register (values 0..=rows).
    pub fn split_bits(self) -> u32 {
        bits_for(u64::from(self.rows))
    }
}

/// Bits of one operand slice on the array's edges: exponent, micro-exponents, 16 signs,
/// 16 two-bit digits (the `dpe` operand ports, concatenated).
pub const SLICE_BITS: u32 = 64;
/// A west word: the A slice plus the part's control and format, which travel east with it:
/// `{format[1:0], tag, drain, clear, valid, slice[63:0]}`.
pub const WEST_BITS: u32 = SLICE_BITS + 6;
/// A drain chain entry: `{valid, tag, value[31:0]}`.
const DRAIN_BITS: u32 = 34;

/// Cycles every operand and control word spends in its edge's output register, on top of
/// its systolic skew.
pub const EDGE_LATENCY: u32 = 1;

/// Cycles by which the array's pipeline registers delay a drain's capture: the edge register
/// and the DPE's stages after the first.
pub fn drain_delay() -> u32 {
    EDGE_LATENCY + dpe::LATENCY - 1
}

/// A delay line with a runtime tap: `q_o` is `d_i` from `tap_i + 1` cycles ago (0..=depth).
fn skew_line(width: u32, depth: u32) -> Module {
    let tb = bits_for(u64::from(depth));
    let mut md = Module::new(
        format!("skew_line_w{width}_d{depth}"),
        format!(
            "Delay line for systolic skew: q_o is d_i delayed by tap_i (0..={depth}) cycles plus one, its\n\
             output register, which keeps the tap's multiplexer off the DPE's paths. flush_i empties\n\
             it, so a changed tap never brings back words from before the change."
        ),
    );
    md.clock_and_reset().input("flush_i", 1).input("d_i", width).input("tap_i", tb).output("q_o", width);
    md.blank().logic_doc("stages_q", width * depth, "stage s (delay s + 1) in bits [width*s +: width]");
    md.logic("out_q", width);
    md.wire("line", width * (depth + 1), "{stages_q, d_i}");
    md.comment("While flushing only the new word counts: older stages read as empty.");
    md.always_ff(
        vec![set("stages_q", "'0"), set("out_q", "'0")],
        vec![
            set("stages_q", format!("flush_i ? {}'(d_i) : line[{}:0]", width * depth, width * depth - 1)),
            set("out_q", format!("(flush_i && tap_i != '0) ? {width}'d0 : line[{width}*tap_i +: {width}]")),
        ],
    );
    md.assign("q_o", "out_q");
    md
}

/// The array with every module it instantiates.
pub fn array_design(cfg: ArrayConfig) -> Design {
    let dpe = dpe_design();
    let west_line = skew_line(WEST_BITS, cfg.rows - 1);
    let col_line = skew_line(SLICE_BITS, cfg.cols - 1);
    let top = array(cfg, &dpe.top, &west_line, &col_line);
    let mut submodules = vec![west_line, col_line, dpe.top];
    submodules.extend(dpe.submodules);
    Design { top, submodules }
}

fn array(cfg: ArrayConfig, dpe: &Module, west_line: &Module, col_line: &Module) -> Module {
    let (r_n, c_n, sb) = (cfg.rows, cfg.cols, cfg.split_bits());
    let (w, s) = (WEST_BITS, SLICE_BITS);
    let mut md = Module::new(
        format!("dpe_array_{r_n}x{c_n}"),
        format!(
            "{r_n} x {c_n} output-stationary DPE array, cut by split_i into a top part (rows 0..split_i,\n\
             north edge) and a bottom part (rows split_i..{r_n}, south edge). Each part streams one\n\
             slice per cycle: A slices on a_i (row r in bits [64r +: 64], as the dpe operand ports\n\
             {{exp, micro, sign, mag}}), B slices on top_b_i / bot_b_i (column c in bits [64c +: 64]),\n\
             and {{tag, drain, clear, valid}} on *_ctrl_i with the format on *_format_i. Edge skew registers\n\
             align them (and an output register delays every edge by one more cycle): A moves east\n\
             and B away from its edge one DPE per cycle. drain (with clear,\n\
             the cycle after a tile's last slice) passes down each DPE's pipeline with the blocks\n\
             and then copies its accumulator ({} cycles after the drain reaches the DPE) into a\n\
             drain chain that shifts one row per cycle to the part's edge; each column delivers the\n\
             part's rows in order from its edge, two cycles apart, with the tag given with the\n\
             drain (the result buffer it is for). Successive drains of a part must be at least\n\
             2 x rows cycles apart; change split_i only while both parts are idle.",
            dpe::LATENCY - 1
        ),
    );
    md.clock_and_reset()
        .input("split_i", sb)
        .input("top_format_i", 2)
        .input("top_ctrl_i", 4)
        .input("bot_format_i", 2)
        .input("bot_ctrl_i", 4)
        .input("a_i", s * r_n)
        .input("top_b_i", s * c_n)
        .input("bot_b_i", s * c_n)
        .output("north_result_o", 32 * c_n)
        .output("north_valid_o", c_n)
        .output("north_tag_o", c_n)
        .output("south_result_o", 32 * c_n)
        .output("south_valid_o", c_n)
        .output("south_tag_o", c_n)
        .output("block_done_o", r_n * c_n);

    md.blank().comment(
        "A new split empties the west skew lines and the drain chains: taps and drain directions\n\
         change, and words of the old parts must not reappear in the new ones.",
    );
    md.logic("split_q", sb).wire("split_changed", 1, "split_i != split_q");
    md.always_ff(vec![set("split_q", "'0")], vec![set("split_q", "split_i")]);

    md.blank().comment("Which rows are top rows, padded: entry r + 1 is row r; the north pad counts as top, the south pad not.");
    md.logic("top_rows", r_n).logic("top_pad", r_n + 2);
    md.assign("top_pad", "{1'b0, top_rows, 1'b1}");
    md.comment(
        "The same a cycle later, for the B operand's select in front of every DPE: a split changes\n\
         only while both parts are idle, and operands reach the DPEs later than that.",
    );
    md.logic("top_rows_q", r_n);
    md.always_ff(vec![set("top_rows_q", "'0")], vec![set("top_rows_q", "top_rows")]);

    md.blank().comment(
        "West edge: each row takes its part's control, then the skew of its distance from the part's edge.",
    );
    md.logic_doc("west_skewed", w * r_n, "row r in bits [70r +: 70]");
    md.generate("r", r_n, "g_west", |g| {
        g.logic("in_top", 1).assign("in_top", format!("{sb}'(r) < split_i"));
        g.assign("top_rows[r]", "in_top");
        g.wire(
            "word",
            w,
            "in_top ? {top_format_i, top_ctrl_i, a_i[64*r +: 64]} : {bot_format_i, bot_ctrl_i, a_i[64*r +: 64]}",
        );
        g.wire("tap", bits_for(u64::from(r_n - 1)), format!("in_top ? {0}'(r) : {0}'({1} - r)", bits_for(u64::from(r_n - 1)), r_n - 1));
        g.instance(
            west_line,
            "u_skew",
            &[
                ("clk_i", "clk_i".into()),
                ("rst_ni", "rst_ni".into()),
                ("flush_i", "split_changed".into()),
                ("d_i", "word".into()),
                ("tap_i", "tap".into()),
                ("q_o", format!("west_skewed[{w}*r +: {w}]")),
            ],
        );
    });

    md.blank().comment("North and south edges: column c is delayed c cycles.");
    md.logic("north_skewed", s * c_n).logic("south_skewed", s * c_n);
    let ctb = bits_for(u64::from(c_n - 1));
    md.generate("c", c_n, "g_cols", |g| {
        for (edge, input) in [("north", "top_b_i"), ("south", "bot_b_i")] {
            g.instance(
                col_line,
                format!("u_{edge}_skew"),
                &[
                    ("clk_i", "clk_i".into()),
                    ("rst_ni", "rst_ni".into()),
                    ("flush_i", "1'b0".into()),
                    ("d_i", format!("{input}[{s}*c +: {s}]")),
                    ("tap_i", format!("{ctb}'(c)")),
                    ("q_o", format!("{edge}_skewed[{s}*c +: {s}]")),
                ],
            );
        }
    });

    md.blank().comment(
        "Operand chains. A: per row, the skewed west word then each DPE's forwarded copy (DPE c\n\
         reads entry c). B: per column, north edge (entry 0), each row's forwarded copy (entry\n\
         r + 1), south edge (entry R + 1); a top row reads the entry above it, a bottom row the\n\
         one below. Drains: each DPE's chain register, padded with empty entries at both ends.",
    );
    md.logic_doc("a_fwd_q", w * r_n * (c_n - 1), "row r, column c < C-1 in bits [70((C-1)r + c) +: 70]")
        .logic_doc("b_fwd_q", s * r_n * c_n, "row r, column c in bits [64(Cr + c) +: 64]")
        .logic_doc(
            "drain_q",
            DRAIN_BITS * r_n * c_n,
            "{valid, tag, value} of row r, column c in bits [34(Cr + c) +: 34]",
        )
        .logic("b_chain", s * c_n * (r_n + 2))
        .logic("drain_chain", DRAIN_BITS * c_n * (r_n + 2));
    md.assign("b_chain", "{south_skewed, b_fwd_q, north_skewed}");
    md.assign("drain_chain", format!("{{{0}'d0, drain_q, {0}'d0}}", DRAIN_BITS * c_n));

    md.blank();
    md.generate("r", r_n, "g_row", |g| {
        g.logic_doc("a_chain", w * c_n, "entry c feeds column c");
        g.assign(
            "a_chain",
            format!("{{a_fwd_q[{w}*{}*r +: {}], west_skewed[{w}*r +: {w}]}}", c_n - 1, w * (c_n - 1)),
        );
        g.logic("top_row", 1).assign("top_row", "top_pad[r + 1]");
        g.generate("c", c_n, "g_col", |g| {
            g.wire("a_in", w, format!("a_chain[{w}*c +: {w}]"));
            g.wire(
                "b_in",
                s,
                format!(
                    "top_rows_q[r] ? b_chain[{s}*({c_n}*r + c) +: {s}] : b_chain[{s}*({c_n}*(r + 2) + c) +: {s}]"
                ),
            );
            g.logic("acc", 32).logic("capture", 1).logic("capture_tag", 1);
            g.instance(
                dpe,
                "u_dpe",
                &[
                    ("clk_i", "clk_i".into()),
                    ("rst_ni", "rst_ni".into()),
                    ("format_i", format!("a_in[{}:{}]", w - 1, w - 2)),
                    ("clear_i", format!("a_in[{}]", s + 1)),
                    ("load_i", "1'b0".into()),
                    ("load_data_i", "32'd0".into()),
                    ("drain_i", format!("a_in[{}]", s + 2)),
                    ("drain_tag_i", format!("a_in[{}]", s + 3)),
                    ("valid_i", format!("a_in[{s}]")),
                    ("a_exp_i", "a_in[63:56]".into()),
                    ("b_exp_i", "b_in[63:56]".into()),
                    ("a_micro_i", "a_in[55:48]".into()),
                    ("b_micro_i", "b_in[55:48]".into()),
                    ("a_sign_i", "a_in[47:32]".into()),
                    ("a_mag_i", "a_in[31:0]".into()),
                    ("b_sign_i", "b_in[47:32]".into()),
                    ("b_mag_i", "b_in[31:0]".into()),
                    ("acc_o", "acc".into()),
                    ("block_done_o", format!("block_done_o[{c_n}*r + c]")),
                    ("drain_o", "capture".into()),
                    ("drain_tag_o", "capture_tag".into()),
                ],
            );
            g.comment(
                "Drain: capture when the DPE's pipeline delivers the drain flag, else take the\n\
                 neighbour's entry toward the part's edge.",
            );
            g.wire(
                "from_below",
                DRAIN_BITS,
                format!("top_pad[r + 2] ? drain_chain[34*({c_n}*(r + 2) + c) +: 34] : 34'd0"),
            );
            g.wire("from_above", DRAIN_BITS, format!("top_pad[r] ? 34'd0 : drain_chain[34*({c_n}*r + c) +: 34]"));
            g.always_ff(
                vec![
                    set(format!("drain_q[34*({c_n}*r + c) +: 34]"), "'0"),
                    set(format!("b_fwd_q[{s}*({c_n}*r + c) +: {s}]"), "'0"),
                ],
                vec![
                    set(
                        format!("drain_q[34*({c_n}*r + c) +: 34]"),
                        "capture ? {1'b1, capture_tag, acc} : split_changed ? 34'd0 : top_row ? from_below : from_above",
                    ),
                    set(format!("b_fwd_q[{s}*({c_n}*r + c) +: {s}]"), "b_in"),
                ],
            );
        });
        g.generate("c", c_n - 1, "g_fwd", |g| {
            g.always_ff(
                vec![set(format!("a_fwd_q[{w}*({}*r + c) +: {w}]", c_n - 1), "'0")],
                vec![set(
                    format!("a_fwd_q[{w}*({}*r + c) +: {w}]", c_n - 1),
                    format!("a_chain[{w}*c +: {w}]"),
                )],
            );
        });
    });

    md.blank().comment(
        "Edge outputs: row 0 drains north when it is a top row, row R-1 south when it is a bottom row.",
    );
    md.generate("c", c_n, "g_out", |g| {
        let south = format!("34*({c_n}*{} + c)", r_n - 1);
        g.assign("north_result_o[32*c +: 32]", "drain_q[34*c +: 32]");
        g.assign("north_tag_o[c]", "drain_q[34*c + 32]");
        g.assign("north_valid_o[c]", "split_i != '0 && drain_q[34*c + 33]");
        g.assign("south_result_o[32*c +: 32]", format!("drain_q[{south} +: 32]"));
        g.assign("south_tag_o[c]", format!("drain_q[{south} + 32]"));
        g.assign("south_valid_o[c]", format!("split_i != {sb}'d{r_n} && drain_q[{south} + 33]"));
    });
    md
}

#[cfg(test)]
mod tests {
    use super::ArrayConfig;

    #[test]
    fn shapes_are_checked() {
        assert_eq!(ArrayConfig::new(4, 4), Ok(ArrayConfig::SMALL));
        assert_eq!(ArrayConfig::new(16, 16).map(ArrayConfig::split_bits), Ok(5));
        assert_eq!(ArrayConfig::new(1, 4).unwrap_err(), "an array needs 2..=64 rows, got 1");
        assert_eq!(ArrayConfig::new(4, 65).unwrap_err(), "an array needs 2..=64 columns, got 65");
    }
}
