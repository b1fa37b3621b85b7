//! The accelerator top (SPEC section 5): the partitionable array with operand scratchpads of
//! packed MX blocks, double-buffered f32 result buffers, one host memory port, an `mx_convert`
//! on the result path, and per part a command queue, a compute unit, a DMA unit, a status
//! register and performance counters. `docs/timing.md` gives the cycle count of every command.

use crate::array::{array_design, ArrayConfig, SLICE_BITS};
use crate::dpe::DpeConfig;
use crate::fp_add::bits_for;
use crate::mx::{
    by_format, by_format_product, max_block_bits, times_constant, ConvertSteps, MxFormat, ALIGN_BITS, BLOCK,
    ROUND_BITS, SCAN_BITS,
};
use crate::package;
use crate::verilog::{if_, if_else, set, Function, Module, Size, Stmt};
use crate::{ConfigError, Design};

/// Generator parameters of one accelerator; everything else is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AccelConfig {
    pub rows: u32,
    pub cols: u32,
    /// Bits the host memory port moves per cycle (a power of two, 64..=4096).
    pub port_bits: u32,
    /// Words in each A bank (one bank per array row, owned by the part that owns the row).
    pub a_depth: u32,
    /// Words in each B bank (one bank per column and part).
    pub b_depth: u32,
    /// Commands each part's queue holds.
    pub queue_depth: u32,
    /// The DPE (`AccelConfig::with_dpe`); `config.json` gives it under `pipeline`.
    #[serde(skip)]
    pub dpe: DpeConfig,
}

/// A named configuration that `make rtl` writes to `rtl/<name>/`.
pub struct Preset {
    pub name: &'static str,
    pub config: AccelConfig,
}

pub const PRESETS: [Preset; 3] = [
    Preset {
        name: "dacapo",
        config: AccelConfig {
            rows: 16,
            cols: 16,
            port_bits: 2048,
            a_depth: 512,
            b_depth: 256,
            queue_depth: 4,
            dpe: DpeConfig::SINGLE,
        },
    },
    Preset {
        name: "small",
        config: AccelConfig {
            rows: 4,
            cols: 4,
            port_bits: 512,
            a_depth: 256,
            b_depth: 256,
            queue_depth: 4,
            dpe: DpeConfig::SINGLE,
        },
    },
    // The accelerator for FPGA fabric: the interleaved DPE, whose adder loop closes at 100 MHz
    // on the ECP5 where the presets' one-cycle addition does not; tiles are ten columns wide,
    // so B takes five words per K step and gets the larger banks.
    Preset {
        name: "fpga",
        config: AccelConfig {
            rows: 3,
            cols: 2,
            port_bits: 256,
            a_depth: 256,
            b_depth: 1024,
            queue_depth: 4,
            dpe: DpeConfig::INTERLEAVED,
        },
    },
];

/// The preset of that name, or an error that lists them.
pub fn preset(name: &str) -> Result<AccelConfig, ConfigError> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.config)
        .ok_or_else(|| ConfigError::UnknownPreset { name: name.to_string(), known: preset_names() })
}

/// The presets' names, comma-separated, for messages that list them.
pub fn preset_names() -> String {
    PRESETS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

/// The most columns a tile may have: the command's column field is 7 bits wide.
pub const MAX_TILE_COLS: u32 = (1 << cmd::COLS.1) - 1;

/// Bits of one scratchpad word: one MX9 block, one MX6 block, or two MX4 blocks.
pub const WORD_BITS: u32 = 144;

/// The store path's registers after the result buffer's read word, each with what it holds:
/// a stored row's first beat goes out STORE_STAGES.len() + 1 cycles after its read.
pub const STORE_STAGES: [(&str, &str); 5] = [
    ("row", "a result row not yet scanned"),
    ("scan", "a row and its shared exponent"),
    ("align", "a row, its shared exponent, micro-exponents and elements' shifts"),
    ("round", "a rounded MX row (or an f32 row) and its shared exponent"),
    ("line", "a converted row whose beats are being sent"),
];

/// Scratchpad word bits a format fills: the packed block, or two of them for MX4.
pub fn word_bits(f: MxFormat) -> u32 {
    if f == MxFormat::MX4 {
        2 * f.block_bits()
    } else {
        f.block_bits()
    }
}

/// Blocks in one scratchpad word.
pub fn blocks_per_word(f: MxFormat) -> u32 {
    if f == MxFormat::MX4 {
        2
    } else {
        1
    }
}

/// The 128-bit command word.
pub mod cmd {
    /// A field: its lowest bit and its width.
    #[derive(Clone, Copy, Debug)]
    pub struct Field(pub u32, pub u32);

    pub const OPCODE: Field = Field(0, 4);
    /// An MX format code; for store also 3 = f32.
    pub const FORMAT: Field = Field(4, 2);
    /// Compute: start the outputs from +0 (one clear cycle). Store: round toward zero.
    pub const CLEAR_OR_TRUNCATE: Field = Field(6, 1);
    /// Compute: drain the outputs into the result buffer at the end.
    pub const DRAIN: Field = Field(7, 1);
    /// Result buffer (0 or 1): compute drains into it, store reads it.
    pub const BUFFER: Field = Field(8, 1);
    /// Compute/store: tile rows. Load: lanes (rows for A, columns for B). Set-split: the split.
    pub const ROWS: Field = Field(9, 7);
    /// Compute/store: tile columns.
    pub const COLS: Field = Field(16, 7);
    /// Compute: K blocks. Load: lines (scratchpad words per lane).
    pub const COUNT: Field = Field(23, 16);
    /// Load: destination word. Compute: A word.
    pub const ADDR: Field = Field(39, 16);
    /// Compute: B word.
    pub const B_ADDR: Field = Field(55, 16);
    /// Load/store: host address, in port beats.
    pub const HOST: Field = Field(71, 32);
    pub const BITS: u32 = 128;

    pub const LOAD_A: u64 = 1;
    pub const LOAD_B: u64 = 2;
    pub const COMPUTE: u64 = 3;
    pub const STORE: u64 = 4;
    pub const SET_SPLIT: u64 = 5;
    pub const FENCE: u64 = 6;
    /// The store format code for f32 results.
    pub const F32: u64 = 3;
}

/// Error codes in a part's status register (bits 7:4), in the order they are checked.
pub mod error {
    pub const NONE: u32 = 0;
    pub const OPCODE: u32 = 1;
    pub const FORMAT: u32 = 2;
    pub const EMPTY_PART: u32 = 3;
    pub const SHAPE: u32 = 4;
    pub const RANGE: u32 = 5;
    pub const SPLIT_RANGE: u32 = 6;
    pub const SPLIT_BUSY: u32 = 7;
}

/// A part's status register (`status_o`, 32 bits a part; docs/timing.md, "Errors").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// Anything queued, running or draining.
    pub busy: bool,
    /// The code of the last illegal command (`error`), 0 if none yet.
    pub last_error: u32,
    /// Illegal commands so far (modulo 2^16).
    pub errors: u32,
}

impl Status {
    pub const BUSY: cmd::Field = cmd::Field(0, 1);
    pub const LAST_ERROR: cmd::Field = cmd::Field(4, 4);
    pub const ERRORS: cmd::Field = cmd::Field(16, 16);

    pub fn from_word(word: u32) -> Status {
        let field = |cmd::Field(lsb, bits): cmd::Field| word >> lsb & ((1 << bits) - 1);
        Status {
            busy: field(Status::BUSY) == 1,
            last_error: field(Status::LAST_ERROR),
            errors: field(Status::ERRORS),
        }
    }

    /// The register's word in Verilog from the signals of its three fields (zeros between).
    fn pack(busy: &str, last_error: &str, errors: &str) -> String {
        let gap = |low: cmd::Field, high: cmd::Field| high.0 - (low.0 + low.1);
        format!(
            "{{{errors}, {}'d0, {last_error}, {}'d0, {busy}}}",
            gap(Status::LAST_ERROR, Status::ERRORS),
            gap(Status::BUSY, Status::LAST_ERROR)
        )
    }
}

/// Declares the performance counters of a part: the struct, and their names in `counters_o`
/// order (32 bits each).
macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// A part's performance counters (docs/timing.md, "Counters"), in `counters_o` order.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
        pub struct Counters {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        /// The counters' names, in `counters_o` order.
        pub const COUNTERS: [&str; [$(stringify!($name)),*].len()] = [$(stringify!($name)),*];

        impl Counters {
            /// The counters from their 32-bit words in `counters_o` order.
            pub fn from_words(words: &[u32; COUNTERS.len()]) -> Counters {
                let mut values = words.iter().map(|&w| u64::from(w));
                Counters { $($name: values.next().unwrap_or_default(),)* }
            }

            /// The counts since `start`.
            pub fn since(&self, start: &Counters) -> Counters {
                Counters { $($name: self.$name - start.$name,)* }
            }

            /// The counts in `COUNTERS` order.
            pub fn values(&self) -> [u64; COUNTERS.len()] {
                [$(self.$name),*]
            }
        }
    };
}

counters! {
    /// Cycles with anything queued, running or draining.
    busy,
    /// Cycles the compute unit streamed: clear, slice and drain cycles.
    compute,
    /// Cycles the DMA unit was busy.
    dma,
    /// Cycles the head command waited for a load or compute hazard on its operands.
    stall_operand,
    /// Cycles the head command waited for a result buffer.
    stall_result,
    /// Cycles a drain waited for the previous one to clear the drain chains.
    stall_drain,
    /// Cycles a request waited for the other part's request to the host port.
    stall_port,
    /// Cycles a request waited for the memory (`mem_ready_i` low).
    stall_memory,
    /// K blocks streamed.
    blocks,
}

