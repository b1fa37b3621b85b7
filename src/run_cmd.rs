//! `dacapo pretrain` and `dacapo run`: the continuous-learning runs on the drifting stream,
//! with their summary, timeline, per-frame results and plots.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use clap::Args;
use host::cl::baselines::Profiling;
use host::cl::pretrain::{self, Steps};
use host::cl::world::Labels;
use host::cl::{run_scenario, ArrayTiming, Options, Pair, Play, Policy, ScenarioRun};
use host::latency::Profiler;
use host::net::Net;
use host::stream::{FPS, FRAMES_PER_WINDOW, SCENARIOS, WINDOWS};
use sim::{MemoryRate, Part};

#[derive(Args)]
pub struct PretrainArgs {
    /// Folder of cached networks.
    #[arg(long, default_value = "target/dacapo-cache")]
    cache_dir: PathBuf,
}

#[derive(Args)]
pub struct RunArgs {
    /// Student / teacher pair whose latencies time the phases: resnet18, resnet34 or vit.
    #[arg(long, default_value = "resnet18")]
    pub(crate) pair: String,
    /// Policies to play, comma-separated, or all.
    #[arg(long, default_value = "all")]
    pub(crate) policy: String,
    /// Scenarios to play, comma-separated (s1..s6).
    #[arg(long, default_value = "s1,s2,s3,s4,s5,s6")]
    pub(crate) scenarios: String,
    /// Output folder (replaced when the run succeeds).
    #[arg(long, default_value = "runs/latest")]
    pub(crate) out: PathBuf,
    /// Folder of cached networks.
    #[arg(long, default_value = "target/dacapo-cache")]
    pub(crate) cache_dir: PathBuf,
    /// Seed of the policies' random choices (sampling, shuffling); the stream and the
    /// pretrained networks stay the same.
    #[arg(long, default_value_t = 0, value_parser = host::named::parse_seed)]
    pub(crate) seed: u64,
    /// Take of the stream to play: 0, or 2 and up (the same conditions over other scenes;
    /// take 1 is the networks' pretraining footage).
    #[arg(long, default_value_t = 0, value_parser = parse_take)]
    pub(crate) take: u64,
    /// Ablation: DaCapo-Spatiotemporal without its drift test (it never clears its buffer).
    #[arg(long)]
    pub(crate) no_drift_test: bool,
    /// Ablation: inference on this many rows of the array instead of the fewest that keep
    /// 30 fps (3 leaves 13 rows to the shared part).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) inference_rows: Option<u32>,
    /// Where Ekya's micro-profiling time goes: before-window (as the reference harness,
    /// free) or in-window (charged ahead of the window's labeling).
    #[arg(long, default_value = "before-window", value_parser = parse_profiling)]
    pub(crate) ekya_profiling: Profiling,
}

fn parse_take(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(1) => Err("take 1 is the networks' pretraining footage; play take 0 or 2 and up".into()),
        Ok(take) if take <= 1000 => Ok(take),
        _ => Err(format!("'{text}' is not a take; use 0 or an integer from 2 to 1000")),
    }
}

fn parse_profiling(text: &str) -> Result<Profiling, String> {
    match text {
        "before-window" => Ok(Profiling::BeforeWindow),
        "in-window" => Ok(Profiling::InWindow),
        _ => Err(format!("unknown accounting '{text}'; use before-window or in-window")),
    }
}

impl RunArgs {
    fn options(&self) -> Options {
        Options {
            drift_test: !self.no_drift_test,
            inference_rows: self.inference_rows,
            ekya_profiling: self.ekya_profiling,
        }
    }
}

/// The pretrained (student, teacher), from the cache or trained now. Every command that needs
/// them asks for them before any other work, so a bad --cache-dir fails first.
pub(crate) fn networks(cache_dir: &Path) -> anyhow::Result<(Net, Net)> {
    ensure!(
        !cache_dir.exists() || cache_dir.is_dir(),
        "--cache-dir {} is a file; name a folder for the cached networks",
        cache_dir.display()
    );
    let path = cache_dir.join(format!("networks-{}.bin", pretrain::cache_key(Steps::FULL)));
    if let Some(nets) = std::fs::read(&path).ok().and_then(|b| pretrain::from_bytes(&b).ok()) {
        eprintln!("reusing {}", path.display());
        return Ok(nets);
    }
    let started = Instant::now();
    let (student, teacher) = pretrain::pretrain(Steps::FULL, |net, step, steps| {
        eprintln!("pretraining the {net}: step {step}/{steps} ({:.0} s)", started.elapsed().as_secs_f64());
    })?;
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("cannot create folder {}", cache_dir.display()))?;
    let bytes = pretrain::to_bytes(&student, &teacher);
    host::npy::write_atomic(&path, &bytes)?;
    eprintln!("wrote {}", path.display());
    // What the file holds (no optimizer state), so a fresh run and a cached one start alike.
    pretrain::from_bytes(&bytes)
}

