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
use super::world::{balanced_newest, batches, Phase, Place, Sample, World, TRAIN_BATCH};
use super::{Pair, Timing};
use crate::kernels::Numerics;
use crate::latency::Kernel;
use crate::stream::{Stream, FPS, FRAMES_PER_WINDOW, WINDOW_SECONDS};

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

/// The device's background work beside inference: where it runs and in which numerics.
struct Background<'t> {
    timing: &'t mut dyn Timing,
    place: Place,
    numerics: Numerics,
}

impl Background<'_> {
    /// Wall-clock seconds of one iteration of `kernel` at `batch`.
    fn seconds(&mut self, kernel: Kernel, batch: u64) -> anyhow::Result<f64> {
        self.place.seconds(self.timing, kernel, batch)
    }

    /// Retraining `samples` for `epochs` epochs.
    fn train_seconds(&mut self, samples: usize, epochs: usize) -> anyhow::Result<f64> {
        Ok((epochs * samples.div_ceil(TRAIN_BATCH)) as f64
            * self.seconds(Kernel::Train, TRAIN_BATCH as u64)?)
    }

    /// Runs `iterations` of `kernel` at `batch` from `start` seconds: the phase's end.
    fn run(
        &mut self,
        world: &mut World,
        kernel: Kernel,
        batch: u64,
        iterations: usize,
        start: f64,
    ) -> anyhow::Result<f64> {
        world.run(self.timing, self.place, kernel, batch, iterations as u64, start)
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
            Ok(Background { timing, place: Place::Shared(shared), numerics: Format::Mx9.into() })
        }
        Sharing::TimeShared => {
            let busy = FPS as f64 * timing.seconds(Kernel::Infer, 1, 1)?;
            ensure!(busy < 1.0, "inference alone takes {:.0} % of the GPU's time", 100.0 * busy);
            world.inference = Numerics::F32;
            let kernel = Kernel::Infer.name();
            world.record(Phase { start: 0.0, end, kernel, part: None, rows: None, format: "fp16" });
            let place = Place::TimeShared { stretch: 1.0 / (1.0 - busy) };
            Ok(Background { timing, place, numerics: Numerics::F32 })
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

/// Ekya's micro-profiler: a copy of the student trained 5 epochs on 80 % of a random subset of
/// `size` of `samples`, its accuracy on the other 20 % before and after each epoch, fitted to
/// a learning curve. Returns the curve and the training iterations the profile runs.
fn micro_profile(
    world: &mut World,
    bg: &mut Background,
    samples: &[Sample],
    size: usize,
) -> anyhow::Result<(Curve, usize)> {
    const EPOCHS: usize = 5;
    let mut subset = samples.to_vec();
    for i in (1..subset.len()).rev() {
        subset.swap(i, world.rng.below(i as u64 + 1) as usize);
    }
    subset.truncate(size.max(2));
    let held = (subset.len() / 5).max(1);
    let (test, train) = subset.split_at(held.min(subset.len()));
    let student = world.student().clone();
    let now = world.accuracy(&student, test)?;
    let mut net = student;
    let mut acc = Vec::new();
    for _ in 0..EPOCHS {
        net = world.train_further(net, train, batches(train.len()), bg.numerics)?;
        acc.push(world.accuracy(&net, test)?);
    }
    Ok((Curve::fit(now, &acc), EPOCHS * batches(train.len())))
}

/// Where Ekya's micro-profiling time goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profiling {
    /// Before the window's timer starts, as the reference harness runs it: free.
    #[default]
    BeforeWindow,
    /// Inside the window, ahead of its labeling: charged.
    InWindow,
}

/// The configurations one Ekya searches per window.
#[derive(Clone, Debug, PartialEq)]
pub struct EkyaSpace {
    /// Retraining epochs.
    pub epochs: Vec<usize>,
    /// The share of a window's frames labeled: fixed, or (None) the largest that fits, searched
    /// in 1 % steps.
    pub label_rate: Option<f64>,
    /// Shares of the window's labels retrained on, largest first.
    pub train_rates: Vec<f64>,
    /// The micro-profiler's subset: at most `profile_cap` samples, and at most
    /// `profile_share` of the previous window's labels.
    pub profile_cap: usize,
    pub profile_share: f64,
}

