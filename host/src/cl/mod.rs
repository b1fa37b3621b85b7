//! Continuous learning on the drifting stream: a student classifies every frame, a teacher
//! labels some, the student retrains on them, under an allocation policy that decides when
//! and on how much of the accelerator each kernel runs. Phase lengths come from the timing
//! model of the real networks on the real array (`Timing`); the small networks of `net`
//! supply the accuracy dynamics.

pub mod baselines;
pub mod policies;
pub mod pretrain;
pub mod protocol;
pub mod world;

use mx::Format;
use sim::Part;

use crate::latency::{Kernel, Profiler};
use crate::scheduler::{Job, Scheduler};
use crate::workloads::Model;

/// The student / teacher pairs of the evaluation (../shared/CONTEXT.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pair {
    ResNet18,
    ResNet34,
    Vit,
}

impl Pair {
    pub const ALL: [Pair; 3] = [Pair::ResNet18, Pair::ResNet34, Pair::Vit];

    pub fn name(self) -> &'static str {
        match self {
            Pair::ResNet18 => "resnet18",
            Pair::ResNet34 => "resnet34",
            Pair::Vit => "vit",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<Pair> {
        crate::named::by_name(&Pair::ALL, Pair::name, name, ("pair", "pairs"))
    }

    /// (student, teacher).
    pub fn models(self) -> (Model, Model) {
        match self {
            Pair::ResNet18 => (Model::ResNet18, Model::WideResNet50_2),
            Pair::ResNet34 => (Model::ResNet34, Model::WideResNet101_2),
            Pair::Vit => (Model::VitB32, Model::VitB16),
        }
    }

    /// EOMU's labeling budget: the largest share of frames it labels.
    pub fn eomu_budget(self) -> f64 {
        match self {
            Pair::ResNet18 => 0.19,
            Pair::ResNet34 => 0.04,
            Pair::Vit => 0.17,
        }
    }

    /// DaCapo-Spatial's labeled share of each window's frames.
    pub fn spatial_label_fraction(self) -> f64 {
        match self {
            Pair::ResNet18 => 0.2075,
            Pair::ResNet34 => 0.0961,
            Pair::Vit => 0.1269,
        }
    }
}

/// The MX format each kernel runs in: inference, labeling and validation MX6, training MX9.
pub fn kernel_format(kernel: Kernel) -> Format {
    match kernel {
        Kernel::Infer | Kernel::Label => Format::Mx6,
        Kernel::Train => Format::Mx9,
    }
}

/// Seconds per iteration of the pair's kernels on a part of the array.
pub trait Timing {
    /// Rows of the whole array.
    fn rows(&self) -> u32;
    /// One iteration of `kernel` (the student's inference or training, the teacher's
    /// labeling) at `batch` on `rows` rows, in the kernel's format.
    fn seconds(&mut self, kernel: Kernel, rows: u32, batch: u64) -> anyhow::Result<f64>;

    /// The same on the shared part's `rows` while the student's inference of every frame runs
    /// on the other `inference_rows`. On the array the two parts share the host port and
    /// inference wins it, so this takes longer; a table without that contention gives
    /// `seconds`.
    fn seconds_beside_inference(
        &mut self,
        kernel: Kernel,
        rows: u32,
        batch: u64,
        inference_rows: u32,
    ) -> anyhow::Result<f64> {
        let _ = inference_rows;
        self.seconds(kernel, rows, batch)
    }

    /// Starts a run of the array: the student's inference of every frame on the top `rows`
    /// rows from 0 until `end` seconds, the other rows shared. Returns the phase's start and
    /// end.
    fn start_inference(&mut self, rows: u32, end: f64) -> anyhow::Result<(f64, f64)> {
        let _ = rows;
        Ok((0.0, end))
    }

    /// Runs `iterations` of `kernel` at `batch` on the `shared` part from `start` seconds, or
    /// once the part is free; returns the seconds it starts and ends. The array queues it on
    /// its `Scheduler`, which times it beside inference; a table runs it at `start` for
    /// `iterations` times `seconds_beside_inference`.
    fn run_shared(
        &mut self,
        shared: policies::Shared,
        kernel: Kernel,
        batch: u64,
        iterations: u64,
        start: f64,
    ) -> anyhow::Result<(f64, f64)> {
        let each = self.seconds_beside_inference(kernel, shared.rows, batch, shared.inference_rows)?;
        Ok((start, start + iterations as f64 * each))
    }
}

/// The pair's real networks on the accelerator, from the timing model: each run's kernels
/// placed on the two parts by a `Scheduler`.
pub struct ArrayTiming {
    pair: Pair,
    scheduler: Scheduler,
    clock_mhz: f64,
}

impl ArrayTiming {
    pub fn new(pair: Pair, profiler: Profiler, clock_mhz: f64) -> ArrayTiming {
        let scheduler = Scheduler::new(profiler, 0).expect("a split of 0 fits every array");
        ArrayTiming { pair, scheduler, clock_mhz }
    }

