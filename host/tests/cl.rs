//! Continuous learning: the policies' decisions on tiny made-up latency tables, the
//! evaluation protocol on made-up per-frame data, and whole scenarios that replay exactly.

use std::collections::VecDeque;

use host::backend::Golden;
use host::cl::policies::{inference_rows, is_drift, push_labels, retrain_seconds, unpicked, BUFFER};
use host::cl::pretrain::{pretrain, Steps};
use host::cl::protocol::{geomean, scenario_score, window_accuracies, WARM_UP_WINDOWS};
use host::cl::world::{balanced_newest, Labels, Sample};
use host::cl::{run_scenario, Pair, Play, Policy, Timing};
use host::latency::Kernel;
use host::net::Net;
use host::rng::Rng;
use host::stream::FRAMES_PER_WINDOW;

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
    assert!((retrain_seconds(&mut t, 14, 324, 1, 108).unwrap() - (21.0 + 0.7)).abs() < 1e-9);
    assert!((retrain_seconds(&mut t, 14, 747, 2, 0).unwrap() - 94.0).abs() < 1e-9);
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

    // Spatiotemporal: an extra label phase of 432 frames, then retrain (21 iterations + 7
    // validation batches) and label (108 frames) in turn; after a drift the buffer restarts
    // from the 108 new labels and the extra phase labels 324 more.
    let s = run(Policy::DacapoSpatiotemporal);
    let phases: Vec<(&str, f64)> = s.timeline.iter().skip(1).map(|p| (p.kernel, p.end - p.start)).collect();
    assert!(matches!(phases[0], ("label", d) if (d - 21.6).abs() < 1e-6), "{:?}", phases[0]);
    let (mut drifts, mut full_retrains) = (0, 0);
    // (The stream's end may cut the last phase short.)
    for pair in phases[..phases.len() - 1].windows(2) {
        match pair {
            [("train", d), ("label", l)] => {
                // At most 324 samples train (21 iterations of 1 s) and 108 validate (7 batches
                // of 0.1 s); fewer when the buffer holds fewer on either side of the holdout.
                let (iterations, checks) = (d.floor(), ((d - d.floor()) * 10.0).round());
                assert!((d - iterations - checks / 10.0).abs() < 1e-6, "{pair:?}");
                assert!((1.0..=21.0).contains(&iterations) && checks <= 7.0, "{pair:?}");
                assert!((l - 5.4).abs() < 1e-6, "{pair:?}");
                full_retrains += usize::from(iterations == 21.0 && checks == 7.0);
            }
            [("label", l), ("label", e)] => {
                assert!((l - 5.4).abs() < 1e-6 && (e - 16.2).abs() < 1e-6, "{pair:?}");
                drifts += 1;
            }
            [("label", _), ("train", _)] => {}
            other => panic!("unexpected phases {other:?}"),
        }
    }
    assert!(drifts > 0, "scenario 1 drifts from day to night");
    assert!(full_retrains > 0, "a fuller buffer gives 324 and 108");
    assert!(s.score > a.score, "the loop keeps up with drift better: {} vs {}", s.score, a.score);
}

#[test]
fn ekya_s_micro_profile_takes_device_time_before_the_window_s_labeling() {
    let net = Net::new(&[4], 1).unwrap();
    let play = Play { scenario: 1, windows: 2, backend: Box::new(Golden::new("dacapo").unwrap()), seed: 0 };
    let run = run_scenario(
        Policy::EkyaDacapo,
        Pair::ResNet18,
        play,
        (&net, &net),
        &mut Labels::default(),
        &mut Table { infer_row_seconds: 0.05 },
    )
    .unwrap();
    let phases: Vec<(&str, f64, f64)> =
        run.timeline.iter().skip(1).map(|p| (p.kernel, p.start, p.end)).collect();
    // Window 1, no profile yet: 5 epochs at the largest rate that fits, 0.075 (270 frames:
    // 13.5 s of labels, 5 x 17 iterations). Window 2 first profiles: 5 epochs on 160 of 200
    // of those labels, 10 iterations each, 50 s; then it labels.
    assert_eq!(phases[0], ("label", 0.0, 13.5));
    assert_eq!(phases[1], ("train", 13.5, 98.5));
    assert_eq!(phases[2], ("train", 120.0, 170.0));
    assert!(matches!(phases[3], ("label", 170.0, _)), "{:?}", phases[3]);
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
