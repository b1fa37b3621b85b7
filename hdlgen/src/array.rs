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
    /// (`dpe_array_3x2_i5_335`): the thin top of one shape, so two shapes never share a
    /// module name.
    pub fn module_name(self) -> String {
        format!("dpe_array_{}", self.shape_name())
    }

    /// `dpe_array`, with the DPE's parameters appended for any DPE but the presets'
    /// (`dpe_array_i5_335`): the array module, whose rows and columns are parameters.
    pub fn array_module_name(self) -> String {
        format!("dpe_array{}", self.dpe_suffix())
    }

    /// `{R}x{C}` and the DPE's suffix (`3x2_i5_335`): what names every module built around
    /// this array.
    pub fn shape_name(self) -> String {
        format!("{}x{}{}", self.rows, self.cols, self.dpe_suffix())
    }

    /// What the DPE adds to a name: nothing for the presets' DPE, else `_i5_335`.
    fn dpe_suffix(self) -> String {
        let dpe = self.dpe.module_name();
        dpe.strip_prefix("dpe").unwrap_or(&dpe).to_string()
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

/// The parameterized array module (built for `cfg`'s shape, which its width checks use) with
/// every module it instantiates.
pub fn array_modules(cfg: ArrayConfig) -> Design {
    let dpe = dpe_design_with(cfg.dpe);
    let line = skew_line();
    let top = array(cfg, &dpe.top, &line);
    let mut submodules = vec![line, dpe.top];
    submodules.extend(dpe.submodules);
    Design { top, submodules }
}

/// The array of one shape as a design of its own, for the tests and flows that take one
/// shape: a thin top (`dpe_array_4x4`) that sets the array module's parameters.
pub fn array_design(cfg: ArrayConfig) -> Design {
    let array = array_modules(cfg);
    let top = Module::thin_top(
        cfg.module_name(),
        format!("The {} x {} DPE array: {} with its shape set.", cfg.rows, cfg.cols, array.top.name()),
        &array.top,
        &[("Rows", cfg.rows), ("Cols", cfg.cols)],
    );
    let mut submodules = vec![array.top];
    submodules.extend(array.submodules);
    Design { top, submodules }
}

/// The shape the array module's parameters default to, whatever shape it is built for: the
/// `dacapo` preset's.
const DEFAULT_SHAPE: ArrayConfig = ArrayConfig::DACAPO;

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
        cfg.array_module_name(),
        format!(
            "Rows x Cols output-stationary DPE array, cut into a top part (north edge: the rows whose\n\
             top_rows_i bit is set, 0..split) and a bottom part (south edge: rows split..Rows); top_rows_i\n\
             is the split as a thermometer code, so that no row decodes it. Each part streams one\n\
             slice per cycle: A slices on a_i (row r in bits [64r +: 64], as the dpe operand ports\n\
             {{exp, micro, sign, mag}}), B slices on top_b_i / bot_b_i (column c in bits [64c +: 64]),\n\
             and {ctrl_doc} on *_ctrl_i with the format on *_format_i. Edge skew registers\n\
             align them (and an output register delays every edge by one more cycle): A moves east\n\
             and B away from its edge one DPE per cycle. {}",
            drain_doc.replace("{delay}", &(cfg.dpe.latency() - 1).to_string())
        ),
    );
    md.parameter("Rows", DEFAULT_SHAPE.rows, "DPE rows, 2..=64").parameter(
        "Cols",
        DEFAULT_SHAPE.cols,
        "DPE columns, 2..=64",
    );
    let rows = || Size::new("Rows", r_n);
    let cols = || Size::new("Cols", c_n);
    md.clock_and_reset();
    md.in_port_sized("top_rows_i", rows());
    md.input("top_format_i", 2)
        .input("top_ctrl_i", cfg.ctrl_bits())
        .input("bot_format_i", 2)
        .input("bot_ctrl_i", cfg.ctrl_bits());
    md.in_port_sized("a_i", Size::new(format!("{s}*Rows"), s * r_n));
    md.in_port_sized("top_b_i", Size::new(format!("{s}*Cols"), s * c_n));
    md.in_port_sized("bot_b_i", Size::new(format!("{s}*Cols"), s * c_n));
    for edge in ["north", "south"] {
        md.out_port_sized(format!("{edge}_result_o"), Size::new("32*Cols", 32 * c_n));
        md.out_port_sized(format!("{edge}_valid_o"), cols());
        md.out_port_sized(format!("{edge}_tag_o"), cols());
    }
    md.out_port_sized("block_done_o", Size::new("Rows*Cols", r_n * c_n));
    md.blank()
        .comment("Bits of a skew line's tap: delays 0..Rows-1 on the west edge, 0..Cols-1 on the others.");
    md.localparam("RowTapBits", "$clog2(Rows)").localparam("ColTapBits", "$clog2(Cols)");

    md.blank().comment(
        "top_rows_q is top_rows_i a cycle later. It selects the B operand in front of every DPE\n\
         (a split moves only while both parts are idle, and operands reach the DPEs later than\n\
         that), and a row whose bit differs from it has just changed parts: that row empties its\n\
         west skew line and drain entries, since its tap and drain direction change and words of\n\
         its old part must not reappear in the new one. Rows that keep their part keep their words.",
    );
    md.logic("top_rows_q", rows()).logic("moved", rows());
    md.assign("moved", "top_rows_i ^ top_rows_q");
    md.always_ff(vec![set("top_rows_q", "'0")], vec![set("top_rows_q", "top_rows_i")]);

    md.blank().comment(
        "Whether row r's neighbour toward its part's edge was and is in that part (the ends: no).\n\
         A row takes its neighbour's drain entry only then: a row that has just changed parts may\n\
         still hold a result its old edge has taken.",
    );
    md.logic("below_stayed_top", rows()).logic("above_stayed_bot", rows());
    md.assign("below_stayed_top", "{1'b0, top_rows_i[Rows-1:1] & top_rows_q[Rows-1:1]}");
    md.assign("above_stayed_bot", "{~(top_rows_i[Rows-2:0] | top_rows_q[Rows-2:0]), 1'b0}");

    md.blank().comment(
        "West edge: each row takes its part's control, then the skew of its distance from the part's edge.",
    );
    md.logic_doc(
        "west_skewed",
        Size::new(format!("{w}*Rows"), w * r_n),
        format!("row r in bits [{w}r +: {w}]"),
    );
    md.generate("r", "Rows", "g_west", |g| {
        g.wire("in_top", 1, "top_rows_i[r]");
        g.wire(
            "word",
            w,
            "in_top ? {top_format_i, top_ctrl_i, a_i[64*r +: 64]} : {bot_format_i, bot_ctrl_i, a_i[64*r +: 64]}",
        );
        g.logic("tap", Size::new("RowTapBits", bits_for(u64::from(r_n - 1))));
        g.assign("tap", "in_top ? RowTapBits'(r) : RowTapBits'(Rows - 1 - r)");
        g.instance_with(
            skew_line,
            &[("Width", w.into()), ("Depth", Size::new("Rows - 1", r_n - 1))],
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
    for edge in ["north", "south"] {
        md.logic(format!("{edge}_skewed"), Size::new(format!("{s}*Cols"), s * c_n));
    }
    md.generate("c", "Cols", "g_cols", |g| {
        for (edge, input) in [("north", "top_b_i"), ("south", "bot_b_i")] {
            g.instance_with(
                skew_line,
                &[("Width", s.into()), ("Depth", Size::new("Cols - 1", c_n - 1))],
                format!("u_{edge}_skew"),
                &[
                    ("clk_i", "clk_i".into()),
                    ("rst_ni", "rst_ni".into()),
                    ("flush_i", "1'b0".into()),
                    ("d_i", format!("{input}[{s}*c +: {s}]")),
                    ("tap_i", "ColTapBits'(c)".into()),
                    ("q_o", format!("{edge}_skewed[{s}*c +: {s}]")),
                ],
            );
        }
    });

    // Each DPE's drain entries: slot s's {valid, tag, value} in bits [34s +: 34] of its
    // drain_q; entry 0 is the one its neighbour toward the part's edge takes.
    let d = DRAIN_BITS;
    let entries = d * l;
    let entry0 = if l == 1 { String::new() } else { format!("[{}:0]", d - 1) };
    md.blank().comment(
        "The DPEs, row r and column c in g_row[r].g_col[c], each with the registers that pass its\n\
         words on: the A operand east to the next column (the next column's a_q), the B operand\n\
         away from its part's edge (b_fwd_q, which the row above or below reads) and its drained\n\
         results toward the part's edge (drain_q). A top row reads B and drain entries from the\n\
         row below it, a bottom row from the row above; a row at the array's edge reads B from\n\
         the edge's skew line and no drain entry.",
    );
    md.generate("r", "Rows", "g_row", |g| {
        g.generate("c", "Cols", "g_col", |g| {
            g.logic("a_in", w).logic("b_in", s);
            g.logic_doc("b_fwd_q", s, "b_in a cycle later, for the next row away from the part's edge");
            g.logic_doc("drain_q", entries, if l == 1 { "{valid, tag, value}" } else { "slot s in bits [34s +: 34]" });
            g.logic_doc("b_above", s, "row r-1's b_fwd_q, in row 0 the north edge's word");
            g.logic_doc("b_below", s, "row r+1's b_fwd_q, in row Rows-1 the south edge's word");
            g.logic_doc("drain_above", d, "row r-1's entry 0, none in row 0");
            g.logic_doc("drain_below", d, "row r+1's entry 0, none in row Rows-1");
            g.generate_if(
                "c == 0",
                ("g_west_edge", |e: &mut Module| {
                    e.assign("a_in", format!("west_skewed[{w}*r +: {w}]"));
                }),
                ("g_from_west", |e: &mut Module| {
                    e.logic("a_q", w);
                    e.always_ff(vec![set("a_q", "'0")], vec![set("a_q", "g_col[c-1].a_in")]);
                    e.assign("a_in", "a_q");
                }),
            );
            for (edge, neighbour, row, other) in [("north", "above", "0", "r-1"), ("south", "below", "Rows - 1", "r+1")] {
                let skewed = format!("{edge}_skewed");
                g.generate_if(
                    &format!("r == {row}"),
                    (&format!("g_{edge}_edge"), |e: &mut Module| {
                        e.assign(format!("b_{neighbour}"), format!("{skewed}[{s}*c +: {s}]"));
                        e.assign(format!("drain_{neighbour}"), "'0");
                    }),
                    (&format!("g_{edge}_neighbour"), |e: &mut Module| {
                        e.assign(format!("b_{neighbour}"), format!("g_row[{other}].g_col[c].b_fwd_q"));
                        e.assign(format!("drain_{neighbour}"), format!("g_row[{other}].g_col[c].drain_q{entry0}"));
                    }),
                );
            }
            g.assign("b_in", "top_rows_q[r] ? b_above : b_below");
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
                ("block_done_o", "block_done_o[Cols*r + c]".into()),
                ("drain_o", "capture".into()),
                ("drain_tag_o", "capture_tag".into()),
            ]);
            if l > 1 {
                ports.push(("slot_o", "slot".into()));
            }
            let ports: Vec<(&str, String)> = ports;
            g.instance(dpe, "u_dpe", &ports);
            g.wire("from_below", d, format!("below_stayed_top[r] ? drain_below : {d}'d0"));
            g.wire("from_above", d, format!("above_stayed_bot[r] ? drain_above : {d}'d0"));
            let neighbour = "top_rows_i[r] ? from_below : from_above";
            if l == 1 {
                g.comment(
                    "Drain: capture when the DPE's pipeline delivers the drain flag, else take the\n\
                     neighbour's entry toward the part's edge.",
                );
                g.always_ff(
                    vec![set("drain_q", "'0"), set("b_fwd_q", "'0")],
                    vec![
                        set("drain_q", format!("capture ? {{1'b1, capture_tag, acc}} : moved[r] ? {d}'d0 : {neighbour}")),
                        set("b_fwd_q", "b_in"),
                    ],
                );
            } else {
                g.always_ff(vec![set("b_fwd_q", "'0")], vec![set("b_fwd_q", "b_in")]);
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
                for slot in 0..l {
                    let entry = format!("drain_q[{} +: {d}]", d * slot);
                    let next =
                        if slot + 1 < l { format!("drain_q[{} +: {d}]", d * (slot + 1)) } else { neighbour.to_string() };
                    g.always_ff(
                        vec![set(&entry, "'0")],
                        vec![set(
                            &entry,
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
    });

    md.blank().comment(
        "Edge outputs: row 0 drains north when it is a top row, row R-1 south when it is a bottom row.",
    );
    md.generate("c", "Cols", "g_out", |g| {
        for (edge, row, valid) in
            [("north", "0", "top_rows_i[0]"), ("south", "Rows-1", "!top_rows_i[Rows-1]")]
        {
            let entry = format!("g_row[{row}].g_col[c].drain_q");
            g.assign(format!("{edge}_result_o[32*c +: 32]"), format!("{entry}[31:0]"));
            g.assign(format!("{edge}_tag_o[c]"), format!("{entry}[32]"));
            g.assign(format!("{edge}_valid_o[c]"), format!("{valid} && {entry}[33]"));
        }
    });
    md
}

#[cfg(test)]
mod tests {
    use super::{array_design, array_modules, ArrayConfig};
    use crate::dpe::DpeConfig;

    #[test]
    fn every_shape_instantiates_one_array_module() {
        for dpe in [DpeConfig::SINGLE, DpeConfig::INTERLEAVED] {
            let text = |rows, cols| {
                array_modules(ArrayConfig::new(rows, cols).unwrap().with_dpe(dpe)).top.to_verilog()
            };
            let reference = text(16, 16);
            for (rows, cols) in [(2, 2), (4, 4), (3, 2), (8, 32)] {
                assert_eq!(text(rows, cols), reference, "the array module of {rows} x {cols} differs");
            }
        }
        let design = array_design(ArrayConfig::new(8, 3).unwrap());
        let top = design.top.to_verilog();
        assert!(top.starts_with("// The 8 x 3 DPE array") && top.contains("module dpe_array_8x3 ("), "{top}");
        assert!(top.contains("  dpe_array #(\n    .Rows(8),\n    .Cols(3)\n  ) u_dpe_array ("), "{top}");
        assert!(
            top.contains("input  logic [511:0] a_i,") && top.contains("output logic [23:0]  block_done_o"),
            "{top}"
        );
    }

    #[test]
    fn shapes_are_checked() {
        assert_eq!(ArrayConfig::new(4, 4), Ok(ArrayConfig::SMALL));
        assert_eq!(ArrayConfig::new(16, 16).map(ArrayConfig::split_bits), Ok(5));
        assert_eq!(ArrayConfig::new(1, 4).unwrap_err().to_string(), "an array needs 2..=64 rows, got 1");
        assert_eq!(ArrayConfig::new(4, 65).unwrap_err().to_string(), "an array needs 2..=64 columns, got 65");
    }
}
