//! Shapes other than the presets generate and pass Verilator's full lint; invalid parameters
//! are rejected with a message that names them. (`make synth` synthesizes them.)

mod common;
use common::dacapo;

use std::process::Command;

#[test]
fn an_8x16_generates_and_lints() {
    generates_and_lints("8", "16");
}

/// Verilator needs about 80 s for the 32 x 32's lint here: `make test-long` runs it.
#[test]
#[ignore = "long: make test-long"]
fn a_32x32_generates_and_lints() {
    generates_and_lints("32", "32");
}

fn generates_and_lints(rows: &str, cols: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().into_owned();
    let run = dacapo(&["rtl", "--rows", rows, "--cols", cols, "--out", &out]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    let top = config["top"].as_str().unwrap().to_string();
    assert_eq!(top, format!("accel_{rows}x{cols}"));
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".sv"))
        .collect();
    // The package before the modules that name it, as Verilator requires.
    files.sort_by_key(|p| (!p.ends_with("_pkg.sv"), p.clone()));
    let lint = Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", &top])
        .args(&files)
        .output()
        .unwrap();
    assert!(lint.status.success(), "{top}: {}", String::from_utf8_lossy(&lint.stderr));
}

#[test]
fn invalid_shapes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().into_owned();
    for (args, needle) in [
        (vec!["--rows", "1", "--cols", "4"], "2..=64 rows"),
        (vec!["--rows", "4", "--cols", "4", "--port-bits", "100"], "port_bits must be a power of two"),
        (vec!["--rows", "4", "--cols", "4", "--port-bits", "4096"], "wider than the widest scratchpad line"),
        (vec!["--rows", "4", "--cols", "4", "--a-depth", "5"], "a_depth"),
        (vec!["--rows", "4"], "--cols"),
    ] {
        let run = dacapo(&[&["rtl", "--out", &out][..], &args].concat());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{args:?} wrote files");
    }
}

#[test]
fn the_output_folder_may_be_the_current_one_or_a_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let here = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dacapo")).args(args).current_dir(dir.path()).output().unwrap()
    };
    let run = here(&["rtl", "--rows", "4", "--cols", "8", "--out", "."]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(dir.path().join("accel_4x8.sv").is_file());
    // `none/..` is this folder again, though `none` does not exist.
    let run = here(&["rtl", "--rows", "4", "--cols", "4", "--out", "none/.."]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(dir.path().join("accel_4x4.sv").is_file());
    assert!(!dir.path().join("accel_4x8.sv").exists(), "the other shape's files are stale and go");
    assert!(!dir.path().join("none").exists());
}

#[test]
fn single_units_generate_and_lint_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().into_owned();
    let run = dacapo(&["rtl", "--units", "mx_convert,mac_f32_pipe", "--out", &out]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    // mac_f32_pipe brings its submodules, each once.
    assert_eq!(files, ["fp32_add.sv", "fp32_mul_2s.sv", "mac_f32_pipe.sv", "mx_convert.sv"]);
    for top in ["mx_convert", "mac_f32_pipe"] {
        let lint = Command::new("verilator")
            .args(["--lint-only", "-Wall", "--top-module", top])
            .args(files.iter().map(|f| dir.path().join(f)))
            .output()
            .unwrap();
        assert!(lint.status.success(), "{top}: {}", String::from_utf8_lossy(&lint.stderr));
    }
    for (args, needle) in [
        (vec!["--units", "mx_conv"], "unknown unit 'mx_conv'; the units are fp32_add, mx_convert"),
        (vec!["--units", "dpe,dpe"], "dpe"),
        (vec!["--units", "dpe", "--rows", "4", "--cols", "4"], "cannot be used with"),
    ] {
        let empty = tempfile::tempdir().unwrap();
        let run = dacapo(&[&["rtl", "--out", &empty.path().to_string_lossy()][..], &args].concat());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0, "{args:?} wrote files");
    }
}

#[test]
fn a_config_json_regenerates_its_accelerator() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let run = dacapo(&[
        "rtl",
        "--rows",
        "4",
        "--cols",
        "8",
        "--port-bits",
        "256",
        "--out",
        first.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let config = first.join("config.json");
    // Edited: 8 x 4 instead, derived fields dropped (the generator recomputes them).
    let edited = dir.path().join("edited.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let mut params = serde_json::Map::new();
    for name in ["rows", "cols", "port_bits", "a_depth", "b_depth", "queue_depth"] {
        params.insert(name.into(), json[name].take());
    }
    (params["rows"], params["cols"]) = (8.into(), 4.into());
    std::fs::write(&edited, serde_json::Value::Object(params).to_string()).unwrap();
    let second = dir.path().join("second");
    let run = dacapo(&["rtl", "--config", edited.to_str().unwrap(), "--out", second.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(second.join("config.json")).unwrap()).unwrap();
    assert_eq!((written["top"].as_str(), written["port_bits"].as_u64()), (Some("accel_8x4_p256"), Some(256)));
    // The written file reads back as it is.
    let third = dir.path().join("third");
    let again = second.join("config.json");
    let run = dacapo(&["rtl", "--config", again.to_str().unwrap(), "--out", third.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(
        std::fs::read(third.join("accel_8x4_p256.sv")).unwrap(),
        std::fs::read(second.join("accel_8x4_p256.sv")).unwrap()
    );
    // A bad field, and a missing file, are errors that name them.
    std::fs::write(&edited, r#"{"rows": 8, "cols": 4, "port_bits": 256, "a_depth": 512, "b_depth": 512, "queue_depth": 4, "split_bits": 9}"#).unwrap();
    let run = dacapo(&["rtl", "--config", edited.to_str().unwrap(), "--out", third.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'split_bits' is 9, but the parameters give 4"), "{stderr}");
    let run = dacapo(&["rtl", "--config", "no/such.json", "--out", third.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&run.stderr).contains("cannot read no/such.json"));
}
