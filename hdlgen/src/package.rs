//! `dacapo_pkg`, what the accelerator's modules share: the command word's opcodes, the status
//! register's error codes, the format codes and the compute unit's states as enums, and the
//! function that takes a slice out of a scratchpad word. The modules name its members as
//! `dacapo_pkg::OpLoadA`: Yosys 0.23 and Icarus Verilog 11 read no `import` inside a module.
//! A variable holding a member is a plain logic vector, not of the enum's type, which
//! crashes Icarus Verilog 11 when the type comes from a package.

use crate::accel::{cmd, error, WORD_BITS};
use crate::array::SLICE_BITS;
use crate::mx::{MxFormat, BLOCK};
use crate::verilog::{case, for_, set, Function, Module, Stmt};

pub const NAME: &str = "dacapo_pkg";

/// The opcodes (`cmd::OPCODE`), by their enum members.
const OPCODES: [(&str, u64); 6] = [
    ("OpLoadA", cmd::LOAD_A),
    ("OpLoadB", cmd::LOAD_B),
    ("OpCompute", cmd::COMPUTE),
    ("OpStore", cmd::STORE),
    ("OpSetSplit", cmd::SET_SPLIT),
    ("OpFence", cmd::FENCE),
];

/// The error codes of a part's status register, in the order they are checked.
const ERRORS: [(&str, u32); 8] = [
    ("ErrNone", error::NONE),
    ("ErrOpcode", error::OPCODE),
    ("ErrFormat", error::FORMAT),
    ("ErrEmptyPart", error::EMPTY_PART),
    ("ErrShape", error::SHAPE),
    ("ErrRange", error::RANGE),
    ("ErrSplitRange", error::SPLIT_RANGE),
    ("ErrSplitBusy", error::SPLIT_BUSY),
];

/// The compute unit's states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComputeState {
    Idle,
    /// Clearing the accumulators (one cycle per slot).
    Clear,
    /// Streaming K blocks of slices.
    Stream,
    /// Draining the results (one cycle per slot).
    Drain,
}

/// Bits of a compute state.
pub const COMPUTE_STATE_BITS: u32 = 2;

const COMPUTE_STATES: [(&str, u64); 4] = [
    ("ComputeIdle", ComputeState::Idle as u64),
    ("ComputeClear", ComputeState::Clear as u64),
    ("ComputeStream", ComputeState::Stream as u64),
    ("ComputeDrain", ComputeState::Drain as u64),
];

