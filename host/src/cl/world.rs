//! What every policy works with during one scenario: the stream, the teacher and its labels,
//! the deployed student and the scoring of the frames it classifies, the training and
//! validation of candidate students, and the timeline of phases.

use std::collections::{BTreeSet, HashMap, VecDeque};

use mx::rng::Rng;
use mx::Format;
use sim::Part;

use super::policies::Shared;
use super::{kernel_format, Timing};
use crate::backend::Backend;
use crate::kernels::Numerics;
use crate::latency::Kernel;
use crate::net::Net;
use crate::ops::Sgd;
use crate::stream::{Stream, CLASSES, FPS, FRAMES_PER_WINDOW, WINDOWS};

/// Every SCORE_STRIDE-th frame is scored (3 a second): the student's accuracy over time at a
/// tenth of the inference work. Policies still account for inference on every frame.
pub const SCORE_STRIDE: u64 = 10;
/// Frames per inference GEMM batch when scoring.
const SCORE_BATCH: usize = 512;
/// Retraining's mini-batch.
pub const TRAIN_BATCH: usize = 16;
/// Retraining's optimizer.
pub const SGD: Sgd = Sgd { lr: 0.005, momentum: 0.9, weight_decay: 5e-4 };

/// A labeled frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub frame: u64,
    pub label: usize,
}

impl Sample {
    /// Whether the sample belongs to the held-out quarter that only validates: the last of
    /// every four 2-s stretches of the stream. Fixed per frame, so no retraining trains on a
    /// sample that another validates on; whole stretches, so validation never sees a
    /// near-identical neighbour of a training frame (a scene lasts 1.5 s).
    pub fn validates(&self) -> bool {
        self.frame / (2 * FPS) % 4 == 3
    }
}

/// One phase of the timeline: `kernel` on a part of the array and its `rows` rows (None: a
/// time-shared GPU) from `start` to `end` seconds, in `format` ("mx6", "mx9", "f32", "fp16").
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub start: f64,
    pub end: f64,
    pub kernel: &'static str,
    pub part: Option<Part>,
    pub rows: Option<u32>,
    pub format: &'static str,
}

/// Where a policy's labeling and retraining run beside the student's inference of every
/// frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Place {
    /// The array's shared part.
    Shared(Shared),
    /// A GPU: `stretch` wall seconds per second of background work.
    TimeShared { stretch: f64 },
}

impl Place {
    /// Wall-clock seconds of one iteration of `kernel` at `batch`.
    pub fn seconds(self, timing: &mut dyn Timing, kernel: Kernel, batch: u64) -> anyhow::Result<f64> {
        match self {
            Place::Shared(shared) => shared.seconds(timing, kernel, batch),
            Place::TimeShared { stretch } => Ok(timing.seconds(kernel, 1, batch)? * stretch),
        }
    }
}

/// A label phase's frames, the runs of labels it made (start in seconds, labels; a run ends
/// where labeling waits for a new frame) and its end.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    pub frames: Vec<u64>,
    pub runs: Vec<(f64, u64)>,
    pub end: f64,
}

/// What a policy did during one scenario, for its summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames the teacher labeled for the policy (each at most once).
    pub labels: usize,
    /// Of those, the ones whose label is the true class.
    pub labels_correct: usize,
    /// Students deployed.
    pub retrainings: usize,
    /// Drift events the policy declared.
    pub drifts: usize,
}

/// Teacher labels, shared by every policy that runs on the same scenario.
#[derive(Default)]
pub struct Labels(HashMap<u64, usize>);

