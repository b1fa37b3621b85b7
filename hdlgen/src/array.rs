//! The partitionable output-stationary array (SPEC section 4): R x C DPEs cut between rows by a
//! runtime `split` into a top part (rows `0..split`, fed and drained at the north edge) and a
//! bottom part (rows `split..R`, at the south edge), each with its own format and control.

use crate::dpe::{dpe_design_with, DpeConfig};
use crate::fp_add::bits_for;
use crate::verilog::{if_, set, Module, Size};
use crate::{ConfigError, Design};

/// The shape of an array and its DPE; every other size is derived from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ArrayConfig {
    pub rows: u32,
    pub cols: u32,
    /// The DPE's pipeline and the outputs it interleaves (L): with L > 1 each DPE computes L
    /// outputs of its row, so a tile is L C columns wide.
    pub dpe: DpeConfig,
}

impl ArrayConfig {
    pub const SMALL: ArrayConfig = ArrayConfig { rows: 4, cols: 4, dpe: DpeConfig::SINGLE };
    pub const DACAPO: ArrayConfig = ArrayConfig { rows: 16, cols: 16, dpe: DpeConfig::SINGLE };
    /// A 3 x 2 array of the interleaved DPE (five outputs per DPE, every stage cut), the
    /// array for FPGA fabric at a size the `sim` crate compiles and tests quickly.
    pub const INTERLEAVED: ArrayConfig = ArrayConfig { rows: 3, cols: 2, dpe: DpeConfig::INTERLEAVED };

    /// A checked shape of the presets' DPE: 2..=64 rows and columns.
    pub fn new(rows: u32, cols: u32) -> Result<ArrayConfig, ConfigError> {
        for (what, got) in [("rows", rows), ("columns", cols)] {
            if !(2..=64).contains(&got) {
                return Err(ConfigError::ArrayShape { what, got });
            }
        }
        Ok(ArrayConfig { rows, cols, dpe: DpeConfig::SINGLE })
    }

    /// The same shape with another DPE.
    pub fn with_dpe(self, dpe: DpeConfig) -> ArrayConfig {
        ArrayConfig { dpe, ..self }
    }

    /// Bits of the `split` register (values 0..=rows).
    pub fn split_bits(self) -> u32 {
        bits_for(u64::from(self.rows))
    }

    /// Outputs per DPE (L): a tile is L times as wide as the array.
    pub fn interleave(self) -> u32 {
        self.dpe.interleave
    }

    /// Bits of a part's control word: `{slot, tag, drain, clear, valid}` (no slot when L = 1).
    pub fn ctrl_bits(self) -> u32 {
        4 + self.dpe.slot_bits()
    }

    /// Bits of a west word: the A slice, the part's control and format, which travel east
    /// with it: `{format[1:0], ctrl, slice[63:0]}`.
    pub fn west_bits(self) -> u32 {
        SLICE_BITS + self.ctrl_bits() + 2
    }

    /// Cycles by which the array's pipeline registers delay a drain's capture: the edge
    /// register and the DPE's stages after the first.
    pub fn drain_delay(self) -> u32 {
        EDGE_LATENCY + self.dpe.latency() - 1
    }

    /// `dpe_array_{R}x{C}`, with the DPE's parameters appended for any DPE but the presets'
    /// (`dpe_array_3x2_i5_335`), so two shapes never share a module name.
    pub fn module_name(self) -> String {
        format!("dpe_array_{}", self.shape_name())
    }

    /// `{R}x{C}` and the DPE's suffix (`3x2_i5_335`): what names every module built around
    /// this array.
    pub fn shape_name(self) -> String {
        let dpe = self.dpe.module_name();
        let suffix = dpe.strip_prefix("dpe").unwrap_or(&dpe);
        format!("{}x{}{suffix}", self.rows, self.cols)
    }
}

/// Bits of one operand slice on the array's edges: exponent, micro-exponents, 16 signs,
/// 16 two-bit digits (the `dpe` operand ports, concatenated).
pub const SLICE_BITS: u32 = 64;
/// A drain chain entry: `{valid, tag, value[31:0]}`.
const DRAIN_BITS: u32 = 34;

