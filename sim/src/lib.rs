//! The DaCapo simulated chip: the Verilog that `hdlgen` emits, compiled by Verilator and
//! driven from Rust. Each simulated top has a generated `*Model` struct with one setter per
//! input and one getter per output; the typed wrappers here speak in `f32`s and MX blocks.

#[allow(non_camel_case_types, dead_code, clippy::all)]
mod ffi {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

mod models {
    use super::ffi;
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

pub use models::*;

mod accel;
mod array;
mod baselines;
mod dpe;
mod error;
mod fp32;
mod memory;
mod mx_convert;

pub use accel::{Chip, Command};
pub use array::{ArrayHarness, ArrayPorts, DpeArray, InterleavedArray, Part, Tile};
pub use baselines::{MacF32, MacF32Pipelined, MacInt8};
pub use dpe::{
    format_code, hw_format, operand_slices, slices, Dpe, DpeHarness, DpePorts, InterleavedDpe, Slice,
};
pub use error::Error;
pub use fp32::{Fp32Add, Fp32Mul};
pub use hdlgen::accel::{Counters, Status};
pub use memory::MemoryRate;
pub use mx_convert::MxConvert;
