//! `dacapo mx quantize` and `dacapo mx gemm` as a regression suite calls them.

mod common;
use common::dacapo;

use std::fs;
use std::path::{Path, PathBuf};

use host::npy::{self, Array2};
use mx::rng::Rng;
use mx::{gemm, Axis, Format, MxMatrix, Rounding};

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

fn random_array(seed: u64, rows: usize, cols: usize) -> Array2 {
    let mut rng = Rng::new(seed);
    let data = (0..rows * cols).map(|i| (rng.normal() * f64::from(1 + i as u32 % 7)) as f32).collect();
    Array2 { rows, cols, data }
}

fn save(dir: &Path, name: &str, array: &Array2) -> String {
    fs::write(dir.join(name), npy::encode_f32(array)).unwrap();
    path(dir, name)
}

/// A .npy file with an arbitrary header, for the bad-input cases.
fn save_raw(dir: &Path, name: &str, descr: &str, shape: &str, data_bytes: usize) -> String {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_bytes, 0);
    fs::write(dir.join(name), bytes).unwrap();
    path(dir, name)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn folder_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn quantize_writes_the_dequantized_array_and_the_packed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let x = random_array(1, 5, 37);
    let input = save(dir.path(), "x.npy", &x);
    for (format, flag) in [(Format::Mx9, "mx9"), (Format::Mx6, "mx6"), (Format::Mx4, "mx4")] {
        for (rounding, name) in [(Rounding::NearestEven, "nearest"), (Rounding::Truncate, "truncate")] {
            let (out, packed) = (path(dir.path(), "q.npy"), path(dir.path(), "p.npy"));
            let run = dacapo(&[
                "mx",
                "quantize",
                "--format",
                flag,
                "--rounding",
                name,
                "--packed",
                &packed,
                &input,
                &out,
            ]);
            assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
            let want = MxMatrix::quantize(&x.data, 5, 37, Axis::Row, format, rounding).unwrap();
            let got = npy::read_f32(Path::new(&out)).unwrap();
            assert_eq!((got.rows, got.cols), (5, 37));
            assert_eq!(bits(&got.data), bits(&want.dequantize()), "{flag} {name}");
            assert_eq!(
                fs::read(&packed).unwrap(),
                npy::encode_u8(5, want.packed_line_bytes(), &want.to_packed())
            );
        }
    }
}

#[test]
fn quantize_default_rounding_is_nearest_even_and_stochastic_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let x = random_array(2, 3, 64);
    let input = save(dir.path(), "x.npy", &x);
    let out = |name: &str, extra: &[&str]| {
        let out = path(dir.path(), name);
        let mut args = vec!["mx", "quantize", "--format", "mx4"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&input, &out]);
        assert!(dacapo(&args).status.success());
        fs::read(out).unwrap()
    };
    assert_eq!(out("d.npy", &[]), out("n.npy", &["--rounding", "nearest"]));
    let s1 = out("s1.npy", &["--rounding", "stochastic", "--seed", "9"]);
    assert_eq!(s1, out("s2.npy", &["--rounding", "stochastic", "--seed", "9"]));
    assert_ne!(s1, out("s3.npy", &["--rounding", "stochastic", "--seed", "10"]));
    let want =
        MxMatrix::quantize(&x.data, 3, 64, Axis::Row, Format::Mx4, Rounding::Stochastic { seed: 9 }).unwrap();
    assert_eq!(s1, npy::encode_f32(&Array2 { rows: 3, cols: 64, data: want.dequantize() }));
}

#[test]
fn gemm_writes_the_bit_exact_product() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (random_array(3, 7, 33), random_array(4, 33, 9));
    let (pa, pb, pc) =
        (save(dir.path(), "a.npy", &a), save(dir.path(), "b.npy", &b), path(dir.path(), "c.npy"));
    for format in Format::ALL {
        let run = dacapo(&["mx", "gemm", "--format", format.name(), &pa, &pb, &pc]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let qa = MxMatrix::quantize(&a.data, 7, 33, Axis::Row, format, Rounding::NearestEven).unwrap();
        let qb = MxMatrix::quantize(&b.data, 33, 9, Axis::Col, format, Rounding::NearestEven).unwrap();
        let c = npy::read_f32(Path::new(&pc)).unwrap();
        assert_eq!((c.rows, c.cols), (7, 9));
        assert_eq!(bits(&c.data), bits(&gemm(&qa, &qb).unwrap()), "{format}");
    }
    // Stochastic: A rounds with the seed, B with seed + 1.
    let run =
        dacapo(&["mx", "gemm", "--format", "mx6", "--rounding", "stochastic", "--seed", "5", &pa, &pb, &pc]);
    assert!(run.status.success());
    let qa =
        MxMatrix::quantize(&a.data, 7, 33, Axis::Row, Format::Mx6, Rounding::Stochastic { seed: 5 }).unwrap();
    let qb =
        MxMatrix::quantize(&b.data, 33, 9, Axis::Col, Format::Mx6, Rounding::Stochastic { seed: 6 }).unwrap();
    assert_eq!(bits(&npy::read_f32(Path::new(&pc)).unwrap().data), bits(&gemm(&qa, &qb).unwrap()));
}