    /// The scheduler of the current (or last) run, with its timeline.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The network a kernel runs: the teacher labels, the student infers and trains.
    fn job(&self, kernel: Kernel, batch: u64) -> Job {
        let (student, teacher) = self.pair.models();
        let model = if kernel == Kernel::Label { teacher } else { student };
        Job { model, kernel, format: kernel_format(kernel), batch }
    }

    fn seconds_of(&self, cycles: u64) -> f64 {
        cycles as f64 / (self.clock_mhz * 1e6)
    }

    fn cycles_of(&self, seconds: f64) -> u64 {
        (seconds * self.clock_mhz * 1e6).round() as u64
    }

    /// Cycles between frames: the period of the inference of every frame, both when a run
    /// places it and when a kernel's cost beside it is looked up.
    fn frame_period(&self) -> u64 {
        (self.clock_mhz * 1e6 / crate::stream::FPS as f64) as u64
    }
}

impl Timing for ArrayTiming {
    fn rows(&self) -> u32 {
        self.scheduler.array_rows()
    }

    fn seconds(&mut self, kernel: Kernel, rows: u32, batch: u64) -> anyhow::Result<f64> {
        let job = self.job(kernel, batch);
        let cost = self.scheduler.profiler().kernel(job.model, kernel, job.format, rows, batch)?;
        Ok(self.seconds_of(cost.cycles))
    }

    /// As the chip times it: the shared part's GEMMs lose the host-port cycles that the
    /// student's inference of every frame takes on the top part (`Profiler::kernel_beside`).
    fn seconds_beside_inference(
        &mut self,
        kernel: Kernel,
        rows: u32,
        batch: u64,
        inference_rows: u32,
    ) -> anyhow::Result<f64> {
        let inference = self.job(Kernel::Infer, 1).every(self.frame_period(), inference_rows);
        let key = self.job(kernel, batch).on(rows);
        let cost = self.scheduler.profiler().kernel_beside(key, inference)?;
        Ok(self.seconds_of(cost.cycles))
    }

    fn start_inference(&mut self, rows: u32, end: f64) -> anyhow::Result<(f64, f64)> {
        self.scheduler.restart(rows)?;
        let (job, period, end) = (self.job(Kernel::Infer, 1), self.frame_period(), self.cycles_of(end));
        let phase = self.scheduler.periodic(job, period, 0, end)?;
        let (start, end) = (phase.start, phase.end);
        Ok((self.seconds_of(start), self.seconds_of(end)))
    }

    fn run_shared(
        &mut self,
        shared: policies::Shared,
        kernel: Kernel,
        batch: u64,
        iterations: u64,
        start: f64,
    ) -> anyhow::Result<(f64, f64)> {
        let split = self.scheduler.split();
        anyhow::ensure!(
            shared.inference_rows == split && shared.rows == self.scheduler.rows(Part::Bottom),
            "the shared part of {} rows beside {} for inference is not the scheduler's cut after row {split}",
            shared.rows,
            shared.inference_rows
        );
        let (job, not_before) = (self.job(kernel, batch), self.cycles_of(start));
        let phase = self.scheduler.run(Part::Bottom, not_before, job, iterations)?;
        let (start, end) = (phase.start, phase.end);
        Ok((self.seconds_of(start), self.seconds_of(end)))
    }
}

/// The allocation policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    DacapoSpatiotemporal,
    DacapoSpatial,
    EkyaDacapo,
    EkyaOrin,
    EomuOrin,
    F32Unbounded,
}

impl Policy {
    pub const ALL: [Policy; 6] = [
        Policy::DacapoSpatiotemporal,
        Policy::DacapoSpatial,
        Policy::EkyaDacapo,
        Policy::EkyaOrin,
        Policy::EomuOrin,
        Policy::F32Unbounded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::DacapoSpatiotemporal => "dacapo-spatiotemporal",
            Policy::DacapoSpatial => "dacapo-spatial",
            Policy::EkyaDacapo => "ekya-dacapo",
            Policy::EkyaOrin => "ekya-orin",
            Policy::EomuOrin => "eomu-orin",
            Policy::F32Unbounded => "f32-unbounded",
        }
    }

    /// Whether the policy lives within a time budget (all but the upper bound).
    pub fn time_bounded(self) -> bool {
        self != Policy::F32Unbounded
    }

    /// Comma-separated policy names in the order given, or all of them for "all".
    pub fn parse_list(names: &str) -> anyhow::Result<Vec<Policy>> {
        if names == "all" {
            return Ok(Policy::ALL.to_vec());
        }
        crate::named::parse_list("--policy", names, |name| {
            crate::named::by_name(&Policy::ALL, Policy::name, name, ("policy", "policies"))
                .map_err(|e| anyhow::anyhow!("{e} (or all)"))
        })
    }
}

