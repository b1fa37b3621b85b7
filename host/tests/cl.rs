//! Continuous learning: the policies' decisions on tiny made-up latency tables, the
//! evaluation protocol on made-up per-frame data, and whole scenarios that replay exactly.

use std::collections::VecDeque;

use host::backend::Golden;
use host::cl::baselines::Profiling;
use host::cl::policies::{inference_rows, is_drift, push_labels, unpicked, Retraining, Shared, BUFFER};
use host::cl::pretrain::{pretrain, Steps};
use host::cl::protocol::{geomean, scenario_score, window_accuracies, WARM_UP_WINDOWS};
use host::cl::world::{balanced_newest, Labels, Sample, Sampled, World};
use host::cl::{run_scenario, Options, Pair, Play, Policy, Timing};
use host::latency::Kernel;
use host::net::Net;
use host::rng::Rng;
use host::stream::{Stream, FRAMES_PER_WINDOW};
use sim::Part;

/// A made-up table: inference takes `infer_row_seconds / rows` per frame, labeling 0.05 s per
/// frame on any rows, a training iteration 1 s, validation 0.1 s per batch.
struct Table {
    infer_row_seconds: f64,
}

impl Timing for Table {
    fn rows(&self) -> u32 {
        16
    }
    fn seconds(&mut self, kernel: Kernel, rows: u32, batch: u64) -> anyhow::Result<f64> {
        Ok(match kernel {
            Kernel::Infer if batch == 1 => self.infer_row_seconds / f64::from(rows),
            Kernel::Infer => 0.1,
            Kernel::Label => 0.05,
            Kernel::Train => 1.0,
        })
    }
}

#[test]
fn the_spatial_step_picks_the_fewest_rows_that_keep_30_fps() {
    // 0.1 s on one row: 3 rows give 1/30 s exactly, the first that fits.
    assert_eq!(inference_rows(&mut Table { infer_row_seconds: 0.1 }).unwrap(), 3);
    assert_eq!(inference_rows(&mut Table { infer_row_seconds: 0.1001 }).unwrap(), 4);
    assert_eq!(inference_rows(&mut Table { infer_row_seconds: 0.01 }).unwrap(), 1);
    let err = inference_rows(&mut Table { infer_row_seconds: 1.0 }).unwrap_err();
    assert!(err.to_string().contains("does not reach 30 fps"), "{err}");
}

#[test]
fn drift_fires_at_exactly_a_five_point_drop() {
    assert!(is_drift(0.80, 0.75));
    assert!(is_drift(0.90, 0.70));
    assert!(!is_drift(0.80, 0.7501));
    assert!(!is_drift(0.80, 0.90));
    // 108 labeled frames: 81/108 against a validation of 87/108 is 5.6 points: drift; 82 is 4.6.
    assert!(is_drift(87.0 / 108.0, 81.0 / 108.0));
    assert!(!is_drift(87.0 / 108.0, 82.0 / 108.0));
}

#[test]
fn retraining_time_counts_iterations_and_validation_batches() {
    let mut t = Table { infer_row_seconds: 0.1 };
    // 324 samples: 21 batches of 16 (the last one of 4), one epoch; 108 to validate: 7 batches.
    let shared = Shared { rows: 14, inference_rows: 2 };
    let mut seconds =
        |train, epochs, validation| Retraining { train, epochs, validation }.seconds(&mut t, shared).unwrap();
    assert!((seconds(324, 1, 108) - (21.0 + 0.7)).abs() < 1e-9);
    assert!((seconds(747, 2, 0) - 94.0).abs() < 1e-9);
}

#[test]
fn samples_are_drawn_class_balanced_and_newest_first() {
    // Newest first: frames 100, 99, ... with labels 0 (most), 1 (three), 2 (one).
    let labels = [0, 0, 1, 0, 2, 0, 1, 0, 0, 1, 0, 0];
    let buffer: VecDeque<Sample> =
        labels.iter().enumerate().map(|(i, &label)| Sample { frame: 100 - i as u64, label }).collect();
    let drawn = balanced_newest(&buffer, 7);
    let frames: Vec<u64> = drawn.iter().map(|s| s.frame).collect();
    // Rounds: (0: 100, 1: 98, 2: 96), (0: 99, 1: 94), (0: 97, 1: 91).
    assert_eq!(frames, vec![100, 98, 96, 99, 94, 97, 91]);
    assert_eq!(balanced_newest(&buffer, 50).len(), buffer.len());
    assert!(balanced_newest(&VecDeque::new(), 5).is_empty());

    // The buffer keeps the newest 1080.
    let mut buffer = VecDeque::new();
    push_labels(&mut buffer, (0..1000).map(|frame| Sample { frame, label: 0 }).collect());
    push_labels(&mut buffer, (1000..1108).map(|frame| Sample { frame, label: 1 }).collect());
    assert_eq!(buffer.len(), BUFFER);
    assert_eq!(buffer.front().unwrap().frame, 1107);
    assert_eq!(buffer.back().unwrap().frame, 28);
}

