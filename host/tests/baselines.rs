//! The baselines' decisions on made-up numbers: Ekya's configuration choice, the learning
//! curve its micro-profiler fits, EOMU's key frames and epoch search, the Orin's timing.

use host::cl::baselines::{
    changes, ekya_choice, eomu_epochs, key_frames, AccuracyTrend, Curve, EkyaConfig, EkyaSpace, OrinTiming,
    PAPER_KEY_FRAME_SHARE,
};
use host::cl::world::Labels;
use host::cl::{run_scenario, Pair, Play, Policy, Timing};
use host::latency::Kernel;
use host::net::Net;
use host::rng::Rng;
use host::stream::Stream;

#[test]
fn the_learning_curve_fit_recovers_a_curve() {
    let acc: Vec<f64> = (1..=5).map(|k| 0.9 - 0.3 / k as f64).collect();
    let c = Curve::fit(0.5, &acc);
    assert!((c.full - 0.9).abs() < 1e-9 && (c.gap - 0.3).abs() < 1e-9, "{c:?}");
    assert!((c.at(30) - 0.89).abs() < 1e-9);
    assert_eq!(Curve { now: 0.5, full: 1.2, gap: 0.0 }.at(5), 1.0, "clamped");
    let flat = Curve::fit(0.7, &[0.7; 5]);
    assert!(flat.gap.abs() < 1e-12 && (flat.full - 0.7).abs() < 1e-12);
}

#[test]
fn ekya_takes_the_largest_rate_that_fits_in_one_percent_steps_and_the_best_predicted_window() {
    // Labeling 0.05 s a frame, retraining 0.01 s per sample and epoch.
    let mut busy = |labels: usize, train: usize, epochs: usize| {
        Ok(labels as f64 * 0.05 + train as f64 * 0.01 * epochs as f64)
    };
    let orin = EkyaSpace::orin();
    let config = |epochs, label_rate| EkyaConfig { epochs, label_rate, train_rate: 1.0 };
    // 5 epochs: 0.1 s a sample, 1200 fit: 0.33 (1188; 0.34 is 1224); 15: 0.2 s, 600 fit:
    // 0.16 (576); 30: 0.35 s, 342 fit: 0.09 (324; 0.10 is 360, 126 s).
    let slow_learner = Curve { now: 0.6, full: 0.9, gap: 1.5 };
    // Predicted over the window: 5 epochs busy 118.8 s, 0.6 after: 0.6; 15: busy 115.2 s, 0.8
    // after: 0.608; 30: busy 113.4 s, 0.85 after: (113.4 x 0.6 + 6.6 x 0.85) / 120 = 0.61375.
    assert_eq!(ekya_choice(&orin, Some(slow_learner), &mut busy).unwrap(), Some(config(30, 0.09)));
    // A model that is good already gains nothing from epochs: the fewest win (ties keep the first).
    let saturated = Curve { now: 0.9, full: 0.9, gap: 0.0 };
    assert_eq!(ekya_choice(&orin, Some(saturated), &mut busy).unwrap(), Some(config(5, 0.33)));
    // No curve yet: the fewest epochs and their largest rate.
    assert_eq!(ekya_choice(&orin, None, &mut busy).unwrap(), Some(config(5, 0.33)));
    assert_eq!(config(5, 0.33).labels(), 1188);
    // Nothing fits: no configuration.
    let mut slow = |labels: usize, _: usize, _: usize| Ok(labels as f64 * 10.0);
    assert_eq!(ekya_choice(&orin, None, &mut slow).unwrap(), None);
}

