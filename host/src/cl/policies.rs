//! The allocation policies on the accelerator: DaCapo's spatiotemporal loop and its static
//! spatial ablation (../shared/CONTEXT.md). Each plays one scenario in simulated time: phases
//! last what the timing model says the real networks take, while the small networks do the
//! learning.

use std::collections::VecDeque;

use anyhow::{bail, Context};
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

/// The spatial step on the array: inference on its fewest rows for the whole run (the top
/// part), the rest shared by labeling and retraining (the bottom part). Returns the shared rows.
pub fn allocate(world: &mut World, timing: &mut dyn Timing) -> anyhow::Result<u32> {
    let rows = inference_rows(timing)?;
    let shared = timing.rows() - rows;
    world.split = Some((rows, shared));
    world.record(0.0, world.end(), "infer", Some(rows), "mx6");
    Ok(shared)
}

/// Whether the labeled accuracy dropped at least `DRIFT_DROP` below the validation accuracy.
pub fn is_drift(validation: f64, labeled: f64) -> bool {
    validation - labeled >= DRIFT_DROP - 1e-9
}

/// Seconds of one retraining of `train` samples for `epochs` epochs plus the validation of
/// `validation` samples, on `rows` rows.
pub fn retrain_seconds(
    timing: &mut dyn Timing,
    rows: u32,
    train: usize,
    epochs: usize,
    validation: usize,
) -> anyhow::Result<f64> {
    let iterations = (epochs * train.div_ceil(TRAIN_BATCH)) as f64;
    let checks = validation.div_ceil(TRAIN_BATCH) as f64;
    Ok(iterations * timing.seconds(Kernel::Train, rows, TRAIN_BATCH as u64)?
        + checks * timing.seconds(Kernel::Infer, rows, TRAIN_BATCH as u64)?)
}

/// DaCapo-Spatiotemporal: inference on its fewest rows; the other rows alternate between
/// retraining (1 epoch on 324 buffered samples, 108 held-out ones to validate) and labeling
/// 108 frames of the last two phases; a labeled accuracy 5 points under the validation
/// accuracy is drift, which clears the buffer and labels until it holds 432 again.
pub fn spatiotemporal(world: &mut World, timing: &mut dyn Timing) -> anyhow::Result<()> {
    let shared = allocate(world, timing)?;
    let label_s = timing.seconds(Kernel::Label, shared, 1)?;
    let end = world.end();
    let mut buffer: VecDeque<Sample> = VecDeque::new();
    let mut t = 0.0;
    let mut extra = true;
    // The start of the last label phase: the next one samples the frames seen since.
    let mut since = 0.0;
    while t < end {
        if extra {
            // Label until the buffer holds enough, each time a frame not labeled yet from
            // those seen since the last label phase began (spread over many scenes rather
            // than the run of near-identical frames arriving meanwhile).
            let start = t;
            let first = world.frame_at(since);
            since = start;
            let mut frames = Vec::new();
            while buffer.len() + frames.len() < EXTRA_LABEL_TARGET && t + label_s <= end {
                let seen = world.frame_at(t);
                let frame = unpicked(&mut world.rng, first, seen, &frames);
                frames.insert(frames.partition_point(|&f| f < frame), frame);
                t += label_s;
            }
            push_labels(&mut buffer, world.label(&frames)?);
            world.record(start, t, "label", Some(shared), "mx6");
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
        world.record(retrain_start, t, "train", Some(shared), "mx9");

        let duration = LABELS_PER_PHASE as f64 * label_s;
        if t + duration > end {
            break;
        }
        // Frames seen during the last label and retrain phases, evenly spaced from a random
        // offset: uniform, and no frame twice.
        let first = world.frame_at(since);
        let last = world.frame_at(t).max(first + 1);
        let span = (last - first) as f64 / LABELS_PER_PHASE as f64;
        let offset = world.rng.unit_f64();
        let frames: Vec<u64> =
            (0..LABELS_PER_PHASE).map(|i| first + ((i as f64 + offset) * span) as u64).collect();
        let labeled = world.label(&frames)?;
        let labeled_acc = world.student_accuracy(&labeled)?;
        world.record(t, t + duration, "label", Some(shared), "mx6");
        since = t;
        t += duration;
        if is_drift(validation_acc, labeled_acc) {
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
    let label_s = timing.seconds(Kernel::Label, shared, 1)?;
    let per_window = (label_fraction * FRAMES_PER_WINDOW as f64).round() as usize;
    let mut previous: Vec<Sample> = Vec::new();
    for w in 0..world.windows() {
        let (start, window_end) =
            ((w as u64 * WINDOW_SECONDS) as f64, ((w as u64 + 1) * WINDOW_SECONDS) as f64);
        let mut t = start;
        if !previous.is_empty() {
            let duration = retrain_seconds(timing, shared, previous.len(), 2, 0)?;
            let candidate = world.trained(&previous, 2, mx::Format::Mx9)?;
            t = (t + duration).min(window_end);
            world.deploy(t, candidate)?;
            world.record(start, t, "train", Some(shared), "mx9");
        }
        let label_start = t;
        let mut frames = Vec::new();
        while frames.len() < per_window && t + label_s <= window_end {
            frames.push(world.frame_at(t));
            t += label_s;
        }
        previous = world.label(&frames).context("labeling")?;
        world.record(label_start, t, "label", Some(shared), "mx6");
    }
    Ok(())
}
