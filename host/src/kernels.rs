//! The GEMM-shaped kernels of inference and training on a backend: GEMM on f32 matrices (each
//! operand quantized to MX along the reduction axis), 2-D convolution by im2col, linear
//! layers, and the three GEMMs of training a layer. Elementwise work stays in f32 on the host.

use mx::{Axis, Format, MxMatrix, Rounding};
use sim::Part;

use crate::backend::Backend;
use crate::tensor::Matrix;

/// How a kernel's GEMMs compute: on the backend in an MX format, or in f32 on the host (the
/// unconstrained upper bound of the evaluation; no accelerator cycles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Numerics {
    Mx(Format),
    F32,
}

impl From<Format> for Numerics {
    fn from(format: Format) -> Numerics {
        Numerics::Mx(format)
    }
}

/// C = A B on `part`, A quantized along its rows and B down its columns (both along K),
/// nearest-even; or in f32. Returns C and the cycles the backend took.
pub fn gemm(
    backend: &mut dyn Backend,
    part: Part,
    a: &Matrix,
    b: &Matrix,
    numerics: impl Into<Numerics>,
) -> anyhow::Result<(Matrix, u64)> {
    anyhow::ensure!(a.cols == b.rows, "A is {} x {} but B is {} x {}", a.rows, a.cols, b.rows, b.cols);
    let format = match numerics.into() {
        Numerics::Mx(format) => format,
        Numerics::F32 => return Ok((f32_gemm(a, b), 0)),
    };
    let qa = MxMatrix::quantize(&a.data, a.rows, a.cols, Axis::Row, format, Rounding::NearestEven)?;
    let qb = MxMatrix::quantize(&b.data, b.rows, b.cols, Axis::Col, format, Rounding::NearestEven)?;
    let r = backend.gemm(part, &qa, &qb)?;
    Ok((Matrix::new(a.rows, b.cols, r.c), r.cycles))
}

fn f32_gemm(a: &Matrix, b: &Matrix) -> Matrix {
    let mut c = vec![0.0; a.rows * b.cols];
    if !c.is_empty() && a.cols > 0 {
        // SAFETY: the pointers cover row-major a.rows x a.cols, a.cols x b.cols and
        // a.rows x b.cols matrices with these strides.
        unsafe {
            matrixmultiply::sgemm(
                a.rows,
                a.cols,
                b.cols,
                1.0,
                a.data.as_ptr(),
                a.cols as isize,
                1,
                b.data.as_ptr(),
                b.cols as isize,
                1,
                0.0,
                c.as_mut_ptr(),
                b.cols as isize,
                1,
            );
        }
    }
    Matrix::new(a.rows, b.cols, c)
}

