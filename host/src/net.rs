//! The small convolutional networks of the continuous-learning runs, built from the runtime's
//! kernels: every convolution and the classifier run as GEMMs on a backend in an MX format
//! (inference and labeling MX6, training MX9 in the scenarios); batch-norm, ReLU, pooling,
//! the loss and SGD run in f32 on the host.
//!
//! The network: `widths.len()` blocks of a 3 x 3 convolution with stride 2 and padding 1,
//! batch-norm and ReLU, then global average pooling and a linear classifier.

use anyhow::{bail, ensure, Context};
use mx::rng::Rng;
use sim::Part;

use crate::backend::Backend;
use crate::kernels::{conv2d, conv2d_backward, gemm, linear, Conv, Numerics};
use crate::ops::*;
use crate::stream::{CLASSES, SIZE};
use crate::tensor::{Matrix, Nchw};

const EPS: f32 = 1e-5;
/// Running statistics move this share of the way to each batch's statistics.
const BN_MOMENTUM: f32 = 0.1;

/// One convolution block's parameters and momentum buffers.
#[derive(Clone, Debug, PartialEq)]
struct Block {
    cin: usize,
    cout: usize,
    /// OIHW.
    weight: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
}

/// A network and its SGD momentum buffers.
#[derive(Clone, Debug, PartialEq)]
pub struct Net {
    blocks: Vec<Block>,
    /// C x classes.
    fc_w: Matrix,
    fc_b: Vec<f32>,
    /// One momentum buffer per parameter tensor, in `params_mut` order.
    velocity: Vec<Vec<f32>>,
}

/// The images' shape for a batch of `n` stream frames.
fn frames(n: usize) -> Nchw {
    Nchw { n, c: 3, h: SIZE, w: SIZE }
}

