//! `dacapo sim fp32-add` and `dacapo sim mx-convert`: vector files in, mismatches and a count
//! out, as a verification engineer's regression calls them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mx::rng::Rng;
use mx::{f32_add, Block, Format, Rounding};

fn dacapo(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dacapo"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dacapo runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn testfloat_lines(n: usize) -> Vec<String> {
    let mut rng = Rng::new(21);
    (0..n)
        .map(|_| {
            let (a, b) = (rng.next_u32(), rng.next_u32());
            let sum = f32_add(f32::from_bits(a), f32::from_bits(b)).to_bits();
            // TestFloat writes its own NaN pattern; any NaN must match.
            let sum = if f32::from_bits(sum).is_nan() { 0xFFC0_0000 } else { sum };
            format!("{a:08X} {b:08X} {sum:08X} 00")
        })
        .collect()
}

#[test]
fn fp32_add_vectors_pass_and_mismatches_fail() {
    let lines = testfloat_lines(5000);
    let run = dacapo(&["sim", "fp32-add"], &(lines.join("\n") + "\n"));
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stdout));
    assert_eq!(String::from_utf8_lossy(&run.stdout), "checked 5000 vectors, 0 mismatches\n");

    let mut wrong = lines[..10].to_vec();
    wrong[3] = "3F800000 3F800000 40000001 00".into();
    let run = dacapo(&["sim", "fp32-add"], &wrong.join("\n"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stdout.contains("mismatch, line 4: 3F800000 + 3F800000: expected 40000001, got 40000000"),
        "{stdout}"
    );
    assert!(stdout.ends_with("checked 10 vectors, 1 mismatches\n"), "{stdout}");
}

#[test]
fn mx_convert_vectors_pass_and_mismatches_fail() {
    let mut rng = Rng::new(22);
    for (format, flag) in [(Format::Mx9, "mx9"), (Format::Mx6, "mx6"), (Format::Mx4, "mx4")] {
        for (rounding, name) in [(Rounding::NearestEven, "nearest"), (Rounding::Truncate, "truncate")] {
            let mut lines = Vec::new();
            for _ in 0..500 {
                let base = rng.below(250) as u32 + 2;
                let values: [f32; 16] = std::array::from_fn(|_| {
                    f32::from_bits(rng.next_u32() & 0x807F_FFFF | (base - rng.below(3) as u32) << 23)
                });
                let mut packed = vec![0u8; format.block_bytes()];
                Block::encode(&values, format, rounding, 0).pack(format, &mut packed);
                let hex: String = packed.iter().rev().map(|b| format!("{b:02x}")).collect();
                let inputs: Vec<String> = values.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
                lines.push(format!("{} {hex}", inputs.join(" ")));
            }
            let run = dacapo(&["sim", "mx-convert", "--format", flag, "--rounding", name], &lines.join("\n"));
            assert!(run.status.success(), "{flag} {name}: {}", String::from_utf8_lossy(&run.stdout));
            assert_eq!(String::from_utf8_lossy(&run.stdout), "checked 500 vectors, 0 mismatches\n");
        }
    }
    let line = format!("{} 0", vec!["3f800000"; 16].join(" "));
    let run = dacapo(&["sim", "mx-convert", "--format", "mx4"], &line);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stdout).contains("mismatch, line 1"));
}

#[test]
fn malformed_vectors_are_one_line_errors() {
    for (args, input, needle) in [
        (vec!["sim", "fp32-add"], "3F800000 3F800000\n", "expected 3 to 4 hex fields"),
        (vec!["sim", "fp32-add"], "3F80000G 3F800000 40000000 00\n", "not a hex number of at most 32 bits"),
        (vec!["sim", "mx-convert", "--format", "mx7"], "", "unknown MX format"),
        (vec!["sim", "mx-convert", "--format", "mx9", "--rounding", "stochastic"], "", "'stochastic'"),
    ] {
        let run = dacapo(&args, input);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
    }
}

#[test]
fn wave_writes_a_vcd_of_both_parts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/accel.vcd");
    let run = dacapo(&["sim", "wave", "--out", &path.to_string_lossy()], "");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let vcd = std::fs::read_to_string(&path).unwrap();
    for needle in [
        "$enddefinitions",
        "split_q",
        "north_result_o",
        "south_result_o",
        "u_dpe",
        "mem_req_o",
        "u_top",
        "u_bottom",
    ] {
        assert!(vcd.contains(needle), "{needle}");
    }
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let run = dacapo(&["sim", "wave", "--out", &blocked.join("x.vcd").to_string_lossy()], "");
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&run.stderr).lines().count(), 1);
}
