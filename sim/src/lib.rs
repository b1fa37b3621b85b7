//! The DaCapo simulated chip.
//!
//! It will compile the Verilog that `hdlgen` emits with Verilator and expose a safe Rust `Chip`
//! over the model. The build script and the bindings arrive with the RTL issue; until then this
//! crate only reserves its place in the workspace.
