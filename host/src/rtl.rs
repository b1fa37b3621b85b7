//! GEMMs on the Verilator chip: each part runs its `GemmPlan`, both parts at once when both
//! have one; the result, the cycles and the counters come back with the cycles the timing
//! model predicts.

use anyhow::ensure;
use mx::MxMatrix;
use sim::{Chip, Counters, Part};

use crate::plan::GemmPlan;
use crate::timing::{schedule, PortShare, Schedule};

/// The most cycles one run may simulate: about 30 minutes of the 16 x 16 model at its slowest
/// (25 000 cycles/s), and 2 minutes of the 4 x 4.
pub const MAX_SIMULATED_CYCLES: u64 = 50_000_000;

/// A GEMM for one part: A (M x K, blocked along rows) times B (K x N, blocked along columns).
pub struct GemmJob<'a> {
    pub part: Part,
    pub a: &'a MxMatrix,
    pub b: &'a MxMatrix,
}

/// What a GEMM run returns.
#[derive(Clone, Debug)]
pub struct GemmRun {
    /// Row-major M x N f32 result.
    pub c: Vec<f32>,
    /// Cycles from the first command until the part was idle with its results stored.
    pub cycles: u64,
    /// What `timing::schedule` predicts: `model.cycles` is `cycles`, its stalls the counters'.
    pub model: Schedule,
    pub macs: u64,
    /// Part rows x columns: the DPEs the GEMM ran on.
    pub dpes: u64,
    pub counters: Counters,
}

impl GemmRun {
    /// Useful MACs per DPE MAC slot over the run (1, 4, 16 MACs per DPE per cycle).
    pub fn utilization(&self, format: mx::Format) -> f64 {
        let per_cycle = (mx::BLOCK as u32 / format.cycles_per_block()) as f64;
        self.macs as f64 / (self.dpes as f64 * per_cycle * self.cycles as f64)
    }
}

/// Plans, for each job, its GEMM on its part of `chip` under the current split, with K chunks
/// of at most `chunk_words` scratchpad words; then runs them all at once.
pub fn run_gemms(
    chip: &mut Chip,
    jobs: &[GemmJob],
    chunk_words: Option<u32>,
) -> anyhow::Result<Vec<GemmRun>> {
    let mut plans = Vec::new();
    let mut host = chip.host_beats();
    for job in jobs {
        ensure!(jobs.iter().filter(|j| j.part == job.part).count() == 1, "one GEMM per part at a time");
        let plan = GemmPlan::new(chip.config(), chip.part_rows(job.part), job.a, job.b, host, chunk_words)?;
        host = plan.host_end;
        plans.push(plan);
    }
    // The model: the top part first, since the bottom part waits for its port requests.
    let mut models: Vec<Schedule> = vec![Schedule::default(); jobs.len()];
    let mut blocked = Vec::new();
    for part in [Part::Top, Part::Bottom] {
        if let Some(i) = jobs.iter().position(|j| j.part == part) {
            let port = PortShare { rate: chip.memory_rate(), phase: chip.memory_phase(), blocked: &blocked };
            models[i] = schedule(chip.config(), chip.part_rows(part), &plans[i].commands, port)?;
            blocked = models[i].requests.clone();
        }
    }
    let longest = models.iter().map(|m| m.cycles).max().unwrap_or(0);
    ensure!(
        longest <= MAX_SIMULATED_CYCLES,
        "the timing model predicts {longest} cycles for this run, more than the {MAX_SIMULATED_CYCLES} \
         cycles one simulation may take; run a smaller GEMM or give the memory more bandwidth"
    );
    for (job, plan) in jobs.iter().zip(&plans) {
        for (beat, words) in plan.operand_beats(job.a, job.b) {
            chip.write_host(beat, &words);
        }
    }
    let start = chip.cycles();
    let before: Vec<Counters> = jobs.iter().map(|j| chip.counters(j.part)).collect();
    for (job, plan) in jobs.iter().zip(&plans) {
        for &c in &plan.commands {
            chip.push(job.part, c);
        }
    }
    let limit = 2 * longest + 10_000;
    let idle_at = chip.run(limit)?;
    let mut runs = Vec::new();
    for ((job, plan), (before, model)) in jobs.iter().zip(&plans).zip(before.iter().zip(&models)) {
        runs.push(GemmRun {
            c: plan.results(|beat, beats| chip.read_host(beat, beats)),
            cycles: idle_at[job.part as usize] - start,
            model: model.clone(),
            macs: plan.macs(),
            dpes: u64::from(chip.part_rows(job.part) * chip.config().cols),
            counters: chip.counters(job.part).since(before),
        });
    }
    Ok(runs)
}
