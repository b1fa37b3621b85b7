//! One part's controller, built unit by unit. Each unit emits its registers and logic into the
//! part's module; they talk through the signals they declare, in the order a reader meets them
//! (a unit's state before the hazards that read it, functions last).

mod compute;
mod dispatch;
mod dma;
mod queue;
mod results;
mod status;
mod store;

use super::{cmd, AccelConfig, Bank, COUNTERS, WORD_BITS};
use crate::array::SLICE_BITS;
use crate::fp_add::bits_for;
use crate::mx::BLOCK;
use crate::verilog::Module;

/// The sizes every unit of a part derives from its configuration.
#[derive(Clone, Debug)]
struct Sizes {
    cfg: AccelConfig,
    /// Array rows and columns.
    r_n: u32,
    c_n: u32,
    /// Host port bits, and their log2.
    p: u32,
    pl: u32,
    /// Bits of the split (rows of a part, 0..=rows).
    sb: u32,
    /// Bits of a result buffer's row address.
    rb: u32,
    /// Address bits of the A and B banks.
    aw: u32,
    bw: u32,
    /// Queue depth, and its log2.
    q: u32,
    qb: u32,
    /// Lanes of a load line (the larger of rows and columns) and the line's bits.
    lanes: u32,
    line_bits: u32,
    /// Bits of a stored row's line of beats.
    store_line_bits: u32,
    /// Bits of a beat counter (per line or row).
    beat_w: u32,
    /// Outputs per DPE (L); a tile's columns (L C); bits of the array's control word. With L
    /// outputs per DPE, B holds each K step's L blocks of a column in consecutive words.
    l: u32,
    tc: u32,
    cb: u32,
    /// The last slot as a literal (`2'd4`).
    last_slot: String,
    /// Bits of a B word address or end, up to L words per 16-bit count.
    bwb: u32,
    /// Bits of the cycles-since-drain counter.
    sd: u32,
    /// Groups of 16 columns in a stored row.
    groups: u32,
    /// A load's lanes and a store's columns (up to whole groups of 16), one bit each.
    mask_bits: u32,
}

impl Sizes {
    fn new(cfg: AccelConfig) -> Sizes {
        let (r_n, c_n, p) = (cfg.rows, cfg.cols, cfg.port_bits);
        let l = cfg.dpe.interleave;
        let lanes = r_n.max(c_n);
        let tc = cfg.tile_cols();
        let groups = tc.div_ceil(BLOCK);
        Sizes {
            cfg,
            r_n,
            c_n,
            p,
            pl: p.trailing_zeros(),
            sb: cfg.array().split_bits(),
            rb: cfg.row_bits(),
            aw: cfg.a_depth.trailing_zeros(),
            bw: cfg.b_depth.trailing_zeros(),
            q: cfg.queue_depth,
            qb: cfg.queue_depth.trailing_zeros(),
            lanes,
            line_bits: lanes * WORD_BITS,
            store_line_bits: cfg.max_store_beats() * p,
            beat_w: bits_for(u64::from(cfg.max_load_beats().max(cfg.max_store_beats()))),
            l,
            tc,
            cb: cfg.array().ctrl_bits(),
            last_slot: format!("{}'d{}", cfg.dpe.slot_bits(), l - 1),
            bwb: bits_for(0xFFFF + 0x1_0000 * u64::from(l)),
            sd: bits_for(u64::from((l + 1) * r_n)).max(8),
            groups,
            mask_bits: lanes.max(BLOCK * groups),
        }
    }
}

/// The modules a part instantiates besides its RAM banks, the same for every configuration.
pub(super) struct Units {
    pub queue: Module,
    pub status: Module,
}

impl Units {
    pub fn new() -> Units {
        Units { queue: queue::module(), status: status::module() }
    }
}

/// One part's controller: its command queue, compute unit, DMA unit, B banks, result buffers,
/// store converter, status and counters. The A banks live in the top (their owner follows the
/// split); this module addresses them by lane (row from the part's edge).
pub(super) fn part(cfg: AccelConfig, b_bank: &Bank, r_bank: &Bank, units: &Units) -> Module {
    let s = Sizes::new(cfg);
    let Sizes { r_n, c_n, p, sb, aw, cb, .. } = s;
    let mut md = Module::new(
        format!("accel_part_{}", cfg.shape_name()),
        "One sub-accelerator's control: a command queue, a compute unit that streams slices from the\n\
         scratchpads into the array, a DMA unit that loads lines into the scratchpads and stores\n\
         result rows (f32 or MX) through the host port, the result buffers the part's array edge\n\
         drains into, a status register and performance counters. Commands dispatch in order,\n\
         each to its unit once the unit is free and no hazard holds it; an illegal command sets\n\
         the error code and is dropped. docs/timing.md gives the cycle count of every command.",
    );
    md.clock_and_reset()
        .input("rows_i", sb)
        .input("other_busy_i", 1)
        .input("cmd_valid_i", 1)
        .input("cmd_i", cmd::BITS)
        .output("cmd_ready_o", 1)
        .output("busy_o", 1)
        .output("split_we_o", 1)
        .output("split_o", sb)
        .output("status_o", 32)
        .output("counters_o", 32 * COUNTERS.len() as u32)
        .output("mem_req_o", 1)
        .output("mem_we_o", 1)
        .output("mem_addr_o", 32)
        .output("mem_wdata_o", p)
        .input("mem_ready_i", 1)
        .input("mem_gnt_i", 1)
        .input("mem_rdata_i", p)
        .output("a_we_o", 1)
        .output("a_wmask_o", r_n)
        .output("a_waddr_o", aw)
        .output("a_wdata_o", WORD_BITS * r_n)
        .output("a_re_o", 1)
        .output("a_raddr_o", aw)
        .output("ctrl_o", cb)
        .output("format_o", 2)
        .output("slice_o", 4)
        .output("half_o", 1)
        .output("b_o", SLICE_BITS * c_n)
        .input("drain_valid_i", c_n)
        .input("drain_tag_i", c_n)
        .input("drain_data_i", 32 * c_n);
    md.blank().comment("The command word (hdlgen::accel::cmd).");
    super::command_struct(&mut md);
    queue::intake(&mut md, &s);
    compute::state(&mut md, &s);
    dma::state(&mut md, &s);
    store::stages(&mut md);
    dispatch::decision(&mut md, &s);
    queue::ring(&mut md, &s, &units.queue);
    compute::sequencing(&mut md, &s);
    dma::sequencing(&mut md, &s);
    compute::b_banks(&mut md, &s, b_bank);
    results::buffers(&mut md, &s, r_bank);
    let steps = store::path(&mut md, &s);
    status::instance(&mut md, &units.status);
    steps.declare(&mut md);
    md
}
