//! How a GEMM runs on one part of the accelerator: the command stream and the host memory
//! layout it reads and writes. The timing model (`timing`) and the Verilator backend (`rtl`)
//! run the same plan.

use anyhow::ensure;
use hdlgen::accel::{blocks_per_word, word_bits, AccelConfig};
use mx::{Block, Format, MxMatrix};
use sim::{hw_format, Command};

/// A GEMM on one part: output tiles of part rows x tile columns (the array's columns times the
/// outputs per DPE, L) in row-major order; K in chunks that fit half of a scratchpad, so the
/// next chunk loads into the other half while this one computes; an operand chunk still
/// resident is not loaded again (A while the tile row stays, B when there is one tile column)
/// and a new tile row's A loads one step early; drains alternate between the two result
/// buffers; each tile is stored (f32) while the next one computes. Command order:
/// `L(0) C(0) L(1) [S(t-1)] C(1) L(2) ...`: step s + 1's loads and the previous tile's
/// store queue behind step s's compute.
#[derive(Clone, Debug)]
pub struct GemmPlan {
    pub commands: Vec<Command>,
    format: Format,
    m: usize,
    n: usize,
    k: usize,
    rows: usize,
    /// Columns of a tile: L C.
    cols: usize,
    /// Host beat of each output tile's first result row, and beats per row.
    c_tiles: Vec<(u32, u32)>,
    regions: Vec<Region>,
    port_words: usize,
    /// The first host beat past everything the plan uses.
    pub host_end: u32,
}

/// A GEMM's shape: A is M x K, B is K x N, both in `format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GemmShape {
    pub format: Format,
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

impl GemmShape {
    /// The shape of `a` (M x K, blocked along rows) times `b` (K x N, blocked along columns),
    /// checking that the operands fit together as the golden model does.
    pub fn of(a: &MxMatrix, b: &MxMatrix) -> mx::Result<GemmShape> {
        mx::check_operands(a, b)?;
        Ok(GemmShape { format: a.format(), m: a.rows(), n: b.cols(), k: a.cols() })
    }
}

/// Operand lines in host memory: `lines` lines of `lanes` lanes from `first_block` on. A's
/// line k holds rows `first_lane..` of the matrix; B's line k L + s holds the columns of slot
/// s, `first_lane + s C ..` (L = `slots`, C = `stride`), zero blocks past the matrix.
#[derive(Clone, Copy, Debug)]
struct Region {
    host: u32,
    is_a: bool,
    first_lane: usize,
    lanes: usize,
    slots: usize,
    stride: usize,
    first_block: usize,
    lines: usize,
}

impl GemmPlan {
    /// The plan for `a` (M x K, blocked along rows) times `b` (K x N, blocked along columns)
    /// on a part of `part_rows` rows, with its host memory from beat `host` on. K chunks hold
    /// at most `chunk_words` scratchpad words (`None`: half the smaller scratchpad).
    pub fn new(
        config: AccelConfig,
        part_rows: u32,
        a: &MxMatrix,
        b: &MxMatrix,
        host: u32,
        chunk_words: Option<u32>,
    ) -> anyhow::Result<GemmPlan> {
        GemmPlan::for_shape(config, part_rows, GemmShape::of(a, b)?, host, chunk_words)
    }

