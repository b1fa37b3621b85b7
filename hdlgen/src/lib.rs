//! The DaCapo hardware generator.
//!
//! It will hold `ArrayConfig`, the single source of truth for a generated accelerator, and one
//! Verilog generator per hardware module. The datapath modules arrive with the RTL issue; until
//! then this crate only reserves its place in the workspace.