#[test]
fn validation_holds_out_every_fourth_two_second_stretch() {
    let validates = |frame| Sample { frame, label: 0 }.validates();
    // 60 frames a stretch: frames 180..240 and 420..480 validate, the others train.
    assert!(!validates(0) && !validates(179) && validates(180) && validates(239));
    assert!(!validates(240) && !validates(419) && validates(420));
    assert_eq!((0..2400).filter(|&f| validates(f)).count(), 600);
}

#[test]
fn extra_labels_take_unlabeled_frames_uniformly() {
    let mut rng = Rng::new(5);
    // 10..=14 with 10 and 12 labeled: 11, 13 and 14 equally often.
    let mut counts = [0; 15];
    for _ in 0..3000 {
        counts[unpicked(&mut rng, 10, 14, &[10, 12]) as usize] += 1;
    }
    assert_eq!(counts[10] + counts[12], 0);
    assert!([11, 13, 14].iter().all(|&f| (900..1100).contains(&counts[f])), "{counts:?}");
    // Drawing as many as the range holds gives every frame once; then the newest again.
    let mut picked = Vec::new();
    for _ in 0..50 {
        let frame = unpicked(&mut rng, 100, 149, &picked);
        picked.insert(picked.partition_point(|&f| f < frame), frame);
    }
    assert_eq!(picked, (100..150).collect::<Vec<u64>>());
    assert_eq!(unpicked(&mut rng, 100, 149, &picked), 149);
}

/// A world on scenario 1 with a tiny student and teacher.
fn tiny_world<'a>(stream: &'a Stream, net: &'a Net, labels: &'a mut Labels) -> World<'a> {
    World::new(stream, (net.clone(), net), labels, 3, Box::new(Golden::new("small").unwrap()), 14).unwrap()
}

#[test]
fn the_label_sampler_takes_distinct_unlabeled_frames_seen_so_far() {
    let (stream, net, mut labels) = (Stream::new(1).unwrap(), Net::new(&[4], 1).unwrap(), Labels::default());
    let mut world = tiny_world(&stream, &net, &mut labels);
    world.label(&[12]).unwrap();
    // By hand: frames 10..=14 seen at the start; a label each 1/30 s, so frame 14 + i is on
    // screen for label i. 8 labels: 8 distinct frames of 10..=21, never 12, each no newer
    // than the frame on screen when it was taken.
    let fps = 30.0;
    let Sampled { frames, runs, end } = world.sample_frames(10, 14.5 / fps, 1.0 / fps, 8, 100.0);
    assert_eq!(frames.len(), 8);
    assert_eq!(runs, vec![(14.5 / fps, 8)], "a new frame for every label: one run");
    assert!((end - 22.5 / fps).abs() < 1e-9, "{end}");
    assert!(
        frames.windows(2).all(|w| w[0] < w[1]) && frames.iter().all(|f| (10..=21).contains(f) && *f != 12),
        "{frames:?}"
    );
    // With every frame seen labeled, labeling waits for new frames: 10 labels, 1 ms apart,
    // find the 4 unlabeled frames of 10..=14, then each new frame as it arrives, until frame
    // 20 (at 20/30 s) is the tenth.
    let Sampled { frames, runs, end } = world.sample_frames(10, 14.5 / fps, 0.001, 10, 100.0);
    assert_eq!(frames, vec![10, 11, 13, 14, 15, 16, 17, 18, 19, 20]);
    // The device labels in runs that stop where it waits: the first four, then one a frame.
    assert_eq!(runs.len(), 7);
    assert_eq!(runs[0], (14.5 / fps, 4));
    assert!(runs[1..].iter().all(|&(_, n)| n == 1) && runs[6].0 > 20.0 / fps, "{runs:?}");
    assert!(end > 20.0 / fps && end < 20.0 / fps + 0.0021, "{end}");
    // None past the phase's end.
    assert!(world.sample_frames(10, 14.5 / fps, 0.5, 8, 14.5 / fps + 0.9).frames.len() == 1);
    world.label(&frames).unwrap();
    let twice = world.label(&[13]).unwrap_err().to_string();
    assert_eq!(twice, "frame 13 is labeled twice");
    assert_eq!(world.counts.labels, 11);
}

