//! The baselines DaCapo is measured against (../shared/CONTEXT.md): Ekya's per-window
//! configuration search, on a time-shared GPU or on our array; EOMU's key frames and
//! accuracy-triggered retraining on the GPU; and the unconstrained f32 upper bound.
//!
//! The GPU is a Jetson AGX Orin timed by its measured FP16 latencies, one kernel at a time:
//! inference runs every frame, and labeling and retraining get the rest of its time. The GPU
//! baselines compute in f32 (standing in for FP16), the array's kernels in their MX formats.

use std::collections::VecDeque;

use anyhow::ensure;
use mx::Format;

use super::policies::{allocate, push_labels, TRAIN_SAMPLES};
use super::world::{balanced_newest, Sample, World, TRAIN_BATCH};
use super::{Pair, Timing};
use crate::kernels::Numerics;
use crate::latency::Kernel;
use crate::stream::{FPS, FRAMES_PER_WINDOW, WINDOW_SECONDS};

/// The Orin's measured latencies for a pair (default power mode, FP16).
pub struct OrinTiming {
    /// Seconds per frame of student inference, per batch-32 training iteration, per label.
    infer: f64,
    train32: f64,
    label: f64,
}

impl OrinTiming {
    pub fn new(pair: Pair) -> OrinTiming {
        let (infer, train32, label) = match pair {
            Pair::ResNet18 => (17.1e-3, 82.5e-3, 47.7e-3),
            Pair::ResNet34 => (26.3e-3, 120e-3, 101e-3),
            Pair::Vit => (20.5e-3, 155e-3, 20.8e-3),
        };
        OrinTiming { infer, train32, label }
    }
}

impl Timing for OrinTiming {
    /// One device, no rows to split.
    fn rows(&self) -> u32 {
        1
    }

    fn seconds(&mut self, kernel: Kernel, _rows: u32, batch: u64) -> anyhow::Result<f64> {
        Ok(match kernel {
            Kernel::Infer => batch as f64 * self.infer,
            Kernel::Label => batch as f64 * self.label,
            Kernel::Train => batch as f64 / 32.0 * self.train32,
        })
    }
}

/// How the background kernels (labeling, retraining) share the device with inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// Our array: inference on its fewest rows, the background on the others.
    Spatial,
    /// A GPU: inference takes its share of every second, the background the rest.
    TimeShared,
}

/// Wall-clock seconds of background work on the device.
struct Background<'t> {
    timing: &'t mut dyn Timing,
    /// The shared part's rows on the array; none on the GPU.
    rows: Option<u32>,
    /// Wall seconds per second of background work.
    stretch: f64,
    numerics: Numerics,
    /// The formats of retraining and labeling in the timeline.
    train_format: &'static str,
    label_format: &'static str,
}

impl Background<'_> {
    fn seconds(&mut self, kernel: Kernel, batch: u64) -> anyhow::Result<f64> {
        Ok(self.timing.seconds(kernel, self.rows.unwrap_or(1), batch)? * self.stretch)
    }

    /// Retraining `samples` for `epochs` epochs.
    fn train_seconds(&mut self, samples: usize, epochs: usize) -> anyhow::Result<f64> {
        Ok((epochs * samples.div_ceil(TRAIN_BATCH)) as f64
            * self.seconds(Kernel::Train, TRAIN_BATCH as u64)?)
    }
}

fn background<'t>(
    world: &mut World,
    timing: &'t mut dyn Timing,
    sharing: Sharing,
) -> anyhow::Result<Background<'t>> {
    let end = world.end();
    match sharing {
        Sharing::Spatial => {
            let shared = allocate(world, timing)?;
            Ok(Background {
                timing,
                rows: Some(shared),
                stretch: 1.0,
                numerics: Format::Mx9.into(),
                train_format: "mx9",
                label_format: "mx6",
            })
        }
        Sharing::TimeShared => {
            let busy = FPS as f64 * timing.seconds(Kernel::Infer, 1, 1)?;
            ensure!(busy < 1.0, "inference alone takes {:.0} % of the GPU's time", 100.0 * busy);
            world.inference = Numerics::F32;
            world.record(0.0, end, "infer", None, "fp16");
            Ok(Background {
                timing,
                rows: None,
                stretch: 1.0 / (1.0 - busy),
                numerics: Numerics::F32,
                train_format: "fp16",
                label_format: "fp16",
            })
        }
    }
}