pub fn pretrain_cmd(args: PretrainArgs) -> anyhow::Result<()> {
    networks(&args.cache_dir).map(|_| ())
}

#[derive(Args)]
pub struct RunRtlArgs {
    /// Preset whose Verilator chip runs every kernel: small (4 x 4) or dacapo (16 x 16).
    #[arg(long, default_value = "small")]
    preset: String,
    /// Pair whose latencies time the phases.
    #[arg(long, default_value = "resnet18")]
    pair: String,
    /// The scenario whose first window is replayed.
    #[arg(long, default_value = "s1")]
    scenario: String,
    /// Folder of cached networks.
    #[arg(long, default_value = "target/dacapo-cache")]
    cache_dir: PathBuf,
}

/// One window of DaCapo-Spatiotemporal with every GEMM on the chip, against the golden model.
pub fn run_rtl_cmd(args: RunRtlArgs) -> anyhow::Result<bool> {
    let pair = Pair::parse(&args.pair)?;
    let scenario = match parse_scenarios("--scenario", &args.scenario)?[..] {
        [s] => s,
        _ => bail!("--scenario takes one scenario, such as s1"),
    };
    sim::Chip::new(&args.preset).map(drop)?; // the preset has a Verilator model

    let (student, teacher) = networks(&args.cache_dir)?;
    let config = hdlgen::preset("dacapo")?;
    let mut runs = Vec::new();
    for (name, backend) in [
        ("golden", Box::new(host::backend::Golden::new(&args.preset)?) as Box<dyn host::backend::Backend>),
        ("rtl", Box::new(host::backend::Rtl::new(&args.preset)?)),
    ] {
        let started = Instant::now();
        let mut timing =
            ArrayTiming::new(pair, Profiler::new(config, MemoryRate::FULL), host::timing::CLOCK_MHZ);
        let play = Play { scenario, take: 0, windows: 1, backend, seed: 0, options: Options::default() };
        let run = run_scenario(
            Policy::DacapoSpatiotemporal,
            pair,
            play,
            (&student, &teacher),
            &mut Labels::default(),
            &mut timing,
        )?;
        let correct = run.scored.iter().filter(|(_, ok)| *ok).count();
        eprintln!(
            "{name}: {} phases, {correct} of {} scored frames correct ({:.1} s)",
            run.timeline.len(),
            run.scored.len(),
            started.elapsed().as_secs_f64()
        );
        runs.push(run);
    }
    let same = runs[0].scored == runs[1].scored
        && runs[0].timeline == runs[1].timeline
        && runs[0].student == runs[1].student;
    if same {
        println!("bit-exact: the chip's window of s{scenario} equals the golden one (predictions, phases, final weights)");
    } else {
        println!("MISMATCH: the chip's window of s{scenario} differs from the golden one");
    }
    Ok(same)
}

pub(crate) fn parse_scenarios(option: &str, list: &str) -> anyhow::Result<Vec<usize>> {
    host::named::parse_list(option, list, |name| {
        match name.strip_prefix('s').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if (1..=SCENARIOS).contains(&n) => Ok(n),
            _ => bail!("unknown scenario '{name}'; the scenarios are s1 to s{SCENARIOS}"),
        }
    })
}

pub fn run_cmd(args: RunArgs) -> anyhow::Result<()> {
    let pair = Pair::parse(&args.pair)?;
    let policies = Policy::parse_list(&args.policy)?;
    let scenarios = parse_scenarios("--scenarios", &args.scenarios)?;
    if args.inference_rows.is_some() {
        let config = hdlgen::preset("dacapo")?;
        let mut timing =
            ArrayTiming::new(pair, Profiler::new(config, MemoryRate::FULL), host::timing::CLOCK_MHZ);
        host::cl::policies::inference_rows_or(&mut timing, args.inference_rows)
            .context("--inference-rows")?;
    }
    let out = crate::cleanup::StagedFolder::new(&args.out, "--out")?;
    run_into(out.path(), pair, &policies, &scenarios, &args)?;
    out.replace()?;
    println!("wrote {}", args.out.display());
    Ok(())
}

