//! `dacapo demo`: what each MX format costs in accuracy and how fast the golden model is, on
//! a random GEMM whose rows have widely different scales (as activations do).

use std::time::Instant;

use anyhow::ensure;
use clap::Args;
use mx::rng::Rng;
use mx::{auto_kernel_name, gemm, Axis, Format, MxMatrix, Rounding};

#[derive(Args)]
pub struct DemoArgs {
    /// M = K = N of the GEMM.
    #[arg(long, default_value_t = 512)]
    size: usize,
    /// Seed of the random operands.
    #[arg(long, default_value_t = 1, value_parser = host::named::parse_seed)]
    seed: u64,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let n = args.size;
    ensure!((1..=4096).contains(&n), "--size {n} is out of range; use 1..=4096");
    let mut rng = Rng::new(args.seed);
    let a = random_matrix(&mut rng, n, n);
    let b = random_matrix(&mut rng, n, n);
    let exact = reference_gemm(&a, &b, n);

    println!("MX demo: C = A x B, {n} x {n} x {n}, seed {}, kernel {}", args.seed, auto_kernel_name());
    println!(
        "{:<6} {:>9} {:>18} {:>18} {:>12} {:>10}",
        "format", "bits/elem", "A quant. rel. err", "C rel. err", "GEMM ms", "GMAC/s"
    );
    for format in Format::ALL {
        let qa = MxMatrix::quantize(&a, n, n, Axis::Row, format, Rounding::NearestEven)?;
        let qb = MxMatrix::quantize(&b, n, n, Axis::Col, format, Rounding::NearestEven)?;
        let start = Instant::now();
        let c = gemm(&qa, &qb)?;
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{:<6} {:>9} {:>18.3e} {:>18.3e} {:>12.2} {:>10.1}",
            format.name(),
            format.bits_per_element(),
            relative_error(&qa.dequantize(), &a.iter().map(|&x| f64::from(x)).collect::<Vec<_>>()),
            relative_error(&c, &exact),
            seconds * 1e3,
            (n * n * n) as f64 / seconds / 1e9
        );
    }
    println!("(errors are Frobenius-norm relative errors against f64 arithmetic on the f32 inputs)");
    Ok(())
}

/// Normal values, each row scaled by its own power of two in 2^-8..2^8.
fn random_matrix(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    (0..rows)
        .flat_map(|_| {
            let scale = 2f64.powi(rng.below(17) as i32 - 8);
            (0..cols).map(|_| (rng.normal() * scale) as f32).collect::<Vec<_>>()
        })
        .collect()
}

fn reference_gemm(a: &[f32], b: &[f32], n: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; n * n];
    for i in 0..n {
        for k in 0..n {
            let x = f64::from(a[i * n + k]);
            for j in 0..n {
                c[i * n + j] += x * f64::from(b[k * n + j]);
            }
        }
    }
    c
}

fn relative_error(got: &[f32], want: &[f64]) -> f64 {
    let (diff, norm) =
        got.iter().zip(want).fold((0.0, 0.0), |(d, s), (&g, &w)| (d + (f64::from(g) - w).powi(2), s + w * w));
    (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
}
