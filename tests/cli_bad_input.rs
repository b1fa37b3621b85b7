//! Bad input, full disks and signals on every command: each fails with exit code 2 (or the
//! signal's 128 + n) and one line on standard error, before any long work, and leaves no file,
//! folder or tool process behind.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Every file and folder under `dir`, hidden ones included.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(tree(&path));
        }
        all.push(path);
    }
    all.sort();
    all
}

/// A .npy file of shape (rows, cols) with a float32 header and `data_bytes` zero bytes.
fn npy(dir: &Path, name: &str, header: &str, data_bytes: usize) -> String {
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_bytes, 0);
    fs::write(dir.join(name), bytes).unwrap();
    name.to_string()
}

fn f32_npy(dir: &Path, name: &str, rows: u64, cols: u64, data: bool) -> String {
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}\n");
    npy(dir, name, &header, if data { (rows * cols * 4) as usize } else { 0 })
}

/// Runs `dacapo args` in `dir` (the shell's `limit` first when given, with SIGXFSZ ignored so
/// a write past the file-size limit fails as on a full disk) and feeds it `stdin`.
fn run_in(dir: &Path, limit: Option<&str>, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let exe = env!("CARGO_BIN_EXE_dacapo");
    let mut command = match limit {
        Some(limit) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(format!("{limit}; trap '' XFSZ; exec \"$0\" \"$@\"")).arg(exe).args(args);
            c
        }
        None => {
            let mut c = Command::new(exe);
            c.args(args);
            c
        }
    };
    let mut child = command
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dacapo runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The command fails with exit code 2 and exactly one line on stderr that contains `message`,
/// and `dir` holds exactly what it held before.
fn rejects(dir: &Path, limit: Option<&str>, args: &[&str], stdin: &str, message: &str) {
    let before = tree(dir);
    let run = run_in(dir, limit, args, stdin);
    let err = common::stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line on stderr, got {err:?}");
    assert!(err.contains(message), "{args:?}: expected '{message}' in {err:?}");
    assert_eq!(tree(dir), before, "{args:?} left files behind");
}

#[test]
fn oversized_and_endless_inputs_fail_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Rows 1 and 2: an empty K whose M x N overflows or passes the limit.
    for m in ["8589934592", "4000000000000"] {
        let a = f32_npy(d, &format!("a{m}.npy"), m.parse().unwrap(), 0, false);
        let b = f32_npy(d, &format!("b{m}.npy"), 0, m.parse().unwrap(), false);
        rejects(
            d,
            None,
            &["mx", "gemm", "--format", "mx9", &a, &b, "c.npy"],
            "",
            &format!("C would be {m} x {m}"),
        );
    }
    // Row 3: a C of 10^10 elements, in the golden model and on the chip.
    let a = f32_npy(d, "tall.npy", 100_000, 1, true);
    let b = f32_npy(d, "wide.npy", 1, 100_000, true);
    rejects(d, None, &["mx", "gemm", "--format", "mx9", &a, &b, "c.npy"], "", "C would be 100000 x 100000");
    let sim = ["sim", "gemm", "--split", "2", "--part", "top", "--format", "mx9", &a, &b, "c.npy"];
    rejects(d, None, &sim, "", "C would be 100000 x 100000");
    // Row 4: an endless input is rejected after its first bytes.
    let small = f32_npy(d, "small.npy", 4, 32, true);
    rejects(
        d,
        None,
        &["mx", "gemm", "--format", "mx9", "/dev/zero", &small, "c.npy"],
        "",
        "no \\x93NUMPY magic",
    );
    // A float64 header is rejected before its data is read.
    let f64_header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 1), }\n";
    let f64 = npy(d, "f64.npy", f64_header, 800_000);
    rejects(d, None, &["mx", "gemm", "--format", "mx9", &f64, &small, "c.npy"], "", "float64");
    // Row 8: bench sizes.
    rejects(d, None, &["sim", "bench", "--k", "18446744073709551615"], "", "2^28");
    rejects(d, None, &["sim", "bench", "--tiles", "100000000000"], "", "2^28");
    // Also: the simulation cap.
    let b = f32_npy(d, "b.npy", 32, 4, true);
    let slow = ["--bandwidth-gbps", "0.001", "--clock-mhz", "1000000"];
    let mut args =
        vec!["sim", "gemm", "--split", "2", "--part", "top", "--format", "mx9", &small, &b, "c.npy"];
    args.extend(slow);
    rejects(d, None, &args, "", "cycles one simulation may take");
}