/// A 2-D convolution's shape: NCHW input, OIHW weights, square kernel, stride and zero padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    pub batch: usize,
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Conv {
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// The im2col matrix: one row per output pixel (batch, y, x), one column per
    /// (channel, ky, kx); zero where the window leaves the padded input.
    pub fn im2col(&self, input: &[f32]) -> Matrix {
        let cols = self.in_channels * self.kernel * self.kernel;
        let rows = self.batch * self.out_height() * self.out_width();
        let mut data = vec![0.0; rows * cols];
        self.for_each_tap(|entry, at| data[entry] = input[at]);
        Matrix::new(rows, cols, data)
    }

    /// The adjoint of `im2col`: each entry's gradient added back to the input element it
    /// was read from (NCHW). With it, dX of a convolution is col2im(dY W^T).
    pub fn col2im(&self, cols: &Matrix) -> Vec<f32> {
        let mut dx = vec![0.0; self.batch * self.in_channels * self.height * self.width];
        self.for_each_tap(|entry, at| dx[at] += cols.data[entry]);
        dx
    }

    /// Calls `visit(im2col entry, input index)` for every im2col entry inside the input.
    fn for_each_tap(&self, mut visit: impl FnMut(usize, usize)) {
        let (oh, ow, k) = (self.out_height(), self.out_width(), self.kernel);
        let cols = self.in_channels * k * k;
        for n in 0..self.batch {
            for y in 0..oh {
                for x in 0..ow {
                    let row = ((n * oh + y) * ow + x) * cols;
                    for c in 0..self.in_channels {
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (y * self.stride + ky).checked_sub(self.padding);
                                let ix = (x * self.stride + kx).checked_sub(self.padding);
                                if let (Some(iy), Some(ix)) = (iy, ix) {
                                    if iy < self.height && ix < self.width {
                                        let at =
                                            ((n * self.in_channels + c) * self.height + iy) * self.width + ix;
                                        visit(row + (c * k + ky) * k + kx, at);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The output pixels' rows (batch, y, x) x channels, as NCHW.
    fn rows_to_nchw(&self, rows: &Matrix) -> Vec<f32> {
        let plane = self.out_height() * self.out_width();
        let mut nchw = vec![0.0; rows.data.len()];
        for n in 0..self.batch {
            for p in 0..plane {
                for o in 0..self.out_channels {
                    nchw[(n * self.out_channels + o) * plane + p] =
                        rows.data[(n * plane + p) * self.out_channels + o];
                }
            }
        }
        nchw
    }

    /// An NCHW output-shaped tensor as rows (batch, y, x) x channels.
    fn nchw_to_rows(&self, nchw: &[f32]) -> Matrix {
        let plane = self.out_height() * self.out_width();
        let mut rows = vec![0.0; nchw.len()];
        for n in 0..self.batch {
            for p in 0..plane {
                for o in 0..self.out_channels {
                    rows[(n * plane + p) * self.out_channels + o] =
                        nchw[(n * self.out_channels + o) * plane + p];
                }
            }
        }
        Matrix::new(self.batch * plane, self.out_channels, rows)
    }

    /// The weights (OIHW) as the K x N GEMM operand.
    pub fn weight_matrix(&self, weight: &[f32]) -> Matrix {
        let k = self.in_channels * self.kernel * self.kernel;
        Matrix::new(self.out_channels, k, weight.to_vec()).transpose()
    }
}

/// The convolution of an NCHW input with OIHW weights (no bias), as an NCHW output.
pub fn conv2d(
    backend: &mut dyn Backend,
    part: Part,
    conv: &Conv,
    input: &[f32],
    weight: &[f32],
    numerics: impl Into<Numerics>,
) -> anyhow::Result<(Vec<f32>, u64)> {
    let numerics = numerics.into();
    anyhow::ensure!(
        input.len() == conv.batch * conv.in_channels * conv.height * conv.width,
        "input size does not match {conv:?}"
    );
    anyhow::ensure!(
        weight.len() == conv.out_channels * conv.in_channels * conv.kernel * conv.kernel,
        "weight size does not match {conv:?}"
    );
    anyhow::ensure!(
        conv.kernel > 0 && conv.stride > 0 && conv.height + 2 * conv.padding >= conv.kernel,
        "no output for {conv:?}"
    );
    let (out, cycles) = gemm(backend, part, &conv.im2col(input), &conv.weight_matrix(weight), numerics)?;
    Ok((conv.rows_to_nchw(&out), cycles))
}

/// The gradients of `conv2d`: dX (NCHW) = col2im(dY W^T) and dW (OIHW) = (im2col(X)^T dY)^T,
/// given dY (NCHW), each GEMM's operands quantized along its own reduction axis.
pub struct ConvGrads {
    pub dx: Vec<f32>,
    pub dw: Vec<f32>,
    pub cycles: u64,
}

pub fn conv2d_backward(
    backend: &mut dyn Backend,
    part: Part,
    conv: &Conv,
    input: &[f32],
    weight: &[f32],
    dy: &[f32],
    numerics: impl Into<Numerics>,
) -> anyhow::Result<ConvGrads> {
    let numerics = numerics.into();
    anyhow::ensure!(
        dy.len() == conv.batch * conv.out_channels * conv.out_height() * conv.out_width(),
        "output gradient size does not match {conv:?}"
    );
    let dy = conv.nchw_to_rows(dy);
    let (dx_cols, c1) = gemm(backend, part, &dy, &conv.weight_matrix(weight).transpose(), numerics)?;
    let (dw, c2) = gemm(backend, part, &conv.im2col(input).transpose(), &dy, numerics)?;
    Ok(ConvGrads { dx: conv.col2im(&dx_cols), dw: dw.transpose().data, cycles: c1 + c2 })
}

/// A linear layer: X W + b on `part` (b added in f32 on the host).
pub fn linear(
    backend: &mut dyn Backend,
    part: Part,
    x: &Matrix,
    w: &Matrix,
    bias: &[f32],
    numerics: impl Into<Numerics>,
) -> anyhow::Result<(Matrix, u64)> {
    anyhow::ensure!(bias.len() == w.cols, "{} biases for {} outputs", bias.len(), w.cols);
    let (mut y, cycles) = gemm(backend, part, x, w, numerics)?;
    crate::ops::add_bias(&mut y, bias);
    Ok((y, cycles))
}

/// The three GEMMs of training a linear map Y = X W (X: m x k, W: k x n) given dY (m x n):
/// Y, dX = dY W^T and dW = X^T dY, each operand quantized along that GEMM's reduction axis.
pub struct Training {
    pub y: Matrix,
    pub dx: Matrix,
    pub dw: Matrix,
    pub cycles: u64,
}

pub fn train_step(
    backend: &mut dyn Backend,
    part: Part,
    x: &Matrix,
    w: &Matrix,
    dy: &Matrix,
    numerics: impl Into<Numerics>,
) -> anyhow::Result<Training> {
    let numerics = numerics.into();
    let (y, c1) = gemm(backend, part, x, w, numerics)?;
    let (dx, c2) = gemm(backend, part, dy, &w.transpose(), numerics)?;
    let (dw, c3) = gemm(backend, part, &x.transpose(), dy, numerics)?;
    Ok(Training { y, dx, dw, cycles: c1 + c2 + c3 })
}
