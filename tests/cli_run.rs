//! `dacapo run`: outputs, determinism, and bad input.

mod common;
use common::{dacapo, stderr};

use std::fs;

#[test]
fn a_run_writes_its_results_and_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // A fresh cache: the first run pretrains, the second reads the networks back, and both
    // must play alike.
    let cache_dir = dir.path().join("cache");
    let cache = cache_dir.to_str().unwrap();
    let args = [
        "run",
        "--policy",
        "dacapo-spatial",
        "--scenarios",
        "s2",
        "--cache-dir",
        cache,
        "--out",
        out.to_str().unwrap(),
    ];
    let first = dacapo(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let summary = fs::read_to_string(out.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let policy = &json["policies"][0];
    assert_eq!(policy["name"], "dacapo-spatial");
    let s2 = policy["scenarios"]["s2"].as_f64().unwrap();
    assert!(s2 > 0.0 && s2 <= 100.0, "{summary}");
    assert_eq!(policy["geomean"].as_f64().unwrap(), s2, "one scenario: its own geometric mean");
    // What it did: 747 labels (20.75 %) in each of the 14 windows, a retraining after each
    // window but the first, its labels' accuracy against the true classes.
    let activity = &policy["activity"];
    assert_eq!(activity["labels"], 14 * 747, "{summary}");
    assert!((activity["label_rate"].as_f64().unwrap() - 0.2075).abs() < 1e-4, "{summary}");
    assert_eq!(activity["retrainings"], 13);
    assert_eq!(activity["drifts"], 0);
    let teacher = activity["teacher_accuracy"].as_f64().unwrap();
    assert!((50.0..=100.0).contains(&teacher), "{summary}");
    assert!(activity["device_seconds"]["train"].as_f64().unwrap() > 0.0);
    assert_eq!(policy["activity_by_scenario"]["s2"], *activity, "one scenario");
    assert_eq!((json["seed"].as_u64(), json["take"].as_u64()), (Some(0), Some(0)));
    let timeline = fs::read_to_string(out.join("timeline.csv")).unwrap();
    assert!(timeline.starts_with("policy,scenario,start_s,end_s,kernel,format,rows,top_rows,bottom_rows\n"));
    assert!(timeline.contains("dacapo-spatial,s2,0.000,1680.000,infer,mx6,2,2,14"), "{timeline}");
    assert!(timeline.lines().any(|l| l.ends_with(",train,mx9,14,2,14")));
    assert_eq!(fs::read_to_string(out.join("windows.csv")).unwrap().lines().count(), 1 + 14);
    assert_eq!(fs::read_to_string(out.join("frames.csv")).unwrap().lines().count(), 1 + 5040);
    for svg in ["accuracy.svg", "timeline.svg"] {
        let text = fs::read_to_string(out.join(svg)).unwrap();
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{svg}");
    }
    assert!(stderr(&first).contains("pretraining the teacher"), "{}", stderr(&first));
    let table = String::from_utf8_lossy(&first.stdout);
    assert!(table.contains("dacapo-spatial") && table.contains("geomean"), "{table}");
    assert!(
        stderr(&first).contains("[####################] 1/1 s2 dacapo-spatial"),
        "progress: {}",
        stderr(&first)
    );

    // The rest only reads the cached networks, so it runs at once: the same run again,
    // another seed (into a folder of its own) and one window on the Verilator chip.
    let seeded_out = dir.path().join("seeded");
    let mut seeded_args = args.to_vec();
    *seeded_args.last_mut().unwrap() = seeded_out.to_str().unwrap();
    seeded_args.extend(["--seed", "1"]);
    let rtl_args = ["run-rtl", "--preset", "small", "--scenario", "s2", "--cache-dir", cache];
    let (second, seeded, rtl) = std::thread::scope(|scope| {
        let seeded = scope.spawn(|| dacapo(&seeded_args));
        let rtl = scope.spawn(|| dacapo(&rtl_args));
        (dacapo(&args), seeded.join().unwrap(), rtl.join().unwrap())
    });

    // The same run again: the same results, the output folder replaced.
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).contains("reusing"), "{}", stderr(&second));
    assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), summary);
    assert_eq!(fs::read_to_string(out.join("timeline.csv")).unwrap(), timeline);

    // Another seed: other sampling and shuffling, another result.
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    assert_ne!(fs::read_to_string(seeded_out.join("summary.json")).unwrap(), summary);

    // One window with every kernel on the Verilator chip equals the golden window.
    assert!(rtl.status.success(), "{}", stderr(&rtl));
    assert!(String::from_utf8_lossy(&rtl.stdout).contains("bit-exact"));
}

#[test]
fn bad_input_is_rejected_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    for (args, says) in [
        (vec!["run", "--pair", "resnet50", "--out", o], "unknown pair 'resnet50'"),
        (vec!["run", "--policy", "greedy", "--out", o], "unknown policy 'greedy'"),
        (vec!["run", "--policy", "ekya-orin,greedy", "--out", o], "unknown policy 'greedy'"),
        (vec!["run", "--policy", "ekya-orin,ekya-orin", "--out", o], "--policy lists 'ekya-orin' twice"),
        (vec!["run", "--scenarios", "", "--out", o], "--scenarios '' has an empty item"),
        (vec!["run", "--scenarios", " , ", "--out", o], "has an empty item"),
        (vec!["run", "--scenarios", "s1,s7", "--out", o], "unknown scenario 's7'"),
        (vec!["run", "--take", "1", "--out", o], "take 1 is the networks' pretraining footage"),
        (vec!["run", "--take", "two", "--out", o], "'two' is not a take"),
        (vec!["run", "--ekya-profiling", "sometimes", "--out", o], "unknown accounting 'sometimes'"),
        (vec!["run", "--inference-rows", "1", "--out", o], "inference on 1 of the 16 rows: it needs 2 to 15"),
        (
            vec!["run", "--inference-rows", "16", "--out", o],
            "inference on 16 of the 16 rows: it needs 2 to 15",
        ),
        (vec!["run", "--inference-rows", "0", "--out", o], "--inference-rows"),
        (vec!["results", "--seeds", "0", "--out", o], "--seeds"),
        (vec!["results", "--pair", "resnet50", "--out", o], "unknown pair 'resnet50'"),
        (vec!["run-rtl", "--scenario", "s1,s2"], "one scenario"),
        (vec!["run-rtl", "--preset", "tiny"], "tiny"),
    ] {
        let run = dacapo(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert!(stderr(&run).contains(says), "{args:?}: {}", stderr(&run));
        assert!(!out.exists());
    }
    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    let inside = file.join("out");
    let run = dacapo(&["run", "--scenarios", "s1", "--out", inside.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("cannot create folder"), "{}", stderr(&run));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "nothing half-written");
}