    /// The plan of a GEMM of this shape, for timing it without operands.
    pub fn for_shape(
        config: AccelConfig,
        part_rows: u32,
        shape: GemmShape,
        host: u32,
        chunk_words: Option<u32>,
    ) -> anyhow::Result<GemmPlan> {
        let GemmShape { format, m, n, k } = shape;
        ensure!(part_rows > 0, "the part has no rows under this split");
        let kb = k.div_ceil(mx::BLOCK);
        ensure!(m > 0 && n > 0 && kb > 0, "empty GEMM ({m} x {k} x {n})");
        let hw = hw_format(format);
        let (rows, cols) = (part_rows as usize, config.tile_cols() as usize);
        let (edge_cols, slots) = (config.cols as usize, config.dpe.interleave as usize);
        let per_word = blocks_per_word(hw) as usize;
        // Each operand's scratchpad in two halves; B takes L words per word of A.
        let halves = [(config.a_depth / 2) as usize, (config.b_depth / 2) as usize];
        let most_words = halves[0].min(halves[1] / slots);
        let chunk_words = chunk_words.map_or(most_words, |w| (w as usize).clamp(1, most_words));
        let chunk = chunk_words * per_word;
        let (tiles_m, tiles_n, chunks) = (m.div_ceil(rows), n.div_ceil(cols), kb.div_ceil(chunk));
        let blocks = |q: usize| kb.min((q + 1) * chunk) - q * chunk;
        let words = |q: usize| blocks(q).div_ceil(per_word);
        let tile_rows = |i: usize| rows.min(m - i * rows);
        let tile_cols = |j: usize| cols.min(n - j * cols);
        // Per operand (A, B): the lanes a tile loads (B's edge columns hold L tile columns
        // each) and the scratchpad lines of chunk q (B: L per word of A).
        let lanes = |o: usize, t: usize| if o == 0 { tile_rows(t) } else { tile_cols(t).min(edge_cols) };
        let slots_of = [1, slots];
        let lines = |o: usize, q: usize| words(q) * slots_of[o];

        let mut host = host;
        let mut regions = Vec::new();
        // Host beat of each operand chunk: at[operand][tile][chunk].
        let mut at: [Vec<Vec<u32>>; 2] = [Vec::new(), Vec::new()];
        for (o, tiles) in [tiles_m, tiles_n].into_iter().enumerate() {
            for t in 0..tiles {
                let span = if o == 0 { rows } else { cols };
                let mut chunk_at = Vec::new();
                for q in 0..chunks {
                    chunk_at.push(host);
                    regions.push(Region {
                        host,
                        is_a: o == 0,
                        first_lane: t * span,
                        lanes: lanes(o, t),
                        slots: slots_of[o],
                        stride: edge_cols,
                        first_block: q * chunk,
                        lines: lines(o, q),
                    });
                    host += lines(o, q) as u32 * config.load_beats(hw, lanes(o, t) as u32);
                }
                at[o].push(chunk_at);
            }
        }
        let mut c_tiles = Vec::new();
        for i in 0..tiles_m {
            for j in 0..tiles_n {
                let per_row = config.store_beats(None, tile_cols(j) as u32);
                c_tiles.push((host, per_row));
                host += tile_rows(i) as u32 * per_row;
            }
        }

        // Per step (tile, chunk): its loads and its compute. Each operand has two halves; a
        // chunk loads into the half the previous step's compute does not read.
        let mut resident: [[Option<(usize, usize)>; 2]; 2] = [[None; 2]; 2];
        let mut in_use = [1usize; 2];
        let mut steps: Vec<(Vec<Command>, Command)> = Vec::new();
        let tiles = tiles_m * tiles_n;
        for t in 0..tiles {
            let (i, j) = (t / tiles_n, t % tiles_n);
            for q in 0..chunks {
                let mut loads = Vec::new();
                let mut half = [0usize; 2];
                for (o, key) in [(i, q), (j, q)].into_iter().enumerate() {
                    let h = match resident[o].iter().position(|r| *r == Some(key)) {
                        Some(h) => h,
                        None => {
                            let h = 1 - in_use[o];
                            resident[o][h] = Some(key);
                            let (spad, lines, lanes) =
                                ((h * halves[o]) as u32, lines(o, q) as u32, lanes(o, key.0) as u32);
                            let host = at[o][key.0][key.1];
                            loads.push(if o == 0 {
                                Command::LoadA { format, lanes, lines, spad, host }
                            } else {
                                Command::LoadB { format, lanes, lines, spad, host }
                            });
                            h
                        }
                    };
                    half[o] = h;
                    in_use[o] = h;
                }
                let compute = Command::Compute {
                    format,
                    rows: tile_rows(i) as u32,
                    cols: tile_cols(j) as u32,
                    blocks: blocks(q) as u32,
                    a: (half[0] * halves[0]) as u32,
                    b: (half[1] * halves[1]) as u32,
                    clear: t == 0 && q == 0,
                    drain: q + 1 == chunks,
                    buffer: (t % 2) as u32,
                };
                steps.push((loads, compute));
            }
        }
        // A tile row's first A chunk loads one step early, while the previous step still
        // computes on the resident A chunk (its half is free), so its load time spreads over
        // two steps instead of stalling the compute.
        // It queues after the store of that slot, which the next compute waits for.
        let mut early: Vec<Option<Command>> = vec![None; steps.len()];
        for s in 0..steps.len().saturating_sub(2) {
            let is_a = |c: &Command| matches!(c, Command::LoadA { .. });
            if !steps[s + 1].0.iter().any(is_a) {
                if let Some(at) = steps[s + 2].0.iter().position(is_a) {
                    early[s + 1] = Some(steps[s + 2].0.remove(at));
                }
            }
        }
        let store = |t: usize| Command::Store {
            format: None,
            truncate: false,
            buffer: (t % 2) as u32,
            rows: tile_rows(t / tiles_n) as u32,
            cols: tile_cols(t % tiles_n) as u32,
            host: c_tiles[t].0,
        };
        let mut commands = steps[0].0.clone();
        for s in 0..steps.len() {
            commands.push(steps[s].1);
            if let Some((loads, _)) = steps.get(s + 1) {
                commands.extend(loads);
            }
            let (t, q) = (s / chunks, s % chunks);
            if q == 0 && t >= 1 {
                commands.push(store(t - 1));
            }
            commands.extend(early.get(s + 1).copied().flatten());
        }
        commands.push(store(tiles - 1));
        Ok(GemmPlan {
            commands,
            format,
            m,
            n,
            k,
            rows,
            cols,
            c_tiles,
            regions,
            port_words: (config.port_bits / 32) as usize,
            host_end: host,
        })
    }

