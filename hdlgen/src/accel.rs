//! The accelerator top (SPEC section 5): the partitionable array with operand scratchpads of
//! packed MX blocks, double-buffered f32 result buffers, one host memory port, an `mx_convert`
//! on the result path, and per part a command queue, a compute unit, a DMA unit, a status
//! register and performance counters. `docs/timing.md` gives the cycle count of every command.

mod part;

use crate::array::{array_modules, ArrayConfig, SLICE_BITS};
use crate::dpe::DpeConfig;
use crate::fp_add::bits_for;
use crate::mx::{MxFormat, BLOCK};
use crate::package;
use crate::verilog::{if_, set, Function, Module, ParamValue, Size};
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
    let array = array_modules(cfg.array());
    let ram = sram();
    let a_bank = Bank { ram: &ram, width: WORD_BITS, depth: cfg.a_depth };
    let b_bank = Bank { ram: &ram, width: WORD_BITS, depth: cfg.b_depth };
    let r_bank = Bank { ram: &ram, width: 32, depth: 2 << cfg.row_bits() };
    let units = part::Units::new();
    let part = part::part(cfg, &b_bank, &r_bank, &units);
    let top = top(cfg, &part, &a_bank, &array.top);
    let mut submodules = vec![package::dacapo_pkg(), part, units.queue, units.status, ram, array.top];
    submodules.extend(array.submodules);
    Design { top, submodules }
}

/// The accelerator with each RAM bank an instance of the macro of its size (`sram_w144_d512`)
/// rather than of the parameterized `sram`: the view of the flows that treat RAMs as black
/// boxes, as an ASIC flow places a memory compiler's macros.
pub fn with_ram_macros(design: &Design) -> Design {
    let mut sizes = Vec::new();
    let mut rebind = |module: &mut Module| {
        let found = module.specialize("sram", &|params| {
            let (width, depth) = ram_size(params);
            macro_name(width, depth)
        });
        sizes.extend(found.iter().map(|params| ram_size(params)));
    };
    let mut top = design.top.clone();
    rebind(&mut top);
    let mut submodules: Vec<Module> =
        design.submodules.iter().filter(|m| m.name() != "sram").cloned().collect();
    submodules.iter_mut().for_each(&mut rebind);
    sizes.sort_unstable();
    sizes.dedup();
    submodules.extend(sizes.into_iter().map(|(width, depth)| sram_macro(width, depth)));
    Design { top, submodules }
}

/// The width and depth an instance of `sram` sets.
fn ram_size(params: &[ParamValue]) -> (u32, u32) {
    let [(_, width), (_, depth)] = params else { unreachable!("sram has two parameters") };
    (*width, *depth)
}

/// The name of the RAM macro of one size.
fn macro_name(width: u32, depth: u32) -> String {
    format!("sram_w{width}_d{depth}")
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
        g.instance_with(
            self.ram,
            &[("Width", self.width.into()), ("Depth", self.depth.into())],
            "u_bank",
            conns,
        );
    }
}

const SRAM_DOC: &str = "RAM with one write port and one registered read port; rdata_o holds the last\n\
    word read. A read and a write of the same word in one cycle read the old word.";

/// The RAM of every bank: `Depth` words of `Width` bits.
fn sram() -> Module {
    // Defaults: a scratchpad bank of the DaCapo preset.
    let (width, depth) = (WORD_BITS, 512);
    let mut md = Module::new("sram", SRAM_DOC);
    md.parameter("Width", width, "bits of a word").parameter("Depth", depth, "words, a power of two");
    let address = Size::new("$clog2(Depth)", depth.trailing_zeros());
    ram_body(md, Size::new("Width", width), Size::new("Depth", depth), address)
}

/// The RAM of one size as a module of its own, `sram_w{width}_d{depth}`: the black box of
/// [`with_ram_macros`].
pub fn sram_macro(width: u32, depth: u32) -> Module {
    let md = Module::new(macro_name(width, depth), SRAM_DOC);
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

/// The fields of a command word (see `cmd`), from the least significant up, by the names of
/// `command_t`'s members.
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

/// `command_t`, the command word as a packed struct: `COMMAND_FIELDS` from the most
/// significant down, and above them `reserved`, bits that must be zero. Declared in the module
/// that decodes commands: Icarus Verilog 11 cannot elaborate a packed struct type declared in
/// a package.
fn command_struct(md: &mut Module) {
    let mut fields = vec![];
    let mut next = 0;
    for (name, cmd::Field(lsb, bits)) in COMMAND_FIELDS {
        assert_eq!(lsb, next, "the command word's fields are contiguous from bit 0");
        fields.insert(0, (name, bits));
        next = lsb + bits;
    }
    fields.insert(0, ("reserved", cmd::BITS - next));
    md.packed_struct("command_t", &fields);
}

/// The opcode tests of the command `command` (a `command_t`): wires `{command}_is_load_a`, ...
/// for every test, or those that `only` lists.
fn opcode_tests(md: &mut Module, command: &str, only: Option<&[&str]>) {
    let is = |code: u64| format!("{command}.op == {}", package::opcode(code));
    let tests = [
        ("is_load_a", is(cmd::LOAD_A)),
        ("is_load_b", is(cmd::LOAD_B)),
        ("is_load", format!("{command}_is_load_a || {command}_is_load_b")),
        ("is_compute", is(cmd::COMPUTE)),
        ("is_store", is(cmd::STORE)),
        ("is_split", is(cmd::SET_SPLIT)),
        ("is_fence", is(cmd::FENCE)),
    ];
    for (name, test) in tests {
        if only.is_none_or(|names| names.contains(&name)) {
            md.wire(format!("{command}_{name}"), 1, test);
        }
    }
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
    md.instance_with(
        array,
        &[("Rows", r_n.into()), ("Cols", c_n.into())],
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
