//! `dacapo profile`: the latency table and single entries.

mod common;
use common::{dacapo, stderr};

use std::fs;

#[test]
fn one_entry_as_json() {
    let args = [
        "profile", "--model", "resnet18", "--kernel", "infer", "--format", "mx6", "--rows", "2", "--batch",
        "1",
    ];
    let run = dacapo(&[&args[..], &["--json"]].concat());
    assert!(run.status.success(), "{}", stderr(&run));
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let (seconds, cycles) = (json["seconds"].as_f64().unwrap(), json["cycles"].as_f64().unwrap());
    assert!((seconds - cycles / 500e6).abs() < 1e-9, "{json}");
    assert!(seconds <= 1.0 / 30.0, "ResNet-18 at MX6 fits 30 fps on 2 rows: {json}");
    let u = json["utilization"].as_f64().unwrap();
    assert!(u > 0.5 && u <= 1.0, "{json}");
    // A slower clock takes the same cycles and more seconds.
    let slow = dacapo(&[&args[..], &["--json", "--clock-mhz", "250"]].concat());
    let slow: serde_json::Value = serde_json::from_slice(&slow.stdout).unwrap();
    assert_eq!(slow["cycles"], json["cycles"]);
    assert!((slow["seconds"].as_f64().unwrap() - 2.0 * seconds).abs() < 1e-9);
}

#[test]
fn a_config_json_is_timed_like_its_preset() {
    let dir = tempfile::tempdir().unwrap();
    let rtl = dir.path().join("rtl");
    let run = dacapo(&["rtl", "--out", rtl.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    let entry = [
        "--model", "resnet18", "--kernel", "label", "--format", "mx9", "--rows", "3", "--batch", "2",
        "--json",
    ];
    let config = rtl.join("dacapo/config.json");
    let from_file = dacapo(&[&["profile", "--config", config.to_str().unwrap()][..], &entry].concat());
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    let from_preset = dacapo(&[&["profile", "--preset", "dacapo"][..], &entry].concat());
    assert_eq!(from_file.stdout, from_preset.stdout);
    let run = dacapo(
        &[&["profile", "--config", config.to_str().unwrap(), "--preset", "small"][..], &entry].concat(),
    );
    assert!(stderr(&run).contains("cannot be used with"), "{}", stderr(&run));
}

#[test]
fn the_table_is_written_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports/latency.csv");
    let cache = dir.path().join("cache");
    let args = ["profile", "--out", out.to_str().unwrap(), "--cache-dir", cache.to_str().unwrap()];
    let first = dacapo(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let table = fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 6 * 3 * 3 * 16 * 2);
    assert!(lines[0].starts_with("model,kernel,format,rows,batch,seconds,cycles,utilization"));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("resnet18: MX6 inference at 30 fps needs 2 of 16 rows"), "{stdout}");
    assert!(stderr(&first).contains("[6/6]"), "progress per model");
    // The second run reads the cache and writes the same table.
    fs::remove_file(&out).unwrap();
    let second = dacapo(&args);
    assert!(stderr(&second).contains("reusing"), "{}", stderr(&second));
    assert_eq!(fs::read_to_string(&out).unwrap(), table);
    // Another bandwidth is another table.
    let third = dacapo(&[&args[..], &["--bandwidth-gbps", "8"]].concat());
    assert!(!stderr(&third).contains("reusing"));
    assert_ne!(fs::read_to_string(&out).unwrap(), table);
}

#[test]
fn bad_input_is_rejected_with_a_reason() {
    let entry = [
        "profile", "--model", "resnet18", "--kernel", "infer", "--format", "mx6", "--rows", "2", "--batch",
        "1",
    ];
    let with = |flag: &str, value: &str| -> Vec<String> {
        let mut v: Vec<String> = entry.iter().map(|s| s.to_string()).collect();
        let at = v.iter().position(|a| a == flag).unwrap();
        v[at + 1] = value.to_string();
        v
    };
    for (args, says) in [
        (with("--model", "resnet50"), "unknown model 'resnet50'"),
        (with("--kernel", "eval"), "unknown kernel 'eval'"),
        (with("--format", "mx8"), "unknown MX format 'mx8'"),
        (with("--rows", "17"), "--rows 17"),
        (with("--rows", "0"), "--rows 0"),
        (with("--batch", "0"), "--batch 0"),
        (
            vec!["profile".into(), "--model".into(), "resnet18".into()],
            "missing --kernel --format --rows --batch",
        ),
        (vec!["profile".into(), "--json".into()], "--json prints one entry"),
        (vec!["profile".into(), "--bandwidth-gbps".into(), "-3".into()], "bandwidth"),
        (vec!["profile".into(), "--preset".into(), "huge".into()], "huge"),
    ] {
        let run = dacapo(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert!(stderr(&run).contains(says), "{args:?}: {}", stderr(&run));
        assert!(run.stdout.is_empty());
    }
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    fs::write(&blocker, "").unwrap();
    let out = blocker.join("latency.csv");
    let run = dacapo(&[
        "profile",
        "--out",
        out.to_str().unwrap(),
        "--cache-dir",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("cannot create folder"), "{}", stderr(&run));
}