/// One scenario under one policy.
pub struct World<'a> {
    pub stream: &'a Stream,
    teacher: &'a Net,
    labels: &'a mut Labels,
    /// Inference on the top part (one row), labeling and training on the bottom part.
    backend: Box<dyn Backend>,
    student: Net,
    /// Frames played.
    frames: u64,
    /// The first frame not yet scored.
    scored_until: u64,
    scored: Vec<(u64, bool)>,
    pub timeline: Vec<Phase>,
    /// (top, bottom) rows of the array's parts, once a policy allocated them.
    pub split: Option<(u32, u32)>,
    pub rng: Rng,
    /// How the student infers (MX6 on the array; f32 for the GPU baselines' FP16 and the
    /// unconstrained bound).
    pub inference: Numerics,
    /// Frames labeled so far: no frame is labeled twice.
    labeled: BTreeSet<u64>,
    pub counts: Counts,
    pub options: super::Options,
}

impl<'a> World<'a> {
    /// The first `windows` windows of `stream` on `backend`.
    pub fn new(
        stream: &'a Stream,
        (student, teacher): (Net, &'a Net),
        labels: &'a mut Labels,
        seed: u64,
        mut backend: Box<dyn Backend>,
        windows: usize,
    ) -> anyhow::Result<World<'a>> {
        anyhow::ensure!((1..=WINDOWS).contains(&windows), "play 1 to {WINDOWS} windows, not {windows}");
        backend.set_split(1)?;
        Ok(World {
            stream,
            teacher,
            labels,
            backend,
            student,
            frames: windows as u64 * FRAMES_PER_WINDOW,
            scored_until: 0,
            scored: Vec::new(),
            timeline: Vec::new(),
            split: None,
            rng: Rng::new(seed),
            inference: Numerics::Mx(Format::Mx6),
            labeled: BTreeSet::new(),
            counts: Counts::default(),
            options: super::Options::default(),
        })
    }

    /// The frame on screen at `t` seconds.
    pub fn frame_at(&self, t: f64) -> u64 {
        ((t * FPS as f64) as u64).min(self.frames)
    }

    /// Frames played.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Windows played.
    pub fn windows(&self) -> usize {
        (self.frames / FRAMES_PER_WINDOW) as usize
    }

    /// The played length in seconds.
    pub fn end(&self) -> f64 {
        self.frames as f64 / FPS as f64
    }

    pub fn student(&self) -> &Net {
        &self.student
    }

    fn images(&self, frames: &[u64]) -> Vec<f32> {
        frames.iter().flat_map(|&f| self.stream.frame(f)).collect()
    }

    /// The classes `net` gives `frames` (in the student's inference numerics).
    pub fn predict(&mut self, net: &Net, frames: &[u64]) -> anyhow::Result<Vec<usize>> {
        let mut out = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(SCORE_BATCH) {
            let images = self.images(chunk);
            out.extend(net.predict(
                self.backend.as_mut(),
                Part::Top,
                &images,
                chunk.len(),
                self.inference,
            )?);
        }
        Ok(out)
    }

    /// The share of `samples` that `net` classifies as labeled.
    pub fn accuracy(&mut self, net: &Net, samples: &[Sample]) -> anyhow::Result<f64> {
        if samples.is_empty() {
            return Ok(0.0);
        }
        let frames: Vec<u64> = samples.iter().map(|s| s.frame).collect();
        let predicted = self.predict(net, &frames)?;
        Ok(predicted.iter().zip(samples).filter(|(p, s)| **p == s.label).count() as f64
            / samples.len() as f64)
    }

    /// The share of `samples` the deployed student classifies as labeled.
    pub fn student_accuracy(&mut self, samples: &[Sample]) -> anyhow::Result<f64> {
        let student = self.student.clone();
        self.accuracy(&student, samples)
    }

