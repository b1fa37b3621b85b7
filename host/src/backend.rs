//! Backends that run GEMMs on one part of the accelerator: `Golden` (the bit-exact numerics
//! and the cycle model, fast) and `Rtl` (the Verilator chip). On the same GEMM they return the
//! same bits and the same cycle count.

use anyhow::ensure;
use hdlgen::accel::AccelConfig;
use mx::{gemm, MxMatrix};
use sim::{Chip, MemoryRate, Part};

use crate::latency::Profiler;
use crate::plan::GemmShape;
use crate::rtl::{run_gemms, GemmJob};

/// What a backend returns for one GEMM.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmResult {
    /// Row-major M x N f32 result.
    pub c: Vec<f32>,
    /// Cycles from the first command until the part is idle with the result stored.
    pub cycles: u64,
}

/// Runs GEMMs on a part of an accelerator preset.
pub trait Backend {
    fn config(&self) -> AccelConfig;
    /// Moves the cut between the parts; both parts must be idle.
    fn set_split(&mut self, split: u32) -> anyhow::Result<()>;
    /// A (M x K, blocked along rows) times B (K x N, blocked along columns) on `part`.
    fn gemm(&mut self, part: Part, a: &MxMatrix, b: &MxMatrix) -> anyhow::Result<GemmResult>;
}

/// The golden model: `mx::gemm` for the bits, the timing model of the same plan for the
/// cycles (`latency::Profiler`, which remembers each shape's cycles).
pub struct Golden {
    config: AccelConfig,
    split: u32,
    profiler: Profiler,
}

impl Golden {
    pub fn new(preset: &str) -> anyhow::Result<Golden> {
        let config = hdlgen::preset(preset)?;
        Ok(Golden { config, split: 0, profiler: Profiler::new(config, MemoryRate::FULL) })
    }
}

impl Backend for Golden {
    fn config(&self) -> AccelConfig {
        self.config
    }

    fn set_split(&mut self, split: u32) -> anyhow::Result<()> {
        ensure!(split <= self.config.rows, "split {split} is past the {} rows", self.config.rows);
        self.split = split;
        Ok(())
    }

    fn gemm(&mut self, part: Part, a: &MxMatrix, b: &MxMatrix) -> anyhow::Result<GemmResult> {
        let rows = part.rows(self.config.rows, self.split);
        let shape = GemmShape::of(a, b)?;
        ensure!(rows > 0, "the part has no rows under this split");
        let cycles = self.profiler.gemm(rows, shape)?.cycles;
        Ok(GemmResult { c: gemm(a, b)?, cycles })
    }
}

/// The Verilator chip of a preset.
pub struct Rtl {
    chip: Chip,
}

impl Rtl {
    pub fn new(preset: &str) -> anyhow::Result<Rtl> {
        Ok(Rtl { chip: Chip::new(preset)? })
    }
}

impl Backend for Rtl {
    fn config(&self) -> AccelConfig {
        self.chip.config()
    }

    fn set_split(&mut self, split: u32) -> anyhow::Result<()> {
        Ok(self.chip.set_split(split)?)
    }

    fn gemm(&mut self, part: Part, a: &MxMatrix, b: &MxMatrix) -> anyhow::Result<GemmResult> {
        let run = run_gemms(&mut self.chip, &[GemmJob { part, a, b }], None)?.remove(0);
        Ok(GemmResult { c: run.c, cycles: run.cycles })
    }
}
