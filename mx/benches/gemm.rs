//! `make bench`: the bit-exact MX GEMM against an f32 GEMM of the same size (matrixmultiply's
//! sgemm), both single-threaded, at 256^3 and 1024^3, on every kernel this CPU runs.
//! Quantization is excluded; packing the MX blocks into the kernel's layout is included. A
//! third set times MX9 with every block at an exponent past the 256-bit kernels' fused range
//! (k < -149), the cost of their scalar fallback. Prints, after criterion's own report, the
//! CPU, the kernel `Auto` picks, and the ratio f32 time / MX time (>= 1.0: the MX GEMM is at
//! least as fast). All write into an output buffer allocated once.
//!
//! matrixmultiply picks its sgemm kernel by CPU feature, AVX-512 included. Built with
//! `MMTEST_FEATURE=sse2,avx,avx2,fma` (as `make bench` does for its second run), its sgemm
//! stays on AVX2 and FMA and this bench runs only the MX kernels without AVX-512: the
//! comparison that a CPU with AVX2 but no AVX-512 would show.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;
use mx::rng::Rng;
use mx::{gemm_into, Axis, Format, GemmOptions, Kernel, MxMatrix, Rounding};

const SIZES: [usize; 2] = [256, 1024];
/// The sgemm's CPU features when limited at build time (read by matrixmultiply too).
const SGEMM_FEATURES: Option<&str> = option_env!("MMTEST_FEATURE");
/// The size of the `mx::gemm` timing that `python/bench.py` compares the Python binding with.
const BINDING_SIZE: usize = 512;
/// The size and scales of the fallback's benchmark: k = ka + kb near -160.
const EXTREME: (usize, i32, i32) = (256, -120, -30);

fn random(rng: &mut Rng, size: usize, log2_scale: i32) -> Vec<f32> {
    (0..size * size).map(|_| (rng.normal() * 2f64.powi(log2_scale)) as f32).collect()
}

fn group_name(size: usize, extreme: bool) -> String {
    format!("gemm_{size}{}", if extreme { "_extreme" } else { "" })
}

fn bench_id(format: Format, kernel: Kernel) -> String {
    format!("{}_{}", format.name(), kernel.name())
}