#[test]
fn ekya_on_the_array_labels_its_fixed_share_and_chooses_epochs_and_training_rate() {
    let space = EkyaSpace::dacapo(Pair::ResNet18);
    assert_eq!(space.epochs, (2..=10).collect::<Vec<_>>());
    let mut busy = |labels: usize, train: usize, epochs: usize| {
        Ok(labels as f64 * 0.05 + train as f64 * 0.01 * epochs as f64)
    };
    // 747 labels (37.35 s) always; training on 747, 463 or 172 of them fits up to 11 epochs.
    let chosen = ekya_choice(&space, None, &mut busy).unwrap().unwrap();
    assert_eq!(
        chosen,
        EkyaConfig { epochs: 2, label_rate: 0.2075, train_rate: 1.0 },
        "no curve: fewest epochs, most data"
    );
    assert_eq!((chosen.labels(), chosen.train_samples(747)), (747, 747));
    // A slow learner wants the most epochs; the fewest samples keep the old model busy least.
    let slow_learner = Curve { now: 0.6, full: 0.9, gap: 1.5 };
    let chosen = ekya_choice(&space, Some(slow_learner), &mut busy).unwrap().unwrap();
    assert_eq!(chosen, EkyaConfig { epochs: 10, label_rate: 0.2075, train_rate: 0.23 });
    assert_eq!(chosen.train_samples(747), 172);
    // Labeling alone past the window: nothing.
    let mut slow = |labels: usize, _: usize, _: usize| Ok(labels as f64 * 0.2);
    assert_eq!(ekya_choice(&space, None, &mut slow).unwrap(), None);
}

#[test]
fn eomu_s_paper_threshold_marks_only_scene_changes_so_key_frames_rank_by_change() {
    let stream = Stream::new(1).unwrap();
    let over_paper = |first: u64| -> Vec<u64> {
        (first..)
            .zip(changes(&stream, first, 300))
            .filter(|(_, c)| c.share > PAPER_KEY_FRAME_SHARE)
            .map(|(f, _)| f)
            .collect()
    };
    // In daylight, the paper's 40 % marks every 1.5-s scene change and nothing else; at night
    // (each frame's luma standardized before differencing) some noisy frames besides.
    assert_eq!(over_paper(0), vec![45, 90, 135, 180, 225, 270]);
    let night = over_paper(10 * 3600);
    assert!((36_000..36_300).step_by(45).all(|f| night.contains(&f)) && night.len() < 30, "{night:?}");
    // Ranked by change, a window gives its budget: the scene changes first (they change most),
    // then the frames that changed most within scenes.
    let keys = key_frames(&stream, 0, 300, 57);
    assert_eq!(keys.len(), 57);
    assert!((45..300).step_by(45).all(|f| keys.contains(&f)), "{keys:?}");
    let all = changes(&stream, 0, 300);
    let rank = |f: u64| (all[f as usize].share, all[f as usize].mean);
    let weakest_key = keys.iter().map(|&f| rank(f)).min_by(|a, b| a.partial_cmp(b).unwrap()).unwrap();
    let strongest_other =
        (0..300).filter(|f| !keys.contains(f)).map(rank).max_by(|a, b| a.partial_cmp(b).unwrap()).unwrap();
    assert!(weakest_key >= strongest_other, "{weakest_key:?} vs {strongest_other:?}");
    // In fog and rain at night (s5, window 6) only 13 of a window's 300 frames move a pixel
    // past 0.5: the mean move ranks the others, and the budget is still filled.
    let s5 = Stream::new(5).unwrap();
    let keys = key_frames(&s5, 5 * 3600, 300, 57);
    let fog = changes(&s5, 5 * 3600, 300);
    assert_eq!(fog.iter().filter(|c| c.share > 0.0).count(), 13);
    assert_eq!(keys.len(), 57);
    let at = |f: u64| fog[(f - 5 * 3600) as usize];
    let least_moved =
        keys.iter().filter(|&&f| at(f).share == 0.0).map(|&f| at(f).mean).fold(f64::INFINITY, f64::min);
    let others: Vec<u64> = (5 * 3600..5 * 3600 + 300).filter(|f| !keys.contains(f)).collect();
    assert!(others.iter().all(|&f| at(f).share == 0.0 && at(f).mean <= least_moved));
}

#[test]
fn eomu_retrains_when_accuracy_falls_under_the_decayed_mean_minus_deviation() {
    let mut trend = AccuracyTrend::default();
    // The first three only set the trend; each call returns the mean before it.
    assert_eq!(trend.add(0.9), (false, 0.9));
    assert!(!trend.add(0.8).0);
    assert!(!trend.add(0.1).0, "still warming up");
    // By hand, weight 0.2: mean 0.9 -> 0.88 -> 0.724; variance 0 -> 0.8 (0.2 x 0.01) = 0.0016
    // -> 0.8 (0.0016 + 0.2 x 0.78^2) = 0.098624.
    let (mean, sd) = (0.724f64, 0.098_624f64.sqrt());
    let (trigger, before) = trend.add(mean - sd + 0.001);
    assert!(!trigger, "just above mean - sd");
    assert!((before - mean).abs() < 1e-9);
    let mut trend = AccuracyTrend::default();
    for acc in [0.9, 0.8, 0.1] {
        trend.add(acc);
    }
    assert!(trend.add(mean - sd - 0.001).0, "just below mean - sd");
}