    /// The label sampler of every policy that samples frames to label: a label phase from
    /// `start`, one label per `label_s` seconds, up to `count` labels and none ending after
    /// `end`. Each label takes a frame not labeled before, uniformly among the frames from
    /// `first` to the one on screen when the label starts: spread over everything seen since
    /// `first` (policies pass the start of their previous label phase), never the same frame
    /// twice.
    pub fn sample_frames(&mut self, first: u64, start: f64, label_s: f64, count: usize, end: f64) -> Sampled {
        // This phase's picks, sorted, beside the frames labeled before it.
        let mut picked: Vec<u64> = Vec::new();
        let mut runs: Vec<(f64, u64)> = Vec::new();
        let mut t = start;
        // Whether the last slot labeled (rather than waited).
        let mut labeling = false;
        while picked.len() < count && t + label_s <= end {
            let seen = self.frame_at(t).min(self.frames - 1);
            let first = first.min(seen);
            let mut taken: Vec<u64> = self.labeled.range(first..=seen).copied().collect();
            taken.extend(picked.iter().copied().filter(|f| (first..=seen).contains(f)));
            taken.sort_unstable();
            // With every frame seen labeled already, this label waits for the next frame.
            let free = (taken.len() as u64) <= seen - first;
            if free {
                let frame = super::policies::unpicked(&mut self.rng, first, seen, &taken);
                picked.insert(picked.partition_point(|&f| f < frame), frame);
                match runs.last_mut() {
                    Some((_, labels)) if labeling => *labels += 1,
                    _ => runs.push((t, 1)),
                }
            }
            labeling = free;
            t += label_s;
        }
        Sampled { frames: picked, runs, end: t }
    }

    /// A label phase in `place` (`sample_frames`, each run of labels run on the device):
    /// the frames labeled, in order, and the phase's end.
    pub fn label_phase(
        &mut self,
        timing: &mut dyn Timing,
        place: Place,
        first: u64,
        start: f64,
        count: usize,
        end: f64,
    ) -> anyhow::Result<(Vec<u64>, f64)> {
        let label_s = place.seconds(timing, Kernel::Label, 1)?;
        let sampled = self.sample_frames(first, start, label_s, count, end);
        let mut done = sampled.end;
        for &(at, labels) in &sampled.runs {
            done = done.max(self.run(timing, place, Kernel::Label, 1, labels, at)?);
        }
        Ok((sampled.frames, done))
    }

    /// Teacher labels of `frames` (MX6 labeling), each a frame not labeled before in this
    /// scenario.
    pub fn label(&mut self, frames: &[u64]) -> anyhow::Result<Vec<Sample>> {
        for &f in frames {
            anyhow::ensure!(self.labeled.insert(f), "frame {f} is labeled twice");
        }
        let mut missing: Vec<u64> =
            frames.iter().copied().filter(|f| !self.labels.0.contains_key(f)).collect();
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(SCORE_BATCH) {
            let images = self.images(chunk);
            let classes = self.teacher.predict(
                self.backend.as_mut(),
                Part::Bottom,
                &images,
                chunk.len(),
                Format::Mx6,
            )?;
            self.labels.0.extend(chunk.iter().copied().zip(classes));
        }
        let samples: Vec<Sample> =
            frames.iter().map(|&frame| Sample { frame, label: self.labels.0[&frame] }).collect();
        self.counts.labels += samples.len();
        self.counts.labels_correct +=
            samples.iter().filter(|s| s.label == self.stream.label(s.frame)).count();
        Ok(samples)
    }

    /// Scores the frames before `t` with the deployed student, then deploys `net`.
    pub fn deploy(&mut self, t: f64, net: Net) -> anyhow::Result<()> {
        self.score_until(self.frame_at(t))?;
        self.student = net;
        self.counts.retrainings += 1;
        Ok(())
    }

    /// Scores the rest of the played frames and sums up the run.
    pub fn finish(mut self) -> anyhow::Result<super::ScenarioRun> {
        self.score_until(self.frames)?;
        let windows = super::protocol::window_accuracies(&self.scored);
        Ok(super::ScenarioRun {
            score: super::protocol::scenario_score(&windows),
            scored: self.scored,
            windows,
            timeline: self.timeline,
            split: self.split,
            student: self.student,
            counts: self.counts,
        })
    }

