//! The allocation policies on the accelerator: DaCapo's spatiotemporal loop and its static
//! spatial ablation (../shared/CONTEXT.md). Each plays one scenario in simulated time: phases
//! last what the timing model says the real networks take, while the small networks do the
//! learning.

use std::collections::VecDeque;

use anyhow::{bail, ensure, Context};
use mx::rng::Rng;
use sim::Part;

use super::world::{balanced_newest, Phase, Place, Sample, World, TRAIN_BATCH};
use super::{kernel_format, Timing};
use crate::latency::Kernel;
use crate::stream::{FPS, FRAMES_PER_WINDOW, WINDOW_SECONDS};

/// Frames per second the student must classify.
const FRAME_RATE: f64 = FPS as f64;
/// The labeled sample buffer between labeling and retraining.
pub const BUFFER: usize = 1080;
/// Training and validation samples drawn per retraining, and frames per label phase.
pub const TRAIN_SAMPLES: usize = 324;
pub const VALIDATION_SAMPLES: usize = 108;
pub const LABELS_PER_PHASE: usize = 108;
/// Samples the extra label phase fills the buffer to.
pub const EXTRA_LABEL_TARGET: usize = 432;
/// A drop of the labeled accuracy this far below the validation accuracy is drift.
pub const DRIFT_DROP: f64 = 0.05;

/// The spatial step: the fewest rows on which one student frame at MX6 takes at most 1/30 s.
pub fn inference_rows(timing: &mut dyn Timing) -> anyhow::Result<u32> {
    for rows in 1..timing.rows() {
        if timing.seconds(Kernel::Infer, rows, 1)? <= 1.0 / FRAME_RATE {
            return Ok(rows);
        }
    }
    bail!("the student's inference does not reach 30 fps on fewer than all {} rows", timing.rows())
}

/// The rows inference takes: `chosen`, or the fewest that keep 30 fps. Chosen rows must keep
/// 30 fps and leave the shared part at least one row.
pub fn inference_rows_or(timing: &mut dyn Timing, chosen: Option<u32>) -> anyhow::Result<u32> {
    let fewest = inference_rows(timing)?;
    let rows = chosen.unwrap_or(fewest);
    ensure!(
        (fewest..timing.rows()).contains(&rows),
        "inference on {rows} of the {} rows: it needs {fewest} to {} (at least {fewest} keep 30 fps, and the shared part needs a row)",
        timing.rows(),
        timing.rows() - 1
    );
    Ok(rows)
}

/// The shared part of the array after the spatial step: its rows, beside inference on the
/// other rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shared {
    pub rows: u32,
    pub inference_rows: u32,
}

impl Shared {
    /// One iteration of `kernel` at `batch` on the shared part while inference runs beside it.
    pub fn seconds(self, timing: &mut dyn Timing, kernel: Kernel, batch: u64) -> anyhow::Result<f64> {
        timing.seconds_beside_inference(kernel, self.rows, batch, self.inference_rows)
    }
}

/// The spatial step on the array: inference on its fewest rows for the whole run (the top
/// part), or on the rows the run's options give it, the rest shared by labeling and
/// retraining (the bottom part).
pub fn allocate(world: &mut World, timing: &mut dyn Timing) -> anyhow::Result<Shared> {
    let inference_rows = inference_rows_or(timing, world.options.inference_rows)?;
    let rows = timing.rows() - inference_rows;
    world.split = Some((inference_rows, rows));
    let (start, end) = timing.start_inference(inference_rows, world.end())?;
    let format = kernel_format(Kernel::Infer).name();
    let (part, rows_used) = (Some(Part::Top), Some(inference_rows));
    world.record(Phase { start, end, kernel: Kernel::Infer.name(), part, rows: rows_used, format });
    Ok(Shared { rows, inference_rows })
}

/// Whether the labeled accuracy dropped at least `DRIFT_DROP` below the validation accuracy.
pub fn is_drift(validation: f64, labeled: f64) -> bool {
    validation - labeled >= DRIFT_DROP - 1e-9
}

/// One retraining: `train` samples for `epochs` epochs, then the validation of `validation`
/// samples, in mini-batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retraining {
    pub train: usize,
    pub epochs: usize,
    pub validation: usize,
}

impl Retraining {
    /// Training iterations and validation batches.
    fn batches(self) -> (u64, u64) {
        (
            (self.epochs * self.train.div_ceil(TRAIN_BATCH)) as u64,
            self.validation.div_ceil(TRAIN_BATCH) as u64,
        )
    }

    /// Its seconds on the shared part.
    pub fn seconds(self, timing: &mut dyn Timing, shared: Shared) -> anyhow::Result<f64> {
        let (iterations, checks) = self.batches();
        Ok(iterations as f64 * shared.seconds(timing, Kernel::Train, TRAIN_BATCH as u64)?
            + checks as f64 * shared.seconds(timing, Kernel::Infer, TRAIN_BATCH as u64)?)
    }

