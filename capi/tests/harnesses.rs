//! The library where testbenches use it: linked into a C program, into a C++ harness of the
//! generated `mx_convert`'s Verilator model, and into a Verilator testbench (`sv/dpe_tb.sv`)
//! that checks the generated DPE against the golden model through DPI-C, block by block.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mx::{gemm, Axis, Block, Format, MxMatrix, Rounding};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("capi sits in the repository")
}

/// libdacapo_mx.a, built once per run with its own target folder (`cargo test` builds only
/// the rlib, and the outer cargo holds its own folder).
fn static_lib() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let deps = std::env::current_exe().expect("the test's path");
        let target = deps.ancestors().nth(3).expect("target/release/deps/test").join("capi-lib");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "-p", "dacapo-mx", "--lib", "--target-dir"])
            .arg(&target)
            .current_dir(repo())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p dacapo-mx failed");
        target.join("release/libdacapo_mx.a")
    })
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

fn hex(x: f32) -> String {
    format!("{:08x}", x.to_bits())
}

#[test]
fn the_c_example_builds_and_gives_the_models_bits() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("gemm");
    run(Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(repo().join("capi/include"))
        .arg(repo().join("capi/examples/gemm.c"))
        .arg(static_lib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe));
    let out = run(&mut Command::new(&exe));

    let values: [f32; 16] = std::array::from_fn(|i| 0.1 * (i as f32 - 7.0));
    let block = Block::encode(&values, Format::Mx6, Rounding::NearestEven, 0);
    let dot = mx::dot(&[block], &[block], Format::Mx6, 0.0);
    assert!(
        out.contains(&format!("block[15] {} dot {}", hex(block.decode(Format::Mx6)[15]), hex(dot))),
        "{out}"
    );

    let a: Vec<f32> = (0..32).map(|i| (i % 5) as f32 - 2.0).collect();
    let b: Vec<f32> = (0..48).map(|i| 0.25 * (i % 7) as f32).collect();
    let qa = MxMatrix::quantize(&a, 2, 16, Axis::Row, Format::Mx9, Rounding::NearestEven).unwrap();
    let qb = MxMatrix::quantize(&b, 16, 3, Axis::Col, Format::Mx9, Rounding::NearestEven).unwrap();
    let c: Vec<String> = gemm(&qa, &qb).unwrap().into_iter().map(hex).collect();
    assert!(out.contains(&format!("gemm {}", c.join(" "))), "{out}");
    assert!(out.contains("format 7: unknown format"), "{out}");
}

/// The count a harness prints after `prefix`.
fn checked_count(out: &str, prefix: &str) -> usize {
    out.split(prefix)
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in:\n{out}"))
}

#[test]
fn the_cpp_harness_passes_on_the_generated_mx_convert() {
    let dir = tempfile::tempdir().unwrap();
    let rtl = dir.path().join("mx_convert.sv");
    std::fs::write(&rtl, hdlgen::mx_convert().to_verilog()).unwrap();
    run(Command::new("verilator")
        .args(["--cc", "--exe", "--build", "-Wall", "-j", "2", "--Mdir"])
        .arg(dir.path().join("obj"))
        .arg(&rtl)
        .arg(repo().join("capi/examples/mx_convert_harness.cpp"))
        .arg("-CFLAGS")
        .arg(format!("-std=c++17 -Wall -Wextra -Werror -I{}", repo().join("capi/include").display()))
        .arg(static_lib())
        .args(["-LDFLAGS", "-lpthread -ldl -lm"]));
    let out = run(&mut Command::new(dir.path().join("obj/Vmx_convert")));
    assert_eq!(checked_count(&out, "mx_convert_harness: "), 20_000, "{out}");
}

#[test]
fn the_dpi_testbench_passes_on_the_generated_dpe() {
    let dir = tempfile::tempdir().unwrap();
    let sv = repo().join("capi/sv");
    run(Command::new("verilator")
        .args(["--binary", "-Wall", "-j", "2", "--top-module", "dpe_tb", "--Mdir"])
        .arg(dir.path())
        .arg(repo().join("rtl/common/dpe.sv"))
        .arg(sv.join("dacapo_mx_dpi.sv"))
        .arg(sv.join("dpe_tb.sv"))
        .arg(static_lib())
        .args(["-LDFLAGS", "-lpthread -ldl -lm"]));
    let out = run(&mut Command::new(dir.path().join("Vdpe_tb")));
    assert!(checked_count(&out, "dpe_tb: ") > 20_000, "{out}");
}
