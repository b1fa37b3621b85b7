//! The DaCapo hardware generator: a structured Verilog emitter and one generator function per
//! hardware module, parameterized where the hardware is.

pub mod dpe;
pub mod fp_add;
pub mod mx;
pub mod testbench;
pub mod verilog;

pub use dpe::dpe_design;
pub use fp_add::{fp_add, FloatFormat};
pub use mx::{mx_convert, MxFormat};
pub use verilog::Module;

/// A module to simulate or ship, with every module it instantiates.
pub struct Design {
    pub top: Module,
    pub submodules: Vec<Module>,
}

impl Design {
    fn leaf(top: Module) -> Design {
        Design { top, submodules: Vec::new() }
    }

    /// The top first, then what it instantiates.
    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        std::iter::once(&self.top).chain(&self.submodules)
    }
}

/// The datapath modules at their default parameters: what `make rtl` writes and what the
/// `sim` crate compiles.
pub fn designs() -> Vec<Design> {
    vec![Design::leaf(fp_add(FloatFormat::F32)), Design::leaf(mx_convert()), dpe_design()]
}