impl Net {
    /// He-initialized weights, batch-norm at identity, drawn from `seed`.
    pub fn new(widths: &[usize], seed: u64) -> anyhow::Result<Net> {
        ensure!(
            !widths.is_empty() && widths.iter().all(|&w| (1..=1024).contains(&w)),
            "widths {widths:?}: give 1 to 1024 channels per block"
        );
        ensure!(
            SIZE >> widths.len() >= 1,
            "{} stride-2 blocks shrink a {SIZE} x {SIZE} frame to nothing",
            widths.len()
        );
        let mut rng = Rng::new(seed);
        let mut normal =
            |n: usize, std: f32| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32 * std).collect() };
        let mut blocks = Vec::new();
        let mut cin = 3;
        for &cout in widths {
            let fan_in = (cin * 9) as f32;
            blocks.push(Block {
                cin,
                cout,
                weight: normal(cout * cin * 9, (2.0 / fan_in).sqrt()),
                gamma: vec![1.0; cout],
                beta: vec![0.0; cout],
                running_mean: vec![0.0; cout],
                running_var: vec![1.0; cout],
            });
            cin = cout;
        }
        let fc_w = Matrix::new(cin, CLASSES, normal(cin * CLASSES, (1.0 / cin as f32).sqrt()));
        let mut net = Net { blocks, fc_w, fc_b: vec![0.0; CLASSES], velocity: Vec::new() };
        net.velocity = net.params_mut().iter().map(|p| vec![0.0; p.len()]).collect();
        Ok(net)
    }

    /// Multiply-accumulates of one frame's forward pass.
    pub fn macs_per_frame(&self) -> u64 {
        let mut size = SIZE;
        let mut macs = 0;
        for b in &self.blocks {
            size = size.div_ceil(2);
            macs += (size * size * b.cin * 9 * b.cout) as u64;
        }
        macs + (self.fc_w.rows * CLASSES) as u64
    }

    fn conv(&self, i: usize, n: usize) -> Conv {
        let size = SIZE >> i;
        let b = &self.blocks[i];
        Conv {
            batch: n,
            in_channels: b.cin,
            height: size,
            width: size,
            out_channels: b.cout,
            kernel: 3,
            stride: 2,
            padding: 1,
        }
    }

    /// The parameter tensors, in a fixed order (weights, gamma, beta per block; fc).
    fn params_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut out = Vec::new();
        for b in &mut self.blocks {
            out.push(&mut b.weight);
            out.push(&mut b.gamma);
            out.push(&mut b.beta);
        }
        out.push(&mut self.fc_w.data);
        out.push(&mut self.fc_b);
        out
    }

    /// Class scores of `n` frames (NCHW, 3 x SIZE x SIZE each), batch-norm with its running
    /// statistics.
    pub fn logits(
        &self,
        backend: &mut dyn Backend,
        part: Part,
        images: &[f32],
        n: usize,
        numerics: impl Into<Numerics>,
    ) -> anyhow::Result<Matrix> {
        let numerics = numerics.into();
        ensure!(images.len() == frames(n).len(), "{} values are not {n} frames", images.len());
        let mut x = images.to_vec();
        for (i, b) in self.blocks.iter().enumerate() {
            let conv = self.conv(i, n);
            let (y, _) = conv2d(backend, part, &conv, &x, &b.weight, numerics)?;
            let shape = Nchw { n, c: b.cout, h: conv.out_height(), w: conv.out_width() };
            x = relu(&batch_norm_eval(&y, shape, &b.gamma, &b.beta, &b.running_mean, &b.running_var, EPS));
        }
        let last = Nchw { n, c: self.fc_w.rows, h: SIZE >> self.blocks.len(), w: SIZE >> self.blocks.len() };
        Ok(linear(backend, part, &global_avg_pool(&x, last), &self.fc_w, &self.fc_b, numerics)?.0)
    }

    /// The predicted class of each of `n` frames.
    pub fn predict(
        &self,
        backend: &mut dyn Backend,
        part: Part,
        images: &[f32],
        n: usize,
        numerics: impl Into<Numerics>,
    ) -> anyhow::Result<Vec<usize>> {
        let logits = self.logits(backend, part, images, n, numerics)?;
        Ok(logits
            .data
            .chunks(CLASSES)
            .map(|row| (0..CLASSES).fold(0, |best, c| if row[c] > row[best] { c } else { best }))
            .collect())
    }

    /// One SGD step on a batch of `labels.len()` frames: forward with batch statistics, the
    /// cross-entropy loss, backward, update. Returns the loss before the step.
    pub fn train_step(
        &mut self,
        backend: &mut dyn Backend,
        part: Part,
        images: &[f32],
        labels: &[usize],
        numerics: impl Into<Numerics>,
        sgd: Sgd,
    ) -> anyhow::Result<f32> {
        let numerics = numerics.into();
        let n = labels.len();
        ensure!(n > 0 && images.len() == frames(n).len(), "{} values are not {n} frames", images.len());
        // Forward, keeping what the backward pass needs.
        let mut inputs = vec![images.to_vec()];
        let mut norms = Vec::new();
        let mut pre_relu = Vec::new();
        for i in 0..self.blocks.len() {
            let conv = self.conv(i, n);
            let b = &mut self.blocks[i];
            let (y, _) = conv2d(backend, part, &conv, inputs.last().expect("an input"), &b.weight, numerics)?;
            let shape = Nchw { n, c: b.cout, h: conv.out_height(), w: conv.out_width() };
            let (z, cache) = batch_norm(&y, shape, &b.gamma, &b.beta, EPS);
            let unbiased =
                (shape.n * shape.h * shape.w) as f32 / ((shape.n * shape.h * shape.w).max(2) - 1) as f32;
            for c in 0..b.cout {
                b.running_mean[c] += BN_MOMENTUM * (cache.mean[c] - b.running_mean[c]);
                b.running_var[c] += BN_MOMENTUM * (cache.var[c] * unbiased - b.running_var[c]);
            }
            inputs.push(relu(&z));
            norms.push(cache);
            pre_relu.push(z);
        }
        let side = SIZE >> self.blocks.len();
        let last = Nchw { n, c: self.fc_w.rows, h: side, w: side };
        let pooled = global_avg_pool(inputs.last().expect("an input"), last);
        let (logits, _) = linear(backend, part, &pooled, &self.fc_w, &self.fc_b, numerics)?;
        let (loss, dlogits) = cross_entropy(&logits, labels)?;

        // Backward.
        let (dfc_w, _) = gemm(backend, part, &pooled.transpose(), &dlogits, numerics)?;
        let dfc_b = bias_grad(&dlogits);
        let (dpooled, _) = gemm(backend, part, &dlogits, &self.fc_w.transpose(), numerics)?;
        let mut dx = global_avg_pool_backward(&dpooled, last);
        let mut grads: Vec<Vec<f32>> = Vec::new();
        for i in (0..self.blocks.len()).rev() {
            let conv = self.conv(i, n);
            let dz = relu_backward(&pre_relu[i], &dx);
            let (dy, dgamma, dbeta) = batch_norm_backward(&norms[i], &self.blocks[i].gamma, &dz);
            let g = conv2d_backward(backend, part, &conv, &inputs[i], &self.blocks[i].weight, &dy, numerics)?;
            dx = g.dx;
            grads.extend([dbeta, dgamma, g.dw]);
        }
        grads.reverse();
        grads.extend([dfc_w.data, dfc_b]);
        let mut velocity = std::mem::take(&mut self.velocity);
        for ((p, g), v) in self.params_mut().into_iter().zip(&grads).zip(&mut velocity) {
            sgd.step(p, g, v);
        }
        self.velocity = velocity;
        Ok(loss)
    }

    /// The parameters and running statistics as little-endian bytes (momentum left out).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"DCNET1".to_vec();
        let mut put = |v: &[f32]| {
            out.extend((v.len() as u32).to_le_bytes());
            v.iter().for_each(|x| out.extend(x.to_le_bytes()));
        };
        put(&self.blocks.iter().map(|b| b.cout as f32).collect::<Vec<_>>());
        for b in &self.blocks {
            for v in [&b.weight, &b.gamma, &b.beta, &b.running_mean, &b.running_var] {
                put(v);
            }
        }
        put(&self.fc_w.data);
        put(&self.fc_b);
        out
    }

    /// Reads what `to_bytes` wrote.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Net> {
        ensure!(bytes.starts_with(b"DCNET1"), "not a dacapo network file");
        let mut at = 6;
        let mut take = || -> anyhow::Result<Vec<f32>> {
            let len = bytes.get(at..at + 4).context("the network file is cut short")?;
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            let body = bytes.get(at + 4..at + 4 + 4 * len).context("the network file is cut short")?;
            at += 4 + 4 * len;
            Ok(body.chunks(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
        };
        let widths: Vec<usize> = take()?.iter().map(|&w| w as usize).collect();
        let mut net = Net::new(&widths, 0)?;
        for b in &mut net.blocks {
            for v in [&mut b.weight, &mut b.gamma, &mut b.beta, &mut b.running_mean, &mut b.running_var] {
                let read = take()?;
                if read.len() != v.len() {
                    bail!("the network file's sizes do not match its widths {widths:?}");
                }
                *v = read;
            }
        }
        for v in [&mut net.fc_w.data, &mut net.fc_b] {
            let read = take()?;
            ensure!(read.len() == v.len(), "the network file's sizes do not match its widths {widths:?}");
            *v = read;
        }
        Ok(net)
    }
}