#[test]
fn the_label_sampler_spreads_labels_over_everything_seen() {
    let (stream, net, mut labels) = (Stream::new(1).unwrap(), Net::new(&[4], 1).unwrap(), Labels::default());
    let mut world = tiny_world(&stream, &net, &mut labels);
    // 600 labels in 6 s from frames 0..3000 (100 s) and those arriving meanwhile: each tenth
    // of the range gets its share, within sampling noise.
    let frames = world.sample_frames(0, 100.0, 0.01, 600, 200.0).frames;
    assert_eq!(frames.len(), 600);
    let mut tenths = [0; 10];
    for f in &frames {
        tenths[(*f as usize * 10 / 3000).min(9)] += 1;
    }
    assert!(tenths.iter().all(|&n| (35..=85).contains(&n)), "{tenths:?}");
    world.label(&frames).unwrap();
    // The next phase over the same range takes none of them again.
    let again = world.sample_frames(0, 100.0, 0.01, 600, 200.0).frames;
    assert!(again.iter().all(|f| frames.binary_search(f).is_err()));
}

#[test]
fn the_protocol_drops_the_warm_up_and_takes_geometric_means() {
    assert_eq!(WARM_UP_WINDOWS, 4);
    // Window w: every scored frame correct with probability pattern: w even 1/2, w odd 1.
    let mut scored = Vec::new();
    for w in 0..14u64 {
        for i in 0..10u64 {
            scored.push((w * FRAMES_PER_WINDOW + 100 * i, w % 2 == 1 || i % 2 == 0));
        }
    }
    let windows = window_accuracies(&scored);
    assert_eq!(windows.len(), 14);
    assert_eq!(windows[0], 0.5);
    assert_eq!(windows[1], 1.0);
    // After the warm-up: five windows of 0.5 and five of 1: geomean sqrt(0.5).
    assert!((scenario_score(&windows) - 0.5f64.sqrt()).abs() < 1e-12);
    assert!((geomean(&[0.25, 1.0]) - 0.5).abs() < 1e-12);
    assert_eq!(geomean(&[0.5, 0.0]), 0.0);
    assert_eq!(geomean(&[]), 0.0);
    // A window without scored frames counts as zero.
    assert_eq!(window_accuracies(&[(0, true)])[5], 0.0);
}

#[test]
fn scenarios_replay_identically_and_follow_each_policy_s_schedule() {
    let (student, teacher) = pretrain(Steps { student: 150, teacher: 300 }, |_, _, _| {}).unwrap();
    let timing = || Table { infer_row_seconds: 0.05 };
    let run = |policy| {
        let mut labels = Labels::default();
        run_scenario(
            policy,
            Pair::ResNet18,
            Play::golden(1, 0).unwrap(),
            (&student, &teacher),
            &mut labels,
            &mut timing(),
        )
        .unwrap()
    };
    let a = run(Policy::DacapoSpatial);
    let b = run(Policy::DacapoSpatial);
    assert_eq!(a.scored, b.scored, "same seed, same frames, same results");
    assert_eq!(a.timeline, b.timeline);
    // Spatial: 2 rows infer, 14 share; each window after the first retrains, then labels
    // 747 frames at 0.05 s each.
    assert_eq!(a.timeline[0].rows, Some(2));
    let trains = a.timeline.iter().filter(|p| p.kernel == "train").count();
    assert_eq!(trains, 13);
    let label = a.timeline.iter().find(|p| p.kernel == "label").unwrap();
    assert!((label.end - label.start - 747.0 * 0.05).abs() < 1e-6);
    assert!(a.scored.len() as u64 == 14 * FRAMES_PER_WINDOW / 10);

    // Spatiotemporal: an extra label phase of 432 frames, then retrain (21 iterations, then 7
    // validation batches) and label (108 frames) in turn; after a drift the buffer restarts
    // from the 108 new labels and the extra phase labels 324 more. Everything after the
    // inference runs on the shared (bottom) part.
    let s = run(Policy::DacapoSpatiotemporal);
    assert!(s.timeline[1..].iter().all(|p| p.part == Some(Part::Bottom) && p.rows == Some(14)));
    let phases: Vec<(&str, f64)> = s.timeline.iter().skip(1).map(|p| (p.kernel, p.end - p.start)).collect();
    assert!(matches!(phases[0], ("label", d) if (d - 21.6).abs() < 1e-6), "{:?}", phases[0]);
    let (mut drifts, mut full_retrains) = (0, 0);
    // (The stream's end may cut the last phase short.)
    for run in phases[..phases.len() - 1].windows(3) {
        match run {
            [("train", d), ("infer", v), ("label", l)] => {
                // At most 324 samples train (21 iterations of 1 s) and 108 validate (7 batches
                // of 0.1 s); fewer when the buffer holds fewer on either side of the holdout.
                let (iterations, checks) = (d.round(), (v * 10.0).round());
                assert!((d - iterations).abs() < 1e-6 && (v - checks / 10.0).abs() < 1e-6, "{run:?}");
                assert!((1.0..=21.0).contains(&iterations) && (1.0..=7.0).contains(&checks), "{run:?}");
                assert!((l - 5.4).abs() < 1e-6, "{run:?}");
                full_retrains += usize::from(iterations == 21.0 && checks == 7.0);
            }
            [("label", l), ("label", e), _] => {
                assert!((l - 5.4).abs() < 1e-6 && (e - 16.2).abs() < 1e-6, "{run:?}");
                drifts += 1;
            }
            [("label", _), ("train", _), _] | [("infer", _), ("label", _), _] => {}
            other => panic!("unexpected phases {other:?}"),
        }
    }
    assert!(drifts > 0, "scenario 1 drifts from day to night");
    assert!(full_retrains > 0, "a fuller buffer gives 324 and 108");
    assert!(s.score > a.score, "the loop keeps up with drift better: {} vs {}", s.score, a.score);
}