/// Learning-curve fit of a micro-profile: accuracy after e epochs is about `full - gap / e`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Curve {
    pub now: f64,
    pub full: f64,
    pub gap: f64,
}

impl Curve {
    pub fn at(&self, epochs: usize) -> f64 {
        (self.full - self.gap / epochs.max(1) as f64).clamp(0.0, 1.0)
    }

    /// The least-squares fit of `acc[k - 1]` (after k epochs) to `full - gap / k`.
    pub fn fit(now: f64, acc: &[f64]) -> Curve {
        let n = acc.len() as f64;
        let xs: Vec<f64> = (1..=acc.len()).map(|k| 1.0 / k as f64).collect();
        let (mx, my) = (xs.iter().sum::<f64>() / n, acc.iter().sum::<f64>() / n);
        let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let sxy: f64 = xs.iter().zip(acc).map(|(x, y)| (x - mx) * (y - my)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        Curve { now, full: my - slope * mx, gap: -slope }
    }
}

/// Samples a micro-profile trains on.
const PROFILE_SAMPLES: usize = 200;
const PROFILE_EPOCHS: usize = 5;

/// Ekya's micro-profiler: a copy of the student trained 5 epochs on 80 % of a random subset of
/// `samples`, its accuracy on the other 20 % before and after each epoch, fitted to a learning
/// curve. Returns the curve and the seconds the profile keeps the device busy.
fn micro_profile(world: &mut World, bg: &mut Background, samples: &[Sample]) -> anyhow::Result<(Curve, f64)> {
    let mut subset = samples.to_vec();
    for i in (1..subset.len()).rev() {
        subset.swap(i, world.rng.below(i as u64 + 1) as usize);
    }
    subset.truncate(PROFILE_SAMPLES);
    let held = (subset.len() / 5).max(1);
    let (test, train) = subset.split_at(held.min(subset.len()));
    let student = world.student().clone();
    let now = world.accuracy(&student, test)?;
    let mut net = student;
    let mut acc = Vec::new();
    for _ in 0..PROFILE_EPOCHS {
        net = world.train_further(net, train, 1, bg.numerics)?;
        acc.push(world.accuracy(&net, test)?);
    }
    let busy = bg.train_seconds(train.len(), PROFILE_EPOCHS)?;
    Ok((Curve::fit(now, &acc), busy))
}

pub const EKYA_EPOCHS: [usize; 3] = [5, 15, 30];
pub const EKYA_RATES: [f64; 9] = [0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3];

/// Ekya's choice for a window: per epoch count, the largest sampling rate whose labeling and
/// retraining of the window's sampled frames fit in the window; then the configuration with
/// the best predicted accuracy over the window (the old model serves until the new one is
/// trained). Without a learning curve yet (the first window), the fewest epochs. Returns
/// (epochs, rate), or None when not even the lowest rate fits.
pub fn ekya_choice(
    curve: Option<Curve>,
    busy_seconds: &mut dyn FnMut(usize, usize) -> anyhow::Result<f64>,
) -> anyhow::Result<Option<(usize, f64)>> {
    let window = WINDOW_SECONDS as f64;
    let mut best: Option<(f64, usize, f64)> = None;
    for epochs in EKYA_EPOCHS {
        let mut fitting = None;
        for rate in EKYA_RATES {
            let busy = busy_seconds(epochs, (rate * FRAMES_PER_WINDOW as f64).round() as usize)?;
            if busy <= window {
                fitting = Some((rate, busy));
            }
        }
        let Some((rate, busy)) = fitting else { continue };
        let predicted =
            curve.map_or(-(epochs as f64), |c| (busy * c.now + (window - busy) * c.at(epochs)) / window);
        if best.is_none_or(|(p, _, _)| predicted > p + 1e-12) {
            best = Some((predicted, epochs, rate));
        }
    }
    Ok(best.map(|(_, e, r)| (e, r)))
}

/// Ekya: per 120-s window, the chosen share of the window's frames labeled as they arrive,
/// then the student retrained on them for the chosen epochs.
pub fn ekya(world: &mut World, timing: &mut dyn Timing, sharing: Sharing) -> anyhow::Result<()> {
    let mut bg = background(world, timing, sharing)?;
    let label_s = bg.seconds(Kernel::Label, 1)?;
    let mut previous: Vec<Sample> = Vec::new();
    for w in 0..world.windows() {
        let window_start = (w as u64 * WINDOW_SECONDS) as f64;
        let (curve, profile_s) = if previous.is_empty() {
            (None, 0.0)
        } else {
            let (curve, busy) = micro_profile(world, &mut bg, &previous)?;
            world.record(window_start, window_start + busy, "train", bg.rows, bg.train_format);
            (Some(curve), busy)
        };
        let choice =
            ekya_choice(curve, &mut |e, n| Ok(profile_s + n as f64 * label_s + bg.train_seconds(n, e)?))?;
        let Some((epochs, rate)) = choice else { continue };
        let start = window_start + profile_s;
        let count = (rate * FRAMES_PER_WINDOW as f64).round() as usize;
        let frames: Vec<u64> = (0..count).map(|i| world.frame_at(start + i as f64 * label_s)).collect();
        let labeled = world.label(&frames)?;
        let t = start + count as f64 * label_s;
        world.record(start, t, "label", bg.rows, bg.label_format);
        let candidate = world.trained(&labeled, epochs, bg.numerics)?;
        let end = t + bg.train_seconds(count, epochs)?;
        world.deploy(end, candidate)?;
        world.record(t, end, "train", bg.rows, bg.train_format);
        previous = labeled;
    }
    Ok(())
}

/// Frames per EOMU window (10 s).
const EOMU_WINDOW: u64 = 10 * FPS;
/// Weight of the newest accuracy in EOMU's decayed mean and deviation.
const EOMU_DECAY: f64 = 0.2;

/// EOMU's retraining trigger: the exponentially decayed mean and deviation of the accuracies
/// on labeled key frames so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct AccuracyTrend {
    mean: f64,
    var: f64,
    seen: usize,
}