#[test]
fn eomu_anneals_to_the_best_epoch_count() {
    let curve = Curve { now: 0.5, full: 0.95, gap: 0.6 };
    // No cost: the most epochs. A high cost: one epoch. In between, the utility's peak.
    assert_eq!(eomu_epochs(curve, 0.0, |e| 0.01 * e as f64, &mut Rng::new(1)), 30);
    assert_eq!(eomu_epochs(curve, 10.0, |e| 0.1 * e as f64, &mut Rng::new(1)), 1);
    // Utility 0.95 - 0.6/e - 0.002 e peaks at e = sqrt(300) ~ 17; the labeling's fixed cost
    // does not move it.
    let e = eomu_epochs(curve, 1.0, |e| 0.3 + 0.002 * e as f64, &mut Rng::new(7));
    assert!((15..=20).contains(&e), "{e}");
}

#[test]
fn eomu_retrains_after_every_window_of_its_warm_up_without_a_profiler() {
    let net = Net::new(&[4], 1).unwrap();
    let play = Play { windows: 1, ..Play::golden(1, 0).unwrap() };
    let run = run_scenario(
        Policy::EomuOrin,
        Pair::ResNet18,
        play,
        (&net, &net),
        &mut Labels::default(),
        &mut OrinTiming::new(Pair::ResNet18),
    )
    .unwrap();
    // ResNet-18 inference takes 51.3 % of the Orin: labeling a frame 47.7 ms / 0.487.
    let label_s = 0.0477 / (1.0 - 30.0 * 0.0171);
    let phases: Vec<(&str, f64, f64)> =
        run.timeline.iter().skip(1).map(|p| (p.kernel, p.start, p.end)).collect();
    let mut labels = 0.0;
    let mut trains = 0;
    for (i, &(kernel, start, end)) in phases.iter().enumerate() {
        match kernel {
            // At each 10-s window's end, its key frames: at most 57 (19 % of 300).
            "label" => {
                assert!((start / 10.0 - (start / 10.0).round()).abs() < 1e-9, "{phases:?}");
                let n = (end - start) / label_s;
                assert!((n - n.round()).abs() < 1e-6 && n.round() <= 57.0, "{phases:?}");
                labels += n.round();
            }
            // Straight after the labeling (no profiler), done before the next window ends.
            _ => {
                assert_eq!(phases[i - 1].0, "label");
                assert!((start - phases[i - 1].2).abs() < 1e-9, "{phases:?}");
                assert!(end <= phases[i - 1].1 + 10.0 + 1e-9, "{phases:?}");
                trains += 1;
            }
        }
    }
    // Within the warm-up every window with 16 buffered labels retrains.
    let windows_with_labels = phases.iter().filter(|p| p.0 == "label").count();
    assert!(trains == windows_with_labels && trains > 5, "{trains} of {windows_with_labels}: {phases:?}");
    assert_eq!(run.counts.labels as f64, labels);
    assert_eq!(run.counts.retrainings, trains);
    // Its whole budget: 57 key frames in each of the 11 windows that end before the stream.
    assert_eq!(labels, 57.0 * 11.0);
}

#[test]
fn the_orin_runs_one_kernel_at_a_time() {
    let mut orin = OrinTiming::new(Pair::ResNet18);
    assert_eq!(orin.rows(), 1);
    assert!((orin.seconds(Kernel::Infer, 1, 1).unwrap() - 0.0171).abs() < 1e-12);
    assert!((orin.seconds(Kernel::Train, 1, 16).unwrap() - 0.04125).abs() < 1e-12);
    assert!((orin.seconds(Kernel::Label, 1, 1).unwrap() - 0.0477).abs() < 1e-12);
    let mut vit = OrinTiming::new(Pair::Vit);
    assert!((vit.seconds(Kernel::Label, 1, 2).unwrap() - 0.0416).abs() < 1e-12);
}
