//! The DaCapo hardware generator: a structured Verilog emitter and one generator function per
//! hardware module, parameterized where the hardware is.

pub mod accel;
pub mod array;
pub mod baselines;
pub mod dpe;
mod error;
pub mod expr;
pub mod fp_add;
pub mod fp_mul;
pub mod harness;
pub mod mx;
pub mod package;
pub mod testbench;
pub mod verilog;
mod wrap;

pub use accel::{accel_design, preset, AccelConfig, Preset, PRESETS};
pub use array::{array_design, array_modules, ArrayConfig};
pub use dpe::dpe_design;
pub use error::{ConfigError, HdlError};
pub use fp_add::{fp_add, FloatFormat};
pub use fp_mul::fp_mul;
pub use harness::timing_harness;
pub use mx::{mx_convert, MxFormat};
pub use verilog::Module;

/// A module to simulate or ship, with every module it instantiates.
#[derive(Clone)]
pub struct Design {
    pub top: Module,
    pub submodules: Vec<Module>,
}

impl Design {
    fn leaf(top: Module) -> Design {
        Design { top, submodules: Vec::new() }
    }

    /// The packages first (every tool reads a package before the modules that name it), then
    /// the top, then what it instantiates.
    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        let packages = self.submodules.iter().filter(|m| m.is_package());
        packages.chain(std::iter::once(&self.top)).chain(self.submodules.iter().filter(|m| !m.is_package()))
    }
}

/// Everything a tool or a test needs to know about one generated accelerator, written as
/// `config.json` next to its Verilog so the RTL, the runtime and the tests read the same numbers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConfigFile {
    pub generator: &'static str,
    pub preset: Option<&'static str>,
    pub top: String,
    #[serde(flatten)]
    pub config: AccelConfig,
    pub split_bits: u32,
    pub scratchpad_word_bits: u32,
    pub float: FloatFormat,
    pub block_elements: u32,
    pub multiplier_lanes: u32,
    pub formats: Vec<FormatEntry>,
    pub command_bits: u32,
    pub counters: Vec<&'static str>,
    pub pipeline: Pipeline,
    pub modules: Vec<String>,
}

/// The datapath's pipeline, which every cycle count in `host::timing` includes.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Pipeline {
    /// Stages of a DPE from a slice to its accumulator (slice sum, scaling, accumulation).
    pub dpe_stages: u32,
    /// Registers on every array edge (operand skew lines and result capture).
    pub edge_registers: u32,
    /// Cycles from a drain command to the result in the array's capture register, past the
    /// skew.
    pub drain_delay: u32,
    /// The DPE's generator parameters (`hdlgen::dpe::DpeConfig`): outputs it interleaves
    /// (accumulators) and the stages of its scaling and of its accumulation.
    pub dpe: dpe::DpeConfig,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FormatEntry {
    #[serde(flatten)]
    pub format: MxFormat,
    pub block_bits: u32,
    pub cycles_per_block: u32,
    /// Host port beats of one load line filling every row (A) of the array.
    pub load_beats_all_rows: u32,
}

impl ConfigFile {
    pub fn new(config: AccelConfig, preset: Option<&'static str>) -> ConfigFile {
        ConfigFile {
            generator: concat!("dacapo hdlgen ", env!("CARGO_PKG_VERSION")),
            preset,
            top: config.top_name(),
            config,
            split_bits: config.array().split_bits(),
            scratchpad_word_bits: accel::WORD_BITS,
            float: FloatFormat::F32,
            block_elements: mx::BLOCK,
            multiplier_lanes: mx::BLOCK,
            formats: MxFormat::ALL
                .iter()
                .map(|&f| FormatEntry {
                    format: f,
                    block_bits: f.block_bits(),
                    cycles_per_block: f.cycles_per_block(),
                    load_beats_all_rows: config.load_beats(f, config.rows),
                })
                .collect(),
            command_bits: accel::cmd::BITS,
            counters: accel::COUNTERS.to_vec(),
            pipeline: Pipeline {
                dpe_stages: config.array().dpe.latency(),
                edge_registers: array::EDGE_LATENCY,
                drain_delay: config.array().drain_delay(),
                dpe: config.array().dpe,
            },
            modules: accel_design(config).modules().map(|m| m.name().to_string()).collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the config serializes") + "\n"
    }

    /// The configuration a `config.json` describes. Its parameters (`AccelConfig`'s fields, the
    /// DPE's under `pipeline.dpe`, the presets' DPE when that is absent) are checked as `AccelConfig::new` checks them; every other field it holds must be what
    /// the generator derives from them, so a hand-edited derived field is not silently
    /// ignored. Errors name the field.
    pub fn read(text: &str) -> Result<AccelConfig, ConfigError> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ConfigError::FileFormat(format!("is not JSON: {e}")))?;
        let serde_json::Value::Object(fields) = &json else {
            return Err(ConfigError::FileFormat("must be one JSON object".into()));
        };
        // A whole-number field, by its path of names from the top.
        let param = |path: &[&str]| -> Result<u32, ConfigError> {
            let name = path.join(".");
            let value = path
                .iter()
                .try_fold(&json, |v, key| v.get(key))
                .ok_or_else(|| ConfigError::MissingField(name.clone()))?;
            value
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| ConfigError::NotWholeNumber { name, value: value.to_string() })
        };
        let dpe = |name: &'static str| param(&["pipeline", "dpe", name]);
        let config = AccelConfig::new(
            param(&["rows"])?,
            param(&["cols"])?,
            param(&["port_bits"])?,
            param(&["a_depth"])?,
            param(&["b_depth"])?,
            param(&["queue_depth"])?,
        )
        .and_then(|c| match json.get("pipeline").and_then(|p| p.get("dpe")) {
            None => Ok(c),
            Some(_) => c.with_dpe(dpe::DpeConfig::new(
                dpe("interleave")?,
                dpe("slice_stages")?,
                dpe("scale_stages")?,
                dpe("add_stages")?,
            )?),
        })
        .map_err(|e| match e {
            ConfigError::MissingField(_) | ConfigError::NotWholeNumber { .. } => e,
            e => ConfigError::InvalidParameter(Box::new(e)),
        })?;
        let preset = match fields.get("preset") {
            None | Some(serde_json::Value::Null) => None,
            Some(name) => Some(
                PRESETS
                    .iter()
                    .find(|p| name.as_str() == Some(p.name) && p.config == config)
                    .ok_or_else(|| ConfigError::PresetMismatch(name.to_string()))?
                    .name,
            ),
        };
        let mut derived =
            serde_json::to_value(ConfigFile::new(config, preset)).expect("the config serializes");
        derived["generator"] = json["generator"].clone();
        check_fields("", &json, &derived)?;
        Ok(config)
    }
}

