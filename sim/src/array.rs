//! The simulated DPE arrays (the `small` preset's 4 x 4, and a 3 x 2 of the interleaved DPE),
//! driven a tile at a time on either part.

use hdlgen::ArrayConfig;
use mx::{dot, Block, Format};

use crate::{format_code, operand_slices, DpeArray3x2I5335Model, DpeArray4x4Model};

/// Which sub-accelerator: rows `0..split` (top, north edge) or `split..rows` (bottom, south).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Top,
    Bottom,
}

impl Part {
    /// This part's rows of an array of `rows` rows cut at `split`.
    pub fn rows(self, rows: u32, split: u32) -> u32 {
        match self {
            Part::Top => split,
            Part::Bottom => rows - split,
        }
    }
}

/// A generated array's Verilator model, as [`ArrayHarness`] drives it; operands go in as
/// 64-bit lanes (one per row or column) and results come out as 32-bit words (one per column).
pub trait ArrayPorts {
    /// The generator parameters of the model.
    const CONFIG: ArrayConfig;
    /// A model just out of reset.
    fn create() -> Self;
    fn tick(&mut self);
    fn set_split(&mut self, split: u64);
    /// A part's control word `{slot, tag, drain, clear, valid}` and format.
    fn set_control(&mut self, part: Part, ctrl: u64, format: u64);
    fn set_operands(&mut self, a: &[u64], top_b: &[u64], bottom_b: &[u64]);
    /// A part's edge: which columns deliver a result this cycle, and every column's value.
    fn edge(&self, part: Part) -> (u64, Vec<u32>);
}

/// A port's value as little-endian 32-bit words, narrow (`u64`) or wide (`[u32; N]`).
trait PortWords {
    fn to_words(self) -> Vec<u32>;
}

impl PortWords for u64 {
    fn to_words(self) -> Vec<u32> {
        vec![self as u32, (self >> 32) as u32]
    }
}

impl<const N: usize> PortWords for [u32; N] {
    fn to_words(self) -> Vec<u32> {
        self.to_vec()
    }
}

/// 64-bit lanes as the little-endian 32-bit words of a wide port.
fn lane_words<const N: usize>(lanes: &[u64]) -> [u32; N] {
    let mut out = [0u32; N];
    for (i, lane) in lanes.iter().enumerate() {
        out[2 * i] = *lane as u32;
        out[2 * i + 1] = (lane >> 32) as u32;
    }
    out
}

macro_rules! array_ports {
    ($model:ident, $config:expr) => {
        impl ArrayPorts for $model {
            const CONFIG: ArrayConfig = $config;
            fn create() -> Self {
                let mut model = $model::new();
                model.reset();
                model
            }
            fn tick(&mut self) {
                $model::tick(self)
            }
            fn set_split(&mut self, split: u64) {
                // The array takes the split as a thermometer code: bit r set for top row r.
                self.set_top_rows_i(u64::MAX.checked_shr(64 - split as u32).unwrap_or(0))
            }
            fn set_control(&mut self, part: Part, ctrl: u64, format: u64) {
                match part {
                    Part::Top => {
                        self.set_top_ctrl_i(ctrl);
                        self.set_top_format_i(format);
                    }
                    Part::Bottom => {
                        self.set_bot_ctrl_i(ctrl);
                        self.set_bot_format_i(format);
                    }
                }
            }
            fn set_operands(&mut self, a: &[u64], top_b: &[u64], bottom_b: &[u64]) {
                self.set_a_i(&lane_words(a));
                self.set_top_b_i(&lane_words(top_b));
                self.set_bot_b_i(&lane_words(bottom_b));
            }
            fn edge(&self, part: Part) -> (u64, Vec<u32>) {
                match part {
                    Part::Top => (self.north_valid_o(), self.north_result_o().to_words()),
                    Part::Bottom => (self.south_valid_o(), self.south_result_o().to_words()),
                }
            }
        }
    };
}

array_ports!(DpeArray4x4Model, ArrayConfig::SMALL);
array_ports!(DpeArray3x2I5335Model, ArrayConfig::INTERLEAVED);

/// The `small` preset's array: 4 x 4 DPEs, one output each.
pub type DpeArray = ArrayHarness<DpeArray4x4Model>;
/// `ArrayConfig::INTERLEAVED`: 3 x 2 DPEs of five outputs each, tiles ten columns wide.
pub type InterleavedArray = ArrayHarness<DpeArray3x2I5335Model>;

