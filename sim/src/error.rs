//! What the simulated chip refuses or runs into. Each message says what went wrong and, where
//! there is one, what to do.

use hdlgen::accel::Status;
use hdlgen::ConfigError;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A valid configuration that this build has no Verilator model of.
    #[error("no simulation model is built for preset '{preset}'; the simulated presets are {built}")]
    NoModel { preset: String, built: String },
    #[error("split {split} is past the array's {rows} rows")]
    SplitPastRows { split: u32, rows: u32 },
    /// A set-split the chip did not take; its status register says why.
    #[error("the chip refused split {split}: {status:?}")]
    SplitRefused { split: u32, status: Status },
    #[error("the chip hung: not idle after {limit} cycles")]
    Hung { limit: u64 },
    #[error("a memory rate of {beats} beats per {cycles} cycles never moves data")]
    NoMemoryRate { beats: u64, cycles: u64 },
    /// A bandwidth or clock outside what `MemoryRate::from_bandwidth` takes.
    #[error("{what} {value} {unit} is out of range: give 0.001 to 1000000 {unit}")]
    OutOfRange { what: &'static str, value: f64, unit: &'static str },
}