impl AccuracyTrend {
    /// Adds an accuracy; returns whether it is under the mean minus the deviation of the
    /// earlier ones (after at least three) and how many deviations under the mean it is.
    pub fn add(&mut self, acc: f64) -> (bool, f64) {
        let sd = self.var.sqrt();
        let trigger = self.seen >= 3 && acc < self.mean - sd;
        let urgency = if sd > 0.0 { ((self.mean - acc) / sd).max(0.0) } else { 0.0 };
        if self.seen == 0 {
            self.mean = acc;
        } else {
            let d = acc - self.mean;
            self.mean += EOMU_DECAY * d;
            self.var = (1.0 - EOMU_DECAY) * (self.var + EOMU_DECAY * d * d);
        }
        self.seen += 1;
        (trigger, urgency)
    }
}

/// EOMU's key frames among `count` frames from `first`: luma standardized per frame (so the
/// rule holds in the dark and in fog alike), 3 x 3 Gaussian blur, a pixel changed when it
/// moved more than 0.5 since the previous frame, a key frame when more than 40 % of its pixels
/// changed.
pub fn key_frames(world: &World, first: u64, count: u64) -> Vec<u64> {
    let size = crate::stream::SIZE;
    let luma = |frame: u64| -> Vec<f32> {
        let f = world.stream.frame(frame);
        let plane = size * size;
        let y: Vec<f32> =
            (0..plane).map(|p| 0.299 * f[p] + 0.587 * f[plane + p] + 0.114 * f[2 * plane + p]).collect();
        let mean = y.iter().sum::<f32>() / plane as f32;
        let std = (y.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / plane as f32).sqrt().max(1e-6);
        // 3 x 3 Gaussian (1 2 1 / 2 4 2 / 1 2 1) / 16, edges clamped.
        let at = |x: isize, y_: isize| {
            (y[(y_.clamp(0, size as isize - 1) as usize) * size + x.clamp(0, size as isize - 1) as usize]
                - mean)
                / std
        };
        (0..plane)
            .map(|p| {
                let (x, yy) = ((p % size) as isize, (p / size) as isize);
                let mut s = 0.0;
                for (dy, wy) in [(-1, 1.0), (0, 2.0), (1, 1.0)] {
                    for (dx, wx) in [(-1, 1.0), (0, 2.0), (1, 1.0)] {
                        s += wx * wy * at(x + dx, yy + dy);
                    }
                }
                s / 16.0
            })
            .collect()
    };
    let mut keys = Vec::new();
    let mut before = luma(first.saturating_sub(1));
    for frame in first..first + count {
        let now = luma(frame);
        let changed = now.iter().zip(&before).filter(|(a, b)| (*a - *b).abs() > 0.5).count();
        if changed * 10 > 4 * now.len() {
            keys.push(frame);
        }
        before = now;
    }
    keys
}

