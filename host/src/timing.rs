//! The cycle count of every accelerator command and of whole command streams, as the RTL
//! runs them (docs/timing.md derives each formula). `schedule` replays a part's command
//! stream through the dispatch rules with these formulas and equals the Verilator chip to
//! the cycle.

use anyhow::bail;
use hdlgen::accel::{blocks_per_word, AccelConfig, STORE_STAGES};
use mx::Format;
use sim::{hw_format, Command, MemoryRate};

/// The accelerator's clock (MHz) that every latency table and run assumes. The `small`
/// accelerator closes at 8.53 ns in the OSU 0.18 um flow (`make asic`: a DPE's addition into
/// its accumulator, 117.2 MHz); scaled by the ratio of FO4 inverter delays, about 360 ps per um
/// of drawn gate length (Ho, Mai and Horowitz, "The Future of Wires", Proc. IEEE 2001), so
/// 0.18 / 0.028 = 6.4, that is about 750 MHz at 28 nm, which covers the paper's 500 MHz.
pub const CLOCK_MHZ: f64 = 500.0;

/// Cycles a DPE spends on one block: 16 (MX9), 4 (MX6), 1 (MX4).
pub fn cycles_per_block(format: Format) -> u64 {
    u64::from(format.cycles_per_block())
}

/// Host port beats a load or a store moves; its DMA unit is busy beats + 2 cycles when it
/// never waits for the port.
pub fn dma_beats(config: AccelConfig, command: &Command) -> u64 {
    match *command {
        Command::LoadA { format, lanes, lines, .. } | Command::LoadB { format, lanes, lines, .. } => {
            u64::from(lines) * u64::from(config.load_beats(hw_format(format), lanes))
        }
        Command::Store { format, rows, cols, .. } => {
            u64::from(rows) * u64::from(config.store_beats(format.map(hw_format), cols))
        }
        _ => 0,
    }
}

/// Cycles from a store's dispatch to its first beat: the result buffer's read, then one
/// cycle in each register of the store path (`STORE_STAGES`).
pub const STORE_FIRST_BEAT: u64 = 2 + STORE_STAGES.len() as u64;

/// Cycles a compute streams before its drain: L clear cycles if it clears, then for each K
/// block L blocks of slices, one per slot (L outputs per DPE: 1 for the presets).
fn stream_cycles(config: AccelConfig, format: Format, blocks: u32, clear: bool) -> u64 {
    u64::from(config.dpe.interleave) * (u64::from(clear) + u64::from(blocks) * cycles_per_block(format))
}

/// Cycles from a part's first drain cycle until its last result is in the result buffer,
/// plus one: a store of that buffer can start this many cycles after the drain begins. The
/// drain passes the array's pipeline registers (D, `ArrayConfig::drain_delay`: the edge
/// register, then the DPE's stages after the first) behind the blocks before it; slot s of
/// row i and column j of the part then lands `(L + 1) i + s + j + 2` cycles later (L outputs
/// per DPE), so the last lands `(L + 1) P + C + L - 1 + D` cycles after it; with L = 1 that
/// is `2 P + C + D`.
pub fn drain_latency(config: AccelConfig, part_rows: u32) -> u64 {
    let l = config.dpe.interleave;
    u64::from((l + 1) * part_rows + config.cols + l - 1 + config.array().drain_delay())
}