/// One output tile for one part: `a[i]` is the K blocks of the part's row i (rows counted from
/// the part's edge), `b[j]` those of column j. At most the part's rows and L C columns (the
/// array's columns times the outputs per DPE).
#[derive(Clone, Debug)]
pub struct Tile {
    pub format: Format,
    pub a: Vec<Vec<Block>>,
    pub b: Vec<Vec<Block>>,
}

impl Tile {
    /// What the golden model says the tile's outputs are.
    pub fn golden(&self) -> Vec<Vec<f32>> {
        self.a.iter().map(|a| self.b.iter().map(|b| dot(a, b, self.format, 0.0)).collect()).collect()
    }
}

/// One cycle of a part's stream.
#[derive(Clone, Copy)]
struct Step {
    ctrl: u64, // {slot, tag, drain, clear, valid}; the tag stays 0 here
    block: usize,
    slice: usize,
    slot: usize,
}

const VALID: u64 = 1;
const CLEAR: u64 = 2;
const DRAIN: u64 = 4;
/// The slot's place in the control word.
const SLOT_SHIFT: u32 = 4;

pub struct ArrayHarness<M> {
    model: M,
    split: usize,
    cycles: u64,
}

impl<M: ArrayPorts> Default for ArrayHarness<M> {
    fn default() -> Self {
        ArrayHarness::new()
    }
}

impl<M: ArrayPorts> ArrayHarness<M> {
    pub const ROWS: usize = M::CONFIG.rows as usize;
    pub const COLS: usize = M::CONFIG.cols as usize;
    /// Outputs per DPE (L): slot s of column c is the tile's column s C + c.
    pub const SLOTS: usize = M::CONFIG.dpe.interleave as usize;
    /// Columns of a whole tile: L C.
    pub const TILE_COLS: usize = Self::SLOTS * Self::COLS;
    /// A tile that has not drained after this many cycles has hung.
    const WATCHDOG: u64 = 10_000;

    pub fn new() -> Self {
        ArrayHarness { model: M::create(), split: 0, cycles: 0 }
    }

    /// Moves the cut between the parts (0..=rows) for the next tiles.
    pub fn set_split(&mut self, split: usize) {
        assert!(split <= Self::ROWS, "split {split} is past the array's {} rows", Self::ROWS);
        self.split = split;
        self.model.set_split(split as u64);
    }

    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Cycles from a tile's first slice until its last output has left the array, for a part
    /// of `part_rows` rows. The stream is `blocks x L x cycles_per_block` slices (each block
    /// step gives the L slots their blocks in turn), then L drain words, one per slot. The
    /// last drain reaches the part's row i (counted from its edge) after i skew cycles and
    /// column c after c more, and the capture after the array's pipeline registers
    /// (`ArrayConfig::drain_delay`); slot s of row i then needs i L + s cycles to reach the
    /// edge. The last output (row P - 1, slot L - 1, column C - 1) leaves at the stream's
    /// length plus (P - 1) + (C - 1) + drain_delay + P L - 2, one cycle before the end. With
    /// L = 1 that is slices + 2 P + C - 2 + drain_delay.
    pub fn tile_cycles(format: Format, blocks: usize, part_rows: usize) -> u64 {
        let (l, pipeline) = (Self::SLOTS, M::CONFIG.drain_delay() as usize);
        (blocks * l * format.cycles_per_block() as usize + (l + 1) * part_rows + Self::COLS + l - 3
            + pipeline) as u64
    }

    fn part_rows(&self, part: Part) -> usize {
        match part {
            Part::Top => self.split,
            Part::Bottom => Self::ROWS - self.split,
        }
    }

    /// The array row of the part's row i.
    fn array_row(&self, part: Part, i: usize) -> usize {
        match part {
            Part::Top => i,
            Part::Bottom => Self::ROWS - 1 - i,
        }
    }

