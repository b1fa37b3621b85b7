//! The DaCapo hardware generator: a structured Verilog emitter and one generator function per
//! hardware module, parameterized where the hardware is.

pub mod baselines;
pub mod dpe;
pub mod fp_add;
pub mod fp_mul;
pub mod mx;
pub mod testbench;
pub mod verilog;

pub use dpe::dpe_design;
pub use fp_add::{fp_add, FloatFormat};
pub use fp_mul::fp_mul;
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

/// What the generated datapath is built for, written as `config.json` next to the Verilog so
/// tools and tests read the same numbers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DatapathConfig {
    pub generator: &'static str,
    pub float: FloatFormat,
    pub block_elements: u32,
    pub multiplier_lanes: u32,
    pub formats: Vec<FormatEntry>,
    pub modules: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FormatEntry {
    #[serde(flatten)]
    pub format: MxFormat,
    pub block_bits: u32,
    pub cycles_per_block: u32,
}

impl DatapathConfig {
    pub fn current() -> DatapathConfig {
        DatapathConfig {
            generator: concat!("dacapo hdlgen ", env!("CARGO_PKG_VERSION")),
            float: FloatFormat::F32,
            block_elements: mx::BLOCK,
            multiplier_lanes: mx::BLOCK,
            formats: MxFormat::ALL
                .iter()
                .map(|&f| FormatEntry {
                    format: f,
                    block_bits: f.block_bits(),
                    cycles_per_block: f.cycles_per_block(),
                })
                .collect(),
            modules: designs().iter().map(|d| d.top.name().to_string()).collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the config serializes") + "\n"
    }
}

/// The files `make rtl` writes into `rtl/`: one `.sv` per module, then `config.json`.
pub fn rtl_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for design in designs() {
        for module in design.modules() {
            let name = format!("{}.sv", module.name());
            if !files.iter().any(|(n, _)| *n == name) {
                files.push((name, module.to_verilog()));
            }
        }
    }
    files.push(("config.json".into(), DatapathConfig::current().to_json()));
    files
}

/// The datapath modules at their default parameters: what `make rtl` writes and what the
/// `sim` crate compiles.
pub fn designs() -> Vec<Design> {
    vec![Design::leaf(fp_add(FloatFormat::F32)), Design::leaf(mx_convert()), dpe_design()]
}

/// The PEs the DPE is compared with in `reports/synth.md`; the `sim` crate compiles them too,
/// so they are tested like the datapath.
pub fn baseline_designs() -> Vec<Design> {
    vec![Design::leaf(fp_mul(FloatFormat::F32)), baselines::mac_f32_design(), baselines::mac_int8_design()]
}