/// The closed form of a whole GEMM (`plan::GemmPlan`) on a part of `part_rows` rows, for the
/// case the accelerator is built for: K fits one scratchpad half (one chunk) and the DMA unit
/// keeps ahead of the compute unit. Then the part is busy for
///
/// `T L (kb c + 1) + N_A B_A + N_B B_B + m_last B_S + (L + 1) P + C + L - 1 + D + 17`
///
/// cycles: T output tiles of L C columns, each kb K blocks at c cycles per block for each of
/// the L slots plus its L drain cycles; the first A and B loads (N lines of B beats each; B
/// has L lines per word of A) before the first compute; the last drain's latency
/// (`drain_latency`) and the last tile's store (m_last rows of B_S beats); 17 cycles more: 10
/// of entry, dispatch and DMA turnaround and 7 from the last store's dispatch to its first beat
/// (`STORE_FIRST_BEAT`). The first tile's L clear cycles and its last drain's L - 1 cycles
/// past its first are both in the formula. With L = 1 (the presets) that is
/// `T (kb c + 1) + ... + 2 P + C + D + 17`. `None` when K needs
/// more than one chunk.
pub fn gemm_cycles(
    config: AccelConfig,
    part_rows: u32,
    format: Format,
    m: u64,
    n: u64,
    k: u64,
) -> Option<u64> {
    let hw = hw_format(format);
    let (p, c, l) = (u64::from(part_rows), u64::from(config.tile_cols()), u64::from(config.dpe.interleave));
    let kb = k.div_ceil(mx::BLOCK as u64);
    let words = kb.div_ceil(u64::from(blocks_per_word(hw)));
    if words > u64::from(config.a_depth / 2) || words * l > u64::from(config.b_depth / 2) || p == 0 {
        return None;
    }
    let tiles = m.div_ceil(p) * n.div_ceil(c);
    let load = |lines: u64, lanes: u64| lines * u64::from(config.load_beats(hw, lanes as u32));
    let m_last = m - (m.div_ceil(p) - 1) * p;
    let n_last = n - (n.div_ceil(c) - 1) * c;
    let store = m_last * u64::from(config.store_beats(None, n_last as u32));
    Some(
        tiles * l * (kb * cycles_per_block(format) + 1)
            + load(words, p.min(m))
            + load(words * l, n.min(u64::from(config.cols)))
            + store
            + drain_latency(config, part_rows)
            + 10
            + STORE_FIRST_BEAT,
    )
}

/// When each command of a stream ran and when the part became idle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Cycles from the first command entering the queue until the part is idle.
    pub cycles: u64,
    /// The cycle each command left the queue for its unit.
    pub dispatch: Vec<u64>,
    /// Cycles (first, last) during which the part requested the host port.
    pub requests: Vec<(u64, u64)>,
    /// Cycles the compute unit streamed (clear, slices, drains).
    pub compute: u64,
    /// Cycles the DMA unit's requests waited for the other part (the `stall_port` counter).
    pub stall_port: u64,
    /// Cycles they waited for a memory slot (the `stall_memory` counter).
    pub stall_memory: u64,
}

/// What the host port leaves a part: the memory's slots (`rate`, whose cycle count is `phase`
/// at the schedule's cycle 0) outside the cycles the other part requests the port (`blocked`,
/// (first, last) pairs, sorted). The top part wins every cycle both request, so it is never
/// blocked; the bottom part is blocked by the top part's `Schedule::requests`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortShare<'a> {
    pub rate: MemoryRate,
    pub phase: u64,
    pub blocked: &'a [(u64, u64)],
}

impl PortShare<'_> {
    /// Memory slots in cycles lo..hi (schedule cycles).
    fn slots(&self, lo: u64, hi: u64) -> u64 {
        self.rate.slots_before(self.phase + hi) - self.rate.slots_before(self.phase + lo)
    }

    /// The cycle of the last of `beats` grants to requests from cycle `first` on: the
    /// memory's slots, skipping the blocked cycles.
    fn last_grant(&self, first: u64, beats: u64) -> u64 {
        let mut at = first;
        let mut left = beats;
        // Blocks that end before `first` leave it nothing to skip.
        let from = self.blocked.partition_point(|&(_, hi)| hi < first);
        for &(lo, hi) in &self.blocked[from..] {
            let free = self.slots(at, lo.max(at));
            if free >= left {
                break;
            }
            left -= free;
            at = at.max(hi + 1);
        }
        self.rate.nth_slot_from(self.phase + at, left) - self.phase
    }
}

