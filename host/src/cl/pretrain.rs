//! The networks' starting points: a teacher trained on every scenario's conditions and a
//! student trained on the first scenario's opening conditions (clear daylight), both on other
//! takes of the stream than the ones the runs play.

use mx::rng::Rng;
use mx::Format;
use sim::Part;

use crate::backend::Golden;
use crate::net::Net;
use crate::ops::Sgd;
use crate::stream::{Stream, FRAMES_PER_WINDOW, SCENARIOS};

pub const STUDENT_WIDTHS: [usize; 3] = [8, 16, 16];
pub const TEACHER_WIDTHS: [usize; 3] = [16, 32, 64];
const BATCH: usize = 32;
/// The student's daylight: the first four windows of scenario 1 (its warm-up).
const STUDENT_WINDOWS: u64 = 4;

/// How long each network trains, in mini-batches of 32.
#[derive(Clone, Copy, Debug)]
pub struct Steps {
    pub student: usize,
    pub teacher: usize,
}

impl Steps {
    pub const FULL: Steps = Steps { student: 800, teacher: 4000 };
}

/// The stream take the networks train on: the runs play others.
pub const TAKE: u64 = 1;

/// Trains (student, teacher) from fixed seeds; `progress(network, step, steps)` now and then.
pub fn pretrain(steps: Steps, mut progress: impl FnMut(&str, usize, usize)) -> anyhow::Result<(Net, Net)> {
    let mut backend = Golden::new("dacapo")?;
    let mut rng = Rng::new(2024);
    let takes: Vec<Stream> = (1..=SCENARIOS).map(|s| Stream::take(s, TAKE)).collect::<anyhow::Result<_>>()?;
    let mut teacher = Net::new(&TEACHER_WIDTHS, 11)?;
    train(
        &mut teacher,
        &mut backend,
        steps.teacher,
        |rng| {
            let s = &takes[rng.below(SCENARIOS as u64) as usize];
            (s, rng.below(s.frames()))
        },
        &mut rng,
        &mut |step| progress("teacher", step, steps.teacher),
    )?;
    let mut student = Net::new(&STUDENT_WIDTHS, 12)?;
    train(
        &mut student,
        &mut backend,
        steps.student,
        |rng| (&takes[0], rng.below(STUDENT_WINDOWS * FRAMES_PER_WINDOW)),
        &mut rng,
        &mut |step| progress("student", step, steps.student),
    )?;
    Ok((student, teacher))
}

/// `steps` SGD steps on frames drawn by `draw`, the learning rate falling linearly.
fn train<'s>(
    net: &mut Net,
    backend: &mut Golden,
    steps: usize,
    draw: impl Fn(&mut Rng) -> (&'s Stream, u64),
    rng: &mut Rng,
    progress: &mut dyn FnMut(usize),
) -> anyhow::Result<()> {
    for step in 0..steps {
        let lr = 0.002 + 0.048 * (1.0 - step as f32 / steps as f32);
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..BATCH {
            let (s, f) = draw(rng);
            images.extend(s.frame(f));
            labels.push(s.label(f));
        }
        net.train_step(
            backend,
            Part::Bottom,
            &images,
            &labels,
            Format::Mx9,
            Sgd { lr, momentum: 0.9, weight_decay: 5e-4 },
        )?;
        if (step + 1) % 250 == 0 || step + 1 == steps {
            progress(step + 1);
        }
    }
    Ok(())
}

/// A key for cached networks: changes with the source of everything they come from.
pub fn cache_key(steps: Steps) -> String {
    crate::named::cache_key(
        (steps.student, steps.teacher),
        &[
            include_str!("pretrain.rs"),
            include_str!("../net.rs"),
            include_str!("../ops.rs"),
            include_str!("../kernels.rs"),
            include_str!("../stream.rs"),
            include_str!("../../../mx/src/block.rs"),
            // Every GEMM kernel gives the bits of `dot` (mx's tests), so its source is the key.
            include_str!("../../../mx/src/dot.rs"),
        ],
    )
}

/// Both networks in one file: the student's length, the student, the teacher.
pub fn to_bytes(student: &Net, teacher: &Net) -> Vec<u8> {
    let s = student.to_bytes();
    let mut out = (s.len() as u64).to_le_bytes().to_vec();
    out.extend(s);
    out.extend(teacher.to_bytes());
    out
}

/// Reads what `to_bytes` wrote: (student, teacher).
pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<(Net, Net)> {
    use anyhow::Context;
    let len = bytes.get(..8).context("the networks file is cut short")?;
    let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
    let student = bytes.get(8..8 + len).context("the networks file is cut short")?;
    Ok((Net::from_bytes(student)?, Net::from_bytes(&bytes[8 + len..])?))
}