    /// The useful multiply-accumulates: M x N x K.
    pub fn macs(&self) -> u64 {
        (self.m * self.n * self.k) as u64
    }

    /// The host memory the plan reads: `(beat, words)` runs of operand lines. Each line holds,
    /// per lane, the lane's scratchpad word (the packed block, or two for MX4), packed
    /// little-endian from bit 0, lanes in order; a line fills whole beats.
    pub fn operand_beats(&self, a: &MxMatrix, b: &MxMatrix) -> Vec<(u32, Vec<u32>)> {
        let hw = hw_format(self.format);
        let per_word = blocks_per_word(hw) as usize;
        let word_bits = word_bits(hw) as usize;
        let block_bits = 8 * self.format.block_bytes();
        let mut bytes = vec![0u8; self.format.block_bytes()];
        let mut out = Vec::new();
        for r in &self.regions {
            let matrix = if r.is_a { a } else { b };
            let beat_words = (r.lanes * word_bits).div_ceil(32 * self.port_words) * self.port_words;
            let mut words = vec![0u32; r.lines * beat_words];
            for line in 0..r.lines {
                let (step, slot) = (line / r.slots, line % r.slots);
                for lane in 0..r.lanes {
                    let at_lane = r.first_lane + slot * r.stride + lane;
                    let blocks = if at_lane < matrix.lines() { matrix.line(at_lane) } else { &[] };
                    for half in 0..per_word {
                        let k = r.first_block + step * per_word + half;
                        blocks.get(k).copied().unwrap_or_else(Block::default).pack(self.format, &mut bytes);
                        let at = 32 * line * beat_words + lane * word_bits + half * block_bits;
                        for (i, byte) in bytes.iter().enumerate() {
                            let bit = at + 8 * i;
                            words[bit / 32] |= u32::from(*byte) << (bit % 32);
                        }
                    }
                }
            }
            out.push((r.host, words));
        }
        out
    }

    /// The M x N result from the host memory the stores wrote; `read(beat, beats)` reads it.
    pub fn results(&self, read: impl Fn(u32, u32) -> Vec<u32>) -> Vec<f32> {
        let mut c = vec![0f32; self.m * self.n];
        let tiles_n = self.n.div_ceil(self.cols);
        for (t, &(host, per_row)) in self.c_tiles.iter().enumerate() {
            let (i, j) = (t / tiles_n, t % tiles_n);
            let (tm, tn) = (self.rows.min(self.m - i * self.rows), self.cols.min(self.n - j * self.cols));
            let words = read(host, tm as u32 * per_row);
            for r in 0..tm {
                for col in 0..tn {
                    let w = words[r * per_row as usize * self.port_words + col];
                    c[(i * self.rows + r) * self.n + j * self.cols + col] = f32::from_bits(w);
                }
            }
        }
        c
    }
}
