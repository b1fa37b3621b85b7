//! The elementwise and reduction work of inference and training, in f32 on the host, each
//! with its backward pass: bias, ReLU, batch-norm, layer-norm, pooling, softmax with
//! cross-entropy, and SGD with momentum and weight decay. Tensors are NCHW; a matrix of
//! features (rows = samples) is NCHW with H = W = 1.

use anyhow::ensure;

use crate::tensor::{Matrix, Nchw};

/// Adds `bias[c]` to every element of column c.
pub fn add_bias(m: &mut Matrix, bias: &[f32]) {
    assert_eq!(bias.len(), m.cols, "one bias per column");
    for row in m.data.chunks_mut(m.cols) {
        row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
    }
}

/// The bias gradient: dY summed down each column.
pub fn bias_grad(dy: &Matrix) -> Vec<f32> {
    let mut g = vec![0.0; dy.cols];
    for row in dy.data.chunks(dy.cols) {
        g.iter_mut().zip(row).for_each(|(g, d)| *g += d);
    }
    g
}

pub fn relu(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| v.max(0.0)).collect()
}

/// dX of ReLU: dY where the input was positive, else 0.
pub fn relu_backward(x: &[f32], dy: &[f32]) -> Vec<f32> {
    x.iter().zip(dy).map(|(&v, &d)| if v > 0.0 { d } else { 0.0 }).collect()
}

/// What batch-norm's backward pass needs from its forward pass.
#[derive(Clone, Debug)]
pub struct BatchNormCache {
    pub shape: Nchw,
    /// Per channel: the batch mean and the biased batch variance.
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    inv_std: Vec<f32>,
    xhat: Vec<f32>,
}

/// Training-mode batch-norm: each channel normalized by its mean and (biased) variance over
/// the batch and the plane, then scaled by `gamma` and shifted by `beta`.
pub fn batch_norm(
    x: &[f32],
    shape: Nchw,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) -> (Vec<f32>, BatchNormCache) {
    assert_eq!(x.len(), shape.len());
    let (plane, count) = (shape.plane(), (shape.n * shape.plane()) as f32);
    let channel =
        |c: usize| (0..shape.n).flat_map(move |n| (0..plane).map(move |p| (n * shape.c + c) * plane + p));
    let mut cache = BatchNormCache {
        shape,
        mean: vec![0.0; shape.c],
        var: vec![0.0; shape.c],
        inv_std: vec![0.0; shape.c],
        xhat: vec![0.0; x.len()],
    };
    let mut y = vec![0.0; x.len()];
    for c in 0..shape.c {
        let mean = channel(c).map(|i| x[i]).sum::<f32>() / count;
        let var = channel(c).map(|i| (x[i] - mean) * (x[i] - mean)).sum::<f32>() / count;
        let inv_std = 1.0 / (var + eps).sqrt();
        for i in channel(c) {
            cache.xhat[i] = (x[i] - mean) * inv_std;
            y[i] = gamma[c] * cache.xhat[i] + beta[c];
        }
        (cache.mean[c], cache.var[c], cache.inv_std[c]) = (mean, var, inv_std);
    }
    (y, cache)
}

/// dX, dgamma and dbeta of `batch_norm`.
pub fn batch_norm_backward(
    cache: &BatchNormCache,
    gamma: &[f32],
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let shape = cache.shape;
    let (plane, count) = (shape.plane(), (shape.n * shape.plane()) as f32);
    let channel =
        |c: usize| (0..shape.n).flat_map(move |n| (0..plane).map(move |p| (n * shape.c + c) * plane + p));
    let (mut dx, mut dgamma, mut dbeta) = (vec![0.0; dy.len()], vec![0.0; shape.c], vec![0.0; shape.c]);
    for c in 0..shape.c {
        dbeta[c] = channel(c).map(|i| dy[i]).sum();
        dgamma[c] = channel(c).map(|i| dy[i] * cache.xhat[i]).sum();
        let k = gamma[c] * cache.inv_std[c] / count;
        for i in channel(c) {
            dx[i] = k * (count * dy[i] - dbeta[c] - cache.xhat[i] * dgamma[c]);
        }
    }
    (dx, dgamma, dbeta)
}

/// Inference-mode batch-norm with running statistics.
pub fn batch_norm_eval(
    x: &[f32],
    shape: Nchw,
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
) -> Vec<f32> {
    let plane = shape.plane();
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = i / plane % shape.c;
            gamma[c] * (v - mean[c]) / (var[c] + eps).sqrt() + beta[c]
        })
        .collect()
}

/// What layer-norm's backward pass needs.
#[derive(Clone, Debug)]
pub struct LayerNormCache {
    inv_std: Vec<f32>,
    xhat: Matrix,
}

/// Layer-norm over each row's features, scaled by `gamma` and shifted by `beta`.
pub fn layer_norm(x: &Matrix, gamma: &[f32], beta: &[f32], eps: f32) -> (Matrix, LayerNormCache) {
    let d = x.cols as f32;
    let mut xhat = x.clone();
    let mut y = x.clone();
    let mut inv_stds = Vec::with_capacity(x.rows);
    for (r, row) in x.data.chunks(x.cols).enumerate() {
        let mean = row.iter().sum::<f32>() / d;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d;
        let inv_std = 1.0 / (var + eps).sqrt();
        for (j, &v) in row.iter().enumerate() {
            let at = r * x.cols + j;
            xhat.data[at] = (v - mean) * inv_std;
            y.data[at] = gamma[j] * xhat.data[at] + beta[j];
        }
        inv_stds.push(inv_std);
    }
    (y, LayerNormCache { inv_std: inv_stds, xhat })
}

