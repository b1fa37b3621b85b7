//! `dacapo sim gemm` and `dacapo sim bench`: whole GEMMs on the simulated accelerator.

mod common;
use common::dacapo;

use std::fs;
use std::path::Path;

use host::npy::{self, Array2};
use mx::rng::Rng;
use mx::{gemm, Axis, Format, MxMatrix, Rounding};

fn save(dir: &Path, name: &str, rows: usize, cols: usize, seed: u64) -> (String, Array2) {
    let mut rng = Rng::new(seed);
    let array = Array2 { rows, cols, data: (0..rows * cols).map(|_| rng.normal() as f32).collect() };
    fs::write(dir.join(name), npy::encode_f32(&array)).unwrap();
    (dir.join(name).to_string_lossy().into_owned(), array)
}

#[test]
fn gemm_prints_one_json_line_and_writes_the_exact_product() {
    let dir = tempfile::tempdir().unwrap();
    let (a_path, a) = save(dir.path(), "a.npy", 10, 37, 1);
    let (b_path, b) = save(dir.path(), "b.npy", 37, 7, 2);
    let c_path = dir.path().join("c.npy").to_string_lossy().into_owned();
    let args = ["sim", "gemm", "--preset", "small", "--split", "1", "--part", "bottom", "--format", "mx6"];
    let run = dacapo(&[&args[..], &[a_path.as_str(), b_path.as_str(), c_path.as_str()]].concat());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["cycles"], json["modeled_cycles"]);
    assert_eq!(json["macs"], 10 * 37 * 7);
    assert_eq!(json["bit_exact"], true);
    let u = json["utilization"].as_f64().unwrap();
    assert!(u > 0.0 && u <= 1.0, "{u}");
    assert_eq!(json["counters"]["blocks"], 4 * 2 * 3, "4 x 2 tiles of 3 rows and 4 columns, 3 K blocks each");
    assert!(json["counters"]["busy"].as_u64().unwrap() > 0);

    let qa = MxMatrix::quantize(&a.data, 10, 37, Axis::Row, Format::Mx6, Rounding::NearestEven).unwrap();
    let qb = MxMatrix::quantize(&b.data, 37, 7, Axis::Col, Format::Mx6, Rounding::NearestEven).unwrap();
    let c = npy::read_f32(Path::new(&c_path)).unwrap();
    assert_eq!((c.rows, c.cols), (10, 7));
    let want: Vec<u32> = gemm(&qa, &qb).unwrap().iter().map(|x| x.to_bits()).collect();
    assert_eq!(c.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);

    // A memory of 4 GB/s behind the 64-byte port at 500 MHz: a beat every 8 cycles.
    let slow = dacapo(
        &[&args[..], &[a_path.as_str(), b_path.as_str(), c_path.as_str(), "--bandwidth-gbps", "4"]].concat(),
    );
    assert!(slow.status.success(), "{}", String::from_utf8_lossy(&slow.stderr));
    let slow: serde_json::Value = serde_json::from_slice(&slow.stdout).unwrap();
    assert_eq!(slow["cycles"], slow["modeled_cycles"]);
    assert_eq!(slow["bit_exact"], true);
    assert!(slow["counters"]["stall_memory"].as_u64().unwrap() > 0, "{slow}");
    assert!(slow["cycles"].as_u64().unwrap() > json["cycles"].as_u64().unwrap());
    assert_eq!(json["counters"]["stall_memory"], 0);
}

#[test]
fn gemm_rejects_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = save(dir.path(), "a.npy", 4, 20, 1);
    let (b, _) = save(dir.path(), "b.npy", 20, 4, 2);
    let (b_bad, _) = save(dir.path(), "b_bad.npy", 21, 4, 3);
    let c = dir.path().join("c.npy").to_string_lossy().into_owned();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "--preset",
                "small",
                "--split",
                "2",
                "--part",
                "top",
                "--format",
                "mx9",
                &a,
                &b,
                &c,
                "--bandwidth-gbps",
                "-1",
            ],
            "memory bandwidth -1 GB/s is out of range",
        ),
        (
            &["--preset", "small", "--split", "5", "--part", "top", "--format", "mx9", &a, &b, &c],
            "past the 4 rows",
        ),
        (&["--preset", "small", "--split", "0", "--part", "top", "--format", "mx9", &a, &b, &c], "no rows"),
        (
            &["--preset", "small", "--split", "2", "--part", "top", "--format", "mx9", &a, &b_bad, &c],
            "columns must equal",
        ),
        (
            &["--preset", "big", "--split", "2", "--part", "top", "--format", "mx9", &a, &b, &c],
            "dacapo, small",
        ),
        (&["--preset", "small", "--split", "2", "--part", "middle", "--format", "mx9", &a, &b, &c], "middle"),
    ];
    for (args, needle) in cases {
        let run = dacapo(&[&["sim", "gemm"], args].concat());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr} lacks {needle}");
        assert!(!Path::new(&c).exists(), "{args:?} wrote C");
    }
}

#[test]
fn bench_reports_every_format() {
    let run = dacapo(&["sim", "bench", "--preset", "small", "--k", "512", "--tiles", "2"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    for format in ["mx9", "mx6", "mx4"] {
        let line = stdout.lines().find(|l| l.starts_with(format)).unwrap_or_else(|| panic!("{stdout}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], fields[2], "cycles equal the model: {line}");
        let utilization: f64 = fields[3].parse().unwrap();
        assert!(utilization > 0.5 && utilization <= 1.0, "{line}");
    }
}
