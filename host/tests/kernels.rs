//! Kernels on the golden backend against straightforward f64 arithmetic, and on the Verilator
//! backend bit-exact to the golden one, training steps included.

mod common;
use common::direct_conv;

use host::backend::{Backend, Golden, Rtl};
use host::kernels::{conv2d, conv2d_backward, gemm, linear, train_step, Conv};
use host::tensor::Matrix;
use mx::rng::Rng;
use mx::{Axis, Format, MxMatrix, Rounding};
use sim::Part;

fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.normal() as f32).collect()
}

/// f64 A B over the values the hardware multiplies (A and B quantized along K and decoded),
/// with each output's sum of term magnitudes.
fn reference(a: &Matrix, b: &Matrix, format: Format) -> Vec<(f64, f64)> {
    let qa = MxMatrix::quantize(&a.data, a.rows, a.cols, Axis::Row, format, Rounding::NearestEven)
        .unwrap()
        .dequantize();
    let qb = MxMatrix::quantize(&b.data, b.rows, b.cols, Axis::Col, format, Rounding::NearestEven)
        .unwrap()
        .dequantize();
    let mut c = vec![(0f64, 0f64); a.rows * b.cols];
    for i in 0..a.rows {
        for j in 0..b.cols {
            for k in 0..a.cols {
                let term = f64::from(qa[i * a.cols + k]) * f64::from(qb[k * b.cols + j]);
                c[i * b.cols + j].0 += term;
                c[i * b.cols + j].1 += term.abs();
            }
        }
    }
    c
}

/// Each output within the f32 accumulation's rounding of the exact sum: one rounding per
/// block addition, so at most (K/16 + 1) half-ulps of the running sum, bounded by the sum of
/// the term magnitudes.
fn assert_close(got: &[f32], want: &[(f64, f64)], k: usize, what: &str) {
    assert_eq!(got.len(), want.len());
    for (g, (w, magnitude)) in got.iter().zip(want) {
        let tol = (k / 16 + 1) as f64 * f64::from(f32::EPSILON) * magnitude;
        assert!((f64::from(*g) - w).abs() <= tol, "{what}: {g} vs {w}");
    }
}

#[test]
fn im2col_times_weights_is_the_convolution() {
    let mut rng = Rng::new(4);
    for (kernel, stride, padding) in [(1, 1, 0), (3, 1, 1), (3, 2, 1), (5, 2, 2), (2, 2, 0)] {
        let conv =
            Conv { batch: 2, in_channels: 3, height: 7, width: 6, out_channels: 4, kernel, stride, padding };
        let input = random(&mut rng, 2 * 3 * 7 * 6);
        let weight = random(&mut rng, 4 * 3 * kernel * kernel);
        let (cols, w) = (conv.im2col(&input), conv.weight_matrix(&weight));
        let (oh, ow) = (conv.out_height(), conv.out_width());
        let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        let direct = direct_conv(&conv, &wide(&input), &wide(&weight));
        for n in 0..2 {
            for o in 0..4 {
                for y in 0..oh {
                    for x in 0..ow {
                        let row = (n * oh + y) * ow + x;
                        let gemm: f64 = (0..cols.cols)
                            .map(|k| {
                                f64::from(cols.data[row * cols.cols + k]) * f64::from(w.data[k * w.cols + o])
                            })
                            .sum();
                        let want = direct[((n * 4 + o) * oh + y) * ow + x];
                        assert!((gemm - want).abs() < 1e-9, "k{kernel} s{stride} p{padding}");
                    }
                }
            }
        }
    }
}

