//! The drifting stream: deterministic frames, labels that follow the class frequencies, and
//! conditions that drift as the scenarios say.

use host::stream::{Conditions, Stream, CLASSES, FRAMES_PER_WINDOW, SCENARIOS, SIZE, WINDOWS};

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

fn diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

#[test]
fn frames_are_a_pure_function_of_scenario_and_index() {
    assert!(Stream::new(0).unwrap_err().to_string().contains("1 to 6"));
    assert!(Stream::new(7).is_err());
    let (a, b) = (Stream::new(3).unwrap(), Stream::new(3).unwrap());
    for i in [0, 1, 44, 45, 3599, 3600, 50_399] {
        let f = a.frame(i);
        assert_eq!(f.len(), 3 * SIZE * SIZE);
        assert_eq!(f, b.frame(i), "frame {i}");
        assert_eq!(a.label(i), b.label(i));
        assert!(f.iter().all(|v| v.is_finite() && (-1.81..=2.21).contains(v)));
    }
    assert_eq!(a.frames(), WINDOWS as u64 * FRAMES_PER_WINDOW);
    // Another take: the same conditions over other scenes.
    let other = Stream::take(3, 1).unwrap();
    assert_eq!(other.conditions(9000), a.conditions(9000));
    assert_ne!(other.frame(9000), a.frame(9000));
    let others: Vec<Vec<f32>> = (1..=SCENARIOS).map(|s| Stream::new(s).unwrap().frame(7000)).collect();
    for i in 0..SCENARIOS {
        for j in i + 1..SCENARIOS {
            assert_ne!(others[i], others[j], "scenarios {} and {}", i + 1, j + 1);
        }
    }
}

#[test]
fn scenes_last_a_segment_like_video() {
    let s = Stream::new(1).unwrap();
    // Within a 1.5-s segment the object moves a little; across segments the scene changes.
    let within: f32 = (0..40).map(|i| diff(&s.frame(90 + i), &s.frame(91 + i))).sum::<f32>() / 40.0;
    let across: f32 = (0..40).map(|i| diff(&s.frame(45 * i + 44), &s.frame(45 * i + 45))).sum::<f32>() / 40.0;
    assert!(across > 2.0 * within, "within {within}, across {across}");
    assert!((0..45).all(|i| s.label(90 + i) == s.label(90)));
}

#[test]
fn labels_follow_the_class_frequencies() {
    let s = Stream::new(1).unwrap();
    let count = |window: u64| {
        let mut n = [0usize; CLASSES];
        for f in (window * FRAMES_PER_WINDOW..(window + 1) * FRAMES_PER_WINDOW).step_by(45) {
            n[s.label(f)] += 1;
        }
        n
    };
    let day = count(0);
    assert!(day.iter().all(|&n| n > 0), "every class in daylight: {day:?}");
    // Window 10 of scenario 1 favours classes 0, 4 and 7 (four times as frequent).
    let night = count(10);
    let favoured = night[0] + night[4] + night[7];
    assert!(favoured * 2 > night.iter().sum::<usize>(), "{night:?}");
}

#[test]
fn conditions_drift_as_the_scenarios_say() {
    let s1 = Stream::new(1).unwrap();
    assert_eq!(s1.conditions(0), Conditions::DAY);
    let at = |w: u64| s1.conditions(w * FRAMES_PER_WINDOW);
    // Daylight through the warm-up, then dusk, then night: the light falls steadily.
    assert_eq!(at(3), Conditions::DAY);
    let lights: Vec<f32> = (3..10).map(|w| at(w).light).collect();
    assert!(lights.windows(2).all(|p| p[1] <= p[0]), "{lights:?}");
    assert!(at(10).light <= 0.3 && at(10).tint[2] > 1.2);
    // Gradual within a window: half-way is between the ends.
    let mid = s1.conditions(4 * FRAMES_PER_WINDOW + FRAMES_PER_WINDOW / 2).light;
    assert!(mid < at(4).light && mid > at(5).light);
    // Window 11 starts abruptly with glare.
    let before = s1.conditions(11 * FRAMES_PER_WINDOW - 1);
    assert!(before.glare == 0.0 && at(11).glare > 0.5);

    // What a student sees: darker at night, greyer in fog, noisier in rain.
    let frames = |s: &Stream, w: u64| -> Vec<f32> {
        (0..30).flat_map(|i| s.frame(w * FRAMES_PER_WINDOW + 45 * i)).collect()
    };
    assert!(mean(&frames(&s1, 10)) < mean(&frames(&s1, 0)) - 0.5);
    let spread = |v: &[f32]| {
        let m = mean(v);
        (v.iter().map(|x| (x - m).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
    };
    let s3 = Stream::new(3).unwrap();
    assert!(s3.conditions(5 * FRAMES_PER_WINDOW).fog > 0.5);
    assert!(spread(&frames(&s3, 5)) < 0.7 * spread(&frames(&s3, 0)), "fog flattens contrast");
    let s2 = Stream::new(2).unwrap();
    let pixel_noise = |s: &Stream, f: u64| diff(&s.frame(f), &s.frame(f + 1));
    assert!(pixel_noise(&s2, 4 * FRAMES_PER_WINDOW + 100) > 2.0 * pixel_noise(&s2, 100), "rain is noisy");
}
