//! `make bench`: the bit-exact MX GEMM against an f32 GEMM of the same size (matrixmultiply's
//! sgemm), both single-threaded, 256 x 256 x 256. Quantization is excluded; packing the MX
//! blocks into the kernel's layout is included. Prints, after criterion's own report, the
//! ratio f32 time / MX time per format (>= 1.0: the MX GEMM is at least as fast). Both write
//! into an output buffer allocated once.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::Criterion;
use mx::rng::Rng;
use mx::{auto_kernel_name, gemm_into, Axis, Format, GemmOptions, Kernel, MxMatrix, Rounding};

const SIZE: usize = 256;
const GROUP: &str = "gemm_256";

fn random(rng: &mut Rng) -> Vec<f32> {
    (0..SIZE * SIZE).map(|_| rng.normal() as f32).collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng::new(7);
    let (a, b) = (random(&mut rng), random(&mut rng));
    let mut group = c.benchmark_group(GROUP);
    group.bench_function("f32_sgemm", |bench| {
        let mut out = vec![0.0f32; SIZE * SIZE];
        bench.iter(|| unsafe {
            // SAFETY: all three buffers are SIZE x SIZE, row-major, and outlive the call.
            matrixmultiply::sgemm(
                SIZE,
                SIZE,
                SIZE,
                1.0,
                a.as_ptr(),
                SIZE as isize,
                1,
                b.as_ptr(),
                SIZE as isize,
                1,
                0.0,
                out.as_mut_ptr(),
                SIZE as isize,
                1,
            );
            black_box(&out);
        })
    });
    for (format, kernel) in runs() {
        let qa = MxMatrix::quantize(&a, SIZE, SIZE, Axis::Row, format, Rounding::NearestEven).unwrap();
        let qb = MxMatrix::quantize(&b, SIZE, SIZE, Axis::Col, format, Rounding::NearestEven).unwrap();
        let options = GemmOptions { threads: 1, kernel };
        group.bench_function(bench_id(format, kernel), |bench| {
            let mut out = vec![0.0f32; SIZE * SIZE];
            bench.iter(|| {
                gemm_into(&qa, &qb, options, &mut out).unwrap();
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// Every format on the best kernel, and MX9 (all formats run the same code there) on the
/// AVX2 and portable fallbacks.
fn runs() -> impl Iterator<Item = (Format, Kernel)> {
    Format::ALL
        .map(|f| (f, Kernel::Auto))
        .into_iter()
        .chain([(Format::Mx9, Kernel::Avx2), (Format::Mx9, Kernel::Portable)])
}

fn bench_id(format: Format, kernel: Kernel) -> String {
    match kernel {
        Kernel::Auto => format.name().to_string(),
        Kernel::Avx2 => format!("{}_avx2", format.name()),
        Kernel::Portable => format!("{}_portable", format.name()),
    }
}

/// Mean time of one benchmark in nanoseconds, from criterion's saved estimates.
fn mean_ns(dir: &std::path::Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(GROUP).join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn main() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let mut criterion = Criterion::default().output_directory(&dir).configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();

    let Some(f32_ns) = mean_ns(&dir, "f32_sgemm") else {
        return; // a filtered run (`cargo bench -- NAME`) may not have measured the baseline
    };
    println!(
        "\nratio f32 sgemm time / MX GEMM time, {SIZE}^3, one thread, MX kernel {}:",
        auto_kernel_name()
    );
    for (format, kernel) in runs() {
        let id = bench_id(format, kernel);
        if let Some(ns) = mean_ns(&dir, &id) {
            println!("  {id:<14} {:>8.1} us   ratio {:.2}", ns / 1e3, f32_ns / ns);
        }
    }
    println!("  {:<14} {:>8.1} us", "f32_sgemm", f32_ns / 1e3);
}