impl EkyaSpace {
    /// Ekya on the GPU: epochs {5, 15, 30}, the largest labeling rate that fits, retraining on
    /// every label, a micro-profile of up to 200 of them.
    pub fn orin() -> EkyaSpace {
        EkyaSpace {
            epochs: vec![5, 15, 30],
            label_rate: None,
            train_rates: vec![1.0],
            profile_cap: 200,
            profile_share: 1.0,
        }
    }

    /// Ekya's policy on the array, as the reference DaCapo-Ekya configures it: the pair's fixed
    /// labeling rate (DaCapo-Spatial's), training rates {1.0, 0.62, 0.23}, epochs 2..=10, a
    /// micro-profile of 10 % of the labels.
    pub fn dacapo(pair: super::Pair) -> EkyaSpace {
        EkyaSpace {
            epochs: (2..=10).collect(),
            label_rate: Some(pair.spatial_label_fraction()),
            train_rates: vec![1.0, 0.62, 0.23],
            profile_cap: usize::MAX,
            profile_share: 0.1,
        }
    }

    fn labeling_rates(&self) -> Vec<f64> {
        match self.label_rate {
            Some(rate) => vec![rate],
            None => (1..=100).map(|percent| f64::from(percent) / 100.0).collect(),
        }
    }
}

/// One window's configuration: frames labeled, labels retrained on, epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EkyaConfig {
    pub epochs: usize,
    pub label_rate: f64,
    pub train_rate: f64,
}

impl EkyaConfig {
    /// Frames the window labels.
    pub fn labels(&self) -> usize {
        (self.label_rate * FRAMES_PER_WINDOW as f64).round() as usize
    }

    /// Samples retraining takes of `labels`.
    pub fn train_samples(&self, labels: usize) -> usize {
        ((self.train_rate * labels as f64).round() as usize).min(labels)
    }
}

/// Ekya's choice for a window: per epoch count and training rate, the largest labeling rate
/// whose labeling and retraining (`busy_seconds(labels, train_samples, epochs)`) fit in the
/// window; then the configuration with the best predicted accuracy over the window (the old
/// model serves until the new one is trained). Without a learning curve yet (the first
/// window), the fewest epochs and the largest rates. None when nothing fits.
pub fn ekya_choice(
    space: &EkyaSpace,
    curve: Option<Curve>,
    busy_seconds: &mut dyn FnMut(usize, usize, usize) -> anyhow::Result<f64>,
) -> anyhow::Result<Option<EkyaConfig>> {
    let window = WINDOW_SECONDS as f64;
    let mut best: Option<(f64, EkyaConfig)> = None;
    for &epochs in &space.epochs {
        for &train_rate in &space.train_rates {
            let mut fitting = None;
            for label_rate in space.labeling_rates() {
                let config = EkyaConfig { epochs, label_rate, train_rate };
                let busy = busy_seconds(config.labels(), config.train_samples(config.labels()), epochs)?;
                if busy <= window {
                    fitting = Some((config, busy));
                }
            }
            let Some((config, busy)) = fitting else { continue };
            let predicted =
                curve.map_or(-(epochs as f64), |c| (busy * c.now + (window - busy) * c.at(epochs)) / window);
            if best.is_none_or(|(p, _)| predicted > p + 1e-12) {
                best = Some((predicted, config));
            }
        }
    }
    Ok(best.map(|(_, config)| config))
}