/// Every field of `given` (an object at `path`) must be in `derived`, and equal to it; an
/// object's fields are checked one by one, so a nested object may leave derived fields out.
fn check_fields(
    path: &str,
    given: &serde_json::Value,
    derived: &serde_json::Value,
) -> Result<(), ConfigError> {
    match (given, derived) {
        (serde_json::Value::Object(given), serde_json::Value::Object(derived)) => {
            for (field, value) in given {
                let name = if path.is_empty() { field.clone() } else { format!("{path}.{field}") };
                let want = derived.get(field).ok_or_else(|| ConfigError::UnknownField(name.clone()))?;
                check_fields(&name, value, want)?;
            }
            Ok(())
        }
        _ if given == derived => Ok(()),
        _ => Err(ConfigError::DerivedMismatch {
            name: path.to_string(),
            value: given.to_string(),
            want: derived.to_string(),
        }),
    }
}

/// The first line of every file `make rtl` writes; only files that start with it are ever
/// replaced or removed there.
pub const GENERATED_HEADER: &str =
    "// Generated by dacapo's hdlgen: do not edit. Regenerate with `make rtl`.";

/// The files of one accelerator: one `.sv` per module, then `config.json`.
pub fn design_files(config: AccelConfig, preset: Option<&'static str>) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = accel_design(config).modules().map(module_file).collect();
    files.push(("config.json".into(), ConfigFile::new(config, preset).to_json()));
    files
}

/// A module's file: `<module>.sv` with the generated-file header.
pub fn module_file(module: &Module) -> (String, String) {
    (format!("{}.sv", module.name()), format!("{GENERATED_HEADER}\n{}", module.to_verilog()))
}

/// The folder of `rtl/` that holds the modules several presets use, once.
pub const RTL_COMMON: &str = "common";

/// The files `make rtl` writes into `rtl/`: in `<preset>/` each preset's `config.json` and the
/// modules only it uses, and in `common/` once each module that several presets use (the
/// package, the presets' DPE, the parameterized `sram` and `skew_line`). A module's name carries
/// every parameter of its configuration that is not a Verilog parameter, so two presets' modules
/// of one name are one module.
pub fn rtl_files() -> Vec<(String, String)> {
    let presets: Vec<(&str, Vec<(String, String)>)> =
        PRESETS.iter().map(|p| (p.name, design_files(p.config, Some(p.name)))).collect();
    let users = |file: &str| presets.iter().filter(|(_, files)| files.iter().any(|(n, _)| n == file)).count();
    let mut out: Vec<(String, String)> = Vec::new();
    for (preset, files) in &presets {
        for (name, text) in files {
            let folder = if name.ends_with(".sv") && users(name) > 1 { RTL_COMMON } else { preset };
            let path = format!("{folder}/{name}");
            match out.iter().find(|(n, _)| *n == path) {
                Some((_, written)) => assert_eq!(written, text, "two presets' {name} differ"),
                None => out.push((path, text.clone())),
            }
        }
    }
    out
}

/// The datapath units at their default parameters, which the `sim` crate compiles and tests
/// one by one and `make synth` reports.
pub fn designs() -> Vec<Design> {
    vec![
        Design::leaf(fp_add(FloatFormat::F32)),
        Design::leaf(mx_convert()),
        dpe_design(),
        dpe::dpe_design_with(dpe::DpeConfig::INTERLEAVED),
        array_design(ArrayConfig::SMALL),
        array_design(ArrayConfig::INTERLEAVED),
    ]
}

/// The PEs the DPE is compared with in `reports/synth.md`; the `sim` crate compiles them too,
/// so they are tested like the datapath.
pub fn baseline_designs() -> Vec<Design> {
    vec![
        Design::leaf(fp_mul(FloatFormat::F32)),
        baselines::mac_f32_design(),
        baselines::mac_f32_pipelined_design(),
        baselines::mac_int8_design(),
    ]
}
