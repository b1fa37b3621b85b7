//! The bit-exact MX GEMM, fast.
//!
//! Every element becomes the small signed integer `(-1)^s * q * 2^(1 - u)` (at most 9 bits),
//! so a block sum is an exact 16-term integer dot product, which SIMD integer multiply-add
//! instructions compute for 16 output columns at once. Each block sum is then scaled by a
//! power of two with one rounding and added to its f32 accumulator in K order, exactly as
//! `dot::dot` defines; the result is the same bits whichever kernel runs.
//!
//! Kernels, fastest first: AVX-512 with VNNI, AVX-512BW, AVX-VNNI (256-bit), AVX2 with FMA,
//! portable Rust. `Kernel::Auto` takes the first this CPU runs, or the one named by the
//! environment variable `DACAPO_MX_KERNEL`.

mod packed;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fmt;
use std::str::FromStr;

use crate::Error;

use super::matrix::{Axis, MxMatrix};
use packed::{compute, PlainDecode};

/// Products below this many multiply-accumulates run on one thread.
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// The environment variable that makes `Kernel::Auto` run a chosen kernel.
pub const KERNEL_ENV: &str = "DACAPO_MX_KERNEL";

/// Which inner kernel computes the block sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `DACAPO_MX_KERNEL` if it is set, else the fastest kernel this CPU runs.
    #[default]
    Auto,
    /// 512-bit: `vpdpwssd` (MX9) and `vpdpbusd` (MX6, MX4); scaling by `vscalefps`.
    Avx512Vnni,
    /// 512-bit without VNNI: `vpmaddwd` (MX9) and `vpmaddubsw` (MX6, MX4).
    Avx512Bw,
    /// 256-bit with AVX-VNNI (Alder Lake, Zen 5 client): `vpdpbusd` on ymm for MX6 and MX4,
    /// the AVX2 kernel for MX9.
    AvxVnni,
    /// 256-bit AVX2 and FMA, what CPUs without AVX-512 or AVX-VNNI run: `vpmaddwd` (MX9) and
    /// `vpmaddubsw` (MX6, MX4).
    Avx2,
    /// Plain Rust that runs anywhere, written for the compiler to vectorize.
    Portable,
}

impl Kernel {
    /// The concrete kernels, fastest first.
    pub const CONCRETE: [Kernel; 5] =
        [Kernel::Avx512Vnni, Kernel::Avx512Bw, Kernel::AvxVnni, Kernel::Avx2, Kernel::Portable];

    pub const fn name(self) -> &'static str {
        match self {
            Kernel::Auto => "auto",
            Kernel::Avx512Vnni => "avx512-vnni",
            Kernel::Avx512Bw => "avx512bw",
            Kernel::AvxVnni => "avx-vnni",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }

    /// The CPU features a kernel needs, as `is_x86_feature_detected!` names them.
    pub const fn features(self) -> &'static [&'static str] {
        match self {
            Kernel::Auto | Kernel::Portable => &[],
            Kernel::Avx512Vnni => &["avx512f", "avx512bw", "avx512vnni"],
            Kernel::Avx512Bw => &["avx512f", "avx512bw"],
            Kernel::AvxVnni => &["avx2", "fma", "avxvnni"],
            Kernel::Avx2 => &["avx2", "fma"],
        }
    }

    /// Whether this CPU runs the kernel (`Auto` always).
    pub fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            x86::supported(self)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            matches!(self, Kernel::Auto | Kernel::Portable)
        }
    }

    /// The concrete kernels this CPU runs, fastest first.
    pub fn available() -> Vec<Kernel> {
        Kernel::CONCRETE.into_iter().filter(|k| k.supported()).collect()
    }

    /// The concrete kernel that runs for this choice: `Auto` resolves through
    /// `DACAPO_MX_KERNEL`, then to the fastest available. Choosing a kernel this CPU lacks is
    /// an error that names what it lacks; nothing falls back silently.
    pub fn resolve(self) -> crate::Result<Kernel> {
        let kernel = match self {
            Kernel::Auto => match std::env::var(KERNEL_ENV) {
                Ok(name) if !name.is_empty() => name
                    .parse()
                    .map_err(|e| Error::KernelVariable { value: name.clone(), source: Box::new(e) })?,
                _ => Kernel::Auto,
            },
            k => k,
        };
        if kernel == Kernel::Auto {
            return Ok(Kernel::CONCRETE.into_iter().find(|k| k.supported()).expect("portable runs anywhere"));
        }
        if !kernel.supported() {
            let missing: Vec<&str> = kernel.features().iter().copied().filter(|f| !cpu_has(f)).collect();
            let names: Vec<&str> = Kernel::available().into_iter().map(Kernel::name).collect();
            return Err(Error::KernelUnsupported {
                kernel,
                missing: missing.join(", "),
                available: names.join(", "),
            });
        }
        Ok(kernel)
    }
}

