//! The baselines' decisions on made-up numbers: Ekya's configuration choice, the learning
//! curve its micro-profiler fits, EOMU's key frames and epoch search, the Orin's timing.

use host::backend::Golden;
use host::cl::baselines::{
    ekya_choice, eomu_epochs, key_frames, AccuracyTrend, Curve, OrinTiming, EKYA_RATES,
};
use host::cl::world::{Labels, World};
use host::cl::{Pair, Timing};
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
fn ekya_takes_the_largest_rate_that_fits_and_the_best_predicted_window() {
    // Labeling 0.05 s a frame, retraining 0.01 s per sample and epoch.
    let mut busy = |epochs: usize, n: usize| Ok(n as f64 * (0.05 + 0.01 * epochs as f64));
    // 5 epochs: 0.1 s a sample, 1200 fit, so 0.3 (1080); 15: 0.2 s, 600 fit: 0.15 (540);
    // 30: 0.35 s, 342 fit: 0.075 (270).
    let slow_learner = Curve { now: 0.6, full: 0.9, gap: 1.5 };
    // Predicted over the window: 5 epochs busy 108 s -> (108 * 0.6 + 12 * 0.6) / 120 = 0.6;
    // 15: busy 108 s, 0.8 after; 30: busy 94.5 s, 0.85 after: (94.5 * 0.6 + 25.5 * 0.85) / 120.
    assert_eq!(ekya_choice(Some(slow_learner), &mut busy).unwrap(), Some((30, 0.075)));
    // A model that is good already gains nothing from epochs: the fewest win (ties keep the first).
    let saturated = Curve { now: 0.9, full: 0.9, gap: 0.0 };
    assert_eq!(ekya_choice(Some(saturated), &mut busy).unwrap(), Some((5, 0.3)));
    // No curve yet: the fewest epochs and their largest rate.
    assert_eq!(ekya_choice(None, &mut busy).unwrap(), Some((5, 0.3)));
    // Nothing fits: no configuration.
    let mut slow = |_: usize, n: usize| Ok(n as f64 * 10.0);
    assert_eq!(ekya_choice(None, &mut slow).unwrap(), None);
    assert!(EKYA_RATES.windows(2).all(|r| r[0] < r[1]));
}

#[test]
fn eomu_key_frames_are_scene_changes() {
    let stream = Stream::new(1).unwrap();
    let net = Net::new(&[4], 1).unwrap();
    let mut labels = Labels::default();
    let world =
        World::new(&stream, (net.clone(), &net), &mut labels, 1, Box::new(Golden::new("small").unwrap()), 14)
            .unwrap();
    // In daylight, every 1.5-s scene change and nothing else.
    assert_eq!(key_frames(&world, 0, 300), vec![45, 90, 135, 180, 225, 270]);
    // At night too (each frame's luma is standardized before differencing), with some noisy
    // frames besides, but far from every frame.
    let night = key_frames(&world, 10 * 3600, 300);
    assert!((36_000..36_300).step_by(45).all(|f| night.contains(&f)), "{night:?}");
    assert!(night.len() < 30, "{night:?}");
}

#[test]
fn eomu_retrains_when_accuracy_falls_under_the_decayed_mean_minus_deviation() {
    let mut trend = AccuracyTrend::default();
    // The first three only set the trend.
    assert_eq!(trend.add(0.9), (false, 0.0));
    assert!(!trend.add(0.8).0);
    assert!(!trend.add(0.1).0, "still warming up");
    // By hand, weight 0.2: mean 0.9 -> 0.88 -> 0.724; variance 0 -> 0.8 (0.2 x 0.01) = 0.0016
    // -> 0.8 (0.0016 + 0.2 x 0.78^2) = 0.098624.
    let (mean, sd) = (0.724f64, 0.098_624f64.sqrt());
    let (trigger, urgency) = trend.add(mean - sd + 0.001);
    assert!(!trigger, "just above mean - sd");
    assert!((urgency - (sd - 0.001) / sd).abs() < 1e-9);
    let mut trend = AccuracyTrend::default();
    for acc in [0.9, 0.8, 0.1] {
        trend.add(acc);
    }
    let (trigger, urgency) = trend.add(mean - sd - 0.001);
    assert!(trigger, "just below mean - sd");
    assert!(urgency > 1.0);
}

#[test]
fn eomu_anneals_to_the_best_epoch_count() {
    let curve = Curve { now: 0.5, full: 0.95, gap: 0.6 };
    // No cost: the most epochs. A high cost: one epoch. In between, the utility's peak.
    assert_eq!(eomu_epochs(curve, 0.0, 0.01, &mut Rng::new(1)), 30);
    assert_eq!(eomu_epochs(curve, 10.0, 0.1, &mut Rng::new(1)), 1);
    // Utility 0.95 - 0.6/e - 0.002 e peaks at e = sqrt(300) ~ 17.
    let e = eomu_epochs(curve, 1.0, 0.002, &mut Rng::new(7));
    assert!((15..=20).contains(&e), "{e}");
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
