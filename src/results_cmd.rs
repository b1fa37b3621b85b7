//! `dacapo results`: the seed study behind every result the README states. Each seed plays
//! the policies on another take of the stream with other random choices; the ablations play
//! the policies they change. It writes each run's `summary.json` and one table of means and
//! spreads, `README.md`, into `--out` (committed as `docs/results/`).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use host::cl::baselines::Profiling;
use host::cl::{Pair, Policy};
use host::stream::SCENARIOS;

use crate::run_cmd::{networks, play_all, summary_json, RunArgs};

#[derive(Args)]
pub struct ResultsArgs {
    /// Student / teacher pair: resnet18, resnet34 or vit.
    #[arg(long, default_value = "resnet18")]
    pair: String,
    /// Seeds: seed 0 plays stream take 0 and seed n > 0 take n + 1 (take 1 is the
    /// pretraining footage), each with the policies' random choices from seed n.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=20))]
    seeds: u64,
    /// Output folder (replaced when the study succeeds).
    #[arg(long, default_value = "docs/results")]
    out: PathBuf,
    /// Folder of cached networks.
    #[arg(long, default_value = "target/dacapo-cache")]
    cache_dir: PathBuf,
}

/// One configuration of the study: its name, the policies it plays, and how it sets the run.
struct Study {
    name: &'static str,
    what: &'static str,
    policies: Vec<Policy>,
    set: fn(&mut RunArgs),
}

fn studies() -> Vec<Study> {
    use Policy::*;
    vec![
        Study {
            name: "main",
            what: "every policy as `dacapo run` plays it",
            policies: Policy::ALL.to_vec(),
            set: |_| {},
        },
        Study {
            name: "no-drift-test",
            what: "DaCapo-Spatiotemporal without its drift test (`--no-drift-test`)",
            policies: vec![DacapoSpatiotemporal],
            set: |a| a.no_drift_test = true,
        },
        Study {
            name: "13-shared-rows",
            what: "the array policies with 13 shared rows instead of 14 (`--inference-rows 3`)",
            policies: vec![DacapoSpatiotemporal, DacapoSpatial, EkyaDacapo],
            set: |a| a.inference_rows = Some(3),
        },
        Study {
            name: "ekya-profiling-charged",
            what: "Ekya with its micro-profiling charged inside the window (`--ekya-profiling in-window`)",
            policies: vec![EkyaDacapo, EkyaOrin],
            set: |a| a.ekya_profiling = Profiling::InWindow,
        },
    ]
}

/// The stream take seed `n` plays: 0, 2, 3, ... (take 1 is the pretraining footage).
fn take_of(seed: u64) -> u64 {
    if seed == 0 {
        0
    } else {
        seed + 1
    }
}

pub fn results_cmd(args: ResultsArgs) -> anyhow::Result<()> {
    let pair = Pair::parse(&args.pair)?;
    let out = crate::cleanup::StagedFolder::new(&args.out, "--out")?;
    let nets = networks(&args.cache_dir)?;
    let scenarios: Vec<usize> = (1..=SCENARIOS).collect();
    let mut table = format!(
        "# Results: the seed study\n\nWritten by `make results` (`dacapo results --pair {} --seeds {}`): \
         seed 0 plays stream take 0 and seed n > 0 take n + 1 (take 1 is the pretraining \
         footage), each with the policies' random choices from seed n; the networks are the same pretrained pair in every run. \
         Scores are geometric means of window accuracies after the 4 warm-up windows, percent: \
         mean, sample standard deviation and range over the seeds. Each run's `summary.json` \
         is in `<study>/seed-<n>/`.\n",
        pair.name(),
        args.seeds
    );
    for study in studies() {
        let mut summaries = Vec::new();
        for seed in 0..args.seeds {
            eprintln!("results: {} seed {seed} (take {})", study.name, take_of(seed));
            let mut run = RunArgs {
                pair: args.pair.clone(),
                policy: String::new(),
                scenarios: String::new(),
                out: PathBuf::new(),
                cache_dir: args.cache_dir.clone(),
                seed,
                take: take_of(seed),
                no_drift_test: false,
                inference_rows: None,
                ekya_profiling: Profiling::BeforeWindow,
            };
            (study.set)(&mut run);
            let results = play_all(&nets, pair, &study.policies, &scenarios, &run)?;
            let summary = summary_json(pair, &run, &study.policies, &results);
            let dir = out.path().join(study.name).join(format!("seed-{seed}"));
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            std::fs::write(dir.join("summary.json"), serde_json::to_string_pretty(&summary)? + "\n")
                .with_context(|| format!("cannot write {}", dir.join("summary.json").display()))?;
            summaries.push(summary);
        }
        table += &study_table(&study, &summaries);
    }
    std::fs::write(out.path().join("README.md"), &table)
        .with_context(|| format!("cannot write {}", out.path().join("README.md").display()))?;
    out.replace()?;
    print!("{table}");
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Mean, sample standard deviation, least and largest of `xs`.
fn spread(xs: &[f64]) -> (f64, f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = if xs.len() > 1 {
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
    (mean, sd, lo, hi)
}

/// One study's table: per policy, the per-scenario means, the geometric mean's mean, spread
/// and range, and what the policy did (labels, their rate, retrainings, drift events).
fn study_table(study: &Study, summaries: &[serde_json::Value]) -> String {
    let mut out = format!("\n## {}\n\n{}.\n\n| policy |", study.name, study.what);
    for s in 1..=SCENARIOS {
        let _ = write!(out, " s{s} |");
    }
    out += " geomean | sd | range | labels / run | label rate | retrainings / run | drifts / run |\n|---|";
    out += &"---|".repeat(SCENARIOS + 7);
    out += "\n";
    for (i, policy) in study.policies.iter().enumerate() {
        let field = |f: &dyn Fn(&serde_json::Value) -> f64| -> Vec<f64> {
            summaries.iter().map(|s| f(&s["policies"][i])).collect()
        };
        let _ = write!(out, "| {} |", policy.name());
        for s in 1..=SCENARIOS {
            let (mean, ..) =
                spread(&field(&|p| p["scenarios"][format!("s{s}")].as_f64().unwrap_or(f64::NAN)));
            let _ = write!(out, " {mean:.1} |");
        }
        let (mean, sd, lo, hi) = spread(&field(&|p| p["geomean"].as_f64().unwrap_or(f64::NAN)));
        let activity = |key: &str| spread(&field(&|p| p["activity"][key].as_f64().unwrap_or(f64::NAN))).0;
        let _ = writeln!(
            out,
            " **{mean:.1}** | {sd:.1} | {lo:.1}-{hi:.1} | {:.0} | {:.1} % | {:.0} | {:.0} |",
            activity("labels"),
            100.0 * activity("label_rate"),
            activity("retrainings"),
            activity("drifts")
        );
    }
    out
}