/// Ekya: per 120-s window, a micro-profile of the previous window's labels (before the
/// window or inside it, `profiling`), the configuration it predicts best, the chosen share of
/// the window's frames labeled (the shared label sampler), then retraining on the chosen
/// share of them until the window ends: the chosen epochs, and more while time is left, as
/// the reference does.
pub fn ekya(
    world: &mut World,
    timing: &mut dyn Timing,
    sharing: Sharing,
    space: &EkyaSpace,
    profiling: Profiling,
) -> anyhow::Result<()> {
    let mut bg = background(world, timing, sharing)?;
    let label_s = bg.seconds(Kernel::Label, 1)?;
    let step_s = bg.seconds(Kernel::Train, TRAIN_BATCH as u64)?;
    let mut previous: Vec<Sample> = Vec::new();
    let mut since = 0.0;
    for w in 0..world.windows() {
        let window_start = (w as u64 * WINDOW_SECONDS) as f64;
        let window_end = window_start + WINDOW_SECONDS as f64;
        let (curve, charged) = if previous.is_empty() {
            (None, 0.0)
        } else {
            let size =
                ((space.profile_share * previous.len() as f64).round() as usize).min(space.profile_cap);
            let (curve, iterations) = micro_profile(world, &mut bg, &previous, size)?;
            if profiling == Profiling::InWindow {
                let done = bg.run(world, Kernel::Train, TRAIN_BATCH as u64, iterations, window_start)?;
                (Some(curve), done - window_start)
            } else {
                (Some(curve), 0.0)
            }
        };
        let choice = ekya_choice(space, curve, &mut |labels, train, epochs| {
            Ok(charged + labels as f64 * label_s + bg.train_seconds(train, epochs)?)
        })?;
        let Some(config) = choice else { continue };
        let start = window_start + charged;
        let first = world.frame_at(since);
        let (frames, t) =
            world.label_phase(bg.timing, bg.place, first, start, config.labels(), window_end)?;
        since = start;
        let mut labeled = world.label(&frames)?;
        for i in (1..labeled.len()).rev() {
            labeled.swap(i, world.rng.below(i as u64 + 1) as usize);
        }
        let train = &labeled[..config.train_samples(labeled.len())];
        let steps = ((window_end - t) / step_s + 1e-9).floor().max(0.0) as usize;
        if train.is_empty() || steps == 0 {
            previous = labeled;
            continue;
        }
        let candidate = world.train_further(world.student().clone(), train, steps, bg.numerics)?;
        let end = bg.run(world, Kernel::Train, TRAIN_BATCH as u64, steps, t)?;
        world.deploy(end, candidate)?;
        previous = labeled;
    }
    Ok(())
}

/// Frames per EOMU window (10 s).
const EOMU_WINDOW: u64 = 10 * FPS;
/// EOMU's warm-up, in which it retrains after every window.
const EOMU_WARM_UP_SECONDS: f64 = 480.0;
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
    /// earlier ones (after at least three) and the mean before it.
    pub fn add(&mut self, acc: f64) -> (bool, f64) {
        let sd = self.var.sqrt();
        let trigger = self.seen >= 3 && acc < self.mean - sd;
        let before = if self.seen == 0 { acc } else { self.mean };
        if self.seen == 0 {
            self.mean = acc;
        } else {
            let d = acc - self.mean;
            self.mean += EOMU_DECAY * d;
            self.var = (1.0 - EOMU_DECAY) * (self.var + EOMU_DECAY * d * d);
        }
        self.seen += 1;
        (trigger, before)
    }
}

/// How much a frame changed since the previous one, by EOMU's frame differencing: luma
/// standardized per frame (so the rule holds in the dark and in fog alike), 3 x 3 Gaussian
/// blur, then the share of pixels that moved more than 0.5 and the mean move.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Change {
    pub share: f64,
    pub mean: f64,
}