#[test]
fn outputs_and_vector_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = f32_npy(d, "x.npy", 4, 32, true);
    // Row 5: --packed and the output are one file (by name or through another path).
    rejects(
        d,
        None,
        &["mx", "quantize", "--format", "mx9", "--packed", "q.npy", &x, "q.npy"],
        "",
        "also the output",
    );
    rejects(
        d,
        None,
        &["mx", "quantize", "--format", "mx9", "--packed", "./x.npy", &x, "x.npy"],
        "",
        "also the output",
    );
    // Row 6: an expected f32 of 48 hex digits; a flags field past its 2 digits; a sixth field.
    let wide = format!("3F800000 3F800000 {}40000000\n", "0".repeat(40));
    rejects(d, None, &["sim", "fp32-add"], &wide, "at most 32 bits");
    rejects(d, None, &["sim", "fp32-add"], "3F800000 3F800000 40000000 100\n", "at most 8 bits");
    rejects(
        d,
        None,
        &["sim", "fp32-add"],
        "3F800000 3F800000 40000000 00 00\n",
        "expected 3 to 4 hex fields",
    );
    // Row 7: an expected MX6 block (12 bytes, 96 bits) with bits above its width.
    let zeros = vec!["00000000"; 16].join(" ");
    let padded = format!("{zeros} F{}\n", "0".repeat(24));
    rejects(d, None, &["sim", "mx-convert", "--format", "mx6"], &padded, "at most 96 bits");
    let seventeen = format!("{zeros} 0 0\n");
    rejects(d, None, &["sim", "mx-convert", "--format", "mx6"], &seventeen, "expected 17 hex fields");
    // Also: a duplicated header key takes its last value, as numpy does.
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (9, 9), 'shape': (2, 16), }\n";
    let dup = npy(d, "dup.npy", header, 2 * 16 * 4);
    let run = run_in(d, None, &["mx", "quantize", "--format", "mx9", &dup, "dq.npy"], "");
    assert!(run.status.success(), "{}", common::stderr(&run));
    let out = host::npy::read_f32(&d.join("dq.npy")).unwrap();
    assert_eq!((out.rows, out.cols), (2, 16));
}

#[test]
fn arguments_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("file"), "not a folder").unwrap();
    // Row 10: shape options without a shape.
    rejects(
        d,
        None,
        &["rtl", "--port-bits", "500", "--queue-depth", "3", "--out", "o"],
        "",
        "give --rows and --cols",
    );
    // Row 12: a bad accelerator or report path fails before any unit is synthesized (the
    // progress lines of a synthesis would make stderr longer than one line).
    for (accel, message) in [
        ("bogus", "neither a preset"),
        ("2x2_i5_3x5", "neither a preset"),
        ("2x2_i3_335", "interleave must be in 5..=16 with 5 add stages"),
        ("65x65", "2..=64 rows"),
        ("0x0", "2..=64 rows"),
        ("no/such.json", "cannot read no/such.json"),
    ] {
        rejects(d, None, &["synth", "--accel", accel, "--out", "r/s.md"], "", message);
    }
    rejects(d, None, &["synth", "--out", "file/s.md"], "", "cannot create folder file");
    rejects(d, None, &["asic", "--units", "dpe", "--accel", "small,bogus"], "", "neither a preset");
    // Row 13 and 14: files where folders belong, before minutes of pretraining.
    rejects(d, None, &["run", "--out", "file"], "", "--out file is a file");
    rejects(d, None, &["run", "--cache-dir", "file", "--out", "r"], "", "--cache-dir file is a file");
    rejects(d, None, &["pretrain", "--cache-dir", "file"], "", "--cache-dir file is a file");
    // Also: every list rejects repeats and empty items alike; seeds have one range.
    rejects(d, None, &["run", "--scenarios", "s1,s1"], "", "--scenarios lists 's1' twice");
    rejects(d, None, &["run", "--policy", "ekya-orin,ekya-orin"], "", "--policy lists 'ekya-orin' twice");
    rejects(d, None, &["run", "--scenarios", "s1,,s2"], "", "empty item");
    rejects(d, None, &["asic", "--units", "dpe,dpe"], "", "--units lists 'dpe' twice");
    rejects(d, None, &["sim", "bench", "--formats", "mx4,mx4"], "", "--formats lists 'mx4' twice");
    rejects(d, None, &["synth", "--accel", "small,small"], "", "--accel lists 'small' twice");
    for command in
        [&["run"][..], &["demo"], &["mx", "quantize", "--format", "mx9", "--rounding", "stochastic"]]
    {
        let mut args = command.to_vec();
        args.extend(["--seed", "18446744073709551615"]);
        if command[0] == "mx" {
            args.extend(["x.npy", "q.npy"]);
        }
        rejects(d, None, &args, "", "a seed is an integer from 0 to 2147483647");
    }
}

