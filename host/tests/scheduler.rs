//! Two parts working through their own queues at once, and the timeline they leave.

use host::cl::world::Labels;
use host::cl::{run_scenario, ArrayTiming, Pair, Play, Policy, Timing};
use host::latency::{Beside, Kernel, Profiler};
use host::net::Net;
use host::plan::{GemmPlan, GemmShape};
use host::scheduler::{Job, Scheduler};
use host::timing::{schedule, PortShare};
use host::workloads::{network, Model};
use mx::Format;
use sim::{MemoryRate, Part};

fn scheduler(split: u32) -> Scheduler {
    Scheduler::new(Profiler::new(hdlgen::preset("dacapo").unwrap(), MemoryRate::FULL), split).unwrap()
}

fn job(model: Model, kernel: Kernel, format: Format, batch: u64) -> Job {
    Job { model, kernel, format, batch }
}

/// ResNet-18 inference of every frame (1/30 s at 500 MHz) on the top 2 rows, in MX6.
fn inference_every_frame() -> Beside {
    let (model, kernel, format) = (Model::ResNet18, Kernel::Infer, Format::Mx6);
    Beside { model, kernel, format, rows: 2, batch: 1, period: 16_666_666 }
}

fn cycles(model: Model, kernel: Kernel, format: Format, rows: u32, batch: u64) -> u64 {
    let mut p = Profiler::new(hdlgen::preset("dacapo").unwrap(), MemoryRate::FULL);
    p.kernel(model, kernel, format, rows, batch).unwrap().cycles
}

#[test]
fn parts_run_their_queues_at_once() {
    let mut s = scheduler(2);
    let infer = cycles(Model::ResNet18, Kernel::Infer, Format::Mx6, 2, 1);
    let label = cycles(Model::WideResNet50_2, Kernel::Label, Format::Mx6, 14, 1);
    let train = cycles(Model::ResNet18, Kernel::Train, Format::Mx9, 14, 16);
    // Inference every frame (1/30 s = 16 666 666 cycles at 500 MHz) on the top part.
    let frame = 16_666_666;
    for f in 0..4 {
        let p = s.run(Part::Top, f * frame, job(Model::ResNet18, Kernel::Infer, Format::Mx6, 1), 1).unwrap();
        assert_eq!((p.start, p.end, p.first_row, p.rows), (f * frame, f * frame + infer, 0, 2));
    }
    // Labeling then training queue on the bottom part, from cycle 0, overlapping inference.
    let p =
        s.run(Part::Bottom, 0, job(Model::WideResNet50_2, Kernel::Label, Format::Mx6, 1), 3).unwrap().clone();
    assert_eq!((p.start, p.end, p.first_row, p.rows), (0, 3 * label, 2, 14));
    let t = s.run(Part::Bottom, 0, job(Model::ResNet18, Kernel::Train, Format::Mx9, 16), 2).unwrap().clone();
    assert_eq!((t.start, t.end), (p.end, p.end + 2 * train), "the queue runs in order");
    assert_eq!(s.free_at(Part::Top), 3 * frame + infer);
    // A split change waits for both parts.
    let at = s.set_split(4).unwrap();
    assert_eq!(at, t.end.max(3 * frame + infer));
    let p = s.run(Part::Bottom, 0, job(Model::ResNet18, Kernel::Infer, Format::Mx4, 1), 1).unwrap();
    assert_eq!((p.start, p.first_row, p.rows), (at, 4, 12));
    assert_eq!(s.timeline().len(), 7);

    let csv = s.timeline_csv(500.0);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "start_s,end_s,part,first_row,rows,model,kernel,format,batch,iterations");
    assert_eq!(lines.len(), 8);
    assert!(lines[1].starts_with("0.000000,"), "{}", lines[1]);
    assert!(lines.iter().any(|l| l.contains(",bottom,2,14,wide_resnet50_2,label,mx6,1,3")), "{csv}");
    assert!(lines.last().unwrap().contains(",bottom,4,12,resnet18,infer,mx4,1,1"), "{csv}");
}

#[test]
fn bad_requests_are_refused() {
    assert!(Scheduler::new(Profiler::new(hdlgen::preset("dacapo").unwrap(), MemoryRate::FULL), 17).is_err());
    let mut s = scheduler(16);
    let err = s.run(Part::Bottom, 0, job(Model::ResNet18, Kernel::Infer, Format::Mx6, 1), 1).unwrap_err();
    assert_eq!(err.to_string(), "the Bottom part has no rows under split 16");
    assert!(s.set_split(20).is_err());
    assert_eq!(s.split(), 16);
}