/// The `Change` of each of `count` frames from `first` of `stream`.
pub fn changes(stream: &Stream, first: u64, count: u64) -> Vec<Change> {
    let size = crate::stream::SIZE;
    let luma = |frame: u64| -> Vec<f32> {
        let f = stream.frame(frame);
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
    let mut out = Vec::with_capacity(count as usize);
    let mut before = luma(first.saturating_sub(1));
    for frame in first..first + count {
        let now = luma(frame);
        let moves: Vec<f32> = now.iter().zip(&before).map(|(a, b)| (a - b).abs()).collect();
        let changed = moves.iter().filter(|&&m| m > 0.5).count();
        let n = now.len() as f64;
        out.push(Change {
            share: changed as f64 / n,
            mean: moves.iter().map(|&m| f64::from(m)).sum::<f64>() / n,
        });
        before = now;
    }
    out
}

/// The changed share above which EOMU's paper calls a frame a key frame (40 % of pixels).
/// On our 16 x 16 frames it fires only at scene cuts, about 2 % of frames against budgets of
/// 4 to 19 %.
pub const PAPER_KEY_FRAME_SHARE: f64 = 0.4;

/// EOMU's key frames among `count` frames from `first`: the `budget` frames that changed most
/// (`changes`: by the share of pixels that moved, then by the mean move; ties to the earlier
/// frame), in frame order. The paper's intent is a key-frame rate that fills its labeling
/// budget; ranking the window's frames by change keeps its frame differencing and makes that
/// hold on our stream, where its fixed 40 % marks only the scene cuts and most frames within
/// a scene move no pixel past 0.5.
pub fn key_frames(stream: &Stream, first: u64, count: u64, budget: usize) -> Vec<u64> {
    let mut ranked: Vec<(u64, Change)> = (first..).zip(changes(stream, first, count)).collect();
    ranked.sort_by(|(fa, a), (fb, b)| {
        b.share.total_cmp(&a.share).then(b.mean.total_cmp(&a.mean)).then(fa.cmp(fb))
    });
    let mut keys: Vec<u64> = ranked.into_iter().take(budget).map(|(f, _)| f).collect();
    keys.sort_unstable();
    keys
}

/// EOMU's epoch search: simulated annealing over 1..=30 epochs of utility
/// `predicted accuracy - urgency x cost`, cost being the labeling and retraining's share of
/// a window; the best epoch count seen (the reference returns the last one proposed, a bug).
pub fn eomu_epochs(curve: Curve, urgency: f64, cost: impl Fn(usize) -> f64, rng: &mut mx::rng::Rng) -> usize {
    let utility = |e: usize| curve.at(e) - urgency * cost(e);
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

/// EOMU on the GPU, per 10-s window: at its end, label its key frames (the budget's share of
/// its frames, floor(budget x 300), the cap the reference means to enforce), then, during
/// the warm-up or when the accuracy on them falls below the decayed mean minus the decayed
/// deviation of past accuracies, retrain on the newest 324 class-balanced labels in batches
/// of 16 until the next window ends, for at most the epochs the annealing search picks. No micro-profiler: the search predicts that retraining
/// closes the drop under the decayed mean as `mean - drop / epochs`, with cost = labeling
/// plus retraining seconds over the window's, urgency = labels / 300 (the reference's).
pub fn eomu(world: &mut World, timing: &mut dyn Timing, budget: f64) -> anyhow::Result<()> {
    let mut bg = background(world, timing, Sharing::TimeShared)?;
    let label_s = bg.seconds(Kernel::Label, 1)?;
    let step_s = bg.seconds(Kernel::Train, TRAIN_BATCH as u64)?;
    let mut buffer: VecDeque<Sample> = VecDeque::new();
    let mut trend = AccuracyTrend::default();
    let mut free_at = 0.0;
    let windows = world.frames() / EOMU_WINDOW;
    let window_s = EOMU_WINDOW as f64 / FPS as f64;
    let cap = ((budget * EOMU_WINDOW as f64).floor() as usize).max(1);
    for k in 0..windows {
        let end = ((k + 1) * EOMU_WINDOW) as f64 / FPS as f64;
        let keys = key_frames(world.stream, k * EOMU_WINDOW, EOMU_WINDOW, cap);
        // (Labels after the stream's end would serve no frame.)
        if keys.is_empty() || free_at > end || end >= world.end() {
            continue;
        }
        let labeled = world.label(&keys)?;
        let mut t = bg.run(world, Kernel::Label, 1, keys.len(), end)?;
        let acc = world.student_accuracy(&labeled)?;
        push_labels(&mut buffer, labeled);
        let (trigger, mean) = trend.add(acc);
        let warm_up = end <= EOMU_WARM_UP_SECONDS;
        let deadline = (end + window_s).min(world.end());
        if (trigger || warm_up) && buffer.len() >= TRAIN_BATCH && t + step_s <= deadline {
            let samples: Vec<Sample> = balanced_newest(&buffer, TRAIN_SAMPLES);
            let curve = Curve { now: acc, full: mean.max(acc), gap: (mean - acc).max(0.0) };
            let epoch_s = bg.train_seconds(samples.len(), 1)?;
            let labeling = keys.len() as f64 * label_s;
            let urgency = keys.len() as f64 / EOMU_WINDOW as f64;
            let epochs =
                eomu_epochs(curve, urgency, |e| (labeling + e as f64 * epoch_s) / window_s, &mut world.rng);
            let steps =
                (epochs * batches(samples.len())).min(((deadline - t) / step_s + 1e-9).floor() as usize);
            let candidate = world.train_further(world.student().clone(), &samples, steps, bg.numerics)?;
            t = bg.run(world, Kernel::Train, TRAIN_BATCH as u64, steps, t)?;
            world.deploy(t, candidate)?;
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
        world.record(Phase {
            start: t,
            end: t,
            kernel: Kernel::Train.name(),
            part: None,
            rows: None,
            format: "f32",
        });
    }
    Ok(())
}
