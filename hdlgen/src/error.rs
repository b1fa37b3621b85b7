//! What makes a generator configuration invalid. Each message names the parameter or field and
//! says what it may be.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("unknown preset '{name}'; the presets are {known}")]
    UnknownPreset { name: String, known: String },
    /// An array's rows or columns.
    #[error("an array needs 2..=64 {what}, got {got}")]
    ArrayShape { what: &'static str, got: u32 },
    #[error("{name} must be a power of two in {lo}..={hi}, got {got}")]
    NotPowerOfTwo { name: &'static str, lo: u32, hi: u32, got: u32 },
    #[error(
        "port_bits {port_bits} is wider than the widest scratchpad line ({line} bits for {lanes} lanes); use at most {max}"
    )]
    PortTooWide { port_bits: u32, line: u32, lanes: u32, max: u32 },
    /// A DPE pipeline's stages: `allowed` says which counts are.
    #[error("{name} must be {allowed}, got {got}")]
    Stages { name: &'static str, allowed: &'static str, got: u32 },
    #[error(
        "interleave must be in {add_stages}..=16 with {add_stages} add stages (MX4 brings a block every cycle, \
         and a slot's next block needs its sum out of the adder), got {got}"
    )]
    Interleave { add_stages: u32, got: u32 },
    #[error(
        "a tile is interleave x cols = {interleave} x {cols} columns, more than the {max} a command's \
         column field holds; use fewer columns or a smaller interleave"
    )]
    TileTooWide { interleave: u32, cols: u32, max: u32 },
    #[error(
        "b_depth {b_depth} is too small for interleave {interleave}: half of it must hold a K step's \
         {interleave} words; use b_depth {} or more", 2 * interleave.next_power_of_two()
    )]
    BDepthTooSmall { b_depth: u32, interleave: u32 },
    /// A `config.json` that is not one JSON object.
    #[error("config.json {0}")]
    FileFormat(String),
    #[error("config.json has no '{0}'")]
    MissingField(String),
    #[error("config.json: '{name}' must be a whole number, got {value}")]
    NotWholeNumber { name: String, value: String },
    #[error("config.json: unknown field '{0}'")]
    UnknownField(String),
    #[error("config.json: '{name}' is {value}, but the parameters give {want}; fix it or delete it")]
    DerivedMismatch { name: String, value: String, want: String },
    #[error("config.json: 'preset' is {0}, a preset with other parameters")]
    PresetMismatch(String),
    /// A parameter of a `config.json` that its configuration rejects.
    #[error("config.json: {0}")]
    InvalidParameter(Box<ConfigError>),
}

/// A generator's mistake that the emitter catches while it builds a module, before any tool
/// reads the Verilog. Each message names the signal or expression.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HdlError {
    #[error("'{0}' is not declared in this module")]
    Undeclared(String),
    #[error("'{0}' is declared twice")]
    Redeclared(String),
    #[error("widths differ in {expr}: {left} and {right} bits")]
    WidthMismatch { expr: String, left: u32, right: u32 },
    #[error("{expr}[{}:{lsb}] is past the {bits} bits of {expr}", lsb + width - 1)]
    SliceOutOfRange { expr: String, lsb: u32, width: u32, bits: u32 },
    #[error("({0}) is sliced: Verilog slices only a signal; declare it as one first")]
    SliceOfExpression(String),
    #[error("{value} does not fit a {width}-bit literal")]
    LiteralTooWide { value: u64, width: u32 },
    #[error("{function} takes {want} arguments, not {got}")]
    Arguments { function: String, want: usize, got: usize },
    #[error("port '{port}' is added inside generate block '{block}'; ports belong to the module")]
    PortInGenerate { port: String, block: String },
}