/// Variations of the policies: the ablations and Ekya's two accountings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// DaCapo-Spatiotemporal's drift test (off: it never clears its buffer).
    pub drift_test: bool,
    /// Rows for inference on the array instead of the fewest that keep 30 fps.
    pub inference_rows: Option<u32>,
    /// Where Ekya's micro-profiling time goes.
    pub ekya_profiling: baselines::Profiling,
}

impl Default for Options {
    fn default() -> Options {
        Options { drift_test: true, inference_rows: None, ekya_profiling: baselines::Profiling::BeforeWindow }
    }
}

/// What to play: a scenario's first `windows` windows of a take on a backend, the policies'
/// random choices (sampling, shuffling) drawn from `seed`.
pub struct Play {
    pub scenario: usize,
    /// The stream's take: 0, or 2 and up (pretraining trains on take 1).
    pub take: u64,
    pub windows: usize,
    pub backend: Box<dyn crate::backend::Backend>,
    pub seed: u64,
    pub options: Options,
}

impl Play {
    /// The whole scenario (take 0) on the golden model of the `dacapo` preset.
    pub fn golden(scenario: usize, seed: u64) -> anyhow::Result<Play> {
        let backend = Box::new(crate::backend::Golden::new("dacapo")?);
        Ok(Play {
            scenario,
            take: 0,
            windows: crate::stream::WINDOWS,
            backend,
            seed,
            options: Options::default(),
        })
    }
}

/// One scenario played under one policy.
#[derive(Clone, Debug)]
pub struct ScenarioRun {
    /// (frame, correct) of every scored frame.
    pub scored: Vec<(u64, bool)>,
    pub windows: Vec<f64>,
    /// Geometric mean of the windows after the warm-up (0..1).
    pub score: f64,
    pub timeline: Vec<world::Phase>,
    /// (top, bottom) rows of the array's parts; None off the array.
    pub split: Option<(u32, u32)>,
    /// The student at the end.
    pub student: crate::net::Net,
    /// Labels, retrainings and drift events.
    pub counts: world::Counts,
}

/// Plays `play` (a scenario 1..=6, some windows, a backend) under `policy` with the
/// pretrained networks; `labels`
/// caches the teacher's labels of this scenario across policies; `timing` times the array
/// (the GPU baselines use the Orin's latencies).
pub fn run_scenario(
    policy: Policy,
    pair: Pair,
    play: Play,
    nets: (&crate::net::Net, &crate::net::Net),
    labels: &mut world::Labels,
    timing: &mut dyn Timing,
) -> anyhow::Result<ScenarioRun> {
    anyhow::ensure!(
        play.take != pretrain::TAKE,
        "take {} is the one the networks were pretrained on; play take 0 or 2 and up",
        play.take
    );
    let stream = crate::stream::Stream::take(play.scenario, play.take)?;
    let seed = mx::rng::splitmix64(play.scenario as u64 ^ (policy as u64) << 8 ^ play.seed << 16);
    let mut world =
        world::World::new(&stream, (nets.0.clone(), nets.1), labels, seed, play.backend, play.windows)?;
    world.options = play.options;
    let mut orin = baselines::OrinTiming::new(pair);
    match policy {
        Policy::DacapoSpatiotemporal => policies::spatiotemporal(&mut world, timing)?,
        Policy::DacapoSpatial => policies::spatial(&mut world, timing, pair.spatial_label_fraction())?,
        Policy::EkyaDacapo => {
            let space = baselines::EkyaSpace::dacapo(pair);
            baselines::ekya(
                &mut world,
                timing,
                baselines::Sharing::Spatial,
                &space,
                play.options.ekya_profiling,
            )?
        }
        Policy::EkyaOrin => {
            let space = baselines::EkyaSpace::orin();
            let sharing = baselines::Sharing::TimeShared;
            baselines::ekya(&mut world, &mut orin, sharing, &space, play.options.ekya_profiling)?
        }
        Policy::EomuOrin => baselines::eomu(&mut world, &mut orin, pair.eomu_budget())?,
        Policy::F32Unbounded => baselines::unbounded(&mut world)?,
    }
    world.finish()
}
