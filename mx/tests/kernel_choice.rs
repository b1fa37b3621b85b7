//! Which GEMM kernel runs: the CPU's best unless `DACAPO_MX_KERNEL` or the options name
//! another, never a silent fallback. One test in its own binary, because it sets an
//! environment variable that every `Kernel::Auto` call reads.

use mx::{gemm_into, Axis, Format, GemmOptions, Kernel, MxMatrix, Rounding, KERNEL_ENV};

fn ran(kernel: Kernel) -> mx::Result<Kernel> {
    let a = MxMatrix::quantize(&[1.5; 32], 1, 32, Axis::Row, Format::Mx6, Rounding::NearestEven)?;
    let b = MxMatrix::quantize(&[2.0; 64], 32, 2, Axis::Col, Format::Mx6, Rounding::NearestEven)?;
    let mut c = [0.0; 2];
    let used = gemm_into(&a, &b, GemmOptions { threads: 1, kernel }, &mut c)?;
    assert_eq!(c, [96.0; 2]);
    Ok(used)
}

#[test]
fn the_kernel_that_runs_is_the_one_chosen() {
    std::env::remove_var(KERNEL_ENV);
    let available = Kernel::available();
    assert_eq!(available.last(), Some(&Kernel::Portable));
    assert_eq!(ran(Kernel::Auto).unwrap(), available[0], "Auto runs the fastest kernel");

    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        assert_eq!(available.contains(&Kernel::Avx2), avx2);
        if avx2 {
            assert_ne!(
                ran(Kernel::Auto).unwrap(),
                Kernel::Portable,
                "an AVX2 CPU must not run the portable kernel"
            );
        }
        let vnni512 = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni");
        assert_eq!(available[0] == Kernel::Avx512Vnni, vnni512);
        assert_eq!(available.contains(&Kernel::AvxVnni), avx2 && is_x86_feature_detected!("avxvnni"));
    }

    for &kernel in &available {
        assert_eq!(ran(kernel).unwrap(), kernel, "options choose {kernel}");
        std::env::set_var(KERNEL_ENV, kernel.name());
        assert_eq!(ran(Kernel::Auto).unwrap(), kernel, "{KERNEL_ENV} chooses {kernel}");
        std::env::remove_var(KERNEL_ENV);
    }
    for kernel in Kernel::CONCRETE.into_iter().filter(|k| !available.contains(k)) {
        let err = ran(kernel).unwrap_err().to_string();
        assert!(err.contains("lacks") && err.contains("portable"), "{err}");
    }

    std::env::set_var(KERNEL_ENV, "avx3");
    let err = ran(Kernel::Auto).unwrap_err().to_string();
    assert!(err.contains("DACAPO_MX_KERNEL=avx3") && err.contains("avx2, portable"), "{err}");
    std::env::remove_var(KERNEL_ENV);
    assert_eq!("AVX512-VNNI".parse::<Kernel>().unwrap(), Kernel::Avx512Vnni);
}