    /// Runs it on the shared part from `start` seconds: the training phase, then the
    /// validation's inference. Returns its end.
    pub fn run(
        self,
        world: &mut World,
        timing: &mut dyn Timing,
        shared: Shared,
        start: f64,
    ) -> anyhow::Result<f64> {
        let (iterations, checks) = self.batches();
        let place = Place::Shared(shared);
        let batch = TRAIN_BATCH as u64;
        let trained = world.run(timing, place, Kernel::Train, batch, iterations, start)?;
        world.run(timing, place, Kernel::Infer, batch, checks, trained)
    }
}

/// DaCapo-Spatiotemporal: inference on its fewest rows; the other rows alternate between
/// retraining (1 epoch on 324 buffered samples, 108 held-out ones to validate) and labeling
/// 108 frames of the last two phases; a labeled accuracy 5 points under the validation
/// accuracy is drift, which clears the buffer and labels until it holds 432 again.
pub fn spatiotemporal(world: &mut World, timing: &mut dyn Timing) -> anyhow::Result<()> {
    let shared = allocate(world, timing)?;
    let place = Place::Shared(shared);
    let label_s = shared.seconds(timing, Kernel::Label, 1)?;
    let end = world.end();
    let mut buffer: VecDeque<Sample> = VecDeque::new();
    let mut t = 0.0;
    let mut extra = true;
    // The start of the last label phase: the next one samples the frames seen since.
    let mut since = 0.0;
    while t < end {
        if extra {
            // Label until the buffer holds enough (the shared sampler: frames seen since the
            // last label phase began).
            let first = world.frame_at(since);
            since = t;
            let wanted = EXTRA_LABEL_TARGET.saturating_sub(buffer.len());
            let (frames, done) = world.label_phase(timing, place, first, t, wanted, end)?;
            t = done;
            push_labels(&mut buffer, world.label(&frames)?);
            extra = false;
        }
        if buffer.is_empty() {
            break;
        }
        let train = balanced_newest(buffer.iter().filter(|s| !s.validates()), TRAIN_SAMPLES);
        let validation = balanced_newest(buffer.iter().filter(|s| s.validates()), VALIDATION_SAMPLES);
        let retraining = Retraining { train: train.len(), epochs: 1, validation: validation.len() };
        if t + retraining.seconds(timing, shared)? > end {
            break;
        }
        let candidate = world.trained(&train, 1, mx::Format::Mx9)?;
        let validation_acc = world.accuracy(&candidate, &validation)?;
        t = retraining.run(world, timing, shared, t)?;
        world.deploy(t, candidate)?;

        if t + label_s > end {
            break;
        }
        // 108 frames of those seen during the last retrain and label phases (and this one).
        let (frames, done) =
            world.label_phase(timing, place, world.frame_at(since), t, LABELS_PER_PHASE, end)?;
        let labeled = world.label(&frames)?;
        let labeled_acc = world.student_accuracy(&labeled)?;
        since = t;
        t = done;
        if world.options.drift_test && is_drift(validation_acc, labeled_acc) {
            world.counts.drifts += 1;
            buffer.clear();
            extra = true;
        }
        push_labels(&mut buffer, labeled);
    }
    Ok(())
}

/// A frame of `first..=last` uniformly among those not in `picked` (sorted, within the
/// range); `last` when every one is picked.
pub fn unpicked(rng: &mut Rng, first: u64, last: u64, picked: &[u64]) -> u64 {
    let free = (last - first + 1).saturating_sub(picked.len() as u64);
    if free == 0 {
        return last;
    }
    // The j-th free frame: step over the picked frames at or below it.
    let mut frame = first + rng.below(free);
    for &p in picked {
        if p > frame {
            break;
        }
        frame += 1;
    }
    frame
}

/// New labels go to the front of the buffer (newest first); beyond `BUFFER` the oldest drop.
pub fn push_labels(buffer: &mut VecDeque<Sample>, labels: Vec<Sample>) {
    for s in labels {
        buffer.push_front(s);
    }
    buffer.truncate(BUFFER);
}

/// DaCapo-Spatial: fixed 120-s windows; first retrain 2 epochs on the previous window's
/// labels, then label the pair's fixed share of the window's frames as they arrive.
pub fn spatial(world: &mut World, timing: &mut dyn Timing, label_fraction: f64) -> anyhow::Result<()> {
    let shared = allocate(world, timing)?;
    let per_window = (label_fraction * FRAMES_PER_WINDOW as f64).round() as usize;
    let mut previous: Vec<Sample> = Vec::new();
    let mut since = 0.0;
    for w in 0..world.windows() {
        let (start, window_end) =
            ((w as u64 * WINDOW_SECONDS) as f64, ((w as u64 + 1) * WINDOW_SECONDS) as f64);
        let mut t = start;
        if !previous.is_empty() {
            let candidate = world.trained(&previous, 2, mx::Format::Mx9)?;
            let retraining = Retraining { train: previous.len(), epochs: 2, validation: 0 };
            t = retraining.run(world, timing, shared, t)?;
            world.deploy(t, candidate)?;
        }
        let first = world.frame_at(since);
        since = t;
        let (frames, _) =
            world.label_phase(timing, Place::Shared(shared), first, t, per_window, window_end)?;
        previous = world.label(&frames).context("labeling")?;
    }
    Ok(())
}
