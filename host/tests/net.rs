//! The small CNNs on the runtime's kernels: they learn the stream, lose accuracy when it
//! drifts and recover when they keep learning; the chip trains them bit for bit like the
//! golden model.

use host::backend::{Backend, Golden, Rtl};
use host::net::Net;
use host::ops::Sgd;
use host::rng::Rng;
use host::stream::{Stream, FRAMES_PER_WINDOW};
use mx::Format;
use sim::Part;

fn batch(s: &Stream, frames: &[u64]) -> (Vec<f32>, Vec<usize>) {
    let mut x = Vec::new();
    for &f in frames {
        x.extend(s.frame(f));
    }
    (x, frames.iter().map(|&f| s.label(f)).collect())
}

fn accuracy(net: &Net, backend: &mut dyn Backend, s: &Stream, frames: &[u64]) -> f64 {
    let (x, y) = batch(s, frames);
    let p = net.predict(backend, Part::Bottom, &x, frames.len(), Format::Mx6).unwrap();
    p.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
}

const SGD: Sgd = Sgd { lr: 0.05, momentum: 0.9, weight_decay: 5e-4 };

#[test]
fn a_student_loses_accuracy_under_drift_and_recovers_by_learning() {
    let mut golden = Golden::new("dacapo").unwrap();
    let s1 = Stream::new(1).unwrap();
    let mut net = Net::new(&[8, 16, 16], 1).unwrap();
    let mut rng = Rng::new(3);
    // Frames of windows first..first + windows.
    let mut train = |net: &mut Net, golden: &mut Golden, first: u64, windows: u64, steps: usize| {
        for _ in 0..steps {
            let frames: Vec<u64> =
                (0..32).map(|_| first * FRAMES_PER_WINDOW + rng.below(windows * FRAMES_PER_WINDOW)).collect();
            let (x, y) = batch(&s1, &frames);
            net.train_step(golden, Part::Bottom, &x, &y, Format::Mx9, SGD).unwrap();
        }
    };
    // Daylight (windows 0 to 2), tested on frames of window 3 (daylight too, never trained on).
    train(&mut net, &mut golden, 0, 3, 400);
    let day: Vec<u64> = (0..200).map(|i| 3 * FRAMES_PER_WINDOW + 18 * i).collect();
    let night: Vec<u64> = (0..200).map(|i| 10 * FRAMES_PER_WINDOW + 18 * i).collect();
    let (day_acc, night_acc) =
        (accuracy(&net, &mut golden, &s1, &day), accuracy(&net, &mut golden, &s1, &night));
    assert!(day_acc > 0.6, "it learned daylight: {day_acc}");
    assert!(night_acc < day_acc - 0.25, "night costs it accuracy: {night_acc} vs {day_acc}");
    // Keep learning on night frames of window 9: night accuracy comes back.
    train(&mut net, &mut golden, 9, 1, 200);
    let after = accuracy(&net, &mut golden, &s1, &night);
    assert!(after > night_acc + 0.25, "it recovered: {night_acc} -> {after}");
}

#[test]
fn the_chip_trains_like_the_golden_model_bit_for_bit() {
    let mut golden = Golden::new("small").unwrap();
    let mut rtl = Rtl::new("small").unwrap();
    for b in [&mut golden as &mut dyn Backend, &mut rtl] {
        b.set_split(1).unwrap();
    }
    let s = Stream::new(2).unwrap();
    let (x, y) = batch(&s, &[5, 300, 9000]);
    let mut nets = [Net::new(&[4, 8, 8], 7).unwrap(), Net::new(&[4, 8, 8], 7).unwrap()];
    for _ in 0..2 {
        let mut losses = Vec::new();
        for (net, backend) in nets.iter_mut().zip([&mut golden as &mut dyn Backend, &mut rtl]) {
            losses.push(net.train_step(backend, Part::Bottom, &x, &y, Format::Mx9, SGD).unwrap());
        }
        assert_eq!(losses[0].to_bits(), losses[1].to_bits());
        assert_eq!(nets[0], nets[1], "weights, statistics and momentum after a step");
    }
    let g = nets[0].logits(&mut golden, Part::Top, &x, 3, Format::Mx6).unwrap();
    let r = nets[1].logits(&mut rtl, Part::Top, &x, 3, Format::Mx6).unwrap();
    assert_eq!(g, r, "inference on the other part");
}

#[test]
fn networks_save_and_load_and_reject_bad_files() {
    let mut golden = Golden::new("small").unwrap();
    let s = Stream::new(4).unwrap();
    let (x, y) = batch(&s, &[1, 2, 3, 4]);
    let mut net = Net::new(&[4, 8], 2).unwrap();
    net.train_step(&mut golden, Part::Bottom, &x, &y, Format::Mx9, SGD).unwrap();
    let bytes = net.to_bytes();
    let back = Net::from_bytes(&bytes).unwrap();
    let logits = |n: &Net, g: &mut Golden| n.logits(g, Part::Bottom, &x, 4, Format::Mx6).unwrap();
    assert_eq!(logits(&back, &mut golden), logits(&net, &mut golden));
    assert!(Net::from_bytes(b"hello").unwrap_err().to_string().contains("not a dacapo network"));
    assert!(Net::from_bytes(&bytes[..bytes.len() - 3]).unwrap_err().to_string().contains("cut short"));
    assert!(Net::new(&[], 0).is_err());
    assert!(Net::new(&[4; 6], 0).is_err());
    // A loss that falls on one batch over a few steps: the gradients point downhill.
    let first = net.train_step(&mut golden, Part::Bottom, &x, &y, Format::Mx9, SGD).unwrap();
    let mut last = first;
    for _ in 0..20 {
        last = net.train_step(&mut golden, Part::Bottom, &x, &y, Format::Mx9, SGD).unwrap();
    }
    assert!(last < 0.5 * first, "{first} -> {last}");
}