#[test]
fn golden_kernels_match_f64() {
    let mut golden = Golden::new("dacapo").unwrap();
    golden.set_split(16).unwrap();
    let mut rng = Rng::new(8);
    for format in Format::ALL {
        let conv = Conv {
            batch: 2,
            in_channels: 5,
            height: 9,
            width: 9,
            out_channels: 7,
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        let input = random(&mut rng, 2 * 5 * 81);
        let weight = random(&mut rng, 7 * 5 * 9);
        let (out, cycles) = conv2d(&mut golden, Part::Top, &conv, &input, &weight, format).unwrap();
        assert!(cycles > 0);
        let want = reference(&conv.im2col(&input), &conv.weight_matrix(&weight), format);
        let (oh, ow) = (conv.out_height(), conv.out_width());
        let got: Vec<f32> = (0..2 * oh * ow)
            .flat_map(|p| {
                let (n, q) = (p / (oh * ow), p % (oh * ow));
                let out = &out;
                (0..7).map(move |o| out[(n * 7 + o) * oh * ow + q])
            })
            .collect();
        assert_close(&got, &want, 45, &format!("conv {format}"));

        let (m, k, n) = (13, 50, 9);
        let x = Matrix::new(m, k, random(&mut rng, m * k));
        let w = Matrix::new(k, n, random(&mut rng, k * n));
        let dy = Matrix::new(m, n, random(&mut rng, m * n));
        let t = train_step(&mut golden, Part::Top, &x, &w, &dy, format).unwrap();
        assert_close(&t.y.data, &reference(&x, &w, format), k, "forward");
        assert_close(&t.dx.data, &reference(&dy, &w.transpose(), format), n, "input gradient");
        assert_close(&t.dw.data, &reference(&x.transpose(), &dy, format), m, "weight gradient");
        let (c, _) = gemm(&mut golden, Part::Top, &x, &w, format).unwrap();
        assert_eq!(c, t.y);
    }
}

#[test]
fn rtl_kernels_and_training_steps_equal_golden_bit_for_bit() {
    let mut golden = Golden::new("small").unwrap();
    let mut rtl = Rtl::new("small").unwrap();
    let mut rng = Rng::new(12);
    for backend in [&mut golden as &mut dyn Backend, &mut rtl] {
        backend.set_split(3).unwrap();
    }
    let conv = Conv {
        batch: 1,
        in_channels: 3,
        height: 6,
        width: 6,
        out_channels: 5,
        kernel: 3,
        stride: 1,
        padding: 1,
    };
    let input = random(&mut rng, 3 * 36);
    let weight = random(&mut rng, 5 * 27);
    let g = conv2d(&mut golden, Part::Bottom, &conv, &input, &weight, Format::Mx6).unwrap();
    let r = conv2d(&mut rtl, Part::Bottom, &conv, &input, &weight, Format::Mx6).unwrap();
    assert_eq!(g, r, "convolution: same bits and cycles");
    let dy = random(&mut rng, 5 * 36);
    let g = conv2d_backward(&mut golden, Part::Top, &conv, &input, &weight, &dy, Format::Mx9).unwrap();
    let r = conv2d_backward(&mut rtl, Part::Top, &conv, &input, &weight, &dy, Format::Mx9).unwrap();
    assert_eq!((g.dx, g.dw, g.cycles), (r.dx, r.dw, r.cycles), "convolution gradients: same bits and cycles");
    let bias = random(&mut rng, 5);
    let x = Matrix::new(7, 30, random(&mut rng, 7 * 30));
    let w = Matrix::new(30, 5, random(&mut rng, 30 * 5));
    let g = linear(&mut golden, Part::Bottom, &x, &w, &bias, Format::Mx4).unwrap();
    let r = linear(&mut rtl, Part::Bottom, &x, &w, &bias, Format::Mx4).unwrap();
    assert_eq!(g, r, "linear: same bits and cycles");

    // Three SGD steps of a linear layer: forward at MX6 on the top part, gradients at MX9.
    let (m, k, n) = (6, 40, 5);
    let x = Matrix::new(m, k, random(&mut rng, m * k));
    let target = Matrix::new(m, n, random(&mut rng, m * n));
    let mut weights = [Matrix::new(k, n, random(&mut rng, k * n)), Matrix::new(0, 0, Vec::new())];
    weights[1] = weights[0].clone();
    for _step in 0..3 {
        for (w, backend) in weights.iter_mut().zip([&mut golden as &mut dyn Backend, &mut rtl]) {
            let (y, _) = gemm(backend, Part::Top, &x, w, Format::Mx6).unwrap();
            let dy = Matrix::new(m, n, y.data.iter().zip(&target.data).map(|(y, t)| y - t).collect());
            let t = train_step(backend, Part::Top, &x, w, &dy, Format::Mx9).unwrap();
            for (w, g) in w.data.iter_mut().zip(&t.dw.data) {
                *w -= 0.01 * g;
            }
        }
        let bits = |m: &Matrix| m.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&weights[0]), bits(&weights[1]), "weights after a step");
    }
}