    /// Runs a tile on each part given (both at once when both are), from the first slice until
    /// every output has drained; returns the outputs of each, rows by columns.
    pub fn run(&mut self, top: Option<&Tile>, bottom: Option<&Tile>) -> [Option<Vec<Vec<f32>>>; 2] {
        let (cols, slots) = (Self::COLS, Self::SLOTS);
        let jobs = [(Part::Top, top), (Part::Bottom, bottom)];
        let mut streams: Vec<Vec<Step>> = Vec::new();
        let mut results: Vec<Vec<Vec<Option<f32>>>> = Vec::new();
        for (part, tile) in jobs {
            let Some(tile) = tile else {
                streams.push(Vec::new());
                results.push(Vec::new());
                continue;
            };
            assert!(
                tile.a.len() <= self.part_rows(part) && tile.b.len() <= Self::TILE_COLS,
                "tile larger than the {part:?} part"
            );
            let blocks = tile.a.first().or(tile.b.first()).map_or(0, Vec::len);
            let per_block = tile.format.cycles_per_block() as usize;
            let mut steps: Vec<Step> = (0..blocks * slots * per_block)
                .map(|n| {
                    let (block, slot, slice) =
                        (n / (slots * per_block), n / per_block % slots, n % per_block);
                    Step { ctrl: VALID | (slot as u64) << SLOT_SHIFT, block, slice, slot }
                })
                .collect();
            steps.extend((0..slots).map(|slot| Step {
                ctrl: DRAIN | CLEAR | (slot as u64) << SLOT_SHIFT,
                block: 0,
                slice: 0,
                slot,
            }));
            streams.push(steps);
            results.push(vec![vec![None; Self::TILE_COLS]; self.part_rows(part)]);
        }
        let start = self.cycles;
        // Per part and edge column: how many results have arrived (row n / L, slot n % L).
        let mut arrived = vec![vec![0usize; cols]; 2];
        for t in 0.. {
            let done =
                (0..2).all(|p| t >= streams[p].len() && results[p].iter().flatten().all(Option::is_some));
            if done {
                break;
            }
            assert!(
                self.cycles - start < Self::WATCHDOG,
                "the array hung: outputs missing after {} cycles",
                Self::WATCHDOG
            );
            let mut a_words = vec![0u64; Self::ROWS];
            let mut b_words = vec![vec![0u64; cols]; 2];
            for (p, (part, tile)) in jobs.iter().enumerate() {
                let (ctrl, format) = match (tile, streams[p].get(t)) {
                    (Some(tile), Some(step)) => {
                        for (i, row) in tile.a.iter().enumerate() {
                            a_words[self.array_row(*part, i)] =
                                edge_word(&row[step.block], tile.format, step.slice);
                        }
                        for (c, word) in b_words[p].iter_mut().enumerate() {
                            if let Some(col) = tile.b.get(step.slot * cols + c) {
                                *word = edge_word(&col[step.block], tile.format, step.slice);
                            }
                        }
                        (step.ctrl, format_code(tile.format))
                    }
                    _ => (0, 0),
                };
                self.model.set_control(*part, ctrl, format);
            }
            self.model.set_operands(&a_words, &b_words[0], &b_words[1]);
            self.tick();
            for (p, part) in [Part::Top, Part::Bottom].into_iter().enumerate() {
                let (valid, data) = self.model.edge(part);
                for c in 0..cols {
                    if valid >> c & 1 == 1 {
                        let (row, slot) = (arrived[p][c] / slots, arrived[p][c] % slots);
                        assert!(row < results[p].len(), "more results than rows at column {c} of part {p}");
                        results[p][row][slot * cols + c] = Some(f32::from_bits(data[c]));
                        arrived[p][c] += 1;
                    }
                }
            }
        }
        let mut out = [None, None];
        for (p, (_, tile)) in jobs.iter().enumerate() {
            if let Some(tile) = tile {
                out[p] = Some(
                    results[p][..tile.a.len()]
                        .iter()
                        .map(|row| {
                            row[..tile.b.len()].iter().map(|v| v.expect("every output drained")).collect()
                        })
                        .collect(),
                );
            }
        }
        out
    }

    fn tick(&mut self) {
        self.model.tick();
        self.cycles += 1;
    }

    /// The underlying model, for waveform tracing.
    pub fn model(&mut self) -> &mut M {
        &mut self.model
    }
}

/// The 64-bit edge word `{exp, micro, sign, mag}` of one operand's `slice`.
fn edge_word(block: &Block, format: Format, slice: usize) -> u64 {
    let (sign, mag) = operand_slices(block, format)[slice];
    u64::from(block.exp) << 56 | u64::from(block.micro) << 48 | sign << 32 | mag
}
