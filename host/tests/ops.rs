//! The host's f32 elementwise work and the convolution's backward pass, against
//! straightforward f64 implementations: forward values, and backward passes against
//! central differences of the f64 forward.

mod common;
use common::direct_conv;

use host::backend::Golden;
use host::kernels::{conv2d, conv2d_backward, linear, Conv};
use host::ops::*;
use host::rng::Rng;
use host::tensor::{Matrix, Nchw};
use mx::Format;
use sim::Part;

fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.normal() as f32).collect()
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((f64::from(g) - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
    }
}

/// ||got - want|| <= rel ||want||.
fn near(got: &[f32], want: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let err: f64 = got.iter().zip(want).map(|(&g, w)| (f64::from(g) - w).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = want.iter().map(|w| w * w).sum::<f64>().sqrt();
    assert!(err <= rel * norm, "{what}: error {err} against norm {norm}");
}

fn wide(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

/// d(sum(dy . f(x)))/dx by central differences of an f64 function.
fn numeric_grad(x: &[f32], dy: &[f32], f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let h = 1e-5;
    (0..x.len())
        .map(|i| {
            let mut up = x64.clone();
            let mut down = x64.clone();
            up[i] += h;
            down[i] -= h;
            let dot = |y: Vec<f64>| y.iter().zip(dy).map(|(a, &b)| a * f64::from(b)).sum::<f64>();
            (dot(f(&up)) - dot(f(&down))) / (2.0 * h)
        })
        .collect()
}

fn batch_norm64(x: &[f64], s: Nchw, gamma: &[f64], beta: &[f64], eps: f64) -> Vec<f64> {
    let plane = s.h * s.w;
    let mut y = vec![0.0; x.len()];
    for c in 0..s.c {
        let idx: Vec<usize> =
            (0..s.n).flat_map(|n| (0..plane).map(move |p| (n * s.c + c) * plane + p)).collect();
        let mean = idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
        let var = idx.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / idx.len() as f64;
        for &i in &idx {
            y[i] = gamma[c] * (x[i] - mean) / (var + eps).sqrt() + beta[c];
        }
    }
    y
}

#[test]
fn batch_norm_forward_backward_and_eval() {
    let mut rng = Rng::new(1);
    for s in [Nchw { n: 3, c: 4, h: 3, w: 2 }, Nchw { n: 8, c: 5, h: 1, w: 1 }] {
        let x = random(&mut rng, s.len());
        let (gamma, beta) = (random(&mut rng, s.c), random(&mut rng, s.c));
        let (y, cache) = batch_norm(&x, s, &gamma, &beta, 1e-5);
        let (x64, g64, b64) = (wide(&x), wide(&gamma), wide(&beta));
        close(&y, &batch_norm64(&x64, s, &g64, &b64, 1e-5), 1e-5, "batch_norm");
        let dy = random(&mut rng, s.len());
        let (dx, dgamma, dbeta) = batch_norm_backward(&cache, &gamma, &dy);
        close(&dx, &numeric_grad(&x, &dy, |x| batch_norm64(x, s, &g64, &b64, 1e-5)), 1e-3, "dx");
        close(&dgamma, &numeric_grad(&gamma, &dy, |g| batch_norm64(&x64, s, g, &b64, 1e-5)), 1e-3, "dgamma");
        close(&dbeta, &numeric_grad(&beta, &dy, |b| batch_norm64(&x64, s, &g64, b, 1e-5)), 1e-3, "dbeta");
        // With the batch's own statistics, eval mode gives the training output.
        let eval = batch_norm_eval(&x, s, &gamma, &beta, &cache.mean, &cache.var, 1e-5);
        close(&eval, &y.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), 1e-5, "eval");
    }
}

fn layer_norm64(x: &[f64], cols: usize, gamma: &[f64], beta: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (r, row) in x.chunks(cols).enumerate() {
        let mean = row.iter().sum::<f64>() / cols as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / cols as f64;
        for j in 0..cols {
            y[r * cols + j] = gamma[j] * (row[j] - mean) / (var + 1e-5).sqrt() + beta[j];
        }
    }
    y
}

#[test]
fn layer_norm_forward_and_backward() {
    let mut rng = Rng::new(2);
    let (rows, cols) = (5, 12);
    let x = Matrix::new(rows, cols, random(&mut rng, rows * cols));
    let (gamma, beta) = (random(&mut rng, cols), random(&mut rng, cols));
    let (y, cache) = layer_norm(&x, &gamma, &beta, 1e-5);
    let (x64, g64, b64) = (wide(&x.data), wide(&gamma), wide(&beta));
    close(&y.data, &layer_norm64(&x64, cols, &g64, &b64), 1e-5, "layer_norm");
    let dy = Matrix::new(rows, cols, random(&mut rng, rows * cols));
    let (dx, dgamma, dbeta) = layer_norm_backward(&cache, &gamma, &dy);
    close(&dx.data, &numeric_grad(&x.data, &dy.data, |x| layer_norm64(x, cols, &g64, &b64)), 1e-3, "dx");
    close(&dgamma, &numeric_grad(&gamma, &dy.data, |g| layer_norm64(&x64, cols, g, &b64)), 1e-3, "dgamma");
    let want_db: Vec<f64> =
        (0..cols).map(|j| (0..rows).map(|r| f64::from(dy.data[r * cols + j])).sum()).collect();
    close(&dbeta, &want_db, 1e-5, "dbeta");
}

#[test]
fn relu_bias_and_pooling() {
    let mut rng = Rng::new(3);
    let s = Nchw { n: 2, c: 3, h: 5, w: 4 };
    let x = random(&mut rng, s.len());
    let dy = random(&mut rng, s.len());
    close(&relu(&x), &x.iter().map(|&v| f64::from(v).max(0.0)).collect::<Vec<_>>(), 0.0, "relu");
    let want: Vec<f64> = x.iter().zip(&dy).map(|(&v, &d)| if v > 0.0 { f64::from(d) } else { 0.0 }).collect();
    close(&relu_backward(&x, &dy), &want, 0.0, "relu_backward");

    let mut m = Matrix::new(4, 3, random(&mut rng, 12));
    let before = m.clone();
    add_bias(&mut m, &[1.0, -2.0, 0.5]);
    assert_eq!(m.data[4], before.data[4] - 2.0);
    assert_eq!(bias_grad(&Matrix::new(2, 2, vec![1.0, 2.0, 3.0, 4.0])), vec![4.0, 6.0]);

    // Max-pooling: each output is the largest of its 2 x 2 window (row 4 dropped).
    let (y, out, from) = max_pool2(&x, s);
    assert_eq!(out, Nchw { n: 2, c: 3, h: 2, w: 2 });
    for (o, &v) in y.iter().enumerate() {
        let (nc, oy, ox) = (o / 4, o / 2 % 2, o % 2);
        let window: Vec<f32> = [(0, 0), (0, 1), (1, 0), (1, 1)]
            .iter()
            .map(|(a, b)| x[nc * 20 + (2 * oy + a) * 4 + 2 * ox + b])
            .collect();
        assert_eq!(v, window.iter().copied().fold(f32::MIN, f32::max));
        assert_eq!(x[from[o]], v);
    }
    let dyp = random(&mut rng, y.len());
    let dx = max_pool2_backward(&from, &dyp, x.len());
    assert_eq!(dx.iter().filter(|&&v| v != 0.0).count(), y.len());
    assert_eq!(dx.iter().sum::<f32>(), dyp.iter().sum::<f32>());

    let avg = global_avg_pool(&x, s);
    assert_eq!((avg.rows, avg.cols), (2, 3));
    let want: Vec<f64> = x.chunks(20).map(|p| p.iter().map(|&v| f64::from(v)).sum::<f64>() / 20.0).collect();
    close(&avg.data, &want, 1e-6, "global_avg_pool");
    let dya = Matrix::new(2, 3, random(&mut rng, 6));
    let want = numeric_grad(&x, &dya.data, |x| x.chunks(20).map(|p| p.iter().sum::<f64>() / 20.0).collect());
    close(&global_avg_pool_backward(&dya, s), &want, 1e-6, "global_avg_pool_backward");
}

#[test]
fn softmax_cross_entropy_and_sgd() {
    let mut rng = Rng::new(4);
    let logits = Matrix::new(4, 9, random(&mut rng, 36).iter().map(|v| 3.0 * v).collect());
    let labels = [0, 8, 3, 3];
    let loss64 = |z: &[f64]| -> Vec<f64> {
        let mut total = 0.0;
        for (r, row) in z.chunks(9).enumerate() {
            let max = row.iter().copied().fold(f64::MIN, f64::max);
            let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
            total -= row[labels[r]] - max - sum.ln();
        }
        vec![total / 4.0]
    };
    let (loss, grad) = cross_entropy(&logits, &labels).unwrap();
    let z64: Vec<f64> = logits.data.iter().map(|&v| f64::from(v)).collect();
    close(&[loss], &loss64(&z64), 1e-5, "loss");
    close(&grad.data, &numeric_grad(&logits.data, &[1.0], loss64), 1e-4, "dlogits");
    let p = softmax(&logits);
    for row in p.data.chunks(9) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    assert!(cross_entropy(&logits, &[0, 9, 0, 0]).unwrap_err().to_string().contains("label 9"));
    assert!(cross_entropy(&logits, &[0]).is_err());

    // SGD as PyTorch: v = m v + g + wd w; w -= lr v; by hand for two steps.
    let sgd = Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.01 };
    let (mut w, mut v) = (vec![1.0f32, -2.0], vec![0.0f32; 2]);
    sgd.step(&mut w, &[0.5, 0.25], &mut v);
    assert_eq!(v, vec![0.5 + 0.01, 0.25 - 0.02]);
    assert_eq!(w, vec![1.0 - 0.1 * 0.51, -2.0 - 0.1 * 0.23]);
    let (w1, v1) = (w.clone(), v.clone());
    sgd.step(&mut w, &[0.5, 0.25], &mut v);
    assert_eq!(v[0], 0.9 * v1[0] + 0.5 + 0.01 * w1[0]);
    assert_eq!(w[0], w1[0] - 0.1 * v[0]);
}

