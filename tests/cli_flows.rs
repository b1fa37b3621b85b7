//! `dacapo asic`: the ASIC timing flow on real tools (Yosys, OpenSTA, the OSU 0.18 um cells),
//! its report, its timing gate, and its answers to bad input before any tool runs; and the
//! FPGA flow's answers to bad input (its place and route takes minutes: `make fpga`).

mod common;

use common::{dacapo, stderr};

#[test]
fn times_a_unit_and_writes_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("asic.md");
    let run = dacapo(&["asic", "--units", "mac_int8", "--max-path-ns", "10", "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report = std::fs::read_to_string(&out).unwrap();
    let row = report.lines().find(|l| l.starts_with("| `mac_int8`")).expect("a row for the unit");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let path_ns: f64 = cells[3].parse().unwrap();
    let area: f64 = cells[7].parse().unwrap();
    assert!(path_ns > 1.0 && path_ns < 10.0, "{row}");
    assert!(area > 1000.0, "{row}");
    // Path ends are named by the registers they drive, not by Yosys's cell numbers.
    assert!(cells[5].contains("_i_") && cells[6].contains("acc_o"), "{row}");
}

/// The gate fails, with the path named, when the path is longer than the limit.
#[test]
fn a_path_past_the_limit_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("asic.md");
    let run = dacapo(&["asic", "--units", "mac_int8", "--max-path-ns", "1", "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(err.contains("critical path longer than 1 ns: mac_int8"), "{err}");
    assert!(out.exists(), "the report is written all the same");
}

#[test]
fn bad_arguments_are_rejected_before_any_tool_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.md");
    let out = out.to_str().unwrap();
    let folder = dir.path().to_str().unwrap();
    for (args, message) in [
        (vec!["--units", "bogus"], "unknown unit 'bogus'"),
        (vec!["--clock-ns", "0"], "--clock-ns must be between"),
        (vec!["--clock-ns", "NaN"], "--clock-ns must be between"),
        (vec!["--max-path-ns", "-3"], "--max-path-ns must be a positive number"),
        (vec!["--accel", "65x65"], "65"),
        (vec!["--liberty", "/no/such.lib"], "no Liberty file at /no/such.lib"),
    ] {
        let run = dacapo(&[&["asic", "--out", out][..], &args[..]].concat());
        assert!(!run.status.success(), "{args:?}");
        let err = stderr(&run);
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    }
    let run = dacapo(&["asic", "--units", "mac_int8", "--out", folder]);
    assert!(stderr(&run).contains("is a folder"), "{}", stderr(&run));
    assert!(!std::path::Path::new(out).exists(), "nothing written");
}

#[test]
fn fpga_rejects_bad_arguments_before_any_tool_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.md");
    for (args, message) in [
        (vec!["--units", "bogus"], "unknown unit 'bogus'"),
        (vec!["--clock-mhz", "0"], "--clock-mhz must be between"),
        (vec!["--accel", "1x4"], "an array needs 2..=64 rows"),
    ] {
        let run = dacapo(&[&["fpga", "--out", out.to_str().unwrap()][..], &args[..]].concat());
        assert!(!run.status.success(), "{args:?}");
        let err = stderr(&run);
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    }
    assert!(!out.exists());
}
