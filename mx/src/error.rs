//! What can go wrong in the golden model's API: a name it does not know, operands that do not
//! fit together, a kernel this CPU cannot run. Each message says what is wrong and how to fix
//! it.

use crate::{Format, Kernel};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("unknown MX format '{0}'; use mx9, mx6 or mx4")]
    UnknownFormat(String),
    #[error("unknown GEMM kernel '{name}'; use one of {known}")]
    UnknownKernel { name: String, known: String },
    #[error("the {kernel} kernel needs CPU features this CPU lacks ({missing}); this CPU runs: {available}")]
    KernelUnsupported { kernel: Kernel, missing: String, available: String },
    /// The kernel named by `DACAPO_MX_KERNEL`.
    #[error("{}={value}: {source}", crate::KERNEL_ENV)]
    KernelVariable { value: String, source: Box<Error> },
    #[error("a {rows} x {cols} matrix needs {} values, got {got}", rows * cols)]
    ValueCount { rows: usize, cols: usize, got: usize },
    #[error("a {rows} x {cols} {format} matrix packs into {expected} bytes, got {got}")]
    PackedSize { rows: usize, cols: usize, format: Format, expected: usize, got: usize },
    #[error("GEMM operand A must be blocked along its rows (the K axis)")]
    AxisOfA,
    #[error("GEMM operand B must be blocked down its columns (the K axis)")]
    AxisOfB,
    #[error("GEMM operands have different formats: A is {a}, B is {b}")]
    FormatMismatch { a: Format, b: Format },
    #[error("GEMM shapes do not chain: A is {} but B is {}; A's columns must equal B's rows", shape(.a), shape(.b))]
    ShapeMismatch { a: (usize, usize), b: (usize, usize) },
    #[error("the output buffer holds {len} values; a {rows} x {cols} product needs {}", rows * cols)]
    OutputSize { len: usize, rows: usize, cols: usize },
}

fn shape((rows, cols): &(usize, usize)) -> String {
    format!("{rows} x {cols}")
}

pub type Result<T> = std::result::Result<T, Error>;