/// The student's inference of every frame on the top part as one periodic phase: labeling on
/// the bottom part overlaps it and takes longer than alone, by exactly what the port model
/// (`Profiler::kernel_beside`) gives; once the inference stops, a kernel costs what it does
/// alone, and the top part takes new work only after it.
#[test]
fn kernels_beside_the_periodic_inference_lose_the_port_cycles_it_takes() {
    let config = hdlgen::preset("dacapo").unwrap();
    let mut s = scheduler(2);
    let frame = 16_666_666;
    let infer = job(Model::ResNet18, Kernel::Infer, Format::Mx6, 1);
    let top = s.periodic(infer, frame, 0, 30 * frame).unwrap().clone();
    assert_eq!((top.start, top.end, top.iterations, top.rows), (0, 30 * frame, 30, 2));
    let label = job(Model::WideResNet50_2, Kernel::Label, Format::Mx6, 1);
    let p = s.run(Part::Bottom, 1000, label, 3).unwrap().clone();
    assert!(p.start < top.end && top.start < p.end, "the parts' phases overlap");

    let mut profiler = Profiler::new(config, MemoryRate::FULL);
    let beside = inference_every_frame();
    let shared =
        profiler.kernel_beside((Model::WideResNet50_2, Kernel::Label, Format::Mx6, 14, 1), beside).unwrap();
    let alone = cycles(Model::WideResNet50_2, Kernel::Label, Format::Mx6, 14, 1);
    assert_eq!((p.start, p.end), (1000, 1000 + 3 * shared.cycles));
    assert!(shared.cycles > alone + alone / 20, "{} vs {alone}", shared.cycles);

    // After the inference stops: alone again, and the top part queues behind it.
    let later = s.run(Part::Bottom, top.end, label, 1).unwrap().clone();
    assert_eq!(later.end - later.start, alone);
    let t = s.run(Part::Top, 0, infer, 1).unwrap();
    assert_eq!(t.start, top.end);
    // A restart empties the timeline and keeps the array.
    s.restart(4).unwrap();
    assert!(s.timeline().is_empty() && s.split() == 4 && s.free_at(Part::Top) == 0);
    assert!(s.restart(17).is_err());
    // A period shorter than one inference is refused, and so is an end before the start.
    let err = s.periodic(infer, 1000, 0, 10_000).unwrap_err().to_string();
    assert!(err.contains("more than its period of 1000"), "{err}");
    let err = s.periodic(infer, 100, 5_000, 4_000).unwrap_err().to_string();
    assert_eq!(err, "the periodic infer would end at cycle 4000, before it starts at cycle 5000");
}

/// The timeline times each part as if it had the host port alone. Measured here: the bottom
/// part labeling WideResNet-50-2 on 14 rows while the top part keeps running ResNet-18
/// inference on 2 rows (both MX6, every forward GEMM of each, the top part's port requests
/// repeated over the bottom part's whole run) loses under 15 % to the top part's requests.
#[test]
fn port_sharing_costs_the_bottom_part_little() {
    let config = hdlgen::preset("dacapo").unwrap();
    let top = network(Model::ResNet18, 1, 9).gemms;
    let bottom = network(Model::WideResNet50_2, 1, 9).gemms;
    let plan = |g: &host::workloads::Gemm, rows| {
        let shape = GemmShape { format: Format::Mx6, m: g.m as usize, n: g.n as usize, k: g.k as usize };
        GemmPlan::for_shape(config, rows, shape, 0, None).unwrap().commands
    };
    let (mut alone, mut shared) = (0, 0);
    for (i, g) in bottom.iter().enumerate() {
        let t = schedule(config, 2, &plan(&top[i % top.len()], 2), PortShare::default()).unwrap();
        let b = plan(g, 14);
        let by_itself = schedule(config, 14, &b, PortShare::default()).unwrap();
        let mut blocked = Vec::new();
        let mut offset = 0;
        while offset < 2 * by_itself.cycles {
            blocked.extend(t.requests.iter().map(|&(lo, hi)| (lo + offset, hi + offset)));
            offset += t.cycles;
        }
        let with_top =
            schedule(config, 14, &b, PortShare { blocked: &blocked, ..PortShare::default() }).unwrap();
        assert!(with_top.cycles >= by_itself.cycles);
        alone += by_itself.cycles;
        shared += with_top.cycles;
    }
    let slowdown = shared as f64 / alone as f64 - 1.0;
    eprintln!("port sharing slows the bottom part down by {:.1} %", 100.0 * slowdown);
    assert!(slowdown > 0.0 && slowdown < 0.15, "{slowdown}");
}