/// dX, dgamma and dbeta of `layer_norm`.
pub fn layer_norm_backward(
    cache: &LayerNormCache,
    gamma: &[f32],
    dy: &Matrix,
) -> (Matrix, Vec<f32>, Vec<f32>) {
    let (rows, cols) = (dy.rows, dy.cols);
    let d = cols as f32;
    let mut dx = dy.clone();
    let (mut dgamma, mut dbeta) = (vec![0.0; cols], vec![0.0; cols]);
    for r in 0..rows {
        let at = |j: usize| r * cols + j;
        let g: Vec<f32> = (0..cols).map(|j| dy.data[at(j)] * gamma[j]).collect();
        let sum_g: f32 = g.iter().sum();
        let sum_gx: f32 = (0..cols).map(|j| g[j] * cache.xhat.data[at(j)]).sum();
        for j in 0..cols {
            let xh = cache.xhat.data[at(j)];
            dgamma[j] += dy.data[at(j)] * xh;
            dbeta[j] += dy.data[at(j)];
            dx.data[at(j)] = cache.inv_std[r] / d * (d * g[j] - sum_g - xh * sum_gx);
        }
    }
    (dx, dgamma, dbeta)
}

/// 2 x 2 max-pooling with stride 2 (odd edges dropped). Returns the output and, per output,
/// the input index it came from (the first maximum).
pub fn max_pool2(x: &[f32], shape: Nchw) -> (Vec<f32>, Nchw, Vec<usize>) {
    let out = Nchw { h: shape.h / 2, w: shape.w / 2, ..shape };
    let (mut y, mut from) = (Vec::with_capacity(out.len()), Vec::with_capacity(out.len()));
    for nc in 0..shape.n * shape.c {
        for oy in 0..out.h {
            for ox in 0..out.w {
                let mut best = nc * shape.plane() + 2 * oy * shape.w + 2 * ox;
                for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                    let i = nc * shape.plane() + (2 * oy + dy) * shape.w + 2 * ox + dx;
                    if x[i] > x[best] {
                        best = i;
                    }
                }
                y.push(x[best]);
                from.push(best);
            }
        }
    }
    (y, out, from)
}

/// dX of `max_pool2`: each output's gradient goes to the input it came from.
pub fn max_pool2_backward(from: &[usize], dy: &[f32], input_len: usize) -> Vec<f32> {
    let mut dx = vec![0.0; input_len];
    for (&i, &d) in from.iter().zip(dy) {
        dx[i] += d;
    }
    dx
}

/// The mean of each channel's plane: an N x C matrix.
pub fn global_avg_pool(x: &[f32], shape: Nchw) -> Matrix {
    let plane = shape.plane();
    let data = x.chunks(plane).map(|p| p.iter().sum::<f32>() / plane as f32).collect();
    Matrix::new(shape.n, shape.c, data)
}

/// dX of `global_avg_pool`: each plane gets its output's gradient over the plane size.
pub fn global_avg_pool_backward(dy: &Matrix, shape: Nchw) -> Vec<f32> {
    let plane = shape.plane();
    dy.data.iter().flat_map(|&d| std::iter::repeat_n(d / plane as f32, plane)).collect()
}

/// Softmax of each row (shifted by the row's maximum).
pub fn softmax(x: &Matrix) -> Matrix {
    let mut y = x.clone();
    for row in y.data.chunks_mut(x.cols) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.iter_mut().for_each(|v| *v = (*v - max).exp());
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
    y
}

/// The mean cross-entropy of softmax(logits) against the labels, and its gradient with
/// respect to the logits.
pub fn cross_entropy(logits: &Matrix, labels: &[usize]) -> anyhow::Result<(f32, Matrix)> {
    ensure!(labels.len() == logits.rows, "{} labels for {} rows", labels.len(), logits.rows);
    if let Some(&bad) = labels.iter().find(|&&l| l >= logits.cols) {
        anyhow::bail!("label {bad} is past the {} classes", logits.cols);
    }
    let mut grad = softmax(logits);
    let n = logits.rows as f32;
    let mut loss = 0.0;
    for (r, &label) in labels.iter().enumerate() {
        let p = &mut grad.data[r * logits.cols..(r + 1) * logits.cols];
        loss -= p[label].max(f32::MIN_POSITIVE).ln();
        p[label] -= 1.0;
        p.iter_mut().for_each(|v| *v /= n);
    }
    Ok((loss / n, grad))
}

/// Stochastic gradient descent with momentum and weight decay, as PyTorch's `SGD`:
/// g = grad + weight_decay w; v = momentum v + g; w -= lr v.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

impl Sgd {
    /// One step of `weights` with `grad`; `velocity` holds the momentum buffer (zeros at first).
    pub fn step(&self, weights: &mut [f32], grad: &[f32], velocity: &mut [f32]) {
        assert!(
            weights.len() == grad.len() && grad.len() == velocity.len(),
            "one gradient and velocity per weight"
        );
        for ((w, &g), v) in weights.iter_mut().zip(grad).zip(velocity.iter_mut()) {
            *v = self.momentum * *v + g + self.weight_decay * *w;
            *w -= self.lr * *v;
        }
    }
}