/// Runs a command that must fail: exit status 2, one line on stderr that contains `needle`,
/// nothing on stdout, and no file added to the folder.
fn assert_rejected(dir: &Path, args: &[&str], needle: &str) {
    let before = folder_entries(dir);
    let run = dacapo(args);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line expected, got {stderr:?}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{args:?}: {stderr:?} lacks {needle:?}"
    );
    assert!(run.stdout.is_empty());
    assert_eq!(folder_entries(dir), before, "{args:?} left files behind");
}

#[test]
fn bad_input_is_one_line_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = save(d, "good.npy", &random_array(5, 4, 20));
    let b_good = save(d, "b.npy", &random_array(6, 20, 3));
    let b_short = save(d, "b_short.npy", &random_array(7, 19, 3));
    let f64_file = save_raw(d, "f64.npy", "<f8", "(4, 20)", 640);
    let rank1 = save_raw(d, "rank1.npy", "<f4", "(20,)", 80);
    let rank3 = save_raw(d, "rank3.npy", "<f4", "(2, 2, 5)", 80);
    let truncated = save_raw(d, "short.npy", "<f4", "(4, 20)", 100);
    fs::write(d.join("text.npy"), "hello").unwrap();
    let text = path(d, "text.npy");
    let missing = path(d, "missing.npy");
    let out = path(d, "out.npy");
    let no_dir = path(d, "no/such/out.npy");

    for (args, needle) in [
        (vec!["mx", "quantize", "--format", "mx9", &missing, &out], "cannot read"),
        (vec!["mx", "quantize", "--format", "mx9", &f64_file, &out], "dtype float64"),
        (vec!["mx", "quantize", "--format", "mx9", &rank1, &out], "rank 1"),
        (vec!["mx", "quantize", "--format", "mx9", &rank3, &out], "rank 3"),
        (vec!["mx", "quantize", "--format", "mx9", &truncated, &out], "needs 320 data bytes"),
        (vec!["mx", "quantize", "--format", "mx9", &text, &out], "not a .npy file"),
        (vec!["mx", "quantize", "--format", "mx5", &good, &out], "unknown MX format 'mx5'"),
        (vec!["mx", "quantize", "--format", "mx9", "--rounding", "up", &good, &out], "'up'"),
        (vec!["mx", "quantize", "--format", "mx9", "--seed", "3", &good, &out], "--seed only applies"),
        (vec!["mx", "quantize", "--format", "mx9", &good, &no_dir], "does not exist"),
        (vec!["mx", "quantize", "--format", "mx9", &good, &out, "--packed", &no_dir], "does not exist"),
        (vec!["mx", "quantize", &good, &out], "--format"),
        (vec!["mx", "gemm", "--format", "mx6", &good, &b_short, &out], "K mismatch"),
        (vec!["mx", "gemm", "--format", "mx6", &missing, &b_good, &out], "cannot read"),
        (vec!["mx", "gemm", "--format", "mx6", &good, &f64_file, &out], "dtype float64"),
        (vec!["mx", "gemm", "--format", "mx6", &good, &rank1, &out], "rank 1"),
        (vec!["mx", "gemm", "--format", "mx7", &good, &b_good, &out], "unknown MX format"),
        (vec!["mx", "gemm", "--format", "mx6", &good, &b_good], "C"),
        (vec!["mx", "frobnicate"], "frobnicate"),
    ] {
        assert_rejected(d, &args, needle);
    }
}

#[test]
fn an_existing_output_survives_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = path(dir.path(), "out.npy");
    fs::write(&out, b"keep me").unwrap();
    let f64_file = save_raw(dir.path(), "f64.npy", "<f8", "(2, 2)", 32);
    let run = dacapo(&["mx", "quantize", "--format", "mx9", &f64_file, &out]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(fs::read(&out).unwrap(), b"keep me");
}