#[test]
fn ekya_trains_until_the_window_ends_and_profiles_before_it_or_inside_it() {
    let net = Net::new(&[4], 1).unwrap();
    let play = |profiling| {
        let options = Options { ekya_profiling: profiling, ..Options::default() };
        Play { windows: 2, options, ..Play::golden(1, 0).unwrap() }
    };
    let run = |profiling| {
        run_scenario(
            Policy::EkyaDacapo,
            Pair::ResNet18,
            play(profiling),
            (&net, &net),
            &mut Labels::default(),
            &mut Table { infer_row_seconds: 0.05 },
        )
        .unwrap()
    };
    let phases = |run: &host::cl::ScenarioRun| -> Vec<(&'static str, f64, f64)> {
        run.timeline.iter().skip(1).map(|p| (p.kernel, p.start, p.end)).collect()
    };
    // Window 1: its fixed 747 labels (37.35 s at 0.05 s), then 1-s training iterations until
    // the window ends: 82 of them. Window 2: the profile before the window's timer.
    let free = run(Profiling::BeforeWindow);
    let p = phases(&free);
    assert_eq!(p[0].0, "label");
    assert!((p[0].1, p[0].2) == (0.0, 37.35) || (p[0].2 - 37.35).abs() < 1e-9, "{p:?}");
    assert!(p[1].0 == "train" && (p[1].2 - 119.35).abs() < 1e-9, "{p:?}");
    assert!(p[2].0 == "label" && p[2].1 == 120.0, "{p:?}");
    assert_eq!(free.counts.labels, 2 * 747);
    // Charged inside the window: the profile (10 % of 747 labels: 60 train, 4 iterations x 5
    // epochs) takes 20 s ahead of the labeling.
    let charged = run(Profiling::InWindow);
    let p = phases(&charged);
    assert!(p[2] == ("train", 120.0, 140.0), "{p:?}");
    assert!(p[3].0 == "label" && p[3].1 == 140.0, "{p:?}");
}

#[test]
fn policies_are_named_one_by_one_in_order_or_all() {
    let list = Policy::parse_list("eomu-orin, dacapo-spatial").unwrap();
    assert_eq!(list, vec![Policy::EomuOrin, Policy::DacapoSpatial]);
    assert_eq!(Policy::parse_list("all").unwrap(), Policy::ALL.to_vec());
    let twice = Policy::parse_list("ekya-orin,ekya-orin").unwrap_err().to_string();
    assert!(twice.contains("lists 'ekya-orin' twice"), "{twice}");
    let unknown = Policy::parse_list("ekya-orin,greedy").unwrap_err().to_string();
    assert!(unknown.contains("unknown policy 'greedy'") && unknown.contains("(or all)"), "{unknown}");
}