/// The shared part's kernels as the continuous-learning runs time them: each of the kernel's
/// GEMMs loses the port cycles the top part's inference of every frame requests at that time.
/// Checked against the port model applied directly: the top part's requests of one frame laid
/// out over the whole kernel, from four starting phases within the frame.
#[test]
fn kernels_beside_inference_lose_the_port_cycles_it_takes() {
    let config = hdlgen::preset("dacapo").unwrap();
    let mut timing = ArrayTiming::new(Pair::ResNet18, Profiler::new(config, MemoryRate::FULL), 500.0);
    let period = 500_000_000 / 30;
    let plans = |model, kernel: Kernel, format, rows, batch| -> Vec<Vec<sim::Command>> {
        kernel
            .gemms(model, batch, 9)
            .iter()
            .flat_map(|g| {
                let shape = GemmShape { format, m: g.m as usize, n: g.n as usize, k: g.k as usize };
                let plan = GemmPlan::for_shape(config, rows, shape, 0, None).unwrap().commands;
                std::iter::repeat_n(plan, g.count as usize)
            })
            .collect()
    };
    // One frame's inference on the top 2 rows, from the frame's start.
    let mut frame = Vec::new();
    let mut used = 0;
    for plan in plans(Model::ResNet18, Kernel::Infer, Format::Mx6, 2, 1) {
        let s = schedule(config, 2, &plan, PortShare::default()).unwrap();
        frame.extend(s.requests.iter().map(|&(lo, hi)| (lo + used, hi + used)));
        used += s.cycles;
    }
    assert!(used < period, "inference keeps 30 fps on 2 rows");
    for (kernel, batch, format) in [(Kernel::Label, 1, Format::Mx6), (Kernel::Infer, 16, Format::Mx6)] {
        let model = if kernel == Kernel::Label { Model::WideResNet50_2 } else { Model::ResNet18 };
        let bottom = plans(model, kernel, format, 14, batch);
        let mut total = 0;
        for phase in 0..4 {
            let start = phase * period / 4;
            // Every frame's requests, in absolute cycles, past the kernel's end (under 2 frames).
            let blocked: Vec<(u64, u64)> = (0..4u64)
                .flat_map(|f| frame.iter().map(move |&(lo, hi)| (lo + f * period, hi + f * period)))
                .collect();
            let mut at = start;
            for plan in &bottom {
                let here: Vec<(u64, u64)> = blocked
                    .iter()
                    .filter(|&&(_, hi)| hi >= at)
                    .map(|&(lo, hi)| (lo.max(at) - at, hi - at))
                    .collect();
                at += schedule(config, 14, plan, PortShare { blocked: &here, ..PortShare::default() })
                    .unwrap()
                    .cycles;
            }
            total += at - start;
        }
        let expected = (total / 4) as f64 / 500e6;
        let alone = timing.seconds(kernel, 14, batch).unwrap();
        let beside = timing.seconds_beside_inference(kernel, 14, batch, 2).unwrap();
        assert!(
            (beside - expected).abs() < 1e-12,
            "{kernel:?}: {beside} against the port model's {expected}"
        );
        let slowdown = beside / alone - 1.0;
        eprintln!("{kernel:?} at batch {batch} beside inference: {:.1} % longer", 100.0 * slowdown);
        assert!(slowdown > 0.01 && slowdown < 0.2, "{kernel:?}: {slowdown}");
    }
}

/// An array policy's run: its timeline is the scheduler's, the inference of every frame on the
/// top part beside the labeling and retraining on the bottom part, each label costing what the
/// port model gives beside that inference.
#[test]
fn the_array_policies_run_their_kernels_through_the_scheduler() {
    let config = hdlgen::preset("dacapo").unwrap();
    let net = Net::new(&[4], 1).unwrap();
    let mut timing = ArrayTiming::new(Pair::ResNet18, Profiler::new(config, MemoryRate::FULL), 500.0);
    let play = Play { windows: 1, ..Play::golden(1, 0).unwrap() };
    let policy = Policy::DacapoSpatiotemporal;
    let run = run_scenario(policy, Pair::ResNet18, play, (&net, &net), &mut Labels::default(), &mut timing)
        .unwrap();
    let phases = timing.scheduler().timeline();
    assert_eq!(run.timeline.len(), phases.len());
    let seconds = |cycles: u64| cycles as f64 / 500e6;
    for (w, p) in run.timeline.iter().zip(phases) {
        assert_eq!((w.start, w.end), (seconds(p.start), seconds(p.end)));
        assert_eq!((w.kernel, w.format), (p.job.kernel.name(), p.job.format.name()));
        assert_eq!((w.part, w.rows), (Some(p.part), Some(p.rows)));
    }
    let top = &phases[0];
    assert_eq!(
        (top.part, top.rows, top.start, top.end, top.iterations),
        (Part::Top, 2, 0, 60_000_000_000, 3600)
    );
    // The bottom part works through one queue, all of it beside the inference.
    let bottom = &phases[1..];
    assert!(bottom.iter().all(|p| p.part == Part::Bottom && p.rows == 14 && p.end <= top.end));
    assert!(bottom.windows(2).all(|w| w[0].end <= w[1].start));
    assert!(bottom.iter().any(|p| p.job.kernel == Kernel::Train) && bottom.len() > 3);

    let mut profiler = Profiler::new(config, MemoryRate::FULL);
    let inference = inference_every_frame();
    let key = (Model::WideResNet50_2, Kernel::Label, Format::Mx6, 14, 1);
    let label = profiler.kernel_beside(key, inference).unwrap().cycles;
    assert!(label > cycles(Model::WideResNet50_2, Kernel::Label, Format::Mx6, 14, 1));
    let labels: Vec<&host::scheduler::Phase> =
        bottom.iter().filter(|p| p.job.kernel == Kernel::Label).collect();
    assert!(labels.iter().all(|p| p.end - p.start == p.iterations * label));
    assert_eq!(labels.iter().map(|p| p.iterations).sum::<u64>(), run.counts.labels as u64);
}