/// EOMU's epoch search: simulated annealing over 1..=30 epochs of utility
/// `predicted accuracy - urgency x cost`, cost being the retraining's share of a window.
pub fn eomu_epochs(curve: Curve, urgency: f64, cost_per_epoch: f64, rng: &mut mx::rng::Rng) -> usize {
    let utility = |e: usize| curve.at(e) - urgency * cost_per_epoch * e as f64;
    let (mut e, mut best) = (5usize, 5usize);
    let mut temperature = 0.05;
    for _ in 0..60 {
        let step = 1 + rng.below(3) as usize;
        let next = if rng.below(2) == 0 { e.saturating_sub(step).max(1) } else { (e + step).min(30) };
        let gain = utility(next) - utility(e);
        if gain >= 0.0 || rng.unit_f64() < (gain / temperature).exp() {
            e = next;
        }
        if utility(e) > utility(best) {
            best = e;
        }
        temperature *= 0.93;
    }
    best
}

/// EOMU on the GPU: every 10 s, label the window's key frames (within the budget share of its
/// frames); retrain when the accuracy on them falls below the decayed mean minus the decayed
/// deviation of past accuracies, on the newest 324 class-balanced labels, for the epochs the
/// annealing search picks.
pub fn eomu(world: &mut World, timing: &mut dyn Timing, budget: f64) -> anyhow::Result<()> {
    let mut bg = background(world, timing, Sharing::TimeShared)?;
    let label_s = bg.seconds(Kernel::Label, 1)?;
    let mut buffer: VecDeque<Sample> = VecDeque::new();
    let mut trend = AccuracyTrend::default();
    let mut free_at = 0.0;
    let windows = world.frames() / EOMU_WINDOW;
    let cap = ((budget * EOMU_WINDOW as f64).round() as usize).max(1);
    for k in 0..windows {
        let end = ((k + 1) * EOMU_WINDOW) as f64 / FPS as f64;
        let mut keys = key_frames(world, k * EOMU_WINDOW, EOMU_WINDOW);
        if keys.len() > cap {
            let step = keys.len() as f64 / cap as f64;
            keys = (0..cap).map(|i| keys[(i as f64 * step) as usize]).collect();
        }
        if keys.is_empty() || free_at > end {
            continue;
        }
        let mut t = end;
        let labeled = world.label(&keys)?;
        world.record(t, t + keys.len() as f64 * label_s, "label", None, "fp16");
        t += keys.len() as f64 * label_s;
        let acc = world.student_accuracy(&labeled)?;
        push_labels(&mut buffer, labeled);
        let (trigger, urgency) = trend.add(acc);
        if trigger && buffer.len() >= TRAIN_BATCH {
            let samples: Vec<Sample> = balanced_newest(&buffer, TRAIN_SAMPLES);
            let start = t;
            let (curve, profile_s) = micro_profile(world, &mut bg, &samples)?;
            let per_epoch = bg.train_seconds(samples.len(), 1)?;
            let epochs = eomu_epochs(curve, urgency, per_epoch / WINDOW_SECONDS as f64, &mut world.rng);
            let candidate = world.trained(&samples, epochs, bg.numerics)?;
            t += profile_s + epochs as f64 * per_epoch;
            world.deploy(t.min(world.end()), candidate)?;
            world.record(start, t, "train", None, "fp16");
        }
        free_at = t;
    }
    Ok(())
}

/// The unconstrained upper bound: every 10 s, every scored frame of those 10 s labeled, then
/// one epoch on 324 class-balanced buffered samples, in f32, deployed at once.
pub fn unbounded(world: &mut World) -> anyhow::Result<()> {
    world.inference = Numerics::F32;
    let mut buffer: VecDeque<Sample> = VecDeque::new();
    let windows = world.frames() / EOMU_WINDOW;
    for k in 0..windows {
        let first = k * EOMU_WINDOW;
        let frames: Vec<u64> =
            (first..first + EOMU_WINDOW).step_by(super::world::SCORE_STRIDE as usize).collect();
        push_labels(&mut buffer, world.label(&frames)?);
        let train = balanced_newest(&buffer, TRAIN_SAMPLES);
        let candidate = world.trained(&train, 1, Numerics::F32)?;
        let t = ((k + 1) * EOMU_WINDOW) as f64 / FPS as f64;
        world.deploy(t, candidate)?;
        world.record(t, t, "train", None, "f32");
    }
    Ok(())
}
