//! The x86-64 kernels: 512-bit (`zmm`) and 256-bit (`ymm`), each with 16-bit lanes for MX9
//! and byte lanes for MX6 and MX4.

mod ymm;
mod zmm;

use super::Kernel;
use crate::MxMatrix;

/// Whether the CPU has one feature, by its `is_x86_feature_detected!` name.
pub(super) fn cpu_has(feature: &str) -> bool {
    match feature {
        "avx512f" => is_x86_feature_detected!("avx512f"),
        "avx512bw" => is_x86_feature_detected!("avx512bw"),
        "avx512vnni" => is_x86_feature_detected!("avx512vnni"),
        "avxvnni" => is_x86_feature_detected!("avxvnni"),
        "avx2" => is_x86_feature_detected!("avx2"),
        "fma" => is_x86_feature_detected!("fma"),
        _ => false,
    }
}

pub(super) fn supported(kernel: Kernel) -> bool {
    kernel.features().iter().all(|f| cpu_has(f))
}

/// Runs one of the SIMD kernels; `Kernel::resolve` has checked that the CPU runs it.
pub(super) fn gemm(kernel: Kernel, a: &MxMatrix, b: &MxMatrix, threads: usize, c: &mut [f32]) {
    assert!(supported(kernel), "the {kernel} kernel does not run on this CPU");
    // SAFETY: each function is compiled for exactly the features `kernel.features()` names,
    // which the CPU has (asserted above).
    unsafe {
        match kernel {
            Kernel::Avx512Vnni => zmm::gemm_vnni(a, b, threads, c),
            Kernel::Avx512Bw => zmm::gemm_bw(a, b, threads, c),
            Kernel::AvxVnni => ymm::gemm_vnni(a, b, threads, c),
            Kernel::Avx2 => ymm::gemm_avx2(a, b, threads, c),
            Kernel::Auto | Kernel::Portable => unreachable!("{kernel} is no SIMD kernel"),
        }
    }
}