#[test]
fn convolution_backward_and_linear_on_the_golden_backend() {
    let mut rng = Rng::new(5);
    let mut golden = Golden::new("small").unwrap(); // split 0: the bottom part has all rows
    let conv = Conv {
        batch: 2,
        in_channels: 3,
        height: 7,
        width: 6,
        out_channels: 5,
        kernel: 3,
        stride: 2,
        padding: 1,
    };
    let x = random(&mut rng, 2 * 3 * 7 * 6);
    let w = random(&mut rng, 5 * 3 * 9);
    let dy = random(&mut rng, 2 * 5 * conv.out_height() * conv.out_width());
    // col2im is the adjoint of im2col: <im2col(x), C> = <x, col2im(C)>.
    let cols = conv.im2col(&x);
    let c = Matrix::new(cols.rows, cols.cols, random(&mut rng, cols.data.len()));
    let lhs: f64 = cols.data.iter().zip(&c.data).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    let rhs: f64 = x.iter().zip(conv.col2im(&c)).map(|(&a, b)| f64::from(a) * f64::from(b)).sum();
    assert!((lhs - rhs).abs() < 1e-3 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
    // The gradients at MX9 against the exact gradients of the f64 convolution.
    let grads = conv2d_backward(&mut golden, Part::Bottom, &conv, &x, &w, &dy, Format::Mx9).unwrap();
    let conv64 = |x: &[f64], w: &[f64]| direct_conv(&conv, x, w);
    let (x64, w64): (Vec<f64>, Vec<f64>) =
        (x.iter().map(|&v| f64::from(v)).collect(), w.iter().map(|&v| f64::from(v)).collect());
    // MX9 keeps 7 magnitude bits per element: a wrong index or transpose would be off by
    // the whole norm, quantization by a percent or two.
    near(&grads.dx, &numeric_grad(&x, &dy, |x| conv64(x, &w64)), 0.03, "dx");
    near(&grads.dw, &numeric_grad(&w, &dy, |w| conv64(&x64, w)), 0.03, "dw");
    assert!(grads.cycles > 0);
    let (y, _) = conv2d(&mut golden, Part::Bottom, &conv, &x, &w, Format::Mx9).unwrap();
    near(&y, &conv64(&x64, &w64), 0.03, "forward");

    let xm = Matrix::new(3, 20, random(&mut rng, 60));
    let wm = Matrix::new(20, 4, random(&mut rng, 80));
    let (y, _) = linear(&mut golden, Part::Bottom, &xm, &wm, &[1.0, 2.0, 3.0, 4.0], Format::Mx9).unwrap();
    let (plain, _) = host::kernels::gemm(&mut golden, Part::Bottom, &xm, &wm, Format::Mx9).unwrap();
    assert_eq!(y.data[5], plain.data[5] + 2.0);
    assert!(linear(&mut golden, Part::Bottom, &xm, &wm, &[1.0], Format::Mx9).is_err());
}
