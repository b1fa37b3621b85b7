//! References the host tests share.

// Each test file uses what it needs of these.
#![allow(dead_code)]

use host::kernels::Conv;

/// The convolution of an NCHW input with OIHW weights, summed directly in f64 (NCHW out).
pub fn direct_conv(conv: &Conv, x: &[f64], w: &[f64]) -> Vec<f64> {
    let (oh, ow, k) = (conv.out_height(), conv.out_width(), conv.kernel);
    let mut out = Vec::with_capacity(conv.batch * conv.out_channels * oh * ow);
    for n in 0..conv.batch {
        for o in 0..conv.out_channels {
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = 0.0;
                    for c in 0..conv.in_channels {
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (y * conv.stride + ky).checked_sub(conv.padding);
                                let ix = (xo * conv.stride + kx).checked_sub(conv.padding);
                                if let (Some(iy), Some(ix)) = (iy, ix) {
                                    if iy < conv.height && ix < conv.width {
                                        acc += x[((n * conv.in_channels + c) * conv.height + iy)
                                            * conv.width
                                            + ix]
                                            * w[((o * conv.in_channels + c) * k + ky) * k + kx];
                                    }
                                }
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    out
}
