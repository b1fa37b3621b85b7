//! The allocation policies on the accelerator: DaCapo's spatiotemporal loop and its static
//! spatial ablation (../shared/CONTEXT.md). Each plays one scenario in simulated time: phases
//! last what the timing model says the real networks take, while the small networks do the
//! learning.

use std::collections::VecDeque;

use anyhow::{bail, ensure, Context};
use mx::rng::Rng;

use super::world::{balanced_newest, Sample, World, TRAIN_BATCH};
use super::Timing;
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
    world.record(0.0, world.end(), "infer", Some(inference_rows), "mx6");
    Ok(Shared { rows, inference_rows })
}

/// Whether the labeled accuracy dropped at least `DRIFT_DROP` below the validation accuracy.
pub fn is_drift(validation: f64, labeled: f64) -> bool {
    validation - labeled >= DRIFT_DROP - 1e-9
}

/// Seconds of one retraining of `train` samples for `epochs` epochs plus the validation of
/// `validation` samples, on the shared part.
pub fn retrain_seconds(
    timing: &mut dyn Timing,
    shared: Shared,
    train: usize,
    epochs: usize,
    validation: usize,
) -> anyhow::Result<f64> {
    let iterations = (epochs * train.div_ceil(TRAIN_BATCH)) as f64;
    let checks = validation.div_ceil(TRAIN_BATCH) as f64;
    Ok(iterations * shared.seconds(timing, Kernel::Train, TRAIN_BATCH as u64)?
        + checks * shared.seconds(timing, Kernel::Infer, TRAIN_BATCH as u64)?)
}

/// DaCapo-Spatiotemporal: inference on its fewest rows; the other rows alternate between
/// retraining (1 epoch on 324 buffered samples, 108 held-out ones to validate) and labeling
/// 108 frames of the last two phases; a labeled accuracy 5 points under the validation
/// accuracy is drift, which clears the buffer and labels until it holds 432 again.
pub fn spatiotemporal(world: &mut World, timing: &mut dyn Timing) -> anyhow::Result<()> {
    let shared = allocate(world, timing)?;
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
            let start = t;
            let first = world.frame_at(since);
            since = start;
            let (frames, done) =
                world.sample_frames(first, t, label_s, EXTRA_LABEL_TARGET.saturating_sub(buffer.len()), end);
            t = done;
            push_labels(&mut buffer, world.label(&frames)?);
            world.record(start, t, "label", Some(shared.rows), "mx6");
            extra = false;
        }
        if buffer.is_empty() {
            break;
        }
        let retrain_start = t;
        let train = balanced_newest(buffer.iter().filter(|s| !s.validates()), TRAIN_SAMPLES);
        let validation = balanced_newest(buffer.iter().filter(|s| s.validates()), VALIDATION_SAMPLES);
        let duration = retrain_seconds(timing, shared, train.len(), 1, validation.len())?;
        if t + duration > end {
            break;
        }
        let candidate = world.trained(&train, 1, mx::Format::Mx9)?;
        let validation_acc = world.accuracy(&candidate, &validation)?;
        t += duration;
        world.deploy(t, candidate)?;
        world.record(retrain_start, t, "train", Some(shared.rows), "mx9");

        if t + label_s > end {
            break;
        }
        // 108 frames of those seen during the last retrain and label phases (and this one).
        let (frames, done) = world.sample_frames(world.frame_at(since), t, label_s, LABELS_PER_PHASE, end);
        let labeled = world.label(&frames)?;
        let labeled_acc = world.student_accuracy(&labeled)?;
        world.record(t, done, "label", Some(shared.rows), "mx6");
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
    let label_s = shared.seconds(timing, Kernel::Label, 1)?;
    let per_window = (label_fraction * FRAMES_PER_WINDOW as f64).round() as usize;
    let mut previous: Vec<Sample> = Vec::new();
    let mut since = 0.0;
    for w in 0..world.windows() {
        let (start, window_end) =
            ((w as u64 * WINDOW_SECONDS) as f64, ((w as u64 + 1) * WINDOW_SECONDS) as f64);
        let mut t = start;
        if !previous.is_empty() {
            let duration = retrain_seconds(timing, shared, previous.len(), 2, 0)?;
            let candidate = world.trained(&previous, 2, mx::Format::Mx9)?;
            t = (t + duration).min(window_end);
            world.deploy(t, candidate)?;
            world.record(start, t, "train", Some(shared.rows), "mx9");
        }
        let label_start = t;
        let (frames, done) = world.sample_frames(world.frame_at(since), t, label_s, per_window, window_end);
        since = label_start;
        t = done;
        previous = world.label(&frames).context("labeling")?;
        world.record(label_start, t, "label", Some(shared.rows), "mx6");
    }
    Ok(())
}