/// Replays a part's command stream, all of it handed to the chip at cycle 0, one command per
/// cycle while the queue has room, with what `port` leaves the part of the host port. Takes
/// loads, computes, stores and fences.
pub fn schedule(
    config: AccelConfig,
    part_rows: u32,
    commands: &[Command],
    port: PortShare,
) -> anyhow::Result<Schedule> {
    let p = u64::from(part_rows);
    let l = u64::from(config.dpe.interleave);
    let q = config.queue_depth as usize;
    let mut out = Schedule::default();
    let mut entered: Vec<u64> = Vec::with_capacity(commands.len());
    // Compute unit: its last cycle, the cycle its last drain began, and what it reads (A's and
    // B's first word and words).
    let mut c_last: Option<u64> = None;
    let mut c_reads: Option<[(u32, u32); 2]> = None;
    let mut last_drain: Option<u64> = None;
    // Per result buffer: the first cycle its last drain has fully landed.
    let mut landed = [0u64; 2];
    // DMA unit: the first cycle it is free, and what it last ran.
    let mut dma_free = 0u64;
    let mut dma_last: Option<Command> = None;
    let mut idle = 0u64;
    for (i, command) in commands.iter().enumerate() {
        let enter =
            (entered.last().map_or(0, |e| e + 1)).max(if i >= q { out.dispatch[i - q] + 1 } else { 0 });
        entered.push(enter);
        // A command spends a cycle in the entry register, then reaches the ring's head the
        // cycle after it enters the ring or after the command before it dispatched.
        let head = (enter + 1).max(out.dispatch.last().map_or(0, |&d| d)) + 1;
        let overlaps = |lo1: u32, n1: u32, lo2: u32, n2: u32| lo1 < lo2 + n2 && lo2 < lo1 + n1;
        let t = match *command {
            Command::LoadA { spad, lines, .. } | Command::LoadB { spad, lines, .. } => {
                let is_a = matches!(command, Command::LoadA { .. });
                let hazard = c_reads.is_some_and(|reads| {
                    let (first, words) = reads[usize::from(!is_a)];
                    overlaps(spad, lines, first, words)
                });
                let t = head.max(dma_free).max(if hazard { c_last.unwrap_or(0) } else { 0 });
                let last = out.request(&port, t + 1, dma_beats(config, command));
                dma_free = last + 3;
                dma_last = Some(*command);
                t
            }
            Command::Store { buffer, .. } => {
                let t = head.max(dma_free).max(landed[buffer as usize]);
                // Row 0 is read at t + 1 and passes the store path's registers from t + 2
                // on; its beats go from t + STORE_FIRST_BEAT.
                let last = out.request(&port, t + STORE_FIRST_BEAT, dma_beats(config, command));
                dma_free = last + 2;
                dma_last = Some(*command);
                t
            }
            Command::Compute { format, blocks, a, b, clear, drain, buffer, .. } => {
                let words = blocks.div_ceil(blocks_per_word(hw_format(format)));
                let b_words = words * config.dpe.interleave;
                let operand = match dma_last {
                    Some(Command::LoadA { spad, lines, .. }) => overlaps(a, words, spad, lines),
                    Some(Command::LoadB { spad, lines, .. }) => overlaps(b, b_words, spad, lines),
                    _ => false,
                };
                let storing = matches!(dma_last, Some(Command::Store { buffer: s, .. }) if s == buffer);
                let mut t = head.max(c_last.unwrap_or(0));
                if operand || (drain && storing) {
                    t = t.max(dma_free);
                }
                if drain {
                    t = t.max(landed[buffer as usize]);
                }
                let slices_end = t + stream_cycles(config, format, blocks, clear);
                out.compute += slices_end - t;
                // The drain's L cycles follow each other, the first (L + 1) P cycles after the
                // part's previous drain began.
                let last = if drain {
                    let d = (slices_end + 1).max(last_drain.map_or(0, |d| d + (l + 1) * p));
                    last_drain = Some(d);
                    landed[buffer as usize] = d + drain_latency(config, part_rows);
                    out.compute += l;
                    d + l - 1
                } else {
                    slices_end
                };
                c_last = Some(last);
                c_reads = Some([(a, words), (b, b_words)]);
                t
            }
            Command::Fence => {
                head.max(c_last.map_or(0, |l| l + 1)).max(dma_free).max(landed[0]).max(landed[1])
            }
            _ => bail!("the timing model takes loads, computes, stores and fences, not {command:?}"),
        };
        // A compute stops holding its operands for loads at its last cycle.
        out.dispatch.push(t);
        idle = idle.max(t + 1);
    }
    out.cycles = idle.max(c_last.map_or(0, |l| l + 1)).max(dma_free).max(landed[0]).max(landed[1]);
    Ok(out)
}

impl Schedule {
    /// A DMA transfer of `beats` beats requesting the port from cycle `first` on; returns
    /// the cycle of its last grant.
    fn request(&mut self, port: &PortShare, first: u64, beats: u64) -> u64 {
        let last = port.last_grant(first, beats);
        let slots = port.slots(first, last + 1);
        self.requests.push((first, last));
        self.stall_memory += last + 1 - first - slots;
        self.stall_port += slots - beats;
        last
    }
}