/// Whether the CPU has one feature by its `is_x86_feature_detected!` name.
fn cpu_has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::cpu_has(feature)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        std::iter::once(Kernel::Auto)
            .chain(Kernel::CONCRETE)
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> =
                    std::iter::once(Kernel::Auto).chain(Kernel::CONCRETE).map(Kernel::name).collect();
                Error::UnknownKernel { name: s.to_string(), known: names.join(", ") }
            })
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct GemmOptions {
    /// Worker threads; 0 uses every core for large products and one for small ones.
    pub threads: usize,
    pub kernel: Kernel,
}

/// C = A x B, bit-exact to SPEC section 3: A is M x K blocked along rows, B is K x N blocked
/// down columns, both in one format. Returns C row-major.
/// Whether `a` times `b` is a GEMM this crate (and the accelerator) runs: A blocked along its
/// rows and B down its columns (both along K), one format, A's columns B's rows.
pub fn check_operands(a: &MxMatrix, b: &MxMatrix) -> crate::Result<()> {
    if a.axis() != Axis::Row {
        return Err(Error::AxisOfA);
    }
    if b.axis() != Axis::Col {
        return Err(Error::AxisOfB);
    }
    if a.format() != b.format() {
        return Err(Error::FormatMismatch { a: a.format(), b: b.format() });
    }
    if a.cols() != b.rows() {
        return Err(Error::ShapeMismatch { a: (a.rows(), a.cols()), b: (b.rows(), b.cols()) });
    }
    Ok(())
}

pub fn gemm(a: &MxMatrix, b: &MxMatrix) -> crate::Result<Vec<f32>> {
    gemm_with(a, b, GemmOptions::default())
}

pub fn gemm_with(a: &MxMatrix, b: &MxMatrix, options: GemmOptions) -> crate::Result<Vec<f32>> {
    let mut c = vec![0.0; a.rows() * b.cols()];
    gemm_into(a, b, options, &mut c)?;
    Ok(c)
}

/// `gemm_with` into a caller's M x N row-major buffer, which it overwrites whole. Reusing the
/// buffer saves a page fault per 4 KiB of output on large products. Returns the kernel that
/// ran.
pub fn gemm_into(a: &MxMatrix, b: &MxMatrix, options: GemmOptions, c: &mut [f32]) -> crate::Result<Kernel> {
    check_operands(a, b)?;
    if c.len() != a.rows() * b.cols() {
        return Err(Error::OutputSize { len: c.len(), rows: a.rows(), cols: b.cols() });
    }
    let kernel = options.kernel.resolve()?;
    let threads = match options.threads {
        0 if a.rows() * b.cols() * a.cols() >= PARALLEL_MIN_MACS => {
            std::thread::available_parallelism().map_or(1, |t| t.get())
        }
        0 => 1,
        t => t,
    };
    match kernel {
        // SAFETY: PlainDecode runs on any CPU.
        Kernel::Portable => unsafe { compute::<f32, PlainDecode>(a, b, threads, c, portable::rows) },
        #[cfg(target_arch = "x86_64")]
        k => x86::gemm(k, a, b, threads, c),
        #[cfg(not(target_arch = "x86_64"))]
        k => unreachable!("resolve() gives only kernels this CPU runs, not {k}"),
    }
    Ok(kernel)
}

/// The name of the kernel `Kernel::Auto` runs on this CPU, for reports.
pub fn auto_kernel_name() -> &'static str {
    Kernel::Auto.resolve().map_or("auto (DACAPO_MX_KERNEL is invalid)", Kernel::name)
}