    fn score_until(&mut self, end: u64) -> anyhow::Result<()> {
        let first = self.scored_until.div_ceil(SCORE_STRIDE) * SCORE_STRIDE;
        let frames: Vec<u64> = (first..end).step_by(SCORE_STRIDE as usize).collect();
        let student = self.student.clone();
        let predicted = self.predict(&student, &frames)?;
        self.scored.extend(frames.iter().zip(predicted).map(|(&f, p)| (f, p == self.stream.label(f))));
        self.scored_until = self.scored_until.max(end);
        Ok(())
    }

    /// A copy of the deployed student trained `epochs` epochs on `samples` (shuffled each
    /// epoch, mini-batches of 16).
    pub fn trained(
        &mut self,
        samples: &[Sample],
        epochs: usize,
        numerics: impl Into<Numerics>,
    ) -> anyhow::Result<Net> {
        self.train_further(self.student.clone(), samples, epochs * batches(samples.len()), numerics.into())
    }

    /// `net` trained on `steps` more mini-batches of `samples`, epoch after epoch (the last
    /// one cut short when `steps` is not a whole number of epochs).
    pub fn train_further(
        &mut self,
        mut net: Net,
        samples: &[Sample],
        steps: usize,
        numerics: Numerics,
    ) -> anyhow::Result<Net> {
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut left = steps;
        while left > 0 && !samples.is_empty() {
            for i in (1..order.len()).rev() {
                order.swap(i, self.rng.below(i as u64 + 1) as usize);
            }
            for batch in order.chunks(TRAIN_BATCH).take(left) {
                let frames: Vec<u64> = batch.iter().map(|&i| samples[i].frame).collect();
                let labels: Vec<usize> = batch.iter().map(|&i| samples[i].label).collect();
                let images = self.images(&frames);
                net.train_step(self.backend.as_mut(), Part::Bottom, &images, &labels, numerics, SGD)?;
                left -= 1;
            }
        }
        Ok(net)
    }

    pub fn record(&mut self, phase: Phase) {
        self.timeline.push(phase);
    }

    /// Runs `iterations` of `kernel` at `batch` in `place` from `start` seconds (on the array:
    /// once its shared part is free), records the phase and returns its end.
    pub fn run(
        &mut self,
        timing: &mut dyn Timing,
        place: Place,
        kernel: Kernel,
        batch: u64,
        iterations: u64,
        start: f64,
    ) -> anyhow::Result<f64> {
        if iterations == 0 {
            return Ok(start);
        }
        let phase = match place {
            Place::Shared(shared) => {
                let (start, end) = timing.run_shared(shared, kernel, batch, iterations, start)?;
                let format = kernel_format(kernel).name();
                let (part, rows) = (Some(Part::Bottom), Some(shared.rows));
                Phase { start, end, kernel: kernel.name(), part, rows, format }
            }
            Place::TimeShared { .. } => {
                let end = start + iterations as f64 * place.seconds(timing, kernel, batch)?;
                Phase { start, end, kernel: kernel.name(), part: None, rows: None, format: "fp16" }
            }
        };
        let end = phase.end;
        self.record(phase);
        Ok(end)
    }
}

/// Mini-batches in one epoch over `samples` samples.
pub fn batches(samples: usize) -> usize {
    samples.div_ceil(TRAIN_BATCH)
}

/// Draws up to `n` samples, class-balanced and newest first: classes take turns, each giving
/// its newest sample not yet drawn (the buffer holds the newest first).
pub fn balanced_newest<'s>(samples: impl IntoIterator<Item = &'s Sample>, n: usize) -> Vec<Sample> {
    let mut by_class: Vec<VecDeque<Sample>> = vec![VecDeque::new(); CLASSES];
    for s in samples {
        by_class[s.label].push_back(*s);
    }
    let mut out = Vec::new();
    while out.len() < n && by_class.iter().any(|c| !c.is_empty()) {
        for class in by_class.iter_mut() {
            if out.len() < n {
                out.extend(class.pop_front());
            }
        }
    }
    out
}