impl AccelConfig {
    /// A checked configuration; the message says which parameter is wrong and what it may be.
    pub fn new(
        rows: u32,
        cols: u32,
        port_bits: u32,
        a_depth: u32,
        b_depth: u32,
        queue_depth: u32,
    ) -> Result<AccelConfig, ConfigError> {
        ArrayConfig::new(rows, cols)?;
        let pow2 = |name: &'static str, got: u32, lo: u32, hi: u32| {
            if got.is_power_of_two() && (lo..=hi).contains(&got) {
                Ok(())
            } else {
                Err(ConfigError::NotPowerOfTwo { name, lo, hi, got })
            }
        };
        pow2("port_bits", port_bits, 64, 4096)?;
        pow2("a_depth", a_depth, 16, 32768)?;
        pow2("b_depth", b_depth, 16, 32768)?;
        pow2("queue_depth", queue_depth, 2, 16)?;
        if port_bits > AccelConfig::max_port_bits(rows, cols) {
            return Err(ConfigError::PortTooWide {
                port_bits,
                line: rows.max(cols) * WORD_BITS,
                lanes: rows.max(cols),
                max: AccelConfig::max_port_bits(rows, cols),
            });
        }
        Ok(AccelConfig { rows, cols, port_bits, a_depth, b_depth, queue_depth, dpe: DpeConfig::SINGLE })
    }

    /// The same accelerator with another DPE; its tiles are `interleave` times as wide, and
    /// must still fit the command's 7-bit column field, and half of B's scratchpad must hold
    /// the `interleave` words of a K step.
    pub fn with_dpe(self, dpe: DpeConfig) -> Result<AccelConfig, ConfigError> {
        let config = AccelConfig { dpe, ..self };
        if self.b_depth / 2 < dpe.interleave {
            return Err(ConfigError::BDepthTooSmall { b_depth: self.b_depth, interleave: dpe.interleave });
        }
        if config.tile_cols() > MAX_TILE_COLS {
            return Err(ConfigError::TileTooWide {
                interleave: dpe.interleave,
                cols: self.cols,
                max: MAX_TILE_COLS,
            });
        }
        Ok(config)
    }

    /// Columns of an output tile: each DPE computes `interleave` of them.
    pub fn tile_cols(self) -> u32 {
        self.cols * self.dpe.interleave
    }

    /// The widest host port a shape takes: its widest scratchpad line (a word per lane),
    /// rounded down to a power of two.
    pub fn max_port_bits(rows: u32, cols: u32) -> u32 {
        let line = rows.max(cols) * WORD_BITS;
        1 << (31 - line.leading_zeros())
    }

    /// The accelerator's array shape.
    pub fn array(self) -> ArrayConfig {
        ArrayConfig { rows: self.rows, cols: self.cols, dpe: self.dpe }
    }

    /// Beats of one load line: `lanes` words of the format, packed, rounded up to whole beats.
    pub fn load_beats(self, f: MxFormat, lanes: u32) -> u32 {
        (lanes * word_bits(f)).div_ceil(self.port_bits)
    }

    /// Beats of one stored result row of `cols` values, as f32 (`None`) or MX blocks.
    pub fn store_beats(self, f: Option<MxFormat>, cols: u32) -> u32 {
        let bits = match f {
            None => 32 * cols,
            Some(f) => cols.div_ceil(BLOCK) * f.block_bits(),
        };
        bits.div_ceil(self.port_bits)
    }

    fn max_load_beats(self) -> u32 {
        self.load_beats(MxFormat::MX9, self.rows.max(self.cols))
    }

    fn max_store_beats(self) -> u32 {
        MxFormat::ALL
            .iter()
            .map(|&f| self.store_beats(Some(f), self.tile_cols()))
            .fold(self.store_beats(None, self.tile_cols()), u32::max)
    }

    /// Bits of a row index within the array.
    fn row_bits(self) -> u32 {
        bits_for(u64::from(self.rows - 1)).max(1)
    }

    /// The accelerator an array gets when nothing else is asked for: the preset built on that
    /// array, or else the `dacapo` preset's banks and queue with the widest host port the array
    /// takes, up to the preset's 2048 bits.
    pub fn for_array(array: ArrayConfig) -> Result<AccelConfig, ConfigError> {
        if let Some(preset) = PRESETS.iter().find(|p| p.config.array() == array) {
            return Ok(preset.config);
        }
        let d = PRESETS[0].config;
        let port_bits = d.port_bits.min(AccelConfig::max_port_bits(array.rows, array.cols));
        AccelConfig::new(array.rows, array.cols, port_bits, d.a_depth, d.b_depth, d.queue_depth)?
            .with_dpe(array.dpe)
    }

    /// What names the modules built for this configuration alone: the array's shape
    /// (`{R}x{C}`, and the DPE's parameters for any DPE but the presets': `3x2_i5_335`), then
    /// each parameter that differs from [`AccelConfig::for_array`]'s (`_p1024`, `_a256`,
    /// `_b512`, `_q8`), so that two configurations never share a module name.
    pub fn shape_name(self) -> String {
        let reference = AccelConfig::for_array(self.array()).ok();
        let params = [
            ("p", self.port_bits, reference.map(|r| r.port_bits)),
            ("a", self.a_depth, reference.map(|r| r.a_depth)),
            ("b", self.b_depth, reference.map(|r| r.b_depth)),
            ("q", self.queue_depth, reference.map(|r| r.queue_depth)),
        ];
        let suffix: String = params
            .iter()
            .filter(|(_, mine, theirs)| Some(*mine) != *theirs)
            .map(|(tag, mine, _)| format!("_{tag}{mine}"))
            .collect();
        format!("{}{suffix}", self.array().shape_name())
    }

    /// `accel_{shape}` (see [`AccelConfig::shape_name`]).
    pub fn top_name(self) -> String {
        format!("accel_{}", self.shape_name())
    }
}

/// The accelerator with every module it instantiates.
pub fn accel_design(cfg: AccelConfig) -> Design {
    let array = array_design(cfg.array());
    let ram = sram();
    let a_bank = Bank { ram: &ram, width: WORD_BITS, depth: cfg.a_depth };
    let b_bank = Bank { ram: &ram, width: WORD_BITS, depth: cfg.b_depth };
    let r_bank = Bank { ram: &ram, width: 32, depth: 2 << cfg.row_bits() };
    let part = part(cfg, &b_bank, &r_bank);
    let top = top(cfg, &part, &a_bank, &array.top);
    let mut submodules = vec![package::dacapo_pkg(), part, ram, array.top];
    submodules.extend(array.submodules);
    Design { top, submodules }
}

/// The accelerator with each RAM bank an instance of the macro of its size (`sram_w144_d512`)
/// rather than of the parameterized `sram`: the view of the flows that treat RAMs as black
/// boxes, as an ASIC flow places a memory compiler's macros.
pub fn with_ram_macros(design: &Design) -> Design {
    let mut sizes = Vec::new();
    let mut rebind = |module: &mut Module| {
        sizes.extend(module.specialize("sram", &|params| {
            let [(_, width), (_, depth)] = params else { unreachable!("sram has two parameters") };
            format!("sram_w{width}_d{depth}")
        }))
    };
    let mut top = design.top.clone();
    rebind(&mut top);
    let mut submodules: Vec<Module> =
        design.submodules.iter().filter(|m| m.name() != "sram").cloned().collect();
    submodules.iter_mut().for_each(&mut rebind);
    sizes.sort_unstable();
    sizes.dedup();
    submodules.extend(sizes.into_iter().map(|params| {
        let [(_, width), (_, depth)] = params[..] else { unreachable!("sram has two parameters") };
        sram_macro(width, depth)
    }));
    Design { top, submodules }
}

/// A RAM bank of one size: an instance of `ram` (the parameterized `sram`) with its width and
/// depth.
struct Bank<'a> {
    ram: &'a Module,
    width: u32,
    depth: u32,
}

impl Bank<'_> {
    /// `u_bank`, an instance of the bank in `g`, connected as `conns` says.
    fn instance(&self, g: &mut Module, conns: &[(&str, String)]) {
        g.instance_with(self.ram, &[("Width", self.width), ("Depth", self.depth)], "u_bank", conns);
    }
}

const SRAM_DOC: &str = "RAM with one write port and one registered read port; rdata_o holds the last\n\
    word read. A read and a write of the same word in one cycle read the old word.";

/// The RAM of every bank: `Depth` words of `Width` bits.
fn sram() -> Module {
    let mut md = Module::new("sram", SRAM_DOC);
    md.parameter("Width", WORD_BITS, "bits of a word").parameter("Depth", 512, "words, a power of two");
    let address = Size::new("$clog2(Depth)", 9);
    ram_body(md, Size::new("Width", WORD_BITS), Size::new("Depth", 512), address)
}

/// The RAM of one size as a module of its own, `sram_w{width}_d{depth}`: the black box of
/// [`with_ram_macros`].
pub fn sram_macro(width: u32, depth: u32) -> Module {
    let md = Module::new(format!("sram_w{width}_d{depth}"), SRAM_DOC);
    let address = Size::fixed(bits_for(u64::from(depth - 1)));
    ram_body(md, Size::fixed(width), Size::fixed(depth), address)
}

fn ram_body(mut md: Module, width: Size, depth: Size, address: Size) -> Module {
    md.input("clk_i", 1).input("we_i", 1);
    md.in_port_sized("waddr_i", address.clone());
    md.in_port_sized("wdata_i", width.clone());
    md.input("re_i", 1);
    md.in_port_sized("raddr_i", address);
    let rdata = md.out_port_sized("rdata_o", width.clone());
    md.blank().memory_sized("mem_q", width.clone(), depth);
    let rdata_q = md.signal_sized("rdata_q", width);
    md.always_clk(vec![
        if_("we_i", vec![set("mem_q[waddr_i]", "wdata_i")]),
        if_("re_i", vec![set("rdata_q", "mem_q[raddr_i]")]),
    ]);
    md.drive(&rdata, rdata_q.e());
    md
}