fn run_into(
    dir: &Path,
    pair: Pair,
    policies: &[Policy],
    scenarios: &[usize],
    args: &RunArgs,
) -> anyhow::Result<()> {
    let nets = networks(&args.cache_dir)?;
    let results = play_all(&nets, pair, policies, scenarios, args)?;
    write_outputs(dir, pair, args, policies, scenarios, &results)?;
    print_table(policies, scenarios, &results);
    Ok(())
}

/// Plays every policy on every scenario (scenarios in parallel), with progress on stderr;
/// the results in policy order, then scenario order.
pub(crate) fn play_all(
    (student, teacher): &(Net, Net),
    pair: Pair,
    policies: &[Policy],
    scenarios: &[usize],
    args: &RunArgs,
) -> anyhow::Result<Vec<(Policy, usize, ScenarioRun)>> {
    let config = hdlgen::preset("dacapo")?;
    let started = Instant::now();
    let total = policies.len() * scenarios.len();
    let done = Mutex::new(0usize);
    // Scenarios in parallel, each playing every policy in turn with one label cache.
    let queue = Mutex::new(scenarios.to_vec());
    let results: Mutex<Vec<(Policy, usize, ScenarioRun)>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(scenarios.len());
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // One timing model per thread: its kernel costs stay known across runs.
                let mut timing =
                    ArrayTiming::new(pair, Profiler::new(config, MemoryRate::FULL), host::timing::CLOCK_MHZ);
                loop {
                    let Some(scenario) = queue.lock().expect("queue").pop() else { break };
                    let mut labels = Labels::default();
                    for &policy in policies {
                        let t = Instant::now();
                        let run = Play::golden(scenario, args.seed).and_then(|play| {
                            let play = Play { take: args.take, options: args.options(), ..play };
                            run_scenario(policy, pair, play, (student, teacher), &mut labels, &mut timing)
                        });
                        match run {
                            Ok(run) => {
                                let mut n = done.lock().expect("progress");
                                *n += 1;
                                let filled = 20 * *n / total;
                                eprintln!(
                                "[{}{}] {n}/{total} s{scenario} {:<22} {:5.1} % ({:.1} s, {:.0} s so far)",
                                "#".repeat(filled),
                                ".".repeat(20 - filled),
                                policy.name(),
                                100.0 * run.score,
                                t.elapsed().as_secs_f64(),
                                started.elapsed().as_secs_f64()
                            );
                                results.lock().expect("results").push((policy, scenario, run));
                            }
                            Err(e) => {
                                *failure.lock().expect("failure") =
                                    Some(e.context(format!("s{scenario} {}", policy.name())));
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("failure") {
        return Err(e);
    }
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(p, s, _)| (policies.iter().position(|q| q == p), *s));
    Ok(results)
}

fn geomean_of(results: &[(Policy, usize, ScenarioRun)], policy: Policy) -> f64 {
    let scores: Vec<f64> = results.iter().filter(|(p, _, _)| *p == policy).map(|(_, _, r)| r.score).collect();
    host::cl::protocol::geomean(&scores)
}

/// What a run of policies did, per policy and scenario: scores (percent), the labels taken and
/// their rate, the teacher's accuracy on them, retrainings, drift events and device seconds
/// by kernel.
pub(crate) fn summary_json(
    pair: Pair,
    args: &RunArgs,
    policies: &[Policy],
    results: &[(Policy, usize, ScenarioRun)],
) -> serde_json::Value {
    use serde_json::json;
    let activity = |runs: &[&ScenarioRun]| {
        let frames: u64 = runs.iter().map(|r| r.scored.len() as u64 * host::cl::world::SCORE_STRIDE).sum();
        let labels: usize = runs.iter().map(|r| r.counts.labels).sum();
        let correct: usize = runs.iter().map(|r| r.counts.labels_correct).sum();
        let seconds = |kernel: &str, part: Option<Part>| -> f64 {
            runs.iter()
                .flat_map(|r| &r.timeline)
                .filter(|p| p.kernel == kernel && (part.is_none() || p.part == part))
                // (A sum of no phases is 0, not Rust's -0.)
                .fold(0.0, |sum, p| sum + (p.end - p.start))
        };
        json!({
            "labels": labels,
            "label_rate": labels as f64 / frames.max(1) as f64,
            "teacher_accuracy": if labels == 0 { 0.0 } else { 100.0 * correct as f64 / labels as f64 },
            "retrainings": runs.iter().map(|r| r.counts.retrainings).sum::<usize>(),
            "drifts": runs.iter().map(|r| r.counts.drifts).sum::<usize>(),
            "device_seconds": {
                "label": seconds("label", None),
                "train": seconds("train", None),
                "validate": seconds("infer", Some(Part::Bottom)),
            },
        })
    };
    let policies: Vec<serde_json::Value> = policies
        .iter()
        .map(|&policy| {
            let runs: Vec<(usize, &ScenarioRun)> =
                results.iter().filter(|(p, _, _)| *p == policy).map(|(_, s, r)| (*s, r)).collect();
            let scores: serde_json::Map<String, serde_json::Value> =
                runs.iter().map(|(s, r)| (format!("s{s}"), json!(round2(100.0 * r.score)))).collect();
            let per: serde_json::Map<String, serde_json::Value> =
                runs.iter().map(|(s, r)| (format!("s{s}"), activity(&[*r]))).collect();
            let all: Vec<&ScenarioRun> = runs.iter().map(|(_, r)| *r).collect();
            json!({
                "name": policy.name(),
                "geomean": round2(100.0 * geomean_of(results, policy)),
                "scenarios": scores,
                "activity": activity(&all),
                "activity_by_scenario": per,
            })
        })
        .collect();
    let options = args.options();
    json!({
        "pair": pair.name(),
        "seed": args.seed,
        "take": args.take,
        "drift_test": options.drift_test,
        "inference_rows": options.inference_rows,
        "ekya_profiling": if options.ekya_profiling == Profiling::InWindow { "in-window" } else { "before-window" },
        "policies": policies,
    })
}

/// Two decimals, as the tables print them.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn write_outputs(
    dir: &Path,
    pair: Pair,
    args: &RunArgs,
    policies: &[Policy],
    scenarios: &[usize],
    results: &[(Policy, usize, ScenarioRun)],
) -> anyhow::Result<()> {
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
    };
    let summary = summary_json(pair, args, policies, results);
    write("summary.json", &(serde_json::to_string_pretty(&summary)? + "\n"))?;

    let mut timeline =
        String::from("policy,scenario,start_s,end_s,kernel,format,rows,top_rows,bottom_rows\n");
    let mut windows = String::from("policy,scenario,window,accuracy\n");
    let mut frames = String::from("policy,scenario,frame,correct\n");
    for (policy, s, run) in results {
        // Off the array (GPU, host) there are no rows.
        let count = |r: Option<u32>| r.map_or(String::new(), |r| r.to_string());
        let (top, bottom) = (count(run.split.map(|s| s.0)), count(run.split.map(|s| s.1)));
        for p in &run.timeline {
            let (start, end, kernel, format, rows) = (p.start, p.end, p.kernel, p.format, count(p.rows));
            let _ = writeln!(
                timeline,
                "{},s{s},{start:.3},{end:.3},{kernel},{format},{rows},{top},{bottom}",
                policy.name()
            );
        }
        for (w, a) in run.windows.iter().enumerate() {
            let _ = writeln!(windows, "{},s{s},{},{:.4}", policy.name(), w + 1, a);
        }
        for (f, ok) in &run.scored {
            let _ = writeln!(frames, "{},s{s},{f},{}", policy.name(), u8::from(*ok));
        }
    }
    write("timeline.csv", &timeline)?;
    write("windows.csv", &windows)?;
    write("frames.csv", &frames)?;
    write("accuracy.svg", &accuracy_svg(policies, scenarios, results))?;
    write("timeline.svg", &timeline_svg(results))?;
    Ok(())
}

const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/// Window accuracy over time, averaged over the scenarios, one line per policy.
fn accuracy_svg(
    policies: &[Policy],
    scenarios: &[usize],
    results: &[(Policy, usize, ScenarioRun)],
) -> String {
    let (w, h, left, top) = (720.0, 360.0, 60.0, 20.0);
    let (pw, ph) = (w - left - 180.0, h - top - 50.0);
    let x = |window: f64| left + pw * window / WINDOWS as f64;
    let y = |acc: f64| top + ph * (1.0 - acc);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for tick in 0..=10 {
        let a = tick as f64 / 10.0;
        let (right, at) = (left + pw, y(a));
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{right}\" y1=\"{at}\" y2=\"{at}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            at + 4.0,
            tick * 10
        );
    }
    for window in 0..=WINDOWS {
        let minutes = window as u64 * FRAMES_PER_WINDOW / FPS / 60;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{minutes}</text>",
            x(window as f64),
            top + ph + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{ph}\" fill=\"#888\" opacity=\"0.12\"/>",
        pw * 4.0 / WINDOWS as f64
    );
    let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">minutes (shaded: warm-up); mean window accuracy over {} scenario(s), %</text>", left + pw / 2.0, h - 8.0, scenarios.len());
    for (i, &policy) in policies.iter().enumerate() {
        let runs: Vec<&ScenarioRun> =
            results.iter().filter(|(p, _, _)| *p == policy).map(|(_, _, r)| r).collect();
        let points: Vec<String> = (0..WINDOWS)
            .map(|wi| {
                let mean = runs.iter().map(|r| r.windows[wi]).sum::<f64>() / runs.len().max(1) as f64;
                format!("{:.1},{:.1}", x(wi as f64 + 0.5), y(mean))
            })
            .collect();
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            points.join(" ")
        );
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"{colour}\">{}</text>",
            left + pw + 12.0,
            top + 16.0 * (i as f64 + 1.0),
            policy.name()
        );
    }
    svg + "</svg>\n"
}