/// The format codes (`cmd::FORMAT`): the MX formats, and f32 for stores.
fn formats() -> [(&'static str, u64); 4] {
    let [mx9, mx6, mx4] = MxFormat::ALL;
    [
        ("FmtMx9", mx9.code.into()),
        ("FmtMx6", mx6.code.into()),
        ("FmtMx4", mx4.code.into()),
        ("FmtF32", cmd::F32),
    ]
}

/// The member of `table` with value `code`, by its name alone.
fn local<T: PartialEq + std::fmt::Debug>(table: &[(&'static str, T)], code: T) -> &'static str {
    let (name, _) =
        table.iter().find(|(_, c)| *c == code).unwrap_or_else(|| panic!("no member has code {code:?}"));
    name
}

/// The format `format` inside the package's own functions: its code as a literal, since
/// Yosys 0.5x (YoWASP's) finds no width for an enum member there, nor for one cast to its
/// width, when a function is called in an `always` block. The function says which is which.
fn format_inside(format: MxFormat) -> String {
    crate::expr::lit(format.code.into(), cmd::FORMAT.1).to_string()
}

/// The member of `table` with value `code`, named from outside the package.
fn member<T: PartialEq + std::fmt::Debug>(table: &[(&'static str, T)], code: T) -> String {
    format!("{NAME}::{}", local(table, code))
}

/// The opcode `code` (`cmd::LOAD_A`, ...).
pub fn opcode(code: u64) -> String {
    member(&OPCODES, code)
}

/// The error code `code` (`error::OPCODE`, ...).
pub fn error_code(code: u32) -> String {
    member(&ERRORS, code)
}

/// The format code of `format`.
pub fn format(format: MxFormat) -> String {
    member(&formats(), u64::from(format.code))
}

/// The compute state `state`.
pub fn compute_state(state: ComputeState) -> String {
    member(&COMPUTE_STATES, state as u64)
}

/// The store format code of f32 results.
pub fn format_f32() -> String {
    member(&formats(), cmd::F32)
}

pub fn dacapo_pkg() -> Module {
    let mut pkg = Module::package(
        NAME,
        "What the accelerator's modules share: the codes of the command word and the status\n\
         register (docs/timing.md), the compute unit's states, and the slice selection of a\n\
         scratchpad word. Variables hold members as plain logic vectors: Icarus Verilog 11\n\
         crashes on a variable whose type is an enum of a package.",
    );
    let errors: Vec<(&str, u64)> = ERRORS.iter().map(|&(name, code)| (name, code.into())).collect();
    pkg.enumeration("opcode_e", cmd::OPCODE.1, &OPCODES)
        .enumeration("format_e", cmd::FORMAT.1, &formats())
        .enumeration("error_e", 4, &errors)
        .enumeration("compute_state_e", COMPUTE_STATE_BITS, &COMPUTE_STATES);
    pkg.function(slice_select_function());
    pkg
}

/// The package's slice selection, as its callers name it.
pub fn slice_select() -> Function {
    slice_select_function().in_package(NAME)
}
/// The edge word of one slice of a scratchpad word (the `dpe` operand port layout): slice
/// `slice_index` of the packed block in `word` (for MX4, the block in the high half if
/// `high_half`) as {exp, micro, sign[15:0], mag[31:0]}, element e of the slice with its sign
/// at bit e and its two-bit digits at bit e * 2 * digits.
fn slice_select_function() -> Function {
    let [mx9, mx6, mx4] = MxFormat::ALL;
    let mut f = Function::new("slice_select_f", SLICE_BITS);
    f.input("word", WORD_BITS).input("format", 2).input("slice_index", 4).input("high_half", 1);
    f.comment("The block (for MX4 the half asked for), then the slice in each format's layout.");
    let codes: Vec<String> = MxFormat::ALL
        .iter()
        .map(|&m| format!("{} = {}", local(&formats(), m.code.into()), format_inside(m)))
        .collect();
    f.comment(format!("Codes as literals ({}): Yosys 0.5x reads no enum here.", codes.join(", ")));
    f.let_(
        "block",
        WORD_BITS,
        format!(
            "(format == {}) ? {{{}'d0, high_half ? word[{}:64] : word[63:0]}} : word",
            format_inside(mx4),
            WORD_BITS - 64,
            2 * mx4.block_bits() - 1
        ),
    );
    f.let_("elem9", 8, format!("block[16 + {0}*slice_index +: {0}]", mx9.mag_bits + 1));
    // MX6's slice by a case on its index (0 to 3), its four elements at fixed positions:
    // indexing the block by 20 x the index would multiply, which FPGA synthesis puts on a
    // DSP block in front of a 144-bit shifter (the ECP5 accelerator's critical path).
    let six = BLOCK / mx6.cycles_per_block() * (mx6.mag_bits + 1);
    f.local("elems6", six).local("signs6", 4).local("mags6", 16).local("signs4", 16).local("mags4", 32);
    // Slices 0 to 2 by their index, the last as the default.
    let last = mx6.cycles_per_block() - 1;
    let slice6 = |s: u32| vec![set("elems6", format!("block[{} +: {six}]", 16 + six * s))];
    let slices6: Vec<(String, Vec<Stmt>)> = (0..last).map(|s| (format!("2'd{s}"), slice6(s))).collect();
    f.stmts(vec![
        case("slice_index[1:0]", slices6, slice6(last)),
        for_(
            "e",
            4,
            vec![
                set("signs6[e]", format!("elems6[{0}*e + {1}]", mx6.mag_bits + 1, mx6.mag_bits)),
                set("mags6[4*e +: 4]", format!("elems6[{}*e +: 4]", mx6.mag_bits + 1)),
            ],
        ),
        for_(
            "e",
            16,
            vec![
                set("signs4[e]", format!("block[16 + {0}*e + {1}]", mx4.mag_bits + 1, mx4.mag_bits)),
                set("mags4[2*e +: 2]", format!("block[16 + {}*e +: 2]", mx4.mag_bits + 1)),
            ],
        ),
    ]);
    f.let_(
        "signs",
        16,
        format!(
            "(format == {}) ? {{15'd0, elem9[7]}} : (format == {}) ? {{12'd0, signs6}} : signs4",
            format_inside(mx9),
            format_inside(mx6)
        ),
    );
    f.let_(
        "mags",
        32,
        format!(
            "(format == {}) ? {{25'd0, elem9[6:0]}} : (format == {}) ? {{16'd0, mags6}} : mags4",
            format_inside(mx9),
            format_inside(mx6)
        ),
    );
    f.result("{block[7:0], block[15:8], signs, mags}");
    f
}