/// One group: the f32 sgemm (unless `extreme`) and each (format, kernel) at `size`^3.
fn bench_group(c: &mut Criterion, size: usize, scales: (i32, i32), runs: &[(Format, Kernel)], extreme: bool) {
    let mut rng = Rng::new(7);
    let (a, b) = (random(&mut rng, size, scales.0), random(&mut rng, size, scales.1));
    let mut group = c.benchmark_group(group_name(size, extreme));
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    if size >= 1024 {
        group.sample_size(10);
    }
    if !extreme {
        group.bench_function("f32_sgemm", |bench| {
            let mut out = vec![0.0f32; size * size];
            bench.iter(|| unsafe {
                // SAFETY: all three buffers are size x size, row-major, and outlive the call.
                matrixmultiply::sgemm(
                    size,
                    size,
                    size,
                    1.0,
                    a.as_ptr(),
                    size as isize,
                    1,
                    b.as_ptr(),
                    size as isize,
                    1,
                    0.0,
                    out.as_mut_ptr(),
                    size as isize,
                    1,
                );
                black_box(&out);
            })
        });
    }
    for &(format, kernel) in runs {
        let qa = MxMatrix::quantize(&a, size, size, Axis::Row, format, Rounding::NearestEven).unwrap();
        let qb = MxMatrix::quantize(&b, size, size, Axis::Col, format, Rounding::NearestEven).unwrap();
        let options = GemmOptions { threads: 1, kernel };
        group.bench_function(bench_id(format, kernel), |bench| {
            let mut out = vec![0.0f32; size * size];
            bench.iter(|| {
                gemm_into(&qa, &qb, options, &mut out).unwrap();
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// `mx::gemm` as the Python binding calls it (default options, a fresh output), on every
/// format at 512^3: the baseline of `python/bench.py`.
fn bench_binding_baseline(c: &mut Criterion) {
    let mut rng = Rng::new(8);
    let (a, b) = (random(&mut rng, BINDING_SIZE, 0), random(&mut rng, BINDING_SIZE, 0));
    let mut group = c.benchmark_group(format!("gemm_{BINDING_SIZE}_binding"));
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(20);
    for format in Format::ALL {
        let qa = MxMatrix::quantize(&a, BINDING_SIZE, BINDING_SIZE, Axis::Row, format, Rounding::NearestEven)
            .unwrap();
        let qb = MxMatrix::quantize(&b, BINDING_SIZE, BINDING_SIZE, Axis::Col, format, Rounding::NearestEven)
            .unwrap();
        group.bench_function(format.name(), |bench| bench.iter(|| black_box(mx::gemm(&qa, &qb).unwrap())));
    }
    group.finish();
}

/// Mean time of one benchmark in nanoseconds, from criterion's saved estimates.
fn mean_ns(dir: &Path, group: &str, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(group).join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| {
            l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let mut criterion = Criterion::default().output_directory(&dir).configure_from_args();
    let avx512_sgemm = SGEMM_FEATURES.is_none_or(|f| f.is_empty() || f.contains("avx512"));
    let kernels: Vec<Kernel> = Kernel::available()
        .into_iter()
        .filter(|k| avx512_sgemm || !k.features().iter().any(|f| f.starts_with("avx512")))
        .collect();
    let runs: Vec<(Format, Kernel)> = kernels.iter().flat_map(|&k| Format::ALL.map(|f| (f, k))).collect();
    let extreme_runs: Vec<(Format, Kernel)> = kernels.iter().map(|&k| (Format::Mx9, k)).collect();
    for size in SIZES {
        bench_group(&mut criterion, size, (0, 0), &runs, false);
    }
    let (size, scale_a, scale_b) = EXTREME;
    bench_group(&mut criterion, size, (scale_a, scale_b), &extreme_runs, true);
    bench_binding_baseline(&mut criterion);
    criterion.final_summary();

    let auto = Kernel::Auto.resolve().map_or_else(|e| e.to_string(), |k| k.name().to_string());
    println!("\nCPU: {}; Kernel::Auto runs {auto}", cpu_model());
    match SGEMM_FEATURES.filter(|_| !avx512_sgemm) {
        Some(features) => println!("f32 sgemm limited to {features}: the MX kernels without AVX-512 only"),
        None => println!("f32 sgemm on every CPU feature matrixmultiply uses (AVX-512 where present)"),
    }
    for size in SIZES {
        let group = group_name(size, false);
        let Some(f32_ns) = mean_ns(&dir, &group, "f32_sgemm") else {
            continue; // a filtered run (`cargo bench -- NAME`) may not have measured the baseline
        };
        println!("\nratio f32 sgemm time / MX GEMM time, {size}^3, one thread:");
        println!("  {:<22} {:>10.1} us", "f32_sgemm", f32_ns / 1e3);
        for &(format, kernel) in &runs {
            let id = bench_id(format, kernel);
            if let Some(ns) = mean_ns(&dir, &group, &id) {
                println!("  {id:<22} {:>10.1} us   ratio {:.2}", ns / 1e3, f32_ns / ns);
            }
        }
    }
    println!("\nevery block at k < -149 (the 256-bit and portable kernels' scalar path), MX9 {size}^3:");
    for &(format, kernel) in &extreme_runs {
        let id = bench_id(format, kernel);
        let slow = mean_ns(&dir, &group_name(size, true), &id);
        let normal = mean_ns(&dir, &group_name(size, false), &id);
        if let (Some(slow), Some(normal)) = (slow, normal) {
            println!(
                "  {id:<22} {:>10.1} us   {:.2}x its time at ordinary exponents",
                slow / 1e3,
                slow / normal
            );
        }
    }
}