/// Drives `out` with the edge word of the scratchpad word `word` in the cycles `valid` says a
/// slice enters the array, and with zeros otherwise, so idle edges do not toggle (and a
/// simulator selects only when a slice is valid).
fn edge_word(g: &mut Module, select: &Function, valid: &str, word: &str, control: [&str; 3], out: &str) {
    let [format, slice, half] = control;
    g.logic("slice_word", SLICE_BITS);
    g.always_comb(vec![
        set("slice_word", "'0"),
        if_(valid, vec![set("slice_word", select.call(&[word, format, slice, half]))]),
    ]);
    g.assign(out, "slice_word");
}

/// The fields of a command word (see `cmd`) by the names the part's wires give them.
const COMMAND_FIELDS: [(&str, cmd::Field); 11] = [
    ("op", cmd::OPCODE),
    ("format", cmd::FORMAT),
    ("flag", cmd::CLEAR_OR_TRUNCATE),
    ("drain", cmd::DRAIN),
    ("buffer", cmd::BUFFER),
    ("rows", cmd::ROWS),
    ("cols", cmd::COLS),
    ("count", cmd::COUNT),
    ("addr", cmd::ADDR),
    ("b_addr", cmd::B_ADDR),
    ("host", cmd::HOST),
];

/// The opcode tests of the command word whose wires `command_fields` names with `prefix`.
fn opcode_tests(prefix: &str) -> [(&'static str, String); 7] {
    let is = |code: u64| format!("{prefix}op == {}", package::opcode(code));
    [
        ("is_load_a", is(cmd::LOAD_A)),
        ("is_load_b", is(cmd::LOAD_B)),
        ("is_load", format!("{prefix}is_load_a || {prefix}is_load_b")),
        ("is_compute", is(cmd::COMPUTE)),
        ("is_store", is(cmd::STORE)),
        ("is_split", is(cmd::SET_SPLIT)),
        ("is_fence", is(cmd::FENCE)),
    ]
}

/// Wires `{prefix}op`, `{prefix}format`, ... with the fields of the command word `word`, and
/// `{prefix}is_load_a`, ... with its opcode's tests: every one, or those that `only` lists.
fn command_fields(md: &mut Module, word: &str, prefix: &str, only: Option<&[&str]>) {
    let wanted = |name: &str| only.is_none_or(|names| names.contains(&name));
    for (name, cmd::Field(lo, bits)) in COMMAND_FIELDS {
        if wanted(name) {
            md.wire(format!("{prefix}{name}"), bits, format!("{word}[{lo} +: {bits}]"));
        }
    }
    for (name, test) in opcode_tests(prefix) {
        if wanted(name) {
            md.wire(format!("{prefix}{name}"), 1, test);
        }
    }
}

/// One part's controller: its command queue, compute unit, DMA unit, B banks, result buffers,
/// store converter, status and counters. The A banks live in the top (their owner follows the
/// split); this module addresses them by lane (row from the part's edge).
fn part(cfg: AccelConfig, b_bank: &Bank, r_bank: &Bank) -> Module {
    let select = package::slice_select();
    let (r_n, c_n, p) = (cfg.rows, cfg.cols, cfg.port_bits);
    let pl = p.trailing_zeros();
    let sb = cfg.array().split_bits();
    let rb = cfg.row_bits();
    let aw = cfg.a_depth.trailing_zeros();
    let bw = cfg.b_depth.trailing_zeros();
    let q = cfg.queue_depth;
    let qb = q.trailing_zeros();
    let lanes = r_n.max(c_n);
    let line_bits = lanes * WORD_BITS;
    let store_line_bits = cfg.max_store_beats() * p;
    let beat_w = bits_for(u64::from(cfg.max_load_beats().max(cfg.max_store_beats())));
    // With L outputs per DPE a tile is L C columns wide, and B holds each K step's L blocks
    // of a column in consecutive words.
    let (l, tc, cb) = (cfg.dpe.interleave, cfg.tile_cols(), cfg.array().ctrl_bits());
    let last_slot = format!("{}'d{}", cfg.dpe.slot_bits(), l - 1);
    let bwb = bits_for(0xFFFF + 0x1_0000 * u64::from(l));
    let sd = bits_for(u64::from((l + 1) * r_n)).max(8);
    let groups = tc.div_ceil(BLOCK);
    // A load's lanes and a store's columns (up to whole groups of 16), one bit each.
    let mask_bits = lanes.max(BLOCK * groups);
    let [mx9, mx6, mx4] = MxFormat::ALL;
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

    // ---- Command queue ----
    md.blank().comment(
        "Command queue: a ring of commands, each kept with the sizes, operand ends and range check\n\
         that depend on it alone, so no multiply or addition lies between the head and dispatch. A\n\
         command passes an entry register first: its sizes, ends and scratchpad ranges are computed\n\
         on the way in, its host range (lines times beats) on the way from there into the ring.",
    );
    md.logic_doc("queue_q", cmd::BITS * q, "entry i in bits [128i +: 128]")
        .logic_doc(
            "a_ends_q",
            17 * q,
            "entry i's end (first word past it) of a load's lines or a compute's A words, bits [17i +: 17]",
        )
        .logic_doc(
            "b_ends_q",
            bwb * q,
            format!("entry i's end of a compute's B words, bits [{bwb}i +: {bwb}]"),
        )
        .logic_doc(
            "beats_q",
            beat_w * q,
            format!("entry i's host beats per line or row, bits [{beat_w}i +: {beat_w}]"),
        )
        .logic_doc("range_bad_q", q, "entry i fails the range check")
        .logic("head_q", qb)
        .logic("tail_q", qb)
        .logic_doc("count_q", qb + 1, "commands in the ring")
        .logic("pop", 1)
        .logic("head", cmd::BITS);
    md.logic_doc("entry_valid_q", 1, "the entry register holds a command")
        .logic("entry_command_q", cmd::BITS)
        .logic("entry_a_end_q", 17)
        .logic("entry_b_end_q", bwb)
        .logic("entry_beats_q", beat_w)
        .logic("entry_lines_q", 16)
        .logic_doc("entry_room_q", 33, "host beats from the command's address to the end of the 32-bit space")
        .logic_doc("entry_host_io_q", 1, "a load or a store, whose host range is checked")
        .logic_doc("entry_bad_scratchpad_q", 1, "the command's scratchpad ranges fail the range check");
    md.comment("The entry register's command counts as taken: the ring has room for it.");
    md.assign("cmd_ready_o", format!("count_q + {w}'(entry_valid_q) != {w}'d{q}", w = qb + 1));
    md.assign("head", "queue_q[128*head_q +: 128]");

    md.blank().comment("The incoming command (cmd_i): its sizes, ends and range checks (error code 5).");
    let entering = [
        "op",
        "format",
        "rows",
        "cols",
        "count",
        "addr",
        "b_addr",
        "host",
        "is_load_a",
        "is_load_b",
        "is_load",
        "is_compute",
        "is_store",
    ];
    command_fields(&mut md, "cmd_i", "incoming_", Some(&entering));
    md.wire(
        "incoming_words",
        17,
        format!(
            "(incoming_format == {}) ? (17'(incoming_count) + 17'd1) >> 1 : 17'(incoming_count)",
            package::format(mx4)
        ),
    )
    .wire("incoming_load_bits", 32, by_format_product("incoming_format", "32'(incoming_rows)", word_bits))
    .wire(
        "incoming_store_bits",
        32,
        format!(
            "(incoming_format == {}) ? {} : {}",
            package::format_f32(),
            times_constant("32'(incoming_cols)", 32, 32),
            by_format_product("incoming_format", "((32'(incoming_cols) + 32'd15) >> 4)", |f| f.block_bits())
        ),
    )
    .wire("incoming_load_beats", 32, format!("(incoming_load_bits + 32'd{}) >> {pl}", p - 1))
    .wire("incoming_store_beats", 32, format!("(incoming_store_bits + 32'd{}) >> {pl}", p - 1))
    .wire(
        "incoming_beats",
        beat_w,
        format!("{beat_w}'(incoming_is_store ? incoming_store_beats : incoming_load_beats)"),
    )
    .wire("incoming_lines", 16, "incoming_is_store ? 16'(incoming_rows) : incoming_count")
    .wire(
        "incoming_a_end",
        17,
        "17'(incoming_addr) + (incoming_is_compute ? incoming_words : 17'(incoming_count))",
    )
    .wire(
        "incoming_b_end",
        bwb,
        if l == 1 {
            "17'(incoming_b_addr) + incoming_words".to_string()
        } else {
            format!(
                "{bwb}'(incoming_b_addr) + {}",
                times_constant(&format!("{bwb}'(incoming_words)"), l, bwb)
            )
        },
    )
    .wire(
        "incoming_bad_scratchpad",
        1,
        format!(
            "(incoming_is_load_a && incoming_a_end > 17'd{a}) ||\n\
             \x20   (incoming_is_load_b && incoming_a_end > 17'd{b}) ||\n\
             \x20   (incoming_is_compute && (incoming_a_end > 17'd{a} || incoming_b_end > {bwb}'d{b}))",
            a = cfg.a_depth,
            b = cfg.b_depth,
        ),
    );

    md.blank().comment("The head: its fields (see hdlgen::accel::cmd) and the sizes kept with it.");
    md.wire("head_any", 1, format!("count_q != {}'d0", qb + 1));
    command_fields(&mut md, "head", "head_", None);
    md.wire("part_rows", 7, "7'(rows_i)")
        .wire("head_a_end", 17, "a_ends_q[17*head_q +: 17]")
        .wire("head_b_end", bwb, format!("b_ends_q[{bwb}*head_q +: {bwb}]"))
        .wire("head_beats", beat_w, format!("beats_q[{beat_w}*head_q +: {beat_w}]"))
        .wire("head_lines", 16, "head_is_store ? 16'(head_rows) : head_count")
        .wire("lane_limit", 7, format!("head_is_load_b ? 7'd{c_n} : part_rows"));

    md.blank().comment("Validation, in the order of the error codes (hdlgen::accel::error).");
    md.wire(
        "bad_opcode",
        1,
        format!("!(head_is_load || head_is_compute || head_is_store || head_is_split || head_is_fence) || head[127:{}] != '0", cmd::HOST.0 + cmd::HOST.1),
    )
        .wire("bad_format", 1, format!("(head_is_load || head_is_compute) && head_format == {}", package::format_f32()))
        .wire("bad_empty", 1, "(head_is_load_a || head_is_compute || head_is_store) && part_rows == 7'd0")
        .wire(
            "bad_shape",
            1,
            format!(
                "(head_is_load && (head_rows == 7'd0 || head_rows > lane_limit || head_count == 16'd0)) ||\n\
                 \x20   ((head_is_compute || head_is_store) && (head_rows == 7'd0 || head_rows > part_rows || head_cols == 7'd0 ||\n\
                 \x20                                 head_cols > 7'd{tc})) ||\n\
                 \x20   (head_is_compute && head_count == 16'd0)"
            ),
        )
        .wire("bad_range", 1, "range_bad_q[head_q]")
        .wire("bad_split", 1, format!("head_is_split && head_rows > 7'd{r_n}"))
        .logic("head_error", 4);
    md.always_comb(vec![if_else(
        "bad_opcode",
        vec![set("head_error", package::error_code(error::OPCODE))],
        vec![if_else(
            "bad_format",
            vec![set("head_error", package::error_code(error::FORMAT))],
            vec![if_else(
                "bad_empty",
                vec![set("head_error", package::error_code(error::EMPTY_PART))],
                vec![if_else(
                    "bad_shape",
                    vec![set("head_error", package::error_code(error::SHAPE))],
                    vec![if_else(
                        "bad_range",
                        vec![set("head_error", package::error_code(error::RANGE))],
                        vec![if_else(
                            "bad_split",
                            vec![set("head_error", package::error_code(error::SPLIT_RANGE))],
                            vec![set("head_error", package::error_code(error::NONE))],
                        )],
                    )],
                )],
            )],
        )],
    )]);

    // ---- Unit state (declared before the hazards that read it) ----
    if l == 1 {
        md.blank()
            .comment("Compute unit: an optional clear cycle, K blocks of slices, an optional drain cycle.");
    } else {
        md.blank().comment(
            "Compute unit: optional clear cycles, one per slot; for each K block the L slots' blocks\n\
             of slices in turn (the row's A block again, B's next word); optional drain cycles, one\n\
             per slot.",
        );
    }
    md.logic("compute_active_q", 1)
        .logic("compute_clear_q", 1)
        .logic("compute_stream_q", 1)
        .logic("compute_drain_q", 1)
        .logic("compute_tag_q", 1)
        .logic("compute_format_q", 2)
        .logic("compute_k_block_q", 16)
        .logic("compute_k_q", 16)
        .logic("compute_slice_q", 4)
        .logic("compute_a_q", 16)
        .logic("compute_b_q", 16)
        .logic_doc("compute_a_end_q", 17, "the first A word past the compute's")
        .logic_doc("compute_b_end_q", bwb, "the first B word past the compute's");
    if l > 1 {
        md.logic_doc("compute_slot_q", cfg.dpe.slot_bits(), "the slot of the block, clear or drain cycle")
            .logic_doc("compute_b_step_q", bwb, "B's word of the K step from compute_b_q: L per word of A");
    }
    md.logic_doc("since_drain_q", sd, "cycles since this part's last drain began, saturating");
    md.wire("compute_last_slice", 4, by_format("compute_format_q", 4, |f| f.cycles_per_block() - 1))
        .wire("compute_emit_clear", 1, "compute_active_q && compute_clear_q")
        .wire("compute_emit_slice", 1, "compute_active_q && !compute_clear_q && compute_stream_q")
        .wire("compute_at_drain", 1, "compute_active_q && !compute_clear_q && !compute_stream_q")
        .wire("compute_block_end", 1, "compute_emit_slice && compute_slice_q == compute_last_slice");
    if l == 1 {
        md.wire("spacing_ok", 1, "since_drain_q >= {1'b0, part_rows} << 1")
            .wire("compute_emit_drain", 1, "compute_at_drain && spacing_ok")
            .wire("compute_final_slice", 1, "compute_block_end && compute_k_q == compute_k_block_q - 16'd1")
            .wire("compute_last", 1, "(compute_final_slice && !compute_drain_q) || compute_emit_drain");
    } else {
        md.wire("compute_slot_wraps", 1, format!("compute_slot_q == {last_slot}"))
            .wire(
                "spacing_ok",
                1,
                format!("since_drain_q >= {}", times_constant(&format!("{sd}'(part_rows)"), l + 1, sd)),
            )
            .wire("compute_emit_drain", 1, "compute_at_drain && (compute_slot_q != '0 || spacing_ok)")
            .wire("compute_step_end", 1, "compute_block_end && compute_slot_wraps")
            .wire("compute_final_slice", 1, "compute_step_end && compute_k_q == compute_k_block_q - 16'd1")
            .wire(
                "compute_last",
                1,
                "(compute_final_slice && !compute_drain_q) || (compute_emit_drain && compute_slot_wraps)",
            );
    }
    md.wire(
        "compute_word",
        16,
        format!("(compute_format_q == {}) ? compute_k_q >> 1 : compute_k_q", package::format(mx4)),
    );

    md.blank().comment(
        "DMA unit: a load requests lines x beats reads, collects each line's beats, writes the line\n\
         into the banks; a store reads result rows, converts each into store_line_q and sends its\n\
         beats.",
    );
    md.logic_doc("dma_kind_q", 2, "0 load A, 1 load B, 2 store")
        .logic("dma_active_q", 1)
        .logic("dma_format_q", 2)
        .logic("dma_truncate_q", 1)
        .logic("dma_buffer_q", 1)
        .logic_doc(
            "dma_lane_mask_q",
            mask_bits,
            "lane (or stored column) i in bit i, set below the command's count",
        )
        .logic("dma_lines_q", 16)
        .logic("dma_line_q", 16)
        .logic("dma_beats_per_line_q", beat_w)
        .logic("dma_beat_q", beat_w)
        .logic("dma_host_q", 32)
        .logic("dma_scratchpad_q", 16)
        .logic_doc("dma_end_q", 17, "a load's first scratchpad word past its lines")
        .logic_doc("store_read_q", 16, "result rows a store has read so far")
        .logic_doc("store_row_ready_q", 1, "the result buffer's read word is a row not yet registered")
        .logic("host_read_q", 1)
        .logic("host_read_beat_q", beat_w)
        .logic("host_read_last_q", 1)
        .logic("host_read_line_q", 16)
        .logic("bank_write_q", 1)
        .logic("bank_write_addr_q", aw.max(bw))
        .logic_doc("line_q", line_bits, "the load line being collected, beat i in bits [P*i +: P]")
        .logic("pending_q", 2)
        .logic("drain_last", 1);
    md.wire("dma_is_store", 1, "dma_kind_q == 2'd2")
        .wire("dma_more", 1, "dma_line_q != dma_lines_q")
        .wire("dma_request", 1, "dma_active_q && dma_more && (!dma_is_store || store_line_full_q)")
        .wire("dma_grant", 1, "dma_request && mem_gnt_i")
        .wire("dma_last_beat", 1, format!("dma_beat_q == dma_beats_per_line_q - {beat_w}'d1"))
        .wire("dma_finish", 1, "dma_active_q && !dma_more && !host_read_q");
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

    // ---- Hazards and dispatch ----
    md.blank().comment(
        "Hazards: a load must not overwrite words the running compute reads, a compute must not\n\
         read words a running load writes, and a result buffer is drained into and stored from\n\
         one at a time.",
    );
    // Two word ranges, each from its first word to its end (the first word past it), overlap.
    let overlap = |w: u32, lo1: &str, end1: &str, lo2: &str, end2: &str| {
        format!("({w}'({lo1}) < {w}'({end2}) && {w}'({lo2}) < {w}'({end1}))")
    };
    md.wire("compute_reading", 1, "compute_active_q && !compute_last")
        .wire(
            "load_hazard",
            1,
            format!(
                "compute_reading && (head_is_load_a ? {} : {})",
                overlap(17, "head_addr", "head_a_end", "compute_a_q", "compute_a_end_q"),
                overlap(bwb, "head_addr", "head_a_end", "compute_b_q", "compute_b_end_q")
            ),
        )
        .wire(
            "operand_hazard",
            1,
            format!(
                "dma_active_q && ((dma_kind_q == 2'd0 && {}) || (dma_kind_q == 2'd1 && {}))",
                overlap(17, "head_addr", "head_a_end", "dma_scratchpad_q", "dma_end_q"),
                overlap(bwb, "head_b_addr", "head_b_end", "dma_scratchpad_q", "dma_end_q")
            ),
        )
        .wire(
            "buffer_draining",
            1,
            "pending_q[head_buffer] || (compute_active_q && compute_drain_q && compute_tag_q == head_buffer)",
        )
        .wire("buffer_storing", 1, "dma_active_q && dma_is_store && dma_buffer_q == head_buffer")
        .wire(
            "result_hazard",
            1,
            "head_is_store ? buffer_draining : head_drain && (buffer_draining || buffer_storing)",
        )
        .wire("compute_free", 1, "!compute_active_q || compute_last")
        .wire("own_idle", 1, "!compute_active_q && !dma_active_q && pending_q == 2'd0")
        .wire("go_load", 1, "head_is_load && !dma_active_q && !load_hazard")
        .wire("go_store", 1, "head_is_store && !dma_active_q && !result_hazard")
        .wire("go_compute", 1, "head_is_compute && compute_free && !operand_hazard && !result_hazard")
        .wire("go_split", 1, "head_is_split && own_idle && !other_busy_i")
        .wire("legal", 1, format!("head_any && head_error == {}", package::error_code(error::NONE)))
        .wire("split_busy", 1, "head_is_split && own_idle && other_busy_i")
        .wire(
            "reject",
            1,
            format!("head_any && (head_error != {} || split_busy)", package::error_code(error::NONE)),
        )
        .wire(
            "dispatch",
            1,
            "legal && (go_load || go_store || go_compute || go_split || (head_is_fence && own_idle))",
        )
        .wire("start_load", 1, "legal && go_load")
        .wire("start_store", 1, "legal && go_store")
        .wire("start_compute", 1, "legal && go_compute");
    md.assign("pop", "dispatch || reject");
    md.assign("split_we_o", "legal && go_split").assign("split_o", format!("head_rows[{}:0]", sb - 1));
    md.assign("busy_o", "entry_valid_q || head_any || compute_active_q || dma_active_q || pending_q != 2'd0");

    md.always_ff(
        vec![set("entry_valid_q", "1'b0")],
        vec![set("entry_valid_q", "cmd_valid_i && cmd_ready_o")],
    );
    load_together(
        &mut md,
        "cmd_valid_i && cmd_ready_o",
        &[
            ("entry_command_q", "cmd_i"),
            ("entry_a_end_q", "incoming_a_end"),
            ("entry_b_end_q", "incoming_b_end"),
            ("entry_beats_q", "incoming_beats"),
            ("entry_lines_q", "incoming_lines"),
            ("entry_room_q", "33'h1_0000_0000 - 33'(incoming_host)"),
            ("entry_host_io_q", "incoming_is_load || incoming_is_store"),
            ("entry_bad_scratchpad_q", "incoming_bad_scratchpad"),
        ],
    );
    md.wire(
        "entry_bad_range",
        1,
        format!("entry_bad_scratchpad_q || (entry_host_io_q && 33'({{{beat_w}'d0, entry_lines_q}} * {{16'd0, entry_beats_q}}) > entry_room_q)"),
    );
    md.always_ff(
        vec![
            set("queue_q", "'0"),
            set("a_ends_q", "'0"),
            set("b_ends_q", "'0"),
            set("beats_q", "'0"),
            set("range_bad_q", "'0"),
            set("head_q", "'0"),
            set("tail_q", "'0"),
            set("count_q", "'0"),
        ],
        vec![
            if_(
                "entry_valid_q",
                vec![
                    set("queue_q[128*tail_q +: 128]", "entry_command_q"),
                    set("a_ends_q[17*tail_q +: 17]", "entry_a_end_q"),
                    set(format!("b_ends_q[{bwb}*tail_q +: {bwb}]"), "entry_b_end_q"),
                    set(format!("beats_q[{beat_w}*tail_q +: {beat_w}]"), "entry_beats_q"),
                    set("range_bad_q[tail_q]", "entry_bad_range"),
                    set("tail_q", format!("tail_q + {qb}'d1")),
                ],
            ),
            if_("pop", vec![set("head_q", format!("head_q + {qb}'d1"))]),
            set("count_q", format!("count_q + {w}'(entry_valid_q) - {w}'(pop)", w = qb + 1)),
        ],
    );

    // ---- Compute unit ----
    md.blank()
        .comment("Compute unit sequencing; a dispatch in its last cycle starts the next command seamlessly.");
    let saturated = format!("{sd}'h{:X}", (1u64 << sd) - 1);
    let mut resets = vec![
        set("compute_active_q", "1'b0"),
        set("compute_clear_q", "1'b0"),
        set("compute_stream_q", "1'b0"),
        set("compute_drain_q", "1'b0"),
        set("compute_tag_q", "1'b0"),
        set("compute_format_q", "'0"),
        set("compute_k_block_q", "'0"),
        set("compute_k_q", "'0"),
        set("compute_slice_q", "'0"),
        set("compute_a_q", "'0"),
        set("compute_b_q", "'0"),
        set("compute_a_end_q", "'0"),
        set("compute_b_end_q", "'0"),
        set("since_drain_q", saturated.as_str()),
    ];
    let mut starts = vec![
        set("compute_active_q", "1'b1"),
        set("compute_clear_q", "head_flag"),
        set("compute_stream_q", "1'b1"),
        set("compute_drain_q", "head_drain"),
        set("compute_tag_q", "head_buffer"),
        set("compute_format_q", "head_format"),
        set("compute_k_block_q", "head_count"),
        set("compute_k_q", "16'd0"),
        set("compute_slice_q", "4'd0"),
        set("compute_a_q", "head_addr"),
        set("compute_b_q", "head_b_addr"),
        set("compute_a_end_q", "head_a_end"),
        set("compute_b_end_q", "head_b_end"),
    ];
    let since_drain = format!(
        "{drain_begins} ? {sd}'d1 : (since_drain_q == {saturated}) ? since_drain_q : since_drain_q + {sd}'d1",
        drain_begins =
            if l == 1 { "compute_emit_drain" } else { "compute_emit_drain && compute_slot_q == '0" }
    );
    let steps = if l == 1 {
        vec![
            if_("compute_emit_clear", vec![set("compute_clear_q", "1'b0")]),
            if_(
                "compute_emit_slice",
                vec![if_else(
                    "compute_block_end",
                    vec![set("compute_slice_q", "4'd0"), set("compute_k_q", "compute_k_q + 16'd1")],
                    vec![set("compute_slice_q", "compute_slice_q + 4'd1")],
                )],
            ),
            if_("compute_final_slice", vec![set("compute_stream_q", "1'b0")]),
            if_("compute_emit_drain", vec![set("compute_drain_q", "1'b0")]),
        ]
    } else {
        for reg in ["compute_slot_q", "compute_b_step_q"] {
            resets.push(set(reg, "'0"));
            starts.push(set(reg, "'0"));
        }
        // A K step moves B on by L words once it has used A's word: every step, or every
        // second one in MX4 (two blocks a word).
        let word_done = format!("compute_format_q != {} || compute_k_q[0]", package::format(mx4));
        vec![
            if_(
                "compute_emit_clear || compute_block_end || compute_emit_drain",
                vec![set(
                    "compute_slot_q",
                    format!("compute_slot_wraps ? '0 : compute_slot_q + {}'d1", cfg.dpe.slot_bits()),
                )],
            ),
            if_("compute_emit_clear && compute_slot_wraps", vec![set("compute_clear_q", "1'b0")]),
            if_(
                "compute_emit_slice",
                vec![if_else(
                    "compute_block_end",
                    vec![set("compute_slice_q", "4'd0")],
                    vec![set("compute_slice_q", "compute_slice_q + 4'd1")],
                )],
            ),
            if_(
                "compute_step_end",
                vec![
                    set("compute_k_q", "compute_k_q + 16'd1"),
                    if_(word_done, vec![set("compute_b_step_q", format!("compute_b_step_q + {bwb}'d{l}"))]),
                ],
            ),
            if_("compute_final_slice", vec![set("compute_stream_q", "1'b0")]),
            if_("compute_emit_drain && compute_slot_wraps", vec![set("compute_drain_q", "1'b0")]),
        ]
    };
    let mut body = steps;
    body.push(if_("compute_last", vec![set("compute_active_q", "1'b0")]));
    body.push(set("since_drain_q", since_drain));
    body.push(if_("start_compute", starts));
    md.always_ff(resets, body);
    if l == 1 {
        md.blank()
            .comment("Scratchpad reads: a block's word is read at its first slice and held for the rest.");
    } else {
        md.blank().comment(
            "Scratchpad reads: a block's words are read at its first slice and held for the rest; A's\n\
             word again for every slot, B's word L k + s for slot s.",
        );
    }
    md.wire("compute_read", 1, "compute_emit_slice && compute_slice_q == 4'd0");
    md.assign("a_re_o", "compute_read").assign("a_raddr_o", format!("{aw}'(compute_a_q + compute_word)"));
    md.blank().comment("Stage 1: the array control, aligned with the words read (one cycle later).");
    md.logic("store_ctrl_q", cb)
        .logic("store_format_q", 2)
        .logic("store_slice_q", 4)
        .logic("store_half_q", 1);
    md.always_ff(
        vec![
            set("store_ctrl_q", "'0"),
            set("store_format_q", "'0"),
            set("store_slice_q", "'0"),
            set("store_half_q", "1'b0"),
        ],
        vec![
            set(
                "store_ctrl_q",
                format!(
                    "{{{}compute_tag_q, compute_emit_drain, compute_emit_clear || compute_emit_drain, compute_emit_slice}}",
                    if l == 1 { "" } else { "compute_slot_q, " }
                ),
            ),
            set("store_format_q", "compute_format_q"),
            set("store_slice_q", "compute_slice_q"),
            set("store_half_q", format!("compute_format_q == {} && compute_k_q[0]", package::format(mx4))),
        ],
    );
    md.assign("ctrl_o", "store_ctrl_q")
        .assign("format_o", "store_format_q")
        .assign("slice_o", "store_slice_q")
        .assign("half_o", "store_half_q");

    // ---- DMA unit ----
    md.blank().comment("DMA unit sequencing.");
    let collect_beat: Vec<Stmt> = (0..cfg.max_load_beats())
        .map(|b| {
            let (lo, hi) = (p * b, (p * (b + 1)).min(line_bits));
            if_(
                format!("host_read_beat_q == {beat_w}'d{b}"),
                vec![set(format!("line_q[{}:{lo}]", hi - 1), format!("mem_rdata_i[{}:0]", hi - lo - 1))],
            )
        })
        .collect();
    md.always_ff(
        vec![
            set("dma_active_q", "1'b0"),
            set("dma_kind_q", "'0"),
            set("dma_format_q", "'0"),
            set("dma_truncate_q", "1'b0"),
            set("dma_buffer_q", "1'b0"),
            set("dma_lane_mask_q", "'0"),
            set("dma_lines_q", "'0"),
            set("dma_line_q", "'0"),
            set("dma_beats_per_line_q", "'0"),
            set("dma_beat_q", "'0"),
            set("dma_host_q", "'0"),
            set("dma_scratchpad_q", "'0"),
            set("dma_end_q", "'0"),
            set("store_read_q", "'0"),
            set("store_row_ready_q", "1'b0"),
            set("host_read_q", "1'b0"),
            set("host_read_beat_q", "'0"),
            set("host_read_last_q", "1'b0"),
            set("host_read_line_q", "'0"),
            set("bank_write_q", "1'b0"),
            set("bank_write_addr_q", "'0"),
            set("line_q", "'0"),
        ],
        vec![
            if_("store_read", vec![set("store_read_q", "store_read_q + 16'd1")]),
            set("store_row_ready_q", "store_read || (store_row_ready_q && !store_row_take)"),
            if_(
                "dma_grant",
                vec![
                    set("dma_host_q", "dma_host_q + 32'd1"),
                    if_else(
                        "dma_last_beat",
                        vec![set("dma_beat_q", "'0"), set("dma_line_q", "dma_line_q + 16'd1")],
                        vec![set("dma_beat_q", format!("dma_beat_q + {beat_w}'d1"))],
                    ),
                ],
            ),
            set("host_read_q", "dma_grant && !dma_is_store"),
            set("host_read_beat_q", "dma_beat_q"),
            set("host_read_last_q", "dma_last_beat"),
            set("host_read_line_q", "dma_line_q"),
            if_("host_read_q", collect_beat),
            set("bank_write_q", "host_read_q && host_read_last_q"),
            set("bank_write_addr_q", format!("{}'(dma_scratchpad_q + host_read_line_q)", aw.max(bw))),
            if_("dma_finish", vec![set("dma_active_q", "1'b0")]),
            if_("start_load || start_store", vec![set("dma_active_q", "1'b1")]),
            Stmt::Comment(
                "While idle the unit's registers follow the queue's head, so a dispatch sets only".into(),
            ),
            Stmt::Comment("dma_active_q: no wide enable hangs behind the dispatch decision.".into()),
            if_(
                "!dma_active_q",
                vec![
                    set("dma_kind_q", "head_is_store ? 2'd2 : head_is_load_b ? 2'd1 : 2'd0"),
                    set("dma_format_q", "head_format"),
                    set("dma_truncate_q", "head_flag"),
                    set("dma_buffer_q", "head_buffer"),
                    set(
                        "dma_lane_mask_q",
                        format!("~({{{mask_bits}{{1'b1}}}} << (head_is_store ? head_cols : head_rows))"),
                    ),
                    set("dma_lines_q", "head_lines"),
                    set("dma_line_q", "16'd0"),
                    set("dma_beats_per_line_q", "head_beats"),
                    set("dma_beat_q", "'0"),
                    set("dma_host_q", "head_host"),
                    set("dma_scratchpad_q", "head_addr"),
                    set("dma_end_q", "head_a_end"),
                    set("store_read_q", "16'd0"),
                ],
            ),
        ],
    );

    md.blank().comment("Load line into lane words: MX9 144 bits, MX6 96, MX4 128 (two blocks) per lane.");
    md.logic_doc("lane_words", WORD_BITS * lanes, "lane l in bits [144l +: 144]");
    md.generate("l", lanes, "g_lane", |g| {
        g.assign(
            format!("lane_words[{WORD_BITS}*l +: {WORD_BITS}]"),
            format!(
                "(dma_format_q == {}) ? line_q[{w9}*l +: {w9}] : (dma_format_q == {}) ? {{{p6}'d0, line_q[{w6}*l +: {w6}]}} : {{{p4}'d0, line_q[{w4}*l +: {w4}]}}",
                package::format(mx9),
                package::format(mx6),
                w9 = word_bits(mx9),
                w6 = word_bits(mx6),
                p6 = WORD_BITS - word_bits(mx6),
                w4 = word_bits(mx4),
                p4 = WORD_BITS - word_bits(mx4),
            ),
        );
    });
    md.assign("a_we_o", "bank_write_q && dma_kind_q == 2'd0")
        .assign("a_waddr_o", format!("{aw}'(bank_write_addr_q)"))
        .assign("a_wdata_o", format!("lane_words[{}:0]", WORD_BITS * r_n - 1));
    md.assign("a_wmask_o", format!("dma_lane_mask_q[{}:0]", r_n - 1));

    md.blank().comment("B banks, one per column, and their edge words.");
    let b_raddr = if l == 1 {
        format!("{bw}'(compute_b_q + compute_word)")
    } else {
        format!("{bw}'({bwb}'(compute_b_q) + compute_b_step_q + {bwb}'(compute_slot_q))")
    };
    md.generate("c", c_n, "g_b", |g| {
        g.logic("word", WORD_BITS);
        b_bank.instance(
            g,
            &[
                ("clk_i", "clk_i".into()),
                ("we_i", "bank_write_q && dma_kind_q == 2'd1 && dma_lane_mask_q[c]".into()),
                ("waddr_i", format!("{bw}'(bank_write_addr_q)")),
                ("wdata_i", format!("lane_words[{WORD_BITS}*c +: {WORD_BITS}]")),
                ("re_i", "compute_read".into()),
                ("raddr_i", b_raddr),
                ("rdata_o", "word".into()),
            ],
        );
        edge_word(
            g,
            &select,
            "store_ctrl_q[0]",
            "word",
            ["store_format_q", "store_slice_q", "store_half_q"],
            &format!("b_o[{SLICE_BITS}*c +: {SLICE_BITS}]"),
        );
    });

    // ---- Result buffers ----
    if l == 1 {
        md.blank().comment(
            "Result buffers: per column a RAM of two buffers of rows; the drain delivers each column's\n\
             rows in order with the buffer tag. The last value of a drain (last row, last column) ends it.",
        );
    } else {
        md.blank().comment(
            "Result buffers: per tile column a RAM of two buffers of rows; edge column c delivers, for\n\
             each row in order, its L slots in turn with the buffer tag, slot s into tile column\n\
             s C + c. The last value of a drain (last row, last slot, last column) ends it.",
        );
    }
    md.logic_doc("row_count_q", 7 * c_n, "next row of edge column c in bits [7c +: 7]")
        .logic_doc("results", 32 * tc, "the result buffers' read word, column c in bits [32c +: 32]")
        .wire("store_row", rb, format!("{rb}'(store_read_q)"));
    let slot_bits = cfg.dpe.slot_bits();
    if l > 1 {
        md.logic_doc(
            "slot_cnt_q",
            slot_bits * c_n,
            format!("next slot of edge column c in bits [{slot_bits}c +: {slot_bits}]"),
        );
    }
    let bank = |g: &mut Module, column: &str, we: String| {
        r_bank.instance(
            g,
            &[
                ("clk_i", "clk_i".into()),
                ("we_i", we),
                ("waddr_i", format!("{{drain_tag_i[{column}], row[{}:0]}}", rb - 1)),
                ("wdata_i", format!("drain_data_i[32*{column} +: 32]")),
                ("re_i", "store_read".into()),
                ("raddr_i", "{dma_buffer_q, store_row}".into()),
                ("rdata_o", "results[32*c +: 32]".into()),
            ],
        );
    };
    let next_row = "(row == part_rows - 7'd1) ? 7'd0 : row + 7'd1";
    if l == 1 {
        md.generate("c", c_n, "g_r", |g| {
            g.wire("row", 7, "row_count_q[7*c +: 7]");
            bank(g, "c", "drain_valid_i[c]".into());
            g.always_ff(
                vec![set("row_count_q[7*c +: 7]", "'0")],
                vec![if_("drain_valid_i[c]", vec![set("row_count_q[7*c +: 7]", next_row)])],
            );
        });
    } else {
        md.generate("c", tc, "g_r", |g| {
            g.localparam("EDGE", format!("c % {c_n}")).localparam("SLOT", format!("c / {c_n}"));
            g.wire("row", rb, format!("{rb}'(row_count_q[7*EDGE +: 7])"));
            let slot = format!("slot_cnt_q[{slot_bits}*EDGE +: {slot_bits}]");
            bank(g, "EDGE", format!("drain_valid_i[EDGE] && {slot} == {slot_bits}'(SLOT)"));
        });
        md.generate("c", c_n, "g_drain", |g| {
            g.wire("row", 7, "row_count_q[7*c +: 7]");
            g.wire("slot", slot_bits, format!("slot_cnt_q[{slot_bits}*c +: {slot_bits}]"));
            g.always_ff(
                vec![
                    set("row_count_q[7*c +: 7]", "'0"),
                    set(format!("slot_cnt_q[{slot_bits}*c +: {slot_bits}]"), "'0"),
                ],
                vec![if_(
                    "drain_valid_i[c]",
                    vec![
                        set(
                            format!("slot_cnt_q[{slot_bits}*c +: {slot_bits}]"),
                            format!("(slot == {last_slot}) ? '0 : slot + {slot_bits}'d1"),
                        ),
                        if_(format!("slot == {last_slot}"), vec![set("row_count_q[7*c +: 7]", next_row)]),
                    ],
                )],
            );
        });
    }
    let last = c_n - 1;
    let last_slot_too = if l == 1 {
        String::new()
    } else {
        format!(" &&\n    slot_cnt_q[{slot_bits}*{last} +: {slot_bits}] == {last_slot}")
    };
    md.assign(
        "drain_last",
        format!("drain_valid_i[{last}] && row_count_q[7*{last} +: 7] == part_rows - 7'd1{last_slot_too}"),
    );
    md.always_ff(
        vec![set("pending_q", "'0")],
        vec![
            if_("drain_last", vec![set(format!("pending_q[drain_tag_i[{}]]", c_n - 1), "1'b0")]),
            if_("compute_emit_drain", vec![set("pending_q[compute_tag_q]", "1'b1")]),
        ],
    );

    // ---- Store path ----
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
    stage_registers(&mut md, "row", &[("store_row_q", "results")]);
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
    stage_registers(&mut md, "scan", &[("store_scan_data_q", "masked"), ("store_scan_q", "scans")]);
    let align_row = per_group("aligned", ALIGN_BITS, &|g| {
        steps.align.call(&[
            &group("store_scan_data_q", 512, g),
            &group("store_scan_q", SCAN_BITS, g),
            "dma_format_q",
        ])
    });
    md.always_comb(vec![set("aligned", "'0"), if_(format!("store_scan_full_q && {is_mx}"), align_row)]);
    stage_registers(
        &mut md,
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
        &mut md,
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
        format!("dma_format_q == {}", package::format(mx9)),
        vec![set("store_line", packed(mx9))],
        vec![if_else(
            format!("dma_format_q == {}", package::format(mx6)),
            vec![set("store_line", packed(mx6))],
            vec![set("store_line", packed(mx4))],
        )],
    ));
    md.always_comb(vec![
        set("blocks", "'0"),
        set("store_line", format!("{store_line_bits}'(store_round_q[{}:0])", 32 * tc - 1)),
        if_(format!("store_round_full_q && {is_mx}"), pack_row),
    ]);
    stage_registers(&mut md, "line", &[("store_line_q", "store_line")]);
    md.assign("mem_req_o", "dma_request")
        .assign("mem_we_o", "dma_is_store")
        .assign("mem_addr_o", "dma_host_q")
        .assign("mem_wdata_o", format!("store_line_q[{p}*dma_beat_q +: {p}]"));

    // ---- Status and counters ----
    md.blank()
        .comment("Status: {error count, last error code, busy}; counters in hdlgen::accel::COUNTERS order.");
    md.logic("err_count_q", 16).logic("last_err_q", 4).logic("counters_q", 32 * COUNTERS.len() as u32);
    md.always_ff(
        vec![set("err_count_q", "'0"), set("last_err_q", "'0")],
        vec![if_(
            "reject",
            vec![
                set("err_count_q", "err_count_q + 16'd1"),
                set(
                    "last_err_q",
                    format!(
                        "(head_error != {}) ? head_error : {}",
                        package::error_code(error::NONE),
                        package::error_code(error::SPLIT_BUSY)
                    ),
                ),
            ],
        )],
    );
    md.assign("status_o", Status::pack("busy_o", "last_err_q", "err_count_q"));
    let events = [
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
    let mut inc = Vec::new();
    for (i, event) in events.iter().enumerate() {
        inc.push(if_(
            *event,
            vec![set(
                format!("counters_q[{} +: 32]", 32 * i),
                format!("counters_q[{} +: 32] + 32'd1", 32 * i),
            )],
        ));
    }
    md.always_ff(vec![set("counters_q", "'0")], inc);
    md.assign("counters_o", "counters_q");
    steps.declare(&mut md);
    md
}

/// Registers cleared at reset that load their values together in the cycles `enable` holds.
fn load_together(md: &mut Module, enable: &str, regs: &[(&str, &str)]) {
    md.always_ff(
        regs.iter().map(|(reg, _)| set(*reg, "'0")).collect(),
        vec![if_(enable, regs.iter().map(|(reg, value)| set(*reg, *value)).collect())],
    );
}

/// The top: two parts, the A banks, the array and the host port arbiter.
fn top(cfg: AccelConfig, part: &Module, a_bank: &Bank, array: &Module) -> Module {
    let select = package::slice_select();
    let (r_n, c_n, p) = (cfg.rows, cfg.cols, cfg.port_bits);
    let sb = cfg.array().split_bits();
    let cb = cfg.array().ctrl_bits();
    let aw = cfg.a_depth.trailing_zeros();
    let nc = 32 * COUNTERS.len() as u32;
    let mut md = Module::new(
        cfg.top_name(),
        format!(
            "DaCapo accelerator: a {r_n} x {c_n} DPE array cut by a runtime split into a top and a\n\
             bottom part, each with its own command queue (cmd_*[0] top, [1] bottom, 128-bit\n\
             commands), scratchpads and result buffers; one {p}-bit host memory port shared by both\n\
             (the top part wins a cycle both want; the memory takes a request in a cycle it holds\n\
             mem_ready_i high; read data arrives the cycle after the request).\n\
             status_o and counters_o hold part 0 (top) in the low half. See docs/timing.md.{}",
            if cfg.dpe.interleave == 1 {
                String::new()
            } else {
                format!(
                    "\nEach DPE computes {} outputs of its row (C-slow), so a tile is {} columns wide.",
                    cfg.dpe.interleave,
                    cfg.tile_cols()
                )
            }
        ),
    );
    md.clock_and_reset()
        .input("cmd_valid_i", 2)
        .input("cmd_i", 2 * cmd::BITS)
        .output("cmd_ready_o", 2)
        .output("mem_req_o", 1)
        .output("mem_we_o", 1)
        .output("mem_addr_o", 32)
        .output("mem_wdata_o", p)
        .input("mem_ready_i", 1)
        .input("mem_rdata_i", p)
        .output("split_o", sb)
        .output("status_o", 64)
        .output("counters_o", 2 * nc)
        .output("block_done_o", r_n * c_n);

    md.blank().logic("split_q", sb).logic("busy", 2).logic("split_we", 2).logic("split_val", 2 * sb);
    md.logic("request", 2).logic("we", 2).logic("addr", 64).logic("wdata", 2 * p);
    md.logic("a_we", 2)
        .logic("a_wmask", 2 * r_n)
        .logic("a_waddr", 2 * aw)
        .logic("a_wdata", 2 * WORD_BITS * r_n);
    md.logic("a_re", 2).logic("a_raddr", 2 * aw);
    md.logic("ctrl", 2 * cb)
        .logic("format", 4)
        .logic("slice", 8)
        .logic("half", 2)
        .logic("b", 2 * SLICE_BITS * c_n);
    md.logic("drain_valid", 2 * c_n).logic("drain_tag", 2 * c_n).logic("drain_data", 64 * c_n);
    md.logic("a_edge", SLICE_BITS * r_n);
    md.wire("grant", 2, "{request[1] && !request[0], request[0]} & {2{mem_ready_i}}");

    md.blank().comment("The parts: 0 is the top (rows 0..split), 1 the bottom (rows split..R).");
    for (i, name) in ["u_top", "u_bottom"].iter().enumerate() {
        let rows = if i == 0 { "split_q".to_string() } else { format!("{sb}'d{r_n} - split_q") };
        let s = |w: u32| format!("[{w}*{i} +: {w}]");
        md.instance(
            part,
            *name,
            &[
                ("clk_i", "clk_i".into()),
                ("rst_ni", "rst_ni".into()),
                ("rows_i", rows),
                ("other_busy_i", format!("busy[{}]", 1 - i)),
                ("cmd_valid_i", format!("cmd_valid_i[{i}]")),
                ("cmd_i", format!("cmd_i{}", s(cmd::BITS))),
                ("cmd_ready_o", format!("cmd_ready_o[{i}]")),
                ("busy_o", format!("busy[{i}]")),
                ("split_we_o", format!("split_we[{i}]")),
                ("split_o", format!("split_val{}", s(sb))),
                ("status_o", format!("status_o{}", s(32))),
                ("counters_o", format!("counters_o{}", s(nc))),
                ("mem_req_o", format!("request[{i}]")),
                ("mem_we_o", format!("we[{i}]")),
                ("mem_addr_o", format!("addr{}", s(32))),
                ("mem_wdata_o", format!("wdata{}", s(p))),
                ("mem_ready_i", "mem_ready_i".into()),
                ("mem_gnt_i", format!("grant[{i}]")),
                ("mem_rdata_i", "mem_rdata_i".into()),
                ("a_we_o", format!("a_we[{i}]")),
                ("a_wmask_o", format!("a_wmask{}", s(r_n))),
                ("a_waddr_o", format!("a_waddr{}", s(aw))),
                ("a_wdata_o", format!("a_wdata{}", s(WORD_BITS * r_n))),
                ("a_re_o", format!("a_re[{i}]")),
                ("a_raddr_o", format!("a_raddr{}", s(aw))),
                ("ctrl_o", format!("ctrl{}", s(cb))),
                ("format_o", format!("format{}", s(2))),
                ("slice_o", format!("slice{}", s(4))),
                ("half_o", format!("half[{i}]")),
                ("b_o", format!("b{}", s(SLICE_BITS * c_n))),
                ("drain_valid_i", format!("drain_valid{}", s(c_n))),
                ("drain_tag_i", format!("drain_tag{}", s(c_n))),
                ("drain_data_i", format!("drain_data{}", s(32 * c_n))),
            ],
        );
    }

    md.blank().comment(
        "The split register: set by a part's set-split, the top part first. top_rows_q holds it as\n\
         a thermometer code (bit r set: row r is a top row), for the A banks and the array.",
    );
    md.logic("top_rows_q", r_n).logic("top_rows_next", r_n);
    md.wire("split_next", sb, format!("split_we[0] ? split_val[{}:0] : split_val[{sb} +: {sb}]", sb - 1));
    md.generate("r", r_n, "g_split", |g| {
        g.assign("top_rows_next[r]", format!("{sb}'(r) < split_next"));
    });
    md.always_ff(
        vec![set("split_q", "'0"), set("top_rows_q", "'0")],
        vec![if_("split_we != 2'd0", vec![set("split_q", "split_next"), set("top_rows_q", "top_rows_next")])],
    );
    md.assign("split_o", "split_q");

    md.blank().comment("Host port: the granted request is registered; the top part has priority.");
    md.logic("mem_req_q", 1).logic("mem_we_q", 1).logic("mem_addr_q", 32).logic("mem_wdata_q", p);
    md.always_ff(
        vec![
            set("mem_req_q", "1'b0"),
            set("mem_we_q", "1'b0"),
            set("mem_addr_q", "'0"),
            set("mem_wdata_q", "'0"),
        ],
        vec![
            set("mem_req_q", "grant != 2'd0"),
            set("mem_we_q", "grant[0] ? we[0] : we[1]"),
            set("mem_addr_q", "grant[0] ? addr[31:0] : addr[63:32]"),
            set("mem_wdata_q", format!("grant[0] ? wdata[{}:0] : wdata[{p} +: {p}]", p - 1)),
        ],
    );
    md.assign("mem_req_o", "mem_req_q")
        .assign("mem_we_o", "mem_we_q")
        .assign("mem_addr_o", "mem_addr_q")
        .assign("mem_wdata_o", "mem_wdata_q");

    md.blank().comment(
        "A banks: row r belongs to the top part when r < split (its lane r), else to the bottom\n\
         part (its lane R-1-r, counted from the south edge). The owner's port is a two-way choice\n\
         between fixed lanes, so no select spans the whole write bus.",
    );
    md.generate("r", r_n, "g_a", |g| {
        g.wire("own", 1, "!top_rows_q[r]");
        g.logic("word", WORD_BITS);
        let by_owner = |top: String, bottom: String| format!("own ? {bottom} : {top}");
        a_bank.instance(
            g,
            &[
                ("clk_i", "clk_i".into()),
                (
                    "we_i",
                    by_owner(
                        "a_we[0] && a_wmask[r]".into(),
                        format!("a_we[1] && a_wmask[{} - r]", 2 * r_n - 1),
                    ),
                ),
                ("waddr_i", by_owner(format!("a_waddr[0 +: {aw}]"), format!("a_waddr[{aw} +: {aw}]"))),
                (
                    "wdata_i",
                    by_owner(
                        format!("a_wdata[{WORD_BITS}*r +: {WORD_BITS}]"),
                        format!(
                            "a_wdata[{} + {WORD_BITS}*({} - r) +: {WORD_BITS}]",
                            WORD_BITS * r_n,
                            r_n - 1
                        ),
                    ),
                ),
                ("re_i", "a_re[own]".into()),
                ("raddr_i", by_owner(format!("a_raddr[0 +: {aw}]"), format!("a_raddr[{aw} +: {aw}]"))),
                ("rdata_o", "word".into()),
            ],
        );
        edge_word(
            g,
            &select,
            &format!("ctrl[{cb}*own]"),
            "word",
            ["format[2*own +: 2]", "slice[4*own +: 4]", "half[own]"],
            &format!("a_edge[{SLICE_BITS}*r +: {SLICE_BITS}]"),
        );
    });

    md.blank().comment("The array: the top part at the north edge, the bottom part at the south edge.");
    md.instance(
        array,
        "u_array",
        &[
            ("clk_i", "clk_i".into()),
            ("rst_ni", "rst_ni".into()),
            ("top_rows_i", "top_rows_q".into()),
            ("top_format_i", "format[1:0]".into()),
            ("top_ctrl_i", format!("ctrl[{}:0]", cb - 1)),
            ("bot_format_i", "format[3:2]".into()),
            ("bot_ctrl_i", format!("ctrl[{}:{cb}]", 2 * cb - 1)),
            ("a_i", "a_edge".into()),
            ("top_b_i", format!("b[{}:0]", SLICE_BITS * c_n - 1)),
            ("bot_b_i", format!("b[{0} +: {0}]", SLICE_BITS * c_n)),
            ("north_result_o", format!("drain_data[{}:0]", 32 * c_n - 1)),
            ("north_valid_o", format!("drain_valid[{}:0]", c_n - 1)),
            ("north_tag_o", format!("drain_tag[{}:0]", c_n - 1)),
            ("south_result_o", format!("drain_data[{0} +: {0}]", 32 * c_n)),
            ("south_valid_o", format!("drain_valid[{c_n} +: {c_n}]")),
            ("south_tag_o", format!("drain_tag[{c_n} +: {c_n}]")),
            ("block_done_o", "block_done_o".into()),
        ],
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_word_is_read_as_the_rtl_packs_it() {
        assert_eq!(Status::pack("b", "l", "e"), "{e, 8'd0, l, 3'd0, b}");
        let word = 0x0123 << 16 | error::RANGE << 4 | 1;
        assert_eq!(Status::from_word(word), Status { busy: true, last_error: 5, errors: 0x0123 });
        assert_eq!(Status::from_word(0xFFFF_FFFE), Status { busy: false, last_error: 15, errors: 0xFFFF });
    }

    #[test]
    fn counters_read_their_words_in_order() {
        let words: [u32; COUNTERS.len()] = std::array::from_fn(|i| 10 * i as u32 + 1);
        let counters = Counters::from_words(&words);
        assert_eq!(counters.values(), words.map(u64::from));
        assert_eq!((counters.busy, counters.stall_port, counters.blocks), (1, 61, 81));
        assert_eq!(COUNTERS[6], "stall_port");
        assert_eq!(counters.since(&Counters { busy: 1, ..counters }).busy, 0);
    }

    #[test]
    fn ram_macros_replace_the_parameterized_bank_by_one_module_per_size() {
        let design = with_ram_macros(&accel_design(PRESETS[1].config));
        let names: Vec<&str> =
            design.submodules.iter().map(|m| m.name()).filter(|n| n.starts_with("sram")).collect();
        assert_eq!(names, ["sram_w32_d8", "sram_w144_d256"]);
        let texts = std::iter::once(&design.top).chain(&design.submodules).map(Module::to_verilog);
        for text in texts {
            assert!(!text.contains("sram #("), "a parameterized bank is left in\n{text}");
        }
        let top = design.top.to_verilog();
        assert!(top.contains("sram_w144_d256 u_bank ("), "{top}");
    }

    #[test]
    fn configurations_that_differ_never_share_a_module_name() {
        for p in PRESETS {
            assert_eq!(AccelConfig::for_array(p.config.array()), Ok(p.config));
        }
        let names = |c: AccelConfig| {
            let design = accel_design(c);
            (
                c.top_name(),
                design
                    .submodules
                    .iter()
                    .find(|m| m.name().starts_with("accel_part"))
                    .unwrap()
                    .name()
                    .to_string(),
            )
        };
        assert_eq!(names(preset("small").unwrap()), ("accel_4x4".into(), "accel_part_4x4".into()));
        let small = preset("small").unwrap();
        let variants = [
            AccelConfig { port_bits: 256, ..small },
            AccelConfig { a_depth: 512, ..small },
            AccelConfig { b_depth: 512, ..small },
            AccelConfig { queue_depth: 8, ..small },
            AccelConfig { a_depth: 512, b_depth: 512, ..small },
            AccelConfig::new(4, 8, 512, 256, 256, 4).unwrap(),
            small.with_dpe(DpeConfig::INTERLEAVED).unwrap(),
        ];
        let mut seen = vec![names(small)];
        for v in variants {
            let (top, part) = names(v);
            assert!(seen.iter().all(|(t, p)| *t != top && *p != part), "{top} / {part} is taken");
            seen.push((top, part));
        }
        assert_eq!(seen[1].0, "accel_4x4_p256");
        assert_eq!(seen[5].0, "accel_4x4_a512_b512");
        // An 8 x 16 array has no preset: the dacapo preset's parameters name it plainly.
        let plain = AccelConfig::for_array(ArrayConfig::new(8, 16).unwrap()).unwrap();
        assert_eq!((plain.top_name(), plain.port_bits), ("accel_8x16".to_string(), 2048));
    }

    #[test]
    fn configs_are_checked() {
        assert_eq!(preset("small").map(|c| c.rows), Ok(4));
        let message = |e: Result<AccelConfig, ConfigError>| e.unwrap_err().to_string();
        assert_eq!(message(preset("big")), "unknown preset 'big'; the presets are dacapo, small, fpga");
        assert_eq!(
            message(AccelConfig::new(4, 4, 100, 256, 256, 4)),
            "port_bits must be a power of two in 64..=4096, got 100"
        );
        assert_eq!(
            message(AccelConfig::new(4, 4, 1024, 256, 256, 4)),
            "port_bits 1024 is wider than the widest scratchpad line (576 bits for 4 lanes); use at most 512"
        );
        assert_eq!(
            AccelConfig::new(1, 4, 512, 256, 256, 4),
            Err(ConfigError::ArrayShape { what: "rows", got: 1 })
        );
        assert_eq!(
            AccelConfig::new(4, 4, 512, 256, 8, 4),
            Err(ConfigError::NotPowerOfTwo { name: "b_depth", lo: 16, hi: 32768, got: 8 })
        );
        assert_eq!(
            message(AccelConfig::new(32, 32, 512, 256, 256, 4).unwrap().with_dpe(DpeConfig::INTERLEAVED)),
            "a tile is interleave x cols = 5 x 32 columns, more than the 127 a command's column field \
             holds; use fewer columns or a smaller interleave"
        );
        for p in PRESETS {
            let c = p.config;
            assert_eq!(
                AccelConfig::new(c.rows, c.cols, c.port_bits, c.a_depth, c.b_depth, c.queue_depth)
                    .and_then(|n| n.with_dpe(c.dpe)),
                Ok(c)
            );
        }
        assert_eq!(
            (preset("fpga").unwrap().tile_cols(), preset("fpga").unwrap().top_name()),
            (10, "accel_3x2_i5_335".into())
        );
    }

    #[test]
    fn beats() {
        let c = preset("dacapo").unwrap();
        assert_eq!(c.load_beats(MxFormat::MX9, 16), 2);
        assert_eq!(c.load_beats(MxFormat::MX4, 16), 1);
        assert_eq!(c.store_beats(None, 16), 1);
        assert_eq!(c.store_beats(Some(MxFormat::MX9), 16), 1);
    }
}