#[test]
fn a_full_disk_leaves_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Writes past 20 KiB fail as on a full disk.
    let full = Some("ulimit -f 20");
    // Row 9: the waveform (its folders are made for it, and go again).
    rejects(d, full, &["sim", "wave", "--out", "w/v/x.vcd"], "", "File too large");
    // Row 11: a custom accelerator's folder, new or already there.
    rejects(d, full, &["rtl", "--rows", "16", "--cols", "16", "--out", "n/o"], "", "File too large");
    let made = run_in(d, None, &["rtl", "--rows", "4", "--cols", "8", "--out", "o"], "");
    assert!(made.status.success(), "{}", common::stderr(&made));
    rejects(d, full, &["rtl", "--rows", "16", "--cols", "16", "--out", "o"], "", "File too large");
}

/// The child processes of `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
        // "pid (name) state ppid ...": the name may hold spaces, so split after its ')'.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        if fields.get(1) == Some(&pid.to_string().as_str()) {
            kids.push(entry.file_name().to_string_lossy().parse().unwrap());
        }
    }
    kids
}

/// Whether `pid` still runs (a zombie waiting to be reaped does not).
fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

/// Starts `dacapo args` in `dir`, waits until `ready` holds (60 s at most), sends `signal`, and
/// returns its exit code, its stderr and the child processes it had.
fn interrupt(
    dir: &Path,
    args: &[&str],
    ready: impl Fn(u32) -> bool,
    signal: i32,
) -> (Option<i32>, String, Vec<u32>) {
    let child = Command::new(env!("CARGO_BIN_EXE_dacapo"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready(child.id()) {
        assert!(start.elapsed() < Duration::from_secs(60), "{args:?} never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kids = children(child.id());
    // SAFETY: kill(2) on our own child; no memory is involved.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let out = child.wait_with_output().unwrap();
    (out.status.code(), common::stderr(&out), kids)
}

#[test]
fn signals_leave_no_partial_output_or_running_tool() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // SIGTERM while `run` pretrains into its partial folder (an empty cache: minutes of work).
    let partial = |_| fs::read_dir(d.join("runs")).is_ok_and(|mut e| e.next().is_some());
    let (code, err, _) =
        interrupt(d, &["run", "--cache-dir", "cache", "--out", "runs/x"], partial, libc::SIGTERM);
    assert_eq!(code, Some(128 + libc::SIGTERM), "{err}");
    assert!(err.lines().last().is_some_and(|l| l.contains("stopped by SIGTERM")), "{err}");
    assert!(tree(d).is_empty(), "left behind: {:?}", tree(d));
    // SIGINT while `synth` runs Verilator and Yosys: they stop too.
    let tools = |pid| !children(pid).is_empty();
    let (code, err, kids) = interrupt(d, &["synth", "--out", "r/s.md"], tools, libc::SIGINT);
    assert_eq!(code, Some(128 + libc::SIGINT), "{err}");
    assert!(!kids.is_empty());
    let start = Instant::now();
    while kids.iter().any(|&k| running(k)) {
        assert!(start.elapsed() < Duration::from_secs(5), "tools {kids:?} still run after the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(tree(d).is_empty(), "left behind: {:?}", tree(d));
}