/// Cycles every operand and control word spends in its edge's output register, on top of
/// its systolic skew.
pub const EDGE_LATENCY: u32 = 1;

/// A delay line with a runtime tap: `q_o` is `d_i` from `tap_i + 1` cycles ago
/// (0..=`Depth`).
fn skew_line() -> Module {
    // Defaults: the DaCapo array's west edge.
    let (width, depth) = (SLICE_BITS, 15);
    let mut md = Module::new(
        "skew_line",
        "Delay line for systolic skew: q_o is d_i delayed by tap_i (0..=Depth) cycles plus one,\n\
         its output register, which keeps the tap's multiplexer off the DPE's paths. flush_i\n\
         empties it, so a changed tap never brings back words from before the change.",
    );
    md.parameter("Width", width, "bits of a word").parameter("Depth", depth, "the longest delay, at least 1");
    md.clock_and_reset().input("flush_i", 1);
    md.in_port_sized("d_i", Size::new("Width", width));
    md.in_port_sized("tap_i", Size::new("$clog2(Depth + 1)", bits_for(u64::from(depth))));
    let q = md.out_port_sized("q_o", Size::new("Width", width));
    md.blank().localparam("StagesWidth", "Width * Depth");
    md.localparam("LineWidth", "Width * (Depth + 1)");
    md.signal_sized("stages_q", Size::new("StagesWidth", width * depth));
    let out = md.signal_sized("out_q", Size::new("Width", width));
    md.signal_sized("line", Size::new("LineWidth", width * (depth + 1)));
    md.assign("line", "{stages_q, d_i}");
    md.comment("Stage s (delay s + 1) is line[Width*(s+1) +: Width]. While flushing only the new\nword counts: older stages read as empty.");
    md.always_ff(
        vec![set("stages_q", "'0"), set("out_q", "'0")],
        vec![
            set("stages_q", "flush_i ? StagesWidth'(d_i) : line[StagesWidth-1:0]"),
            set("out_q", "(flush_i && tap_i != '0) ? '0 : line[Width*tap_i +: Width]"),
        ],
    );
    md.drive(&q, out.e());
    md
}

/// The array with every module it instantiates.
pub fn array_design(cfg: ArrayConfig) -> Design {
    let dpe = dpe_design_with(cfg.dpe);
    let line = skew_line();
    let top = array(cfg, &dpe.top, &line);
    let mut submodules = vec![line, dpe.top];
    submodules.extend(dpe.submodules);
    Design { top, submodules }
}