/// The first run's allocation: each phase a bar over its rows (x: time, y: array rows).
fn timeline_svg(results: &[(Policy, usize, ScenarioRun)]) -> String {
    let (w, h, left, top) = (900.0, 260.0, 60.0, 30.0);
    let (pw, ph) = (w - left - 20.0, h - top - 50.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let Some((policy, scenario, run)) = results.first() else { return svg + "</svg>\n" };
    let end = (WINDOWS as u64 * FRAMES_PER_WINDOW / FPS) as f64;
    let x = |t: f64| left + pw * t / end;
    let rows_total = 16.0;
    let infer_rows =
        run.timeline.iter().find(|p| p.part == Some(Part::Top)).and_then(|p| p.rows).unwrap_or(0) as f64;
    let _ = writeln!(svg, "<text x=\"{left}\" y=\"18\">{} on s{scenario}: array rows over time (inference blue, labeling orange, retraining green)</text>", policy.name());
    for p in &run.timeline {
        // The shared part's inference validates a retraining: green with it.
        let (colour, lo, hi) = match (p.part, p.kernel) {
            (Some(Part::Top), _) | (None, "infer") => ("#1f77b4", 0.0, infer_rows),
            (_, "label") => ("#ff7f0e", infer_rows, rows_total),
            _ => ("#2ca02c", infer_rows, rows_total),
        };
        let y0 = top + ph * lo / rows_total;
        let _ = writeln!(
            svg,
            "<rect x=\"{:.2}\" y=\"{y0:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{colour}\"><title>{} {} {:.1}-{:.1} s</title></rect>",
            x(p.start),
            (x(p.end) - x(p.start)).max(0.3),
            ph * (hi - lo) / rows_total,
            p.kernel,
            p.format,
            p.start,
            p.end
        );
    }
    for minute in (0..=28).step_by(2) {
        let t = minute as f64 * 60.0;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{minute}</text>",
            x(t),
            top + ph + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">minutes</text>",
        left + pw / 2.0,
        h - 8.0
    );
    let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">row 0</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">row 16</text>", left - 6.0, top + 10.0, left - 6.0, top + ph);
    svg + "</svg>\n"
}

fn print_table(policies: &[Policy], scenarios: &[usize], results: &[(Policy, usize, ScenarioRun)]) {
    let mut header = format!("{:<24}", "policy");
    for s in scenarios {
        let _ = write!(header, "{:>7}", format!("s{s}"));
    }
    println!("{header}{:>9}", "geomean");
    for &policy in policies {
        let mut line = format!("{:<24}", policy.name());
        for &s in scenarios {
            let score =
                results.iter().find(|(p, q, _)| *p == policy && *q == s).map_or(0.0, |(_, _, r)| r.score);
            let _ = write!(line, "{:>7.1}", 100.0 * score);
        }
        println!("{line}{:>9.1}", 100.0 * geomean_of(results, policy));
    }
}
