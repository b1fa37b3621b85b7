//! The simulated DPE array (`small` preset, 4 x 4), driven a tile at a time on either part.

use mx::{dot, Block, Format};

use crate::{format_code, operand_slices, DpeArray4x4Model};

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

/// One output tile for one part: `a[i]` is the K blocks of the part's row i (rows counted from
/// the part's edge), `b[j]` those of column j. At most the part's rows and the array's columns.
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
    ctrl: u64, // {tag, drain, clear, valid}; the tag stays 0 here
    block: usize,
    slice: usize,
}

const VALID: u64 = 1;
const CLEAR: u64 = 2;
const DRAIN: u64 = 4;

pub struct DpeArray {
    model: DpeArray4x4Model,
    split: usize,
    cycles: u64,
}

impl Default for DpeArray {
    fn default() -> Self {
        DpeArray::new()
    }
}

impl DpeArray {
    pub const ROWS: usize = 4;
    pub const COLS: usize = 4;
    /// A tile that has not drained after this many cycles has hung.
    const WATCHDOG: u64 = 10_000;

    pub fn new() -> DpeArray {
        let mut model = DpeArray4x4Model::new();
        model.reset();
        DpeArray { model, split: 0, cycles: 0 }
    }

    /// Moves the cut between the parts (0..=4) for the next tiles.
    pub fn set_split(&mut self, split: usize) {
        assert!(split <= Self::ROWS, "split {split} is past the array's {} rows", Self::ROWS);
        self.split = split;
        self.model.set_split_i(split as u64);
    }

    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Cycles from a tile's first slice until its last output has left the array, for a part
    /// of `part_rows` rows: `blocks x cycles_per_block` slices, then the drain word, which
    /// reaches the part's row i (counted from its edge) after i skew cycles and column c after
    /// c more, and the capture after the array's pipeline registers (`array::drain_delay`);
    /// the captured value then needs i cycles to reach the edge. The last output (row P - 1,
    /// column C - 1) leaves at slice count + 2(P - 1) + (C - 1) + drain_delay, one cycle
    /// before the end.
    pub fn tile_cycles(format: Format, blocks: usize, part_rows: usize) -> u64 {
        let pipeline = hdlgen::array::drain_delay() as usize;
        (blocks * format.cycles_per_block() as usize + 2 * part_rows + Self::COLS - 2 + pipeline) as u64
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
                tile.a.len() <= self.part_rows(part) && tile.b.len() <= Self::COLS,
                "tile larger than the {part:?} part"
            );
            let blocks = tile.a.first().or(tile.b.first()).map_or(0, Vec::len);
            let per_block = tile.format.cycles_per_block() as usize;
            let mut steps: Vec<Step> = (0..blocks * per_block)
                .map(|n| Step { ctrl: VALID, block: n / per_block, slice: n % per_block })
                .collect();
            steps.push(Step { ctrl: DRAIN | CLEAR, block: 0, slice: 0 });
            streams.push(steps);
            results.push(vec![vec![None; Self::COLS]; self.part_rows(part)]);
        }
        let start = self.cycles;
        let mut arrived = [[0usize; DpeArray::COLS]; 2];
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
            let mut a_words = [0u64; DpeArray::ROWS];
            let mut b_words = [[0u64; DpeArray::COLS]; 2];
            for (p, (part, tile)) in jobs.iter().enumerate() {
                let (ctrl, format) = match (tile, streams[p].get(t)) {
                    (Some(tile), Some(step)) => {
                        for (i, row) in tile.a.iter().enumerate() {
                            a_words[self.array_row(*part, i)] =
                                edge_word(&row[step.block], tile.format, step.slice);
                        }
                        for (j, col) in tile.b.iter().enumerate() {
                            b_words[p][j] = edge_word(&col[step.block], tile.format, step.slice);
                        }
                        (step.ctrl, format_code(tile.format))
                    }
                    _ => (0, 0),
                };
                match part {
                    Part::Top => {
                        self.model.set_top_ctrl_i(ctrl);
                        self.model.set_top_format_i(format);
                    }
                    Part::Bottom => {
                        self.model.set_bot_ctrl_i(ctrl);
                        self.model.set_bot_format_i(format);
                    }
                }
            }
            self.model.set_a_i(&words(&a_words));
            self.model.set_top_b_i(&words(&b_words[0]));
            self.model.set_bot_b_i(&words(&b_words[1]));
            self.tick();
            let edges = [
                (self.model.north_valid_o(), self.model.north_result_o()),
                (self.model.south_valid_o(), self.model.south_result_o()),
            ];
            for (p, (valid, data)) in edges.into_iter().enumerate() {
                for c in 0..Self::COLS {
                    if valid >> c & 1 == 1 {
                        let row = arrived[p][c];
                        assert!(row < results[p].len(), "more results than rows at column {c} of part {p}");
                        results[p][row][c] = Some(f32::from_bits(data[c]));
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
    pub fn model(&mut self) -> &mut DpeArray4x4Model {
        &mut self.model
    }
}

/// The 64-bit edge word `{exp, micro, sign, mag}` of one operand's `slice`.
fn edge_word(block: &Block, format: Format, slice: usize) -> u64 {
    let (sign, mag) = operand_slices(block, format)[slice];
    u64::from(block.exp) << 56 | u64::from(block.micro) << 48 | sign << 32 | mag
}

/// 64-bit lanes as the little-endian 32-bit words of a wide port.
fn words<const N: usize>(lanes: &[u64; N]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (i, lane) in lanes.iter().enumerate() {
        out[2 * i] = *lane as u32;
        out[2 * i + 1] = (lane >> 32) as u32;
    }
    out
}