fn array(cfg: ArrayConfig, dpe: &Module, skew_line: &Module) -> Module {
    let (r_n, c_n) = (cfg.rows, cfg.cols);
    let (w, s, l) = (cfg.west_bits(), SLICE_BITS, cfg.interleave());
    let slot_bits = cfg.dpe.slot_bits();
    let (ctrl_doc, drain_doc) = if l == 1 {
        (
            "{tag, drain, clear, valid}".to_string(),
            "drain (with clear,\n\
             the cycle after a tile's last slice) passes down each DPE's pipeline with the blocks\n\
             and then copies its accumulator ({delay} cycles after the drain reaches the DPE) into a\n\
             drain chain that shifts one row per cycle to the part's edge; each column delivers the\n\
             part's rows in order from its edge, two cycles apart, with the tag given with the\n\
             drain (the result buffer it is for). Successive drains of a part must be at least\n\
             2 x rows cycles apart; move the split only while both parts are idle."
                .to_string(),
        )
    } else {
        (
            "{slot, tag, drain, clear, valid}".to_string(),
            format!(
                "Each DPE interleaves {l} outputs\n\
                 (slots): a block, clear or drain names its slot, and blocks of one slot must enter a DPE\n\
                 at least {add} cycles apart (its adder's stages), which the {l} slots in turn give even in\n\
                 MX4. A drain (with clear) drains one slot: the {l} slots drain on consecutive cycles, in\n\
                 order 0..{last}, after the tile's last slice. Each drain passes down the DPE's pipeline\n\
                 behind the blocks and leaves it {{delay}} cycles after entering; the DPE holds the drained\n\
                 values until slot {last}'s, then moves all {l} into its {l} entries of a drain chain that shifts one\n\
                 entry per cycle to the part's edge. Each column delivers the part's rows in order from\n\
                 its edge, each row's {l} slots on consecutive cycles and the next row one cycle after\n\
                 them, with the tag given with the drain (the result buffer it is for). Successive drains\n\
                 of a part must be at least {spacing} x rows cycles apart; move the split only while both\n\
                 parts are idle.",
                add = cfg.dpe.add_stages,
                last = l - 1,
                spacing = l + 1,
            ),
        )
    };
    let mut md = Module::new(
        cfg.module_name(),
        format!(
            "{r_n} x {c_n} output-stationary DPE array, cut into a top part (north edge: the rows whose\n\
             top_rows_i bit is set, 0..split) and a bottom part (south edge: rows split..{r_n}); top_rows_i\n\
             is the split as a thermometer code, so that no row decodes it. Each part streams one\n\
             slice per cycle: A slices on a_i (row r in bits [64r +: 64], as the dpe operand ports\n\
             {{exp, micro, sign, mag}}), B slices on top_b_i / bot_b_i (column c in bits [64c +: 64]),\n\
             and {ctrl_doc} on *_ctrl_i with the format on *_format_i. Edge skew registers\n\
             align them (and an output register delays every edge by one more cycle): A moves east\n\
             and B away from its edge one DPE per cycle. {}",
            drain_doc.replace("{delay}", &(cfg.dpe.latency() - 1).to_string())
        ),
    );
    md.clock_and_reset()
        .input("top_rows_i", r_n)
        .input("top_format_i", 2)
        .input("top_ctrl_i", cfg.ctrl_bits())
        .input("bot_format_i", 2)
        .input("bot_ctrl_i", cfg.ctrl_bits())
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
        "top_rows_q is top_rows_i a cycle later. It selects the B operand in front of every DPE\n\
         (a split moves only while both parts are idle, and operands reach the DPEs later than\n\
         that), and a row whose bit differs from it has just changed parts: that row empties its\n\
         west skew line and drain entries, since its tap and drain direction change and words of\n\
         its old part must not reappear in the new one. Rows that keep their part keep their words.",
    );
    md.logic("top_rows_q", r_n).wire("moved", r_n, "top_rows_i ^ top_rows_q");
    md.always_ff(vec![set("top_rows_q", "'0")], vec![set("top_rows_q", "top_rows_i")]);

    md.blank().comment(
        "Whether row r's neighbour toward its part's edge was and is in that part (the ends: no).\n\
         A row takes its neighbour's drain entry only then: a row that has just changed parts may\n\
         still hold a result its old edge has taken.",
    );
    md.logic("below_stayed_top", r_n).logic("above_stayed_bot", r_n);
    md.assign("below_stayed_top", format!("{{1'b0, top_rows_i[{0}:1] & top_rows_q[{0}:1]}}", r_n - 1));
    md.assign("above_stayed_bot", format!("{{~(top_rows_i[{0}:0] | top_rows_q[{0}:0]), 1'b0}}", r_n - 2));

    md.blank().comment(
        "West edge: each row takes its part's control, then the skew of its distance from the part's edge.",
    );
    md.logic_doc("west_skewed", w * r_n, format!("row r in bits [{w}r +: {w}]"));
    md.generate("r", r_n, "g_west", |g| {
        g.wire("in_top", 1, "top_rows_i[r]");
        g.wire(
            "word",
            w,
            "in_top ? {top_format_i, top_ctrl_i, a_i[64*r +: 64]} : {bot_format_i, bot_ctrl_i, a_i[64*r +: 64]}",
        );
        g.wire("tap", bits_for(u64::from(r_n - 1)), format!("in_top ? {0}'(r) : {0}'({1} - r)", bits_for(u64::from(r_n - 1)), r_n - 1));
        g.instance_with(
            skew_line,
            &[("Width", w), ("Depth", r_n - 1)],
            "u_skew",
            &[
                ("clk_i", "clk_i".into()),
                ("rst_ni", "rst_ni".into()),
                ("flush_i", "moved[r]".into()),
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
            g.instance_with(
                skew_line,
                &[("Width", s), ("Depth", c_n - 1)],
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

    // Drain entries: L per DPE, entry (r, c, slot) at index L(Cr + c) + slot of `drain_q`; the
    // entries a DPE passes to its neighbour (entry 0) one row further in `drain_chain`, padded
    // with a row of empty entries at both ends.
    let d = DRAIN_BITS;
    let entry = |row: &str, slot: u32| match (l, slot) {
        (1, _) => format!("{d}*({c_n}*{row} + c)"),
        (_, 0) => format!("{d}*{l}*({c_n}*{row} + c)"),
        _ => format!("{d}*({l}*({c_n}*{row} + c) + {slot})"),
    };
    md.blank().comment(if l == 1 {
        "Operand chains. A: per row, the skewed west word then each DPE's forwarded copy (DPE c\n\
         reads entry c). B: per column, north edge (entry 0), each row's forwarded copy (entry\n\
         r + 1), south edge (entry R + 1); a top row reads the entry above it, a bottom row the\n\
         one below. Drains: each DPE's chain register, padded with empty entries at both ends."
    } else {
        "Operand chains. A: per row, the skewed west word then each DPE's forwarded copy (DPE c\n\
         reads entry c). B: per column, north edge (entry 0), each row's forwarded copy (entry\n\
         r + 1), south edge (entry R + 1); a top row reads the entry above it, a bottom row the\n\
         one below. Drains: each DPE's chain registers, one per slot, padded with a row of empty\n\
         entries at both ends."
    });
    let drain_doc = if l == 1 {
        "{valid, tag, value} of row r, column c in bits [34(Cr + c) +: 34]".to_string()
    } else {
        format!("{{valid, tag, value}} of row r, column c, slot s in bits [34({l}(Cr + c) + s) +: 34]")
    };
    md.logic_doc(
        "a_fwd_q",
        w * r_n * (c_n - 1),
        format!("row r, column c < C-1 in bits [{w}((C-1)r + c) +: {w}]"),
    )
    .logic_doc("b_fwd_q", s * r_n * c_n, "row r, column c in bits [64(Cr + c) +: 64]")
    .logic_doc("drain_q", d * l * r_n * c_n, drain_doc)
    .logic("b_chain", s * c_n * (r_n + 2));
    let pad = d * c_n;
    if l == 1 {
        md.logic("drain_chain", d * c_n * (r_n + 2));
    } else {
        md.logic_doc("drain_chain", d * c_n * (r_n + 2), "each DPE's entry 0, a row further");
    }
    md.assign("b_chain", "{south_skewed, b_fwd_q, north_skewed}");
    if l == 1 {
        md.assign("drain_chain", format!("{{{pad}'d0, drain_q, {pad}'d0}}"));
    } else {
        md.assign(format!("drain_chain[{}:0]", pad - 1), "'0");
        md.assign(format!("drain_chain[{}:{}]", pad * (r_n + 2) - 1, pad * (r_n + 1)), "'0");
    }

    md.blank();
    md.generate("r", r_n, "g_row", |g| {
        g.logic_doc("a_chain", w * c_n, "entry c feeds column c");
        g.assign(
            "a_chain",
            format!("{{a_fwd_q[{w}*{}*r +: {}], west_skewed[{w}*r +: {w}]}}", c_n - 1, w * (c_n - 1)),
        );
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
            let mut ports = vec![
                ("clk_i", "clk_i".to_string()),
                ("rst_ni", "rst_ni".into()),
                ("format_i", format!("a_in[{}:{}]", w - 1, w - 2)),
                ("clear_i", format!("a_in[{}]", s + 1)),
                ("load_i", "1'b0".into()),
                ("load_data_i", "32'd0".into()),
                ("drain_i", format!("a_in[{}]", s + 2)),
                ("drain_tag_i", format!("a_in[{}]", s + 3)),
                ("valid_i", format!("a_in[{s}]")),
            ];
            if l > 1 {
                g.logic("slot", slot_bits);
                ports.push(("slot_i", format!("a_in[{}:{}]", s + 3 + slot_bits, s + 4)));
            }
            ports.extend([
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
            ]);
            if l > 1 {
                ports.push(("slot_o", "slot".into()));
            }
            let ports: Vec<(&str, String)> = ports;
            g.instance(dpe, "u_dpe", &ports);
            let from_below = format!("below_stayed_top[r] ? drain_chain[{d}*({c_n}*(r + 2) + c) +: {d}] : {d}'d0");
            let from_above = format!("above_stayed_bot[r] ? drain_chain[{d}*({c_n}*r + c) +: {d}] : {d}'d0");
            let b_fwd = format!("b_fwd_q[{s}*({c_n}*r + c) +: {s}]");
            if l == 1 {
                g.comment(
                    "Drain: capture when the DPE's pipeline delivers the drain flag, else take the\n\
                     neighbour's entry toward the part's edge.",
                );
                g.wire("from_below", d, from_below);
                g.wire("from_above", d, from_above);
                g.always_ff(
                    vec![set(format!("drain_q[{} +: {d}]", entry("r", 0)), "'0"), set(&b_fwd, "'0")],
                    vec![
                        set(
                            format!("drain_q[{} +: {d}]", entry("r", 0)),
                            "capture ? {1'b1, capture_tag, acc} : moved[r] ? 34'd0 : top_rows_i[r] ? from_below : from_above",
                        ),
                        set(&b_fwd, "b_in"),
                    ],
                );
            } else {
                g.always_ff(vec![set(&b_fwd, "'0")], vec![set(&b_fwd, "b_in")]);
                g.comment(format!(
                    "Drain: slots 0..{} wait in held_q until slot {}'s value arrives; then all {l} enter\n\
                     this DPE's entries (slot s in entry s, entry 0 nearest the part's edge). Otherwise\n\
                     each entry takes the next one away from the edge: entry s + 1, or for the last the\n\
                     neighbouring DPE's entry 0.",
                    l - 2,
                    l - 1
                ));
                g.logic_doc("held_q", 32 * (l - 1), "slot s's drained value in bits [32s +: 32]");
                g.wire("last_slot", 1, format!("slot == {slot_bits}'d{}", l - 1));
                g.wire("drained", 32 * l, "{acc, held_q}");
                g.always_ff(
                    vec![set("held_q", "'0")],
                    vec![if_("capture && !last_slot", vec![set("held_q[32*slot +: 32]", "acc")])],
                );
                g.assign(format!("drain_chain[{d}*({c_n}*(r + 1) + c) +: {d}]"), format!("drain_q[{} +: {d}]", entry("r", 0)));
                g.wire("from_below", d, from_below);
                g.wire("from_above", d, from_above);
                for slot in 0..l {
                    let next = if slot + 1 < l {
                        format!("drain_q[{} +: {d}]", entry("r", slot + 1))
                    } else {
                        "top_rows_i[r] ? from_below : from_above".to_string()
                    };
                    g.always_ff(
                        vec![set(format!("drain_q[{} +: {d}]", entry("r", slot)), "'0")],
                        vec![set(
                            format!("drain_q[{} +: {d}]", entry("r", slot)),
                            format!(
                                "(capture && last_slot) ? {{1'b1, capture_tag, drained[{}:{}]}} : moved[r] ? {d}'d0 : {next}",
                                32 * slot + 31,
                                32 * slot
                            ),
                        )],
                    );
                }
            }
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
        let north = if l == 1 { format!("{d}*c") } else { format!("{d}*{l}*c") };
        let south = entry(&(r_n - 1).to_string(), 0);
        g.assign("north_result_o[32*c +: 32]", format!("drain_q[{north} +: 32]"));
        g.assign("north_tag_o[c]", format!("drain_q[{north} + 32]"));
        g.assign("north_valid_o[c]", format!("top_rows_i[0] && drain_q[{north} + 33]"));
        g.assign("south_result_o[32*c +: 32]", format!("drain_q[{south} +: 32]"));
        g.assign("south_tag_o[c]", format!("drain_q[{south} + 32]"));
        g.assign("south_valid_o[c]", format!("!top_rows_i[{}] && drain_q[{south} + 33]", r_n - 1));
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
        assert_eq!(ArrayConfig::new(1, 4).unwrap_err().to_string(), "an array needs 2..=64 rows, got 1");
        assert_eq!(ArrayConfig::new(4, 65).unwrap_err().to_string(), "an array needs 2..=64 columns, got 65");
    }
}
